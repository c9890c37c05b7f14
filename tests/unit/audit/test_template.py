"""Records rendered from a `Template` are byte for byte what `canonical` gives.

The hot path splices pre-encoded constant members and per-record values in key
order instead of serializing a dict; these properties hold it to `canonical` over
random records (unicode, escapes, ``%``, None, lists, nested objects), and the
command records a session writes to its old, dict-built form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.audit.chain import Chain, Columns, Template, canonical, encode
from wardgate.audit.evidence import Evidence, SessionFacts
from wardgate.audit.journal import Journal
from wardgate.audit.log import AuditLog
from wardgate.audit.reader import JournalReader
from wardgate.audit.statement import redact, truncate
from wardgate.audit.verify import journal_lines, verify_lines
from wardgate.seam import Action, ClientInfo, Command, Decision, Identity, Outcome

# JSON text the way records hold it: no lone surrogates (they cannot be UTF-8)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ['"', "\\", "%", "%s", "%%", "%(x)s", "\n\t\x00\x1f\x7f", "é✓😀", "\u2028", "</script>"]
)
scalars = st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70) | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
records = st.dictionaries(texts, values, max_size=12)


@given(values)
def test_encode_is_the_record_encoders_text(value: Any) -> None:
    assert encode(value) == canonical({"k": value}).decode()[len('{"k":') : -1]


@given(records, st.data())
@settings(max_examples=300)
def test_template_renders_the_canonical_bytes(record: dict[str, Any], data: st.DataObject) -> None:
    keys = sorted(record)
    variable = data.draw(st.sets(st.sampled_from(keys)) if keys else st.just(set()))
    constants = {k: v for k, v in record.items() if k not in variable}
    template = Template(constants, variable)
    encoded = {k: encode(record[k]) for k in variable}
    assert template.render(encoded) == canonical(record)
    fixed = data.draw(st.sets(st.sampled_from(sorted(variable))) if variable else st.just(set()))
    filled = template.fill({k: encoded[k] for k in fixed})
    assert filled.variables == variable - fixed
    assert filled.render({k: encoded[k] for k in filled.variables}) == canonical(record)
    assert template.render(encoded) == canonical(record)  # filling left the original alone


def test_template_refuses_a_member_both_constant_and_variable() -> None:
    with pytest.raises(ValueError, match="both"):
        Template({"a": 1}, {"a"})
    with pytest.raises(ValueError, match="not variables"):
        Template({"a": 1}, {"b"}).fill({"a": "2"})


@given(records.filter(lambda r: not r.keys() & {"v", "seq", "prev", "alg"}), st.data())
def test_sealing_rendered_and_dict_records_gives_the_same_line(
    record: dict[str, Any], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from([None, b"k3y"]))
    variable = data.draw(st.sets(st.sampled_from(sorted(record))) if record else st.just(set()))
    by_dict, by_template = Chain(key), Chain(key)
    template = by_template.template(
        {k: v for k, v in record.items() if k not in variable}, variable
    )
    for _ in range(2):
        expected = by_dict.seal(record)
        got = by_template.seal_rendered(template, {k: encode(record[k]) for k in variable})
        assert got.line == expected.line
        assert (got.seq, got.hash) == (expected.seq, expected.hash)
        by_dict.advance(expected)
        by_template.advance(got)


# -- the session's command records against the record as the gateway used to build it --

identities = st.builds(Identity, texts, st.frozensets(texts, max_size=3), texts)
clients = st.builds(ClientInfo, texts, st.integers(0, 65535), texts)
decisions = st.builds(
    Decision,
    st.sampled_from(list(Action)),
    texts,
    texts,
    texts,
    kind=texts,
    flags=st.frozensets(texts, max_size=3),
    review_id=texts,
    approved_by=st.tuples(texts) | st.just(()),
)
commands = st.builds(
    Command,
    st.sampled_from(["query", "parse", "execute"]) | texts,
    texts | st.sampled_from(["select 1", "select 'é' -- %s", "GET /v1/x?a=1"]),
    st.sampled_from(["postgres", "mysql", ""]),
    texts,
)
outcomes = st.builds(
    Outcome, st.just(""), st.integers(0, 2**40), st.integers(0, 2**40), texts, texts
)


def old_command_record(
    facts: SessionFacts,
    command: Command,
    decision: Decision,
    policy_version: str,
    tables: list[str],
    outcome: Outcome,
) -> dict[str, Any]:
    """The command record's fields as `SessionEvidence` built them before templates."""
    redacted = redact(command.text, command.dialect)
    return {
        "session": facts.session_id,
        "resource": facts.resource,
        "protocol": facts.protocol,
        "identity": facts.identity.name,
        "groups": sorted(facts.identity.groups),
        "auth_method": facts.identity.method,
        "client": f"{facts.client.address}:{facts.client.port}",
        "command_id": decision.command_id,
        "operation": command.operation,
        "database": command.database or facts.database,
        "statement": truncate(redacted.text, 4000),
        "fingerprint": redacted.fingerprint,
        "kind": decision.kind,
        "flags": sorted(decision.flags),
        "tables": list(tables),
        "decision": decision.action.value,
        "rule": decision.rule,
        "reason": decision.reason,
        "policy_version": policy_version,
        "review_id": decision.review_id or None,
        "approver": list(decision.approved_by) or None,
        "duration_us": 0,
        "rows": outcome.rows,
        "bytes": outcome.bytes_out,
        "status": outcome.status,
        "error": truncate(outcome.error, 1000),
        "masked": {},
    }


