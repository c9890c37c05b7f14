"""`RulePolicy` memoises a rule's outcome per classification: same answers as fresh."""

from __future__ import annotations

from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import RulePolicy
from wardgate.policy.model import PolicyConfig, Rule
from wardgate.seam import Command, Identity

AGENT = Identity("a", frozenset({"agents"}))
CONFIG = PolicyConfig(
    rules=(
        Rule(
            name="agents",
            allow=("read", "write"),
            deny=({"tables": ["secrets"]},),  # type: ignore[arg-type]
            review=("ddl",),
        ),
    )
)
TEXTS = [
    "SELECT abalance FROM pgbench_accounts WHERE aid = {n}",
    "SELECT * FROM secrets WHERE id = {n}",
    "UPDATE t SET a = {n}",
    "DROP TABLE t{n}",
    "SELECT {n}; DELETE FROM secrets",
]


def test_repeated_shapes_decide_as_a_fresh_policy_does() -> None:
    warm = RulePolicy(CONFIG, "v1", CommandClassifier())
    for n in range(4):
        for text in TEXTS:
            command = Command("query", text.format(n=n), "postgres")
            fresh = RulePolicy(CONFIG, "v1", CommandClassifier())
            assert warm.decide(AGENT, "pg", command) == fresh.decide(AGENT, "pg", command)
