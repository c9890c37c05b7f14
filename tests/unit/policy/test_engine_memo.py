"""`RulePolicy` memoises a rule's outcome per classification: same answers as fresh."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.classify import Classifier
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


# The fast shape key (wardgate.classify.fastkey) and the first-rule and decision memos:
# one warm policy, asked about random literal values, identities, settings and
# databases, answers exactly as a fresh policy that lexes every text.

TWO_RULES = PolicyConfig(
    rules=(
        Rule(name="agents", when={"groups": ["agents"]}, allow=("read",), review=("write",)),  # type: ignore[arg-type]
        Rule(name="ops", when={"identities": ["op*"]}, allow=("all",)),  # type: ignore[arg-type]
    )
)
IDENTITIES = [
    AGENT,
    Identity("a", frozenset({"agents"})),  # equal to AGENT, another object
    Identity("operator", frozenset()),
    Identity("nobody", frozenset({"others"})),
]
TEMPLATES = [
    "SELECT abalance FROM pgbench_accounts WHERE aid = {n};",
    "SELECT * FROM secrets WHERE name = {s} AND id > {n}",
    "UPDATE t SET a = {s} WHERE id = {n}",
    "SELECT {s} || {s}; DELETE FROM t WHERE a = {n}",
    "SELECT pg_sleep({n})",
    "SELECT set_config({s}, {s}, false)",
    "INSERT INTO t (a, b) VALUES ({n}, {s}), ({n}, {s})",
    "SELECT * FROM other.public.t WHERE a IN ({n}, {n}, {n})",
]
NUMBER = st.integers(0, 10**9).map(str)
STRING = st.text(alphabet="ab'\\-/*$ ", max_size=8).map(lambda s: "'" + s.replace("'", "''") + "'")


def _fill(template: str, data: st.DataObject) -> str:
    out = template
    while "{n}" in out:
        out = out.replace("{n}", data.draw(NUMBER), 1)
    while "{s}" in out:
        out = out.replace("{s}", data.draw(STRING), 1)
    return out


WARM = RulePolicy(TWO_RULES, "v1", CommandClassifier())


@settings(max_examples=250, deadline=None)
@given(
    template=st.sampled_from(TEMPLATES),
    identity=st.sampled_from(IDENTITIES),
    standard=st.sampled_from([None, "on", "off", "either"]),
    database=st.sampled_from(["", "pgbench", "other"]),
    data=st.data(),
)
def test_fast_keys_and_memos_decide_as_the_full_path(
    template: str, identity: Identity, standard: str | None, database: str, data: st.DataObject
) -> None:
    text = _fill(template, data)
    attributes = {} if standard is None else {"standard_conforming_strings": standard}
    command = Command("query", text, "postgres", database, attributes)
    fresh = RulePolicy(TWO_RULES, "v1", CommandClassifier(Classifier(fast_keys=False)))
    decision, classification = WARM.evaluate(identity, "pg", command)
    expected, reference = fresh.evaluate(identity, "pg", command)
    assert decision == expected
    assert classification.to_json() == reference.to_json()
