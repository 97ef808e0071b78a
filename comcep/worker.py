"""`comcep worker`: drains the outbox (index updates, e-mails, notifications), sends the
digests and expires stale registrations. Several workers on several hosts never handle a
row twice; SIGTERM lets the current row finish, then the worker stops."""

from __future__ import annotations

import logging
import signal
import threading
import time

from flask import Flask

from comcep import outbox
from comcep.extensions import db

logger = logging.getLogger(__name__)

POLL_SECONDS = 5.0
DIGEST_EVERY = 3600.0
EXPIRE_EVERY = 6 * 3600.0


class Worker:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._last_digest = 0.0
        self._last_expiry = 0.0

    def stop(self, *_args: object) -> None:
        logger.info("Worker stopping after the current row")
        self.stopping.set()

    def run(self, once: bool = False) -> int:
        """Loop until stopped (or one pass with `once`); return rows handled."""
        handled = 0
        with self.app.app_context():
            while not self.stopping.is_set():
                handled += outbox.process(should_stop=self.stopping.is_set)
                self._periodic()
                db.session.remove()
                if once:
                    break
                self._wait()
        return handled

    def _periodic(self) -> None:
        from comcep.members.membership import expire_registrations
        from comcep.notifications.services import send_digests

        now = time.monotonic()
        if now - self._last_digest >= DIGEST_EVERY:
            self._last_digest = now
            send_digests()
        if now - self._last_expiry >= EXPIRE_EVERY:
            self._last_expiry = now
            expire_registrations()
            db.session.commit()

    def _wait(self) -> None:
        """Sleep until woken through Redis, or poll every few seconds without it."""
        client = outbox.redis_client()
        if client is None:
            self.stopping.wait(POLL_SECONDS)
            return
        try:
            client.blpop([outbox.WAKE_KEY], timeout=int(POLL_SECONDS))
        except Exception:  # noqa: BLE001 - Redis away: fall back to polling
            logger.warning("Redis unreachable; polling", exc_info=True)
            self.stopping.wait(POLL_SECONDS)


def run_worker(app: Flask, once: bool = False) -> int:
    worker = Worker(app)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    return worker.run(once=once)
