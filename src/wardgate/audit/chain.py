"""The hash chain: canonical JSON, record hashes, sealing and checking.

A record is a JSON object. Its *canonical form* is ``json.dumps`` with sorted keys,
no whitespace and UTF-8 text (no floats are ever written, so every language renders
the same bytes). Sealing adds ``seq`` (1, 2, 3 … per journal) and ``prev`` (the
previous record's hash, 64 zeros for the first) and then ``hash``: SHA-256 over the
canonical form of everything except ``hash`` — or HMAC-SHA-256 under
``audit.hmac_key``, so that someone who can write the files but does not hold the key
cannot forge a consistent chain. ``alg`` names which one was used.

The written line is that canonical form with ``"hash"`` appended as its last member
(so the hot path serializes once); a verifier parses the line, drops ``hash`` and
canonicalizes again, so member order in the line never matters.

Records of one shape (a session's ``command`` records) are sealed from a `Template`:
compact JSON is compositional — an object is ``{``, its ``"key":value`` members in
key order joined by ``,``, then ``}``, and a value's text does not depend on where it
sits — so the members that never change (the session's identity, the instance, the
record type) are encoded once, and per record only the variable values are encoded
(with the same encoder, `encode`) and spliced in key order. The bytes are those of
`canonical` for the same record (a property test checks it over random records).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import operator
from collections.abc import Callable, Iterable, Mapping
from json.encoder import encode_basestring
from typing import Any, NamedTuple

GENESIS = "0" * 64
FORMAT_VERSION = 1


_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode  # one encoder for every record, not one per `json.dumps` call


def canonical(record: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of `record` (sorted keys, no whitespace, UTF-8)."""
    return _encode(record).encode("utf-8")


def encode(value: Any) -> str:
    """The JSON text `canonical` writes for `value` as a member of a record.

    Strings, ints, None and lists of strings take a shortcut through the encoder's
    own string function; everything else goes through the record encoder itself.
    """
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is list:
        return _encode_list(value)
    return _encode(value)


def _encode_list(items: list[Any]) -> str:
    texts = []
    for item in items:
        if type(item) is not str:
            return _encode(items)
        texts.append(encode_basestring(item))
    return "[" + ",".join(texts) + "]"


class Columns(NamedTuple):
    """The fields a sink files a record under (the store's filter columns)."""

    instance: str
    ts: str
    type: str
    session: str
    identity: str
    resource: str

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Columns:
        get = record.get
        return cls(
            str(get("instance", "")),
            str(get("ts", "")),
            str(get("type", "")),
            str(get("session", "")),
            str(get("identity", "")),
            str(get("resource", "")),
        )


class Template:
    """The canonical form of every record with one set of keys, constants pre-encoded.

    `render(values)` takes the JSON text of each variable member (from `encode`),
    keyed by name, and returns the bytes `canonical` gives for the whole record.
    `fill` fixes some variables for a run of records that share them.
    """

    def __init__(self, constants: Mapping[str, Any], variables: Iterable[str]) -> None:
        names = frozenset(variables)
        if both := names & constants.keys():
            raise ValueError(f"members both constant and variable: {sorted(both)}")
        self.constants = dict(constants)
        self.record_type = str(constants.get("type", ""))
        self._columns = Columns.of(constants)
        self._compile(
            {
                key: None if key in names else f"{encode_basestring(key)}:{encode(constants[key])}"
                for key in sorted({*constants, *names})
            }
        )

    def _compile(self, members: dict[str, str | None]) -> None:
        """`members`: each key in sorted order, with its member text or None (variable)."""
        order = [key for key, text in members.items() if text is None]
        self._members = members
        self.variables = frozenset(order)
        texts = [
            encode_basestring(key).replace("%", "%%") + ":%s"
            if text is None
            else text.replace("%", "%%")
            for key, text in members.items()
        ]
        self._format = "{" + ",".join(texts) + "}"
        self._ordered: Callable[[Mapping[str, str]], tuple[str, ...]] = (
            operator.itemgetter(*order)
            if len(order) > 1  # for one name itemgetter returns the value, not a tuple
            else lambda values: tuple(values[name] for name in order)
        )

    def fill(self, values: Mapping[str, str]) -> Template:
        """This template with the variables in `values` fixed to those JSON texts."""
        unknown = values.keys() - self.variables
        if unknown:
            raise ValueError(f"not variables of this template: {sorted(unknown)}")
        twin = copy.copy(self)
        twin._compile(
            {
                key: f"{encode_basestring(key)}:{values[key]}" if key in values else text
                for key, text in self._members.items()
            }
        )
        return twin

    def render(self, values: Mapping[str, str]) -> bytes:
        """Every variable must be in `values`; other keys are ignored."""
        return (self._format % self._ordered(values)).encode()

    def columns(self, ts: str) -> Columns:
        """The record's `Columns`, given its ``ts`` (its other columns are constants)."""
        c = self._columns
        return tuple.__new__(Columns, (c.instance, ts, c.type, c.session, c.identity, c.resource))


