"""Pure MySQL / MariaDB client-server protocol codec: bytes in, dataclasses out, no I/O."""
