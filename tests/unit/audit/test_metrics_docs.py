"""Metrics docs and deploy assets: every family documented, valid for promtool, used right."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from wardgate.config.model import WardgateConfig
from wardgate.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "metrics.md"
RULES = ROOT / "deploy" / "prometheus" / "wardgate-alerts.yml"


def populated() -> Metrics:
    """A registry where every labelled family has one sample."""
    metrics = Metrics()
    for collector in list(metrics.registry._collector_to_names):
        labels = getattr(collector, "_labelnames", ())
        child = collector.labels(*("x" for _ in labels)) if labels else collector
        if hasattr(child, "observe"):
            child.observe(0.001)
        elif hasattr(child, "inc"):
            child.inc()
    return metrics


def family_names(metrics: Metrics) -> set[str]:
    names = set()
    for family in metrics.registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        names.add(family.name + suffix)
    return names


def test_every_family_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = sorted(name for name in family_names(Metrics()) if f"`{name}`" not in text)
    assert not missing, f"document these in docs/metrics.md: {missing}"


def test_every_family_is_prefixed() -> None:
    assert all(name.startswith("wardgate_") for name in family_names(Metrics()))


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_exposition() -> None:
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=populated().exposition(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()


def exposed_names() -> set[str]:
    text = populated().exposition().decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}


def test_dashboard_queries_name_real_series() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/wardgate-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"wardgate_[a-z_]+", expr)}
    assert used
    assert used <= exposed_names(), used - exposed_names()


def test_alert_rules_name_real_series_and_chart_copy_matches() -> None:
    text = RULES.read_text()
    used = set(re.findall(r"wardgate_[a-z_]+", text))
    assert used <= exposed_names(), used - exposed_names()
    assert (ROOT / "deploy/helm/wardgate/files/wardgate-alerts.yml").read_text() == text


def test_helm_chart_static_files_are_valid_yaml() -> None:
    chart = ROOT / "deploy/helm/wardgate"
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["apiVersion"] == "v2"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    WardgateConfig.model_validate(values["config"])  # the default config is a valid one
