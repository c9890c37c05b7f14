"""Upstream credentials the agent never sees: static now, Vault leases beside them."""
