"""The load test (`bench/run.py`): each page's median of its interleaved rounds, its share
of the hello world measured in the same round, and the session it replays."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, select
from werkzeug.serving import make_server

from bench import run as bench_run
from bench.run import _login_cookie, load_summary
from comcep import outbox
from comcep.extensions import db
from comcep.members.models import Member
from tests.conftest import PASSWORD
from tests.factories import make_topic


def _run(app: str, url: str, number: int, rps: float, errors: int = 0) -> dict:
    return {
        "app": app,
        "url": url,
        "round": number,
        "requests_per_s": rps,
        "non_2xx_3xx": errors,
        "socket_errors": 0,
    }


def test_each_page_is_the_median_of_its_rounds_against_its_own_round_s_hello() -> None:
    runs = [
        _run("comcep", "/t/1", 1, 500.0),
        _run("hello", "/", 1, 5000.0),
        _run("comcep", "/t/1", 2, 700.0, errors=2),
        _run("hello", "/", 2, 5000.0),
        _run("comcep", "/t/1", 3, 800.0),
        _run("hello", "/", 3, 4000.0),  # a slow round: its page is compared with it
    ]
    topic, hello = load_summary(runs)
    assert topic == {
        "app": "comcep",
        "url": "/t/1",
        "rounds": 3,
        "requests_per_s": 700.0,
        "errors": 2,
        "share_of_hello": 0.14,  # median of 10 %, 14 % and 20 %
    }
    assert hello["requests_per_s"] == 5000.0
    assert hello["share_of_hello"] is None


def test_a_run_of_one_round_without_numbers_still_reads() -> None:
    """load.json written before the rounds (no "round" key) still makes a report."""
    runs = [_run("comcep", "/", 1, 300.0), _run("hello", "/", 1, 6000.0)]
    for run in runs:
        del run["round"]
    comcep, _hello = load_summary(runs)
    assert comcep["share_of_hello"] == 0.05


@pytest.fixture
def csrf_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The test app behind a real HTTP server, CSRF on, as gunicorn serves it to wrk."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_load_test_replays_the_cookie_a_browser_holds_once_logged_in(
    csrf_server: int, members: dict[str, Member]
) -> None:
    """wrk sends the same Cookie header all along: it must be the settled one, or each
    request re-signs and re-sends a session that no browser would make the server send
    again (the topic page of a 10 k forum: 728 requests/s instead of 842)."""
    topic = make_topic(members["pair"])
    cookie = _login_cookie(csrf_server, members["pair"].email, PASSWORD)
    for path in ["/", f"/t/{topic.id}", "/"]:
        conn = HTTPConnection("127.0.0.1", csrf_server, timeout=10)
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, path
        assert response.getheader("Set-Cookie") is None, path


def _size_run(size: int, median_ms: float, hello_us: list[float]) -> dict:
    page = {
        "page": "index",
        "as": "pair",
        "median_ms": median_ms,
        "p95_ms": median_ms * 1.2,
        "queries": 5,
        "queries_min": 5,
        "queries_max": 5,
        "status": [200],
        "ok": True,
    }
    return {
        "database": "sqlite",
        "size": size,
        "measured_at": "2026-12-04T11:00:00+00:00",
        "hello_us": hello_us,
        "pages": [page],
    }


def test_the_report_gives_the_machine_speed_beside_each_size_s_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page twice as slow on a day the machine itself was twice as slow is no regression:
    the reader sees both figures side by side."""
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path)
    runs = [_size_run(10_000, 2.0, [110.0, 112.5]), _size_run(1_000_000, 4.0, [230.0, 231.0])]
    bench_run.write_report(runs, None)
    report = (tmp_path / "latest.md").read_text()
    assert "| index | pair | 2.0 / 2.4 · 5 q | 4.0 / 4.8 · 5 q | ×2.0 time |" in report
    assert "10 k 110.0 → 112.5 µs (2026-12-04), 1 M 230.0 → 231.0 µs (2026-12-04)" in report
    assert json.loads((tmp_path / "latest.json").read_text())["runs"][1]["hello_us"] == [
        230.0,
        231.0,
    ]


def test_the_machine_speed_is_a_real_timing_of_hello_world() -> None:
    assert 0 < bench_run.hello_in_process_us(rounds=2, requests=20) < 1e6


def test_the_report_shows_the_outbox_s_part_and_still_flags_the_whole_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path)
    run = _size_run(10_000, 18.0, [110.0, 112.0])
    run["pages"][0].update(
        page="reply", queries=15, queries_min=15, queries_max=15, outbox_queries=6
    )
    bench_run.write_report([run], None)
    report = (tmp_path / "latest.md").read_text()
    assert "| reply | pair | 18.0 / 21.6 · 15 q (6 outbox) | > 10 queries |" in report


def test_the_statements_of_inline_outbox_work_are_counted_apart(app: Flask) -> None:
    outbox.register("test.bench.kind", lambda ids: None)
    outbox.enqueue("test.bench.kind", [1, 2])
    db.session.commit()
    log = bench_run.StatementLog()
    event.listen(db.engine, "before_cursor_execute", log.before)
    try:
        db.session.execute(select(1))  # the request's own statement
        with app.test_request_context():
            assert bench_run._counted_process(log, outbox.process)() == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", log.before)
        outbox.HANDLERS.pop("test.bench.kind")
    assert log.outbox_count >= 2  # the claim, then the handler's delete
    assert log.count == log.outbox_count + 1


def test_the_measured_reply_is_published_each_time_on_a_generated_forum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark posts its reply again and again: each must be published (a 302), not
    refused as the same form sent twice (a 400 the table once showed for every request)."""
    monkeypatch.setattr(bench_run, "BENCH_DIR", tmp_path)
    target = bench_run.Target("sqlite", 600)
    meta = bench_run.prepare(target, regenerate=True, search=False)
    run = bench_run.measure_target(target, meta, warmup=2, requests=3, writes=True)
    [reply] = run["pages"]
    assert reply["method"] == "POST"
    assert reply["status"] == [302, 302, 302]
