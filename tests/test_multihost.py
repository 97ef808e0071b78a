"""Two app hosts (gunicorn, 2 ports) and two workers on one PostgreSQL and one Redis, as in
production (issue 12). Needs PostgreSQL and Redis: it runs in the PostgreSQL pass."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as email_policy
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from comcep.extensions import db
from comcep.mail import MailMessage
from comcep.outbox import OutboxEvent
from tests.conftest import PASSWORD, redis_test_url

BIN = Path(sys.executable).parent
REDIS_URL = redis_test_url()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_ok() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class Mailbox:
    """aiosmtpd on loopback; the 5th RCPT of the run can be held to stop a worker mid-batch."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.rcpt_count = 0
        self.hold_at: int | None = None
        self.holding = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        self.rcpt_count += 1
        if self.hold_at is not None and self.rcpt_count == self.hold_at:
            self.holding.set()
            await asyncio.sleep(4)  # the worker is killed while it waits here
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(envelope.content)
        return "250 Message accepted"

    def ids(self) -> list[str]:
        return [message_from_bytes(raw, policy=email_policy)["Message-ID"] for raw in self.messages]


class Browser:
    """A cookie-keeping HTTP client (sessions are signed cookies: they work on any host)."""

    def __init__(self) -> None:
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, url: str, timeout: float = 30) -> tuple[int, str]:

        try:
            with self.opener.open(url, timeout=timeout) as response:  # noqa: S310 - loopback
                return response.status, response.read().decode()
        except HTTPError as error:
            return error.code, error.read().decode()
        except (URLError, TimeoutError):  # not listening yet, or still starting
            return 0, ""

    def post(self, url: str, data: dict, form_url: str | None = None) -> tuple[int, str]:
        _, page = self.get(form_url or url)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            r'name="csrf_token" value="([^"]+)"', page
        )
        body = urlencode({**data, "csrf_token": token.group(1) if token else ""}).encode()
        try:
            with self.opener.open(Request(url, data=body), timeout=20) as response:  # noqa: S310
                return response.status, response.read().decode()
        except HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture
def cluster(app, tmp_path) -> Iterator[dict]:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the multi-host test needs PostgreSQL: it runs in the PostgreSQL pass")
    if not _redis_ok():
        if os.environ.get("CI"):
            pytest.fail("Redis does not answer on 127.0.0.1:6379 (CI starts it in .ci/run)")
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (needed with PostgreSQL here)")
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    env = {
        **os.environ,
        "COMCEP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "COMCEP_SECRET_KEY": "secret-shared-by-every-host",
        "COMCEP_JOBS": "worker",
        "COMCEP_REDIS_URL": REDIS_URL,
        "COMCEP_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "COMCEP_MAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "COMCEP_INSTANCE_PATH": str(tmp_path / "instance"),
        "COMCEP_OUTBOX_LEASE_SECONDS": "3",
        "COMCEP_SEARCH_BACKEND": "postgres",
    }
    processes: dict[str, subprocess.Popen] = {}
    ports = [_free_port(), _free_port()]
    log = (tmp_path / "cluster.log").open("w")

    def start_worker(name: str) -> None:
        processes[name] = subprocess.Popen(
            [str(BIN / "comcep"), "worker"], env=env, stdout=log, stderr=log
        )

    try:
        for index, port in enumerate(ports):
            processes[f"web{index}"] = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--no-control-socket",
                    "--timeout",
                    "60",
                    "comcep:create_app()",
                ],
                env=env,
                stdout=log,
                stderr=log,
            )
        start_worker("worker0")
        start_worker("worker1")
        hosts = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 90  # a loaded CI machine starts 4 gunicorn workers slowly
        for host in hosts:
            while Browser().get(f"{host}/sante", timeout=60)[0] != 200:
                if time.monotonic() > deadline:
                    pytest.fail("the gunicorn hosts did not start: " + _tail(tmp_path))
                time.sleep(0.2)
        yield {
            "hosts": hosts,
            "mailbox": mailbox,
            "processes": processes,
            "start_worker": start_worker,
            "log": tmp_path / "cluster.log",
        }
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        smtp.stop()
        log.close()


def _tail(tmp_path: Path) -> str:
    return (tmp_path / "cluster.log").read_text()[-3000:]


def _login(browser: Browser, host: str, email: str, password: str = PASSWORD) -> int:
    status, _ = browser.post(f"{host}/connexion", {"email": email, "password": password})
    return status


