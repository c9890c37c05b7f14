"""`wardgate audit verify | tail | export`: check, follow and export the audit trail.

With ``-c FILE`` the commands read this instance's local state (the journal, the file
sinks and the state store named in the configuration); without it, `tail` and
`export` ask a running gateway (``--server URL`` / ``WARDGATE_SERVER``, token from
``WARDGATE_TOKEN`` or the cached `wardgate login`). `verify` exits 1 and names the
first record that does not fit the chain.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx

from wardgate.audit import schema
from wardgate.audit.config import AuditConfig, AuditSinkConfig
from wardgate.audit.ocsf import to_ocsf
from wardgate.audit.reader import JournalReader
from wardgate.audit.setup import hmac_key, resolve
from wardgate.audit.verify import Report, file_lines, journal_lines, verify_lines
from wardgate.cli.check import load_config_or_exit
from wardgate.config import LoadedConfig
from wardgate.store import StoreError, open_store

EXIT_BROKEN = 1
POLL_SECONDS = 0.5

config_option = click.option(
    "-c", "--config", "config_path", type=click.Path(path_type=Path), help="wardgate.yaml"
)
server_option = click.option(
    "--server", envvar="WARDGATE_SERVER", help="A running gateway's admin URL."
)


# -- talking to a running gateway -----------------------------------------------------


class AdminClient:
    """GETs against the admin API with the caller's bearer token."""

    def __init__(self, server: str, token: str | None = None) -> None:
        self.server = server.rstrip("/")
        self._token = token

    def _bearer(self) -> str:
        if self._token is None:
            from wardgate.cli.token_source import NoToken, resolve_token

            try:
                self._token = resolve_token(os.environ.get("WARDGATE_AUDIENCE", "wardgate"))
            except NoToken as exc:
                raise click.ClickException(str(exc)) from None
        return self._token

    def get(self, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        try:
            response = httpx.get(self.server + path, params=params, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"{self.server}: {exc}") from None
        if response.status_code != 200:
            detail = response.json().get("detail", response.text) if response.content else ""
            raise click.ClickException(f"{self.server}{path}: {response.status_code} {detail}")
        return response.json()


def require_source(config_path: Path | None, server: str | None) -> None:
    if config_path is None and not server:
        raise click.UsageError("give -c FILE or --server URL (or set WARDGATE_SERVER)")


# -- verify ---------------------------------------------------------------------------


def _describe(name: str, report: Report) -> str:
    if report.problem is not None:
        return f"{name}: BROKEN at {report.problem}"
    if not report.records:
        return f"{name}: empty"
    notes = "".join(f"; {note}" for note in report.notes)
    span = f"seq {report.first_seq}-{report.last_seq}"
    return f"{name}: ok, {report.records} records ({span}), head {report.head}{notes}"


def rotated_files(path: Path) -> list[Path]:
    """`audit.jsonl.N` … `audit.jsonl.1`, `audit.jsonl`: oldest first."""
    backups = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
    ordered = sorted(backups, key=lambda p: int(p.suffix[1:]), reverse=True)
    return [*ordered, *([path] if path.exists() else [])]


def _file_sinks(audit: AuditConfig) -> list[AuditSinkConfig]:
    return [sink for sink in audit.sinks if sink.type == "file" and sink.path]


async def _store_reports(loaded: LoadedConfig, key: bytes | None) -> dict[str, Report]:
    store = await open_store(loaded.config.state.url, loaded.path.parent, schema.MIGRATIONS)
    try:
        return await schema.verify_store(store, key)
    finally:
        await store.close()


def verify_config(loaded: LoadedConfig) -> list[tuple[str, Report]]:
    """Check the journal, every file sink and the store sink of a configuration."""
    audit, base = loaded.config.audit, loaded.path.parent
    key = hmac_key(audit)
    journal = resolve(base, audit.journal)
    results = [(f"journal {journal}", verify_lines(journal_lines(journal), key))]
    for sink in _file_sinks(audit):
        assert sink.path is not None
        path = resolve(base, sink.path)
        results.append((f"file {path}", verify_lines(file_lines(rotated_files(path)), key)))
    if any(sink.type == "store" for sink in audit.sinks):
        try:
            reports = asyncio.run(_store_reports(loaded, key))
        except StoreError as exc:
            raise click.ClickException(f"state store: {exc}") from None
        results += [(f"store instance {name}", report) for name, report in reports.items()]
    return results


def _key_from(key_env: str | None, key_file: Path | None) -> bytes | None:
    if key_env:
        value = os.environ.get(key_env)
        if value is None:
            raise click.UsageError(f"environment variable {key_env} is not set")
        return value.encode()
    if key_file is not None:
        return key_file.read_text(encoding="utf-8").strip().encode()
    return None


@click.group()
def audit() -> None:
    """Check, follow and export the tamper-evident audit trail."""


@audit.command()
@config_option
@click.option(
    "--jsonl",
    "jsonl",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Check these JSONL/OCSF files (in the order given) instead.",
)
@click.option("--key-env", help="Environment variable holding the HMAC key (with --jsonl).")
@click.option("--key-file", type=click.Path(path_type=Path, exists=True), help="HMAC key file.")
def verify(
    config_path: Path | None, jsonl: tuple[Path, ...], key_env: str | None, key_file: Path | None
) -> None:
    """Check the hash chain; exit 1 naming the first broken record."""
    if jsonl:
        results = [("files", verify_lines(file_lines(jsonl), _key_from(key_env, key_file)))]
    elif config_path is not None:
        results = verify_config(load_config_or_exit(config_path))
    else:
        raise click.UsageError("give -c FILE or --jsonl PATH")
    for name, report in results:
        click.echo(_describe(name, report))
    if any(not report.ok for _, report in results):
        raise SystemExit(EXIT_BROKEN)


# -- tail and export --------------------------------------------------------------------


def _render(record: dict[str, Any], fmt: str) -> str:
    shown = to_ocsf(record) if fmt == "ocsf" else record
    return json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def local_records(loaded: LoadedConfig, after: int, follow: bool) -> Iterator[dict[str, Any]]:
    reader = JournalReader(resolve(loaded.path.parent, loaded.config.audit.journal), after)
    while True:
        batch = reader.read(1000)
        yield from (entry.record for entry in batch)
        if not batch:
            if not follow:
                return
            time.sleep(POLL_SECONDS)


def remote_records(client: AdminClient, after: int, follow: bool) -> Iterator[dict[str, Any]]:
    while True:
        page = client.get("/api/audit", after=after, limit=1000)
        yield from page["records"]
        after = int(page["next"])
        if not page["records"]:
            if not follow:
                return
            time.sleep(POLL_SECONDS)


def records_from(
    config_path: Path | None, server: str | None, after: int, follow: bool
) -> Iterator[dict[str, Any]]:
    require_source(config_path, server)
    if config_path is not None:
        return local_records(load_config_or_exit(config_path), after, follow)
    assert server is not None
    return remote_records(AdminClient(server), after, follow)


fmt_option = click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "ocsf"]), default="jsonl", show_default=True
)


