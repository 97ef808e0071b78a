"""Concurrent posting (issue 9, part 5): 8 processes post 100 replies each, at once, to a real
gunicorn server with 2 workers on the test database (SQLite in WAL mode with a busy timeout, or
PostgreSQL in the PostgreSQL pass). Nothing is lost or doubled, every counter is exact, no
answer is a 5xx (no retries), and the search index agrees with the database afterwards."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

import pytest
from flask import Flask
from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Category, Post, Topic, TopicRead
from comcep.search import indexing
from tests.conftest import PASSWORD
from tests.factories import make_topic

BIN = Path(sys.executable).parent
CLIENTS = 8
REPLIES = 100
START_TIMEOUT = 60  # seconds for gunicorn to answer
RUN_TIMEOUT = 900  # seconds for the 800 replies, whatever the machine
REQUEST_TIMEOUT = 120  # one request; a request that waits longer fails the test


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(HTTPRedirectHandler):
    """Keep the 302 after a post as the answer (following it would only add page loads)."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


class _Client:
    """A browser in miniature: cookies kept, redirects not followed, CSRF token read from pages."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), _NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urlencode(data).encode() if data is not None else None
        request = Request(self.base + path, data=body)  # noqa: S310 - loopback test server
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                return response.status, response.read().decode()
        except HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def token(self, path: str) -> str:
        status, page = self.request(path)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        if status != 200 or match is None:
            raise AssertionError(f"no CSRF token on {path} (HTTP {status})")
        return match.group(1)


def _post_replies(
    base: str,
    email: str,
    topic_id: int,
    bodies: list[str],
    barrier: multiprocessing.synchronize.Barrier,
    results: multiprocessing.Queue,
) -> None:
    """One member: log in through the form, wait for the others, then post every body."""
    report: dict = {"email": email, "statuses": [], "errors": [], "seconds": 0.0}
    try:
        client = _Client(base)
        token = client.token("/connexion")
        status, _ = client.request(
            "/connexion", {"email": email, "password": PASSWORD, "csrf_token": token}
        )
        report["login"] = status
        token = client.token(f"/t/{topic_id}/repondre")
        barrier.wait(timeout=START_TIMEOUT)
        started = time.monotonic()
        for body in bodies:
            status, page = client.request(
                f"/t/{topic_id}/repondre", {"body": body, "csrf_token": token}
            )
            report["statuses"].append(status)
            if status != 302:
                report["errors"].append(f"{status}: {page[:300]}")
        report["seconds"] = time.monotonic() - started
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails
        report["errors"].append(repr(error))
    results.put(report)


def _server_env(app: Flask) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMCEP_")}
    env.update(
        COMCEP_ENV="development",
        COMCEP_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        COMCEP_INSTANCE_PATH=app.instance_path,
        COMCEP_SECRET_KEY=f"concurrency-{uuid.uuid4().hex}",
        COMCEP_RATELIMIT_ENABLED="0",  # 100 replies a member in a minute is the point here
        COMCEP_JOBS="inline",
    )
    return env


@pytest.fixture
def server(app: Flask, tmp_path: Path) -> Iterator[dict]:
    assert Path(app.config["SEARCH_INDEX_PATH"]) == Path(app.instance_path) / "search-index"
    env = _server_env(app)
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                str(REQUEST_TIMEOUT),
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
                "comcep:create_app()",
            ],  # fmt: skip
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    if _Client(base).request("/connexion")[0] == 200:
                        break
                except URLError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.2)
            yield {"base": base, "env": env, "log": log_path}
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the master and its workers
                process.wait(timeout=5)


def _run_clients(base: str, jobs: list[tuple[str, list[str]]], topic_id: int) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    results = context.Queue()
    processes = [
        context.Process(
            target=_post_replies, args=(base, email, topic_id, bodies, barrier, results)
        )
        for email, bodies in jobs
    ]
    for process in processes:
        process.start()
    reports = []
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        for _ in processes:
            reports.append(results.get(timeout=max(1.0, deadline - time.monotonic())))
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    return reports


def _comcep(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "comcep"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_eight_members_posting_at_once_lose_nothing(server, app, make_member) -> None:
    author = make_member(name="Autrice du sujet")
    posters = [make_member(name=f"Rédactrice {n}") for n in range(CLIENTS)]
    topic = make_topic(author, title="Un sujet très fréquenté", body="Qui veut répondre ?")
    topic_id, category_id = topic.id, topic.category_id
    category_before = db.session.execute(
        select(Category.post_count, Category.topic_count).where(Category.id == category_id)
    ).one()
    run = uuid.uuid4().hex[:8]
    jobs = [
        (member.email, [f"Réponse {n} de la rédactrice {i} (essai {run})" for n in range(REPLIES)])
        for i, member in enumerate(posters)
    ]

    started = time.monotonic()
    reports = _run_clients(server["base"], jobs, topic_id)
    elapsed = time.monotonic() - started

    # Every request answered, and answered well: a login, then 100 redirects to the new post.
    errors = [error for report in reports for error in report["errors"]]
    assert not errors, errors[:5]
    assert [report["login"] for report in reports] == [302] * CLIENTS
    statuses = Counter(status for report in reports for status in report["statuses"])
    assert statuses == {302: CLIENTS * REPLIES}

    # Each body stored exactly once, numbered 1..801 without gap or duplicate.
    db.session.rollback()
    db.session.expire_all()
    rows = db.session.execute(
        select(Post.id, Post.number, Post.body_source, Post.author_id, Post.created_at)
        .where(Post.topic_id == topic_id)
        .order_by(Post.number)
    ).all()
    expected_bodies = Counter(body for _, bodies in jobs for body in bodies)
    stored_bodies = Counter(row.body_source for row in rows if row.number > 1)
    assert stored_bodies == expected_bodies
    assert max(stored_bodies.values()) == 1
    assert [row.number for row in rows] == list(range(1, CLIENTS * REPLIES + 2))
    assert db.session.scalar(select(func.count(Post.id))) == CLIENTS * REPLIES + 1

    # Counters and « dernier message » of the topic and of its rubrique.
    topic = db.session.get(Topic, topic_id)
    last = rows[-1]
    assert topic.post_count == CLIENTS * REPLIES + 1
    assert (topic.last_number, topic.last_post_number) == (len(rows), len(rows))
    assert (topic.last_post_id, topic.last_poster_id) == (last.id, last.author_id)
    category = db.session.get(Category, category_id)
    assert category.post_count == category_before.post_count + CLIENTS * REPLIES
    assert category.topic_count == category_before.topic_count
    assert category.last_post_id == last.id

    # Each poster has read the topic up to their own last reply (the upsert never goes back).
    read_up_to = dict(
        db.session.execute(
            select(TopicRead.member_id, TopicRead.last_read_number).where(
                TopicRead.topic_id == topic_id
            )
        ).all()
    )
    for member in posters:
        own = max(row.number for row in rows if row.author_id == member.id)
        assert read_up_to[member.id] == own

    # The search index agrees with the database once pending updates are applied.
    sync = _comcep(server["env"], "search", "sync")
    assert sync.returncode == 0, sync.stdout + sync.stderr
    check = _comcep(server["env"], "search", "check")
    assert check.returncode == 0, check.stdout + check.stderr

    log = server["log"].read_text()
    access = re.findall(r'"POST /t/\d+/repondre HTTP/1\.[01]" (\d{3})', log)
    assert Counter(access) == {"302": CLIENTS * REPLIES}
    measures = {
        "database": db.engine.dialect.name,
        "seconds_for_all_replies": round(elapsed, 1),
        "seconds_per_client": sorted(round(report["seconds"], 1) for report in reports),
        "inline_outbox_failures": log.count("Inline outbox processing failed"),
        "outbox_handler_failures": len(re.findall(r"Outbox \S+ failed", log)),
        "search_sync": sync.stdout.strip(),
    }
    print("\nconcurrency:", json.dumps(measures, ensure_ascii=False))


@pytest.fixture(autouse=True)
def _empty_search_index(app: Flask) -> Iterator[None]:
    """800 documents of this test must not show up in later tests' searches."""
    yield
    with app.app_context():
        indexing.get_backend().clear()
