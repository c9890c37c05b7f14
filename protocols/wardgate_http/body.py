"""Body filters: what happens to a response (or streamed request) body on its way.

Each filter is `feed(bytes) -> bytes` then `close() -> bytes`, no I/O. The choice
is by media type: JSON → `JsonStreamMasker`, server-sent events → `SseMasker`,
other text → `TextStreamMasker`, anything else passes untouched. gzip and deflate
bodies are inflated first when they must be inspected (the agent then gets them
uncompressed); other encodings cannot be inspected and are refused.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from wardgate_http.headers import Headers, content_encoding, content_type, is_json, is_sse
from wardgate_http.jsonstream import JsonStreamMasker, MaskingError, TextStreamMasker
from wardgate_http.literals import MARK, held_suffix
from wardgate_http.llm import LlmEvidence
from wardgate_http.masker import BodyMasker
from wardgate_http.sse import SseMasker

EVIDENCE_CAP = 1024 * 1024  # bytes of a non-streamed LLM response kept to read its usage


class BodyFilter(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def close(self) -> bytes: ...


class Passthrough:
    def feed(self, data: bytes) -> bytes:
        return data

    def close(self) -> bytes:
        return b""


@dataclass(slots=True)
class Inflate:
    inner: BodyFilter
    _decoder: Any = field(default_factory=lambda: zlib.decompressobj(wbits=47))

    def feed(self, data: bytes) -> bytes:
        try:
            return self.inner.feed(self._decoder.decompress(data))
        except zlib.error as exc:
            raise MaskingError(f"the compressed body is corrupt: {exc}") from None

    def close(self) -> bytes:
        return self.inner.feed(self._decoder.flush()) + self.inner.close()


@dataclass(slots=True)
class EvidenceTee:
    """Keeps the start of a JSON response to read usage and finish reason at the end."""

    inner: BodyFilter
    evidence: LlmEvidence
    _kept: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> bytes:
        if len(self._kept) <= EVIDENCE_CAP:
            self._kept += data
        return self.inner.feed(data)

    def close(self) -> bytes:
        if len(self._kept) <= EVIDENCE_CAP:
            try:
                self.evidence.response(json.loads(self._kept))
            except ValueError:
                pass
        return self.inner.close()


@dataclass(slots=True)
class LiteralFilter:
    """Only exact secrets to hide (the injected credential, detectors off): bytes-level
    replacement with a look-behind of the longest secret, no parsing at all. Encoders
    do not escape the token characters credentials use, except JSON's optional `\\/`,
    which is searched for too."""

    literals: tuple[bytes, ...]
    _held: bytes = b""

    def feed(self, data: bytes) -> bytes:
        text = self._replace(self._held + data)
        cut = len(text) - held_suffix(text, self.literals)
        self._held = text[cut:]
        return text[:cut]

    def close(self) -> bytes:
        rest, self._held = self._replace(self._held), b""
        return rest

    def _replace(self, data: bytes) -> bytes:
        for literal in self.literals:
            data = data.replace(literal, MARK.encode())
        return data


def rewrites(body: BodyFilter) -> bool:
    """Whether the filter may change the body (then its length is not the upstream's)."""
    if isinstance(body, EvidenceTee):
        return rewrites(body.inner)
    return not isinstance(body, Passthrough)


def inspects(headers: Headers, masker: BodyMasker, evidence: LlmEvidence | None) -> bool:
    """Whether the body must be read (masked or observed) rather than relayed blind."""
    kind = content_type(headers)
    textual = is_json(headers) or is_sse(headers) or kind.startswith("text/")
    return textual and (masker.active or evidence is not None)


def response_filter(
    headers: Headers, masker: BodyMasker, evidence: LlmEvidence | None, window: int
) -> BodyFilter:
    if not inspects(headers, masker, evidence):
        return Passthrough()
    if evidence is None and not masker.fields and not masker.detectors:
        inner: BodyFilter = LiteralFilter(masker.literals.as_bytes())
    else:
        inner = _by_type(headers, masker, evidence, window)
    encoding = content_encoding(headers)
    if encoding in ("gzip", "x-gzip", "deflate"):
        return Inflate(inner)
    if encoding != "identity":
        raise MaskingError(f"a {encoding}-encoded body cannot be inspected")
    return inner


def _by_type(
    headers: Headers, masker: BodyMasker, evidence: LlmEvidence | None, window: int
) -> BodyFilter:
    if is_sse(headers):
        observe = (lambda _name, data: evidence.response(data)) if evidence else None
        api = evidence.api if evidence else ""
        return SseMasker(api, masker, window, observe)
    if is_json(headers):
        inner: BodyFilter = JsonStreamMasker(masker, window=window)
        if not masker.active:
            inner = Passthrough()
        return EvidenceTee(inner, evidence) if evidence is not None else inner
    if not masker.scans:
        return Passthrough()
    return TextStreamMasker(masker, window)