@given(
    identities,
    clients,
    st.tuples(texts, texts, texts, texts),
    st.lists(
        st.tuples(commands, decisions, texts, st.lists(texts, max_size=3), outcomes),
        min_size=1,
        max_size=6,
    ),
)
@settings(max_examples=60, deadline=None)
def test_command_records_are_the_canonical_form_of_the_old_record(
    tmp_path_factory: pytest.TempPathFactory,
    identity: Identity,
    client: ClientInfo,
    names: tuple[str, str, str, str],
    runs: list[tuple[Command, Decision, str, list[str], Outcome]],
) -> None:
    directory: Path = tmp_path_factory.mktemp("audit")
    log = AuditLog(Journal(directory), instance=names[0], clock=lambda: 1700000000.25)
    log.open()
    evidence = Evidence(log, monotonic=lambda: 5.0)
    facts = SessionFacts(names[1], names[2], names[3], identity, client)
    session = evidence.session(facts, database="db")
    expected = []
    for index, (command, decision, version, tables, outcome) in enumerate(runs * 2):
        command_id = f"{names[1]}-{index}"
        decision = Decision(**{**_fields(decision), "command_id": command_id})
        session.decided(command, decision, version, tables)
        session.reported(
            Outcome(command_id, outcome.rows, outcome.bytes_out, outcome.error, outcome.status)
        )
        old = old_command_record(session.facts, command, decision, version, tables, outcome)
        expected.append({**old, "command_id": command_id})
    entries = list(JournalReader(directory))[1:]  # after audit_start
    assert len(entries) == len(expected)
    for entry, fields in zip(entries, expected, strict=True):
        record = json.loads(entry.line)
        body = canonical({k: v for k, v in record.items() if k != "hash"})
        assert entry.line == body[:-1] + b',"hash":"%s"}\n' % record["hash"].encode()
        meta = {"type", "ts", "instance", "v", "seq", "prev", "alg", "hash"}
        assert {k: v for k, v in record.items() if k not in meta} == fields
        assert record["type"] == "command"
        assert record["ts"] == "2023-11-14T22:13:20.250000Z"
        assert record["instance"] == names[0]
        assert entry.columns == Columns.of(record)
    assert verify_lines(journal_lines(directory)).problem is None
    log.journal.close()


def _fields(decision: Decision) -> dict[str, Any]:
    return {name: getattr(decision, name) for name in Decision.__dataclass_fields__}
