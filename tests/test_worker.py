"""`comcep worker` (issue 12): woken through Redis as soon as work is committed, and on time
for work queued with a delay, whatever its poll interval."""

from __future__ import annotations

import logging
import os
import threading
import time
import types
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from comcep import outbox
from comcep.analytics import rollups
from comcep.extensions import db
from comcep.members import membership
from comcep.notifications import services as notifications
from comcep.worker import Worker
from tests.conftest import redis_test_url

REDIS_URL = redis_test_url()
KIND = "test.worker"


def _redis_ok() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def handled() -> Iterator[list[int]]:
    seen: list[int] = []
    outbox.register(KIND, seen.extend)
    yield seen
    outbox.HANDLERS.pop(KIND, None)


@pytest.fixture
def run_worker(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Start a worker thread with the given settings; stop it after the test."""
    workers: list[tuple[Worker, threading.Thread]] = []

    def start(poll_seconds: float, redis_url: str | None) -> Worker:
        monkeypatch.setitem(app.config, "WORKER_POLL_SECONDS", poll_seconds)
        monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
        app.extensions.pop("comcep_redis", None)
        if redis_url:
            redis.Redis.from_url(redis_url).delete(outbox.WAKE_KEY)
        worker = Worker(app)
        now = time.monotonic()  # no periodic work
        worker._last_digest = worker._last_expiry = worker._last_analytics = now
        thread = threading.Thread(target=worker.run, daemon=True, name=f"worker-{id(worker)}")
        thread.start()
        workers.append((worker, thread))
        time.sleep(0.3)  # let it reach its wait
        return worker

    yield start
    for worker, _thread in workers:
        worker.stop()
    for _worker, thread in workers:
        for _ in range(40):  # each stopping worker may need a wake-up token of its own
            if not thread.is_alive():
                break
            if app.config["REDIS_URL"]:
                redis.Redis.from_url(app.config["REDIS_URL"]).rpush(outbox.WAKE_KEY, "1")
            thread.join(0.5)
        assert not thread.is_alive()
    app.extensions.pop("comcep_redis", None)


def _need_redis() -> None:
    """Skip without Redis on a developer's machine; in CI (.ci/run starts it) fail instead."""
    if _redis_ok():
        return
    if os.environ.get("CI"):
        pytest.fail("Redis does not answer on 127.0.0.1:6379 (CI starts it in .ci/run)")
    pytest.skip("Redis does not answer on 127.0.0.1:6379")


def _until(predicate, seconds: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_commit_wakes_an_idle_worker_long_before_its_poll_interval(
    app, run_worker, handled, caplog
) -> None:
    _need_redis()
    run_worker(60.0, REDIS_URL)
    run_worker(60.0, REDIS_URL)  # two workers: the wake-up reaches the one that sleeps
    for ref in (1, 2, 3):
        outbox.enqueue(KIND, [ref])
        db.session.commit()
        outbox.wake_workers()
        assert _until(lambda ref=ref: ref in handled, 2), "not handled within two seconds"
    assert "Redis unreachable" not in caplog.text


def test_an_idle_blpop_outlasting_the_socket_timeout_is_not_taken_for_a_redis_failure(
    app, run_worker, handled, caplog
) -> None:
    _need_redis()
    caplog.set_level(logging.WARNING)
    run_worker(6.0, REDIS_URL)  # longer than the web client's 5 s socket timeout
    time.sleep(7)
    outbox.enqueue(KIND, [7])
    db.session.commit()
    outbox.wake_workers()
    assert _until(lambda: 7 in handled, 2)
    assert "Redis unreachable" not in caplog.text


def test_work_queued_with_a_delay_starts_when_due_not_at_the_next_poll(
    app, run_worker, handled
) -> None:
    _need_redis()
    run_worker(60.0, REDIS_URL)
    outbox.enqueue(KIND, [5], delay_seconds=1)  # e.g. a notification e-mail
    db.session.commit()
    outbox.wake_workers()
    assert _until(lambda: 5 in handled, 3)


def test_a_stopped_worker_ends_its_wait_at_once(app, run_worker) -> None:
    _need_redis()
    worker = run_worker(60.0, REDIS_URL)
    thread = next(t for t in threading.enumerate() if t.name == f"worker-{id(worker)}")
    worker.stop()  # what SIGTERM does
    thread.join(3)
    assert not thread.is_alive(), "the worker slept on through its stop"


def test_work_committed_by_a_command_wakes_the_workers(app, handled, monkeypatch) -> None:
    _need_redis()
    monkeypatch.setitem(app.config, "JOBS", "worker")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    app.extensions.pop("comcep_redis", None)
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(outbox.WAKE_KEY)
    try:
        with app.app_context():  # a command's own context, as `comcep …` has
            outbox.enqueue(KIND, [11])
            db.session.commit()
        assert client.llen(outbox.WAKE_KEY) == 1
    finally:
        client.delete(outbox.WAKE_KEY)
        app.extensions.pop("comcep_redis", None)


def test_a_worker_on_a_machine_just_booted_does_its_periodic_work_at_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monotonic clock counts from boot: one minute after it, the digests, the expiry
    and the comité's tallies are run on the first pass, not only once the machine has been
    up an hour (digests), six hours (expiry) or ten minutes (tallies)."""
    ran: list[str] = []
    monkeypatch.setattr(notifications, "send_digests", lambda: ran.append("digests"))
    monkeypatch.setattr(membership, "expire_registrations", lambda: ran.append("expiry"))
    monkeypatch.setattr(rollups, "refresh", lambda: ran.append("analyses"))
    monkeypatch.setattr("comcep.worker.time", types.SimpleNamespace(monotonic=lambda: 60.0))

    Worker(app).run(once=True)

    assert ran == ["digests", "expiry", "analyses"]
