"""The generated SQLSTATE table is current and holds the codes the gateway replies with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from wardgate_postgres import sqlstate

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "gen_sqlstate.py"


def test_codes_the_gateway_uses() -> None:
    assert sqlstate.INSUFFICIENT_PRIVILEGE == "42501"
    assert sqlstate.INVALID_PASSWORD == "28P01"
    assert sqlstate.PROTOCOL_VIOLATION == "08P01"
    assert sqlstate.INVALID_AUTHORIZATION_SPECIFICATION == "28000"
    assert sqlstate.NAMES["42501"] == "insufficient_privilege"
    assert sqlstate.NAMES["34000"] == "invalid_cursor_name"  # not its alias UNDEFINED_CURSOR


def test_generated_file_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_sqlstate", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    if not gen.DEFAULT_SOURCE.exists():
        pytest.skip(f"{gen.DEFAULT_SOURCE} not installed")
    text = gen.DEFAULT_SOURCE.read_text(encoding="utf-8")
    expected = gen.render(gen.parse(text), str(gen.DEFAULT_SOURCE))
    assert Path(sqlstate.__file__).read_text(encoding="utf-8") == expected
