"""SCRAM-SHA-256 client (RFC 5802, RFC 7677) as PostgreSQL speaks it.

"SASL Authentication" in the PostgreSQL documentation: the server offers
mechanisms in AuthenticationSASL, the client sends client-first-message in a
SASLInitialResponse, gets server-first in AuthenticationSASLContinue, sends
client-final in a SASLResponse and checks server-final from AuthenticationSASLFinal.
PostgreSQL ignores the SCRAM user name (it uses the start-up ``user``), so the
client sends ``n=`` empty; we do not do channel binding, so the GS2 header is
``n,,`` and the mechanism is plain SCRAM-SHA-256 even when the server also offers
SCRAM-SHA-256-PLUS (RFC 5802 section 6: 'n' means "client does not support it").

The exchange is one generator, so the whole algorithm reads top to bottom::

    exchange = scram_client(password)
    first = next(exchange)                      # -> SASLInitialResponse data
    final = exchange.send(sasl_continue.data)   # -> SASLResponse data
    finish_scram(exchange, sasl_final.data)     # verifies the server signature

Every failure (server error ``e=``, nonce not extending ours, bad salt or
iteration count, wrong server signature) raises `AuthFailed`. PBKDF2 runs in the
caller's thread: at PostgreSQL's default 4096 iterations that is about a
millisecond; ``max_iterations`` caps what a hostile server can make us spend.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Generator, Sequence

from ..codec.authentication import SCRAM_SHA_256
from .errors import AuthFailed
from .saslprep import prepare_password

GS2_HEADER = b"n,,"
NONCE_BYTES = 18  # what libpq uses (SCRAM_RAW_NONCE_LEN)
MAX_ITERATIONS = 1_000_000

ScramExchange = Generator[bytes, bytes, None]


def choose_mechanism(offered: Sequence[str]) -> str:
    """The mechanism to use from an AuthenticationSASL list (we never pick -PLUS)."""
    if SCRAM_SHA_256 in offered:
        return SCRAM_SHA_256
    raise AuthFailed(f"no supported SASL mechanism offered: {', '.join(offered) or 'none'}")


def scram_client(
    password: str,
    nonce: bytes | None = None,
    *,
    username: str = "",
    max_iterations: int = MAX_ITERATIONS,
) -> ScramExchange:
    """Run one SCRAM-SHA-256 exchange; yields the two client messages in turn.

    ``nonce`` (printable ASCII, no comma) is for tests; by default 18 random
    bytes, base64-encoded. Returns normally once the server signature verifies.
    """
    client_nonce = nonce if nonce is not None else base64.b64encode(secrets.token_bytes(18))
    _check_nonce(client_nonce)
    first_bare = b"n=" + _saslname(username) + b",r=" + client_nonce
    server_first = yield GS2_HEADER + first_bare

    combined, salt, iterations = _parse_server_first(server_first, client_nonce, max_iterations)
    salted = hashlib.pbkdf2_hmac("sha256", prepare_password(password), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    without_proof = b"c=" + base64.b64encode(GS2_HEADER) + b",r=" + combined
    auth_message = first_bare + b"," + server_first + b"," + without_proof
    signature = _hmac(hashlib.sha256(client_key).digest(), auth_message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    server_final = yield without_proof + b",p=" + base64.b64encode(proof)

    expected = _hmac(_hmac(salted, b"Server Key"), auth_message)
    if not hmac.compare_digest(_parse_server_final(server_final), expected):
        raise AuthFailed("SCRAM server signature does not match")


def finish_scram(exchange: ScramExchange, server_final: bytes) -> None:
    """Feed server-final-message to the exchange; raises `AuthFailed` unless verified."""
    try:
        exchange.send(server_final)
    except StopIteration:
        return
    raise AuthFailed("SCRAM exchange did not finish")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _saslname(name: str) -> bytes:
    return name.replace("=", "=3D").replace(",", "=2C").encode("utf-8")


def _check_nonce(nonce: bytes) -> None:
    if not nonce or b"," in nonce or any(b < 0x21 or b > 0x7E for b in nonce):
        raise ValueError("SCRAM nonce must be printable ASCII without commas")


def _attributes(message: bytes) -> list[tuple[bytes, bytes]]:
    """Split ``a=value,b=value`` into pairs; AuthFailed on anything else."""
    pairs = []
    for part in message.split(b","):
        if len(part) < 2 or part[1:2] != b"=":
            raise AuthFailed("malformed SCRAM message from server")
        pairs.append((part[:1], part[2:]))
    return pairs


def _parse_server_first(
    message: bytes, client_nonce: bytes, max_iterations: int
) -> tuple[bytes, bytes, int]:
    attrs = _attributes(message)
    if attrs and attrs[0][0] == b"m":
        raise AuthFailed("SCRAM server requires an unsupported extension")
    if len(attrs) < 3 or [key for key, _ in attrs[:3]] != [b"r", b"s", b"i"]:
        raise AuthFailed("malformed SCRAM server-first-message")
    (_, combined), (_, salt_b64), (_, count) = attrs[:3]
    if not combined.startswith(client_nonce) or len(combined) == len(client_nonce):
        raise AuthFailed("SCRAM server nonce does not extend the client nonce")
    _check_nonce(combined)
    return combined, _b64decode(salt_b64), _iterations(count, max_iterations)


def _iterations(count: bytes, max_iterations: int) -> int:
    if not count.isdigit() or not 0 < int(count) <= max_iterations:
        raise AuthFailed(f"SCRAM iteration count out of range (1..{max_iterations})")
    return int(count)


def _parse_server_final(message: bytes) -> bytes:
    attrs = _attributes(message)
    key, value = attrs[0]
    if key == b"e":
        raise AuthFailed(f"SCRAM server error: {value.decode('ascii', 'replace')}")
    if key != b"v":
        raise AuthFailed("malformed SCRAM server-final-message")
    return _b64decode(value)


def _b64decode(value: bytes) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AuthFailed("invalid base64 in SCRAM message") from None
