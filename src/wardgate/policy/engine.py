"""The policy the gate consults: classify, find the first matching rule, decide.

A policy sees identities, resources and protocol-neutral commands, never bytes.
Every exception on this path becomes a deny (the session wraps `decide`), and a
command the classifier cannot see through is `unknown` — never `read`.
"""

from __future__ import annotations

from typing import Protocol

from wardgate.classify.context import FunctionCatalog
from wardgate.classify.model import Classification, Kind, StatementClassification
from wardgate.policy.model import PolicyConfig, Rule
from wardgate.policy.rules import STRICTNESS, Facts, Subject, rule_action, when_matches
from wardgate.seam import Action, Command, Decision, Identity

#: How many (rule, classification) decisions and (identity, subject) first rules
#: `RulePolicy` keeps (each cleared when full).
OUTCOME_MEMO_ENTRIES = 4096
_SubjectKey = tuple[int, str, str, str, str, str]


class Classifier(Protocol):
    """Turns a command into a classification (`CommandClassifier` in production)."""

    def __call__(
        self, command: Command, functions: FunctionCatalog | None = None
    ) -> Classification: ...


class Policy(Protocol):
    @property
    def version(self) -> str: ...

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision: ...

    def evaluate(
        self,
        identity: Identity,
        resource: str,
        command: Command,
        functions: FunctionCatalog | None = None,
    ) -> tuple[Decision, Classification | None]: ...

    def rule_named(self, name: str) -> Rule | None: ...


class AllowAllPolicy:
    """Allows every command under the rule name `default` (unit tests of the gate)."""

    def __init__(self, version: str = "") -> None:
        self.version = version

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision:
        return Decision(action=Action.ALLOW, rule="default")

    def evaluate(
        self,
        identity: Identity,
        resource: str,
        command: Command,
        functions: FunctionCatalog | None = None,
    ) -> tuple[Decision, Classification | None]:
        return self.decide(identity, resource, command), None

    def rule_named(self, name: str) -> Rule | None:
        return None


def statement_facts(statement: StatementClassification, extra_flags: frozenset[str]) -> Facts:
    return Facts(
        kind=statement.kind.value,
        flags=statement.flags | extra_flags,
        tables=tuple(table.name for table in statement.tables),
        written=tuple(table.name for table in statement.tables if table.role == "write"),
        functions=statement.functions,
    )


def command_facts(classification: Classification) -> list[Facts]:
    """One Facts per statement; whole-string flags (multi_statement) apply to each."""
    statements = classification.statements or (
        StatementClassification(
            kind=classification.kind,
            flags=classification.flags,
            tables=classification.tables,
            functions=classification.functions,
        ),
    )
    extra = classification.flags & {"multi_statement"}
    return [statement_facts(statement, extra) for statement in statements]


