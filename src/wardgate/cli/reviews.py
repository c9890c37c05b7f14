"""`wardgate reviews list|show|approve|deny`: work the review queue of a running gateway.

The gateway is found with `--server URL` or `WARDGATE_SERVER`; the reviewer is
whoever the token says (`WARDGATE_TOKEN`, CI OIDC variables, or `wardgate login`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import click
import httpx

server_option = click.option(
    "--server", envvar="WARDGATE_SERVER", required=True, help="A running gateway's admin URL."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _token() -> str:
    from wardgate.cli.token_source import NoToken, resolve_token

    try:
        return resolve_token(os.environ.get("WARDGATE_AUDIENCE", "wardgate"))
    except NoToken as exc:
        raise click.ClickException(str(exc)) from None


def _call(method: str, server: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {_token()}"}
    url = server.rstrip("/") + path
    try:
        response = httpx.request(method, url, headers=headers, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"{server}: {exc}") from None
    if response.status_code >= 400:
        detail = response.json().get("detail", response.text) if response.content else ""
        raise click.ClickException(f"{response.status_code}: {detail}")
    return response.json()


def _when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _line(review: dict[str, Any]) -> str:
    statement = " ".join(review["statement"].split())
    statement = statement if len(statement) <= 60 else statement[:57] + "..."
    return (
        f"{review['id']:<16} {review['status']:<10} {review['requester']:<16} "
        f"{review['resource']:<12} {review['kind']:<8} {statement}"
    )


def _show(review: dict[str, Any]) -> None:
    for key in ("id", "status", "requester", "resource", "database", "kind", "rule", "reason"):
        click.echo(f"{key:>12}: {review.get(key) or '-'}")
    click.echo(f"{'flags':>12}: {', '.join(review['flags']) or '-'}")
    click.echo(f"{'tables':>12}: {', '.join(review['tables']) or '-'}")
    click.echo(f"{'reviewers':>12}: {', '.join(review['review_by'])}")
    approvals = ", ".join(a["reviewer"] for a in review["approvals"]) or "-"
    click.echo(f"{'approvals':>12}: {approvals} ({review['min_approvals']} needed)")
    click.echo(f"{'requested':>12}: {_when(review['created_at'])}")
    click.echo(f"{'expires':>12}: {_when(review['expires_at'])}")
    if review.get("decided_by"):
        click.echo(f"{'decided by':>12}: {review['decided_by']} {review['decision_reason']}")
    click.echo("\n" + review["statement"])


@click.group()
def reviews() -> None:
    """List and decide commands held for review."""


@reviews.command("list")
@server_option
@click.option("--status", default="pending", help="pending (default), approved, denied, … or all")
@json_option
def list_reviews(server: str, status: str, as_json: bool) -> None:
    """List reviews (pending by default)."""
    params = {} if status == "all" else {"status": status}
    found = _call("GET", server, "/api/reviews", params=params)["reviews"]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for review in found:
        click.echo(_line(review))
    if not found:
        click.echo(f"no {status} reviews", err=True)


@reviews.command("show")
@server_option
@click.argument("review_id")
@json_option
def show_review(server: str, review_id: str, as_json: bool) -> None:
    """Show one review in full."""
    review = _call("GET", server, f"/api/reviews/{review_id}")
    click.echo(json.dumps(review, indent=2)) if as_json else _show(review)


@reviews.command("approve")
@server_option
@click.argument("review_id")
@click.option("--reason", default="", help="Why (recorded in the audit trail).")
@click.option(
    "--grant",
    "grant",
    default=None,
    help="Also allow the same query shape for this identity and resource for this long (e.g. 30m).",
)
def approve(server: str, review_id: str, reason: str, grant: str | None) -> None:
    """Approve a held command (the requester cannot approve their own)."""
    body: dict[str, Any] = {"reason": reason, "scope": "grant" if grant else "once"}
    if grant:
        body["duration"] = grant
    review = _call("POST", server, f"/api/reviews/{review_id}/approve", json=body)
    click.echo(f"{review['id']}: {review['status']}")


@reviews.command("deny")
@server_option
@click.argument("review_id")
@click.option("--reason", required=True, help="Why; the agent sees it.")
def deny(server: str, review_id: str, reason: str) -> None:
    """Deny a held command; the client gets the reason."""
    review = _call("POST", server, f"/api/reviews/{review_id}/deny", json={"reason": reason})
    click.echo(f"{review['id']}: {review['status']}")