def _digest(body: bytes, key: bytes | None) -> str:
    if key:
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


def record_hash(record: Mapping[str, Any], key: bytes | None) -> str:
    """The hash of `record` without its own ``hash`` field."""
    return _digest(canonical({k: v for k, v in record.items() if k != "hash"}), key)


def algorithm(key: bytes | None) -> str:
    return "hmac-sha256" if key else "sha256"


class ChainHead(NamedTuple):  # a tuple, not a frozen dataclass: one per record, made cheaply
    """Where a chain stands: the last sequence number and hash written."""

    seq: int = 0
    hash: str = GENESIS


START = ChainHead()  # before the first record


class Sealed(NamedTuple):
    """A record as sealed: `record` is None when it was rendered from a `Template`
    (listeners then parse `line` if they need more than `columns`)."""

    seq: int
    hash: str
    record: dict[str, Any] | None
    line: bytes  # canonical JSON of the whole record, newline-terminated
    columns: Columns | None = None


class Chain:
    """Seals records one after another; not thread-safe (the event loop owns it)."""

    def __init__(self, key: bytes | None = None, head: ChainHead = START) -> None:
        self._key = key
        self._alg = algorithm(key)
        self.head = head

    @property
    def head(self) -> ChainHead:
        return ChainHead(self._seq, self._hash)

    @head.setter
    def head(self, head: ChainHead) -> None:
        self._seq, self._hash = head.seq, head.hash

    def seal(self, fields: Mapping[str, Any]) -> Sealed:
        seq = self._seq + 1
        record = {**fields, "v": FORMAT_VERSION, "seq": seq, "prev": self._hash}
        record["alg"] = self._alg
        body = canonical(record)
        digest = _digest(body, self._key)
        record["hash"] = digest
        line = b'%s,"hash":"%s"}\n' % (body[:-1], digest.encode())
        return Sealed(seq, digest, record, line)

    def template(self, constants: Mapping[str, Any], variables: Iterable[str]) -> Template:
        """A `Template` for `seal_rendered`: the chain's own members added."""
        constants = {**constants, "v": FORMAT_VERSION, "alg": self._alg}
        return Template(constants, {*variables, "seq", "prev"})

    def seal_rendered(
        self, template: Template, values: dict[str, str], columns: Columns | None = None
    ) -> Sealed:
        """Seal the record `template` renders from `values` (which gains ``seq`` and ``prev``)."""
        seq = self._seq + 1
        values["seq"] = str(seq)
        values["prev"] = encode_basestring(self._hash)
        body = template.render(values)
        digest = _digest(body, self._key) if self._key else hashlib.sha256(body).hexdigest()
        line = b'%s,"hash":"%s"}\n' % (body[:-1], digest.encode())
        return Sealed(seq, digest, None, line, columns)

    def advance(self, sealed: Sealed) -> None:
        """Make `sealed` the head; called only once its line reached the journal."""
        self._seq, self._hash = sealed.seq, sealed.hash
