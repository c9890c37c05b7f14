"""The `wardgate` command line, run in-process with click's CliRunner."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from wardgate import __version__
from wardgate.cli.main import cli

GOOD = """\
identity:
  tokens:
    - {name: ci-bot, groups: [agents], sha256: "DIGEST"}
resources:
  - name: orders
    protocol: postgres
    listen: 127.0.0.1:15432
    upstream: {host: 127.0.0.1, port: 5432, database: orders}
    credentials: {static: {user: app, password: ""}}
  - name: archive
    protocol: postgres
    listen: 127.0.0.1:15433
    credentials: {static: {user: app}}
""".replace("DIGEST", "0" * 64)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wardgate.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"wardgate, version {__version__}"


def test_help_lists_commands() -> None:
    result = run("-h")
    assert result.exit_code == 0
    for command in ("check", "serve", "token"):
        assert command in result.stdout


# -- token create ------------------------------------------------------------------------


def created(*args: str) -> tuple[str, dict[str, object], Result]:
    result = run("token", "create", *args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("token: ")
    config_line = lines[-1]
    assert config_line.startswith("  - ")
    return lines[0].removeprefix("token: "), json.loads(config_line.removeprefix("  - ")), result


def test_token_create_prints_token_and_matching_config_line() -> None:
    token, entry, _ = created("ci-bot", "--groups", "a,b")
    assert token.startswith("wgt_")
    assert entry == {
        "name": "ci-bot",
        "groups": ["a", "b"],
        "sha256": hashlib.sha256(token.encode()).hexdigest(),
    }


def test_token_create_groups_are_trimmed_and_optional() -> None:
    assert created("x", "--groups", " a , ,b,")[1]["groups"] == ["a", "b"]
    assert created("x")[1]["groups"] == []


def test_token_create_says_on_stderr_it_is_shown_once() -> None:
    token, _, result = created("ci-bot")
    assert "shown once" in result.stderr
    assert token not in result.stderr


def test_token_create_makes_a_new_token_each_time() -> None:
    assert created("x")[0] != created("x")[0]


def test_created_config_line_is_accepted_by_check(tmp_path: Path) -> None:
    _, _, result = created("ci-bot", "--groups", "agents")
    config_line = result.stdout.splitlines()[-1]
    path = write(tmp_path, "identity:\n  tokens:\n" + config_line + "\n")
    checked = run("check", "-c", str(path))
    assert checked.exit_code == 0, checked.output


# -- check -------------------------------------------------------------------------------


def test_check_ok_lists_resources(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = run("check", "-c", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: ok")
    assert "resources: orders, archive" in result.stdout
    assert "policy version " in result.stdout
    assert result.stderr == ""


def test_check_reports_policy_version_stably(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert run("check", "-c", str(path)).stdout == run("check", "--config", str(path)).stdout


def test_check_empty_config_has_no_resources(tmp_path: Path) -> None:
    result = run("check", "-c", str(write(tmp_path, "")))
    assert result.exit_code == 0
    assert "resources: none" in result.stdout


def test_check_bad_config_exits_2_with_file_line_key_on_stderr(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("127.0.0.1:15433", "nowhere"))
    result = run("check", "-c", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {path}:12: resources[1].listen: expected host:port, got 'nowhere'\n"
    )


def test_check_upstream_error(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("port: 5432", "port: many"))
    result = run("check", "-c", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}:8: resources[0].upstream.port: ")


def test_check_does_not_echo_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_CLI_SECRET", "s3cret-value")
    text = GOOD.replace('password: ""', 'password: "${env:WG_CLI_SECRET}"').replace(
        "127.0.0.1:15433", "nowhere"
    )
    result = run("check", "-c", str(write(tmp_path, text)))
    assert result.exit_code == 2
    assert "s3cret-value" not in result.output


def test_check_missing_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    result = run("check", "-c", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: cannot read: No such file or directory\n"


def test_check_needs_config_option() -> None:
    result = run("check")
    assert result.exit_code == 2
    assert "--config" in result.stderr