def _wait(predicate, seconds: float = 10.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_two_hosts_share_sessions_search_rate_limits_and_mail(cluster, members) -> None:
    a, b = cluster["hosts"]
    pair, hors, animation = members["pair"], members["hors_pair"], members["animation"]

    # A session opened on one host works on the other.
    writer = Browser()
    assert _login(writer, a, pair.email) == 200
    assert "Paire Un" in writer.get(f"{b}/")[1]

    # A topic posted through A is found through B, with other inflections, never by a hors pair.
    status, page = writer.post(
        f"{a}/r/premier-entretien/nouveau-sujet",
        {
            "title": "Entretiens d'évolution et reconversions",
            "body": "Une CONSEILLÈRE témoigne.",
            "submit": "1",
        },
    )
    assert status == 200
    reader = Browser()
    assert _login(reader, b, members["other_pair"].email) == 200
    assert _wait(lambda: "Aucun résultat" not in reader.get(f"{b}/recherche?q=entretien")[1], 2)
    assert "Aucun résultat" not in reader.get(f"{b}/recherche?q=evolution+reconversion")[1]
    outsider = Browser()
    assert _login(outsider, a, hors.email) == 200
    for host in (a, b):
        page = outsider.get(f"{host}/recherche?q=entretien")[1]
        assert "Entretiens d" not in page
        assert "CONSEILL" not in page.upper().replace("CONSEILLERS EN ÉVOLUTION", "")

    # Hiding it through A removes it from both hosts' search at once.
    moderator = Browser()
    assert _login(moderator, b, animation.email) == 200
    post_id = re.search(r"/p/(\d+)/signaler", reader.get(f"{b}/actifs")[1] or "")
    topic_page = reader.get(f"{b}/recherche?q=entretien")[1]
    post_id = re.search(r'href="/p/(\d+)"', topic_page).group(1)
    status, _ = moderator.post(f"{a}/p/{post_id}/masquer", {"reason": "Test"})
    assert status == 200
    for host in (a, b):
        assert "Aucun résultat" in reader.get(f"{host}/recherche?q=reconversion")[1]

    # Failed logins spread over both hosts are limited together: 10 attempts per minute from
    # one address, the 4 logins above included, then 429 on whichever host.
    guesser = Browser()
    codes = [_login(guesser, (a, b)[i % 2], pair.email, "mauvais") for i in range(8)]
    assert codes[:6] == [400] * 6
    assert codes[6:] == [429, 429]

    # A password-reset e-mail caused on either host arrives exactly once, two workers running.
    before = len(cluster["mailbox"].messages)
    status, _ = Browser().post(f"{b}/mot-de-passe-oublie", {"email": pair.email})
    assert status == 200
    assert _wait(lambda: len(cluster["mailbox"].messages) > before, 10), cluster["log"].read_text()[
        -3000:
    ]

    time.sleep(1.5)
    assert len(cluster["mailbox"].messages) == before + 1
    assert cluster["mailbox"].messages[-1].count(b"mot-de-passe/") >= 1


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    cluster, make_member
) -> None:
    a, _ = cluster["hosts"]
    mailbox: Mailbox = cluster["mailbox"]
    processes = cluster["processes"]
    processes["worker1"].send_signal(signal.SIGTERM)  # one worker, to know whom to kill
    processes["worker1"].wait(timeout=15)
    people = [make_member(email=f"lot{i}@exemple.fr", name=f"Lot {i}") for i in range(8)]
    mailbox.hold_at = mailbox.rcpt_count + 5
    for person in people:  # 8: the form allows 10 requests an hour from one address
        status, _ = Browser().post(f"{a}/mot-de-passe-oublie", {"email": person.email})
        assert status == 200

    assert mailbox.holding.wait(20), "the worker never reached the 5th e-mail"
    processes["worker0"].send_signal(signal.SIGKILL)
    processes["worker0"].wait(timeout=10)
    cluster["start_worker"]("worker2")
    assert _wait(lambda: len(mailbox.messages) >= 8, 30)
    time.sleep(4)  # past the lease: nothing more may arrive
    ids = mailbox.ids()[-len(mailbox.messages) :]
    recipients = [message_from_bytes(raw, policy=email_policy)["To"] for raw in mailbox.messages]
    assert sorted(recipients) == sorted(p.email for p in people)
    assert len(set(ids)) == len(ids) == 8
    db.session.expire_all()
    assert (
        db.session.scalar(select(func.count(MailMessage.id)).where(MailMessage.sent_at.is_(None)))
        == 0
    )
    assert db.session.scalar(select(func.count(OutboxEvent.id))) == 0
