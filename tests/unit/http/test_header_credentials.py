"""`credentials.header`: the value is checked at load, kept as written, resolved per lease."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from wardgate.config.interpolation import default_resolvers, interpolate
from wardgate.config.model import HeaderCredentials
from wardgate.config.yamlsource import load_yaml
from wardgate.credentials.header import HeaderCredentialProvider
from wardgate.seam import UpstreamUnavailable

YAML = """
resources:
  - name: llm
    credentials: {header: {name: Authorization, value: "Bearer ${file:key.txt}"}}
    upstream: {url: "${env:UP}"}
"""


def test_header_value_kept_as_written_but_checked(tmp_path: Path) -> None:
    (tmp_path / "key.txt").write_text("k1\n")
    resolvers = {**default_resolvers(tmp_path), "env": lambda name: "http://127.0.0.1:1"}
    tree = interpolate(load_yaml(YAML), resolvers)
    resource = tree["resources"][0]
    assert resource["credentials"]["header"]["value"] == "Bearer ${file:key.txt}"
    assert resource["upstream"]["url"] == "http://127.0.0.1:1"
    (tmp_path / "key.txt").unlink()
    with pytest.raises(ValueError, match=r"key\.txt"):
        interpolate(load_yaml(YAML), resolvers)


def test_file_rotation_is_picked_up_per_lease(tmp_path: Path) -> None:
    key = tmp_path / "key.txt"
    key.write_text("first\n")
    spec = HeaderCredentials(name="Authorization", value="Bearer ${file:key.txt}")
    provider = HeaderCredentialProvider(spec, default_resolvers(tmp_path))
    assert asyncio.run(provider.lease()).headers == {"Authorization": "Bearer first"}
    key.write_text("second\n")
    assert asyncio.run(provider.lease()).headers == {"Authorization": "Bearer second"}
    key.unlink()
    with pytest.raises(UpstreamUnavailable) as caught:
        asyncio.run(provider.lease())
    assert "second" not in caught.value.message


def test_vault_reads_are_reused_for_refresh_seconds() -> None:
    reads: list[str] = []
    values = iter(["v1", "v2"])

    def vault(reference: str) -> str:
        reads.append(reference)
        return next(values)

    now = [0.0]
    spec = HeaderCredentials(name="X-Key", value="${vault:secret/llm#key}", refresh=10)
    provider = HeaderCredentialProvider(spec, {"vault": vault}, clock=lambda: now[0])

    async def leases() -> list[str]:
        out = [(await provider.lease()).headers["X-Key"]]
        now[0] = 5.0
        out.append((await provider.lease()).headers["X-Key"])
        now[0] = 11.0
        out.append((await provider.lease()).headers["X-Key"])
        return out

    assert asyncio.run(leases()) == ["v1", "v1", "v2"]
    assert reads == ["secret/llm#key", "secret/llm#key"]