class RulePolicy:
    def __init__(self, config: PolicyConfig, version: str, classifier: Classifier) -> None:
        self.config = config
        self.version = version
        self._classify = classifier
        self._default = Action(config.default)
        # (rule or None for "no rule matched", classification) → the finished `Decision`.
        # All three are immutable and `rule_action` is pure, so a classification
        # memoised by the classifier (one object per shape) is matched against a rule
        # once. Entries hold the objects, so an id is never reused while its entry lives.
        self._decisions: dict[tuple[int, int], tuple[Rule | None, Classification, Decision]] = {}
        # (identity, resource, method, path, model, api) → the first rule whose `when`
        # matches: `when_matches` is pure over these and the rules are frozen. The
        # identity is keyed by id and held by the entry, as above.
        self._first: dict[_SubjectKey, tuple[Identity, Rule | None]] = {}

    def rule_named(self, name: str) -> Rule | None:
        return next((rule for rule in self.config.rules if rule.name == name), None)

    def first_rule(self, subject: Subject) -> Rule | None:
        for rule in self.config.rules:
            if when_matches(rule.when, subject):
                return rule
        return None

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision:
        return self.evaluate(identity, resource, command)[0]

    def evaluate(
        self,
        identity: Identity,
        resource: str,
        command: Command,
        functions: FunctionCatalog | None = None,
    ) -> tuple[Decision, Classification]:
        """The decision and the classification it was made on (for evidence).

        `functions` answers the volatility of database-defined functions (the
        upstream catalog); without it such a call is not a read.
        """
        classification = self._classify(command, functions)
        return self._decision(self._rule_for(identity, resource, command), classification)

    def _rule_for(self, identity: Identity, resource: str, command: Command) -> Rule | None:
        """`first_rule` of the command's subject, memoised (see `__init__`)."""
        attributes = command.attributes
        key = (
            id(identity),
            resource,
            attributes.get("method", ""),
            attributes.get("path", ""),
            attributes.get("model", ""),
            attributes.get("api", ""),
        )
        known = self._first.get(key)
        if known is not None and known[0] is identity:
            return known[1]
        _, _, method, path, model, api = key
        rule = self.first_rule(Subject(identity, resource, method, path, model=model, api=api))
        if len(self._first) >= OUTCOME_MEMO_ENTRIES:
            self._first.clear()  # bounded; what repeats comes back at once
        self._first[key] = (identity, rule)
        return rule

    def _decision(
        self, rule: Rule | None, classification: Classification
    ) -> tuple[Decision, Classification]:
        """The decision of `rule` (None: no rule matched) on `classification`, memoised."""
        key = (id(rule), id(classification))
        known = self._decisions.get(key)
        if known is not None and known[0] is rule and known[1] is classification:
            return known[2], classification
        if rule is None:
            decision = _decision(self._default, "default", "no rule matched", classification, None)
        else:
            action, reason = self._outcome(rule, classification)
            decision = _decision(action, rule.name, reason, classification, rule)
        if len(self._decisions) >= OUTCOME_MEMO_ENTRIES:
            self._decisions.clear()  # bounded; what repeats comes back at once
        self._decisions[key] = (rule, classification, decision)
        return decision, classification

    def _outcome(self, rule: Rule, classification: Classification) -> tuple[Action, str]:
        action, reason = Action.ALLOW, ""
        for facts in command_facts(classification):
            candidate, why = rule_action(rule, facts, self._default)
            if STRICTNESS[candidate] > STRICTNESS[action] or not reason:
                action, reason = candidate, why
        return action, reason


def _decision(
    action: Action,
    rule_name: str,
    reason: str,
    classification: Classification,
    rule: Rule | None,
) -> Decision:
    return Decision(
        action=action,
        rule=rule_name,
        reason=reason,
        max_rows=rule.max_rows if rule is not None else None,
        kind=classification.kind.value,
        flags=classification.flags,
    )


class PolicySwitch:
    """The policy in force, swapped whole on reload (SIGHUP).

    Every session holds this object, never a `RulePolicy`, so a reload reaches open
    sessions at their next command. A swap is one attribute assignment on the event
    loop: a decision sees the old policy or the new one, never a mix.
    """

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    @property
    def current(self) -> Policy:
        return self._policy

    @property
    def version(self) -> str:
        return self._policy.version

    def swap(self, policy: Policy) -> Policy:
        """Put `policy` in force; returns the one it replaced."""
        old, self._policy = self._policy, policy
        return old

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision:
        return self._policy.decide(identity, resource, command)

    def rule_named(self, name: str) -> Rule | None:
        return self._policy.rule_named(name)

    def evaluate(
        self,
        identity: Identity,
        resource: str,
        command: Command,
        functions: FunctionCatalog | None = None,
    ) -> tuple[Decision, Classification | None]:
        return self._policy.evaluate(identity, resource, command, functions)


__all__ = ["AllowAllPolicy", "Classifier", "Kind", "Policy", "PolicySwitch", "RulePolicy"]
