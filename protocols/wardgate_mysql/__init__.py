"""MySQL / MariaDB client-server protocol plugin for wardgate.

`codec/` is the pure protocol (bytes ↔ packet dataclasses, auth algorithms, the
response state machine); `frontend`, `upstream`, `relay`, `results` and `listener`
drive it over asyncio streams and talk to the core only through the gate.
"""
