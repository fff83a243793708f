"""deploy/'s Prometheus alert rules and Grafana dashboard name only metrics the platform
exports (read off a real /metrics scrape), and are well formed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"\bdatadao_[a-z_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _exported() -> set[str]:
    text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    names = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    # A counter is declared without its _total; histograms add their series.
    return names | {n + s for n in names for s in SUFFIXES}


def _used(texts: list[str]) -> set[str]:
    return {name for text in texts for name in NAME.findall(text)}


@pytest.mark.django_db
def test_the_alert_rules_are_well_formed_and_name_exported_metrics() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    names = {rule["alert"] for rule in alerts}
    assert {
        "DatadaoBacklogGrowing",
        "DatadaoPinsFailing",
        "DatadaoNoWorkerHeartbeat",
    } <= names
    for rule in alerts:
        assert rule["expr"] and rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
    used = _used([rule["expr"] for rule in alerts])
    assert used and used <= _exported(), used - _exported()


@pytest.mark.django_db
def test_the_dashboard_is_grafana_json_over_exported_metrics() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/datadao.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(dashboard["panels"]) >= 8 and len({p["id"] for p in dashboard["panels"]}) == len(
        dashboard["panels"]
    )
    used = _used(exprs)
    assert used <= _exported(), used - _exported()
    # Every metric family the platform exports is on the dashboard.
    families = {n for n in _exported() if not n.endswith(SUFFIXES)} - {
        "datadao_metrics_collector_failed",
        "datadao_pin_audit_unreachable",
        "datadao_tasks",
        "datadao_contribution_pinned_seconds",
        "datadao_labeling_request_seconds",
    }
    assert families <= used, families - used
