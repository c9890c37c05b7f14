"""Client-side PostgreSQL authentication algorithms (pure, no I/O).

`scram` (SCRAM-SHA-256 as a generator), `md5` (md5 password hashing), `saslprep`
(RFC 4013 as PostgreSQL applies it) and the `AuthFailed` error. A cleartext
password needs no algorithm: send ``PasswordMessage.password(text)``.
"""

from .errors import AuthFailed
from .md5 import md5_password
from .saslprep import SASLprepError, prepare_password, saslprep
from .scram import ScramExchange, choose_mechanism, finish_scram, scram_client

__all__ = [
    "AuthFailed",
    "SASLprepError",
    "ScramExchange",
    "choose_mechanism",
    "finish_scram",
    "md5_password",
    "prepare_password",
    "saslprep",
    "scram_client",
]
