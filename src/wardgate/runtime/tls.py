"""Client-facing TLS contexts for listeners."""

from __future__ import annotations

import ssl
from pathlib import Path

from wardgate.config.model import ServerTls

_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}


def server_context(spec: ServerTls, base_dir: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = _VERSIONS.get(spec.min_version, ssl.TLSVersion.TLSv1_2)
    cert = Path(spec.cert) if Path(spec.cert).is_absolute() else base_dir / spec.cert
    key = Path(spec.key) if Path(spec.key).is_absolute() else base_dir / spec.key
    context.load_cert_chain(cert, key)
    return context
