"""Deciding commands: the policy engine behind `Session.decide`."""