@audit.command()
@config_option
@server_option
@click.option("-n", "lines", type=int, default=10, show_default=True, help="Records to show.")
@click.option("-f", "--follow/--no-follow", default=True, show_default=True)
@fmt_option
def tail(config_path: Path | None, server: str | None, lines: int, follow: bool, fmt: str) -> None:
    """Print the last records, then follow new ones as they are written."""
    backlog: list[dict[str, Any]] = []
    records = records_from(config_path, server, 0, follow=False)
    for record in records:
        backlog = [*backlog[-(lines - 1) :], record] if lines > 0 else []
    for record in backlog:
        click.echo(_render(record, fmt))
    if follow:
        last = int(backlog[-1]["seq"]) if backlog else 0
        try:
            for record in records_from(config_path, server, last, follow=True):
                click.echo(_render(record, fmt))
        except KeyboardInterrupt:
            return


@audit.command()
@config_option
@server_option
@fmt_option
@click.option("--after", type=int, default=0, help="Only records after this sequence number.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not stdout.")
def export(
    config_path: Path | None, server: str | None, fmt: str, after: int, output: Path | None
) -> None:
    """Export records as JSON lines: the chained records, or OCSF events."""
    records = records_from(config_path, server, after, follow=False)
    if output is None:
        for record in records:
            click.echo(_render(record, fmt))
        return
    with output.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(_render(record, fmt) + "\n")
