"""Ed25519 signing with an arbitrary-length secret, as MariaDB's `client_ed25519` does.

MariaDB's plugin/auth_ed25519 (ref10 `crypto_sign`) hashes the *password* with
SHA-512 where RFC 8032 hashes a 32-byte seed: a = clamp(H[0:32]), prefix = H[32:64],
r = H(prefix || M), R = rB, S = r + H(R || A || M)·a mod L. The arithmetic is
RFC 8032 §5.1 with extended coordinates; `cryptography` cannot take the password
as a seed, so signing is done here and tests verify the signatures with it.
"""

from __future__ import annotations

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
_GY = 4 * pow(5, P - 2, P) % P


def _recover_x(y: int) -> int:
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    return P - x if x & 1 else x


_GX = _recover_x(_GY)
Point = tuple[int, int, int, int]
BASE: Point = (_GX, _GY, 1, _GX * _GY % P)


def _add(p: Point, q: Point) -> Point:
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _compress(point: Point) -> bytes:
    inverse = pow(point[2], P - 2, P)
    x, y = point[0] * inverse % P, point[1] * inverse % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _sha512_int(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


def _expand(password: bytes) -> tuple[int, bytes]:
    digest = hashlib.sha512(password).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    return scalar, digest[32:]


def public_key(password: bytes) -> bytes:
    """The 32-byte public key MariaDB stores for this password (`ed25519_password()`)."""
    scalar, _ = _expand(password)
    return _compress(_multiply(scalar, BASE))


def sign(password: bytes, message: bytes) -> bytes:
    """The 64-byte signature R || S that `client_ed25519` sends for a server scramble."""
    scalar, prefix = _expand(password)
    encoded_a = _compress(_multiply(scalar, BASE))
    r = _sha512_int(prefix, message) % L
    encoded_r = _compress(_multiply(r, BASE))
    h = _sha512_int(encoded_r, encoded_a, message) % L
    return encoded_r + ((r + h * scalar) % L).to_bytes(32, "little")
