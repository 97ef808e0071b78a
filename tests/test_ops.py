"""/sante and /metrics: what a probe reads, and what only the allowed addresses read."""

from __future__ import annotations

import pytest
from flask import Flask

from comcep import outbox
from comcep.extensions import db

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def waiting_job(app: Flask) -> None:
    outbox.enqueue("search.post", [1], delay_seconds=3600)
    db.session.commit()


def test_a_probe_reads_the_forum_s_health_from_anywhere(app: Flask, waiting_job: None) -> None:
    """A load balancer's probe needs the status, not how busy the forum is: the outbox's
    backlog is for the addresses allowed on /metrics."""
    outside = app.test_client().get("/sante", environ_base=OUTSIDE)
    assert outside.status_code == 200
    assert outside.json["status"] == "ok"
    assert outside.json["database"] == "ok"
    assert "outbox" not in outside.json
    local = app.test_client().get("/sante", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200
    assert local.json["outbox"]["backlog"] == 1
    assert local.json["outbox"]["parked"] == 0


def test_metrics_answer_the_allowed_addresses_only(app: Flask, waiting_job: None) -> None:
    assert app.test_client().get("/metrics", environ_base=OUTSIDE).status_code == 404
    local = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200
    assert "comcep_outbox" in local.text


def test_the_allowed_addresses_are_a_setting(
    app: Flask, waiting_job: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "METRICS_ALLOW", "203.0.113.0/24")
    assert app.test_client().get("/metrics", environ_base=OUTSIDE).status_code == 200
    assert "outbox" in app.test_client().get("/sante", environ_base=OUTSIDE).json
    local = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 404
