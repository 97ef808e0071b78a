"""`comcep worker`: drains the outbox (index updates, e-mails, notifications), sends the
digests, expires stale registrations and tallies the comité's settled months. Several
workers on several hosts never handle a row twice; SIGTERM lets the current row finish,
then the worker stops."""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
import uuid

import redis
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from comcep import outbox
from comcep.extensions import db, utcnow

logger = logging.getLogger(__name__)

DIGEST_EVERY = 3600.0
EXPIRE_EVERY = 6 * 3600.0
ANALYTICS_EVERY = 600.0  # tally the settled months for the comité's page ahead of its visits


class Worker:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopping = threading.Event()
        # "Never": `time.monotonic()` counts from boot, so 0.0 would hold back each periodic
        # job of a worker started soon after boot until the machine had been up its period.
        self._last_digest = -math.inf
        self._last_expiry = -math.inf
        self._last_analytics = -math.inf
        self.poll_seconds = float(app.config.get("WORKER_POLL_SECONDS", 5.0))
        self._blocking: redis.Redis | None = None
        self._stop_key = f"{outbox.WAKE_KEY}:stop:{uuid.uuid4().hex}"  # this worker's alone

    def stop(self, *_args: object) -> None:
        logger.info("Worker stopping after the current row")
        self.stopping.set()
        url = self.app.config.get("REDIS_URL")
        if not url:
            return
        try:  # end this worker's BLPOP now rather than at the end of its poll interval
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            client.pipeline().rpush(self._stop_key, "1").expire(self._stop_key, 60).execute()
        except redis.RedisError:
            logger.warning("Could not wake this worker to stop it", exc_info=True)

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
        from comcep.analytics.rollups import refresh as refresh_analytics
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
        if now - self._last_analytics >= ANALYTICS_EVERY:
            self._last_analytics = now
            try:  # a busy database only delays the tallies: the outbox comes first
                refresh_analytics()
            except SQLAlchemyError:
                db.session.rollback()
                logger.warning("Analyses: months not tallied this time", exc_info=True)

    def _wait(self) -> None:
        """Sleep until woken through Redis, until the next delayed row is due, or at most
        `WORKER_POLL_SECONDS` (the only wait without Redis)."""
        timeout = self.poll_seconds
        due = outbox.next_due()
        if due is not None:
            timeout = min(timeout, (due - utcnow()).total_seconds())
        db.session.remove()
        if timeout <= 0:
            return
        client = self._blocking_client()
        if client is None:
            self.stopping.wait(timeout)
            return
        try:
            # Redis takes fractional timeouts; the socket's own timeout is longer, so an
            # idle BLPOP ends by Redis answering, never by the socket giving up.
            woken = client.blpop([outbox.WAKE_KEY, self._stop_key], timeout=max(timeout, 0.01))
            if woken is not None and woken[0].decode() == outbox.WAKE_KEY:
                # This worker now claims every committed row: the other tokens are stale.
                client.delete(outbox.WAKE_KEY)
        except redis.RedisError:
            logger.warning("Redis unreachable; polling", exc_info=True)
            self.stopping.wait(timeout)

    def _blocking_client(self) -> redis.Redis | None:
        """A connection of its own for BLPOP, with a socket timeout above the poll interval."""
        url = self.app.config.get("REDIS_URL")
        if not url:
            return None
        if self._blocking is None:
            self._blocking = redis.Redis.from_url(
                url, socket_timeout=self.poll_seconds + 10, socket_connect_timeout=2
            )
        return self._blocking


def run_worker(app: Flask, once: bool = False) -> int:
    worker = Worker(app)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    return worker.run(once=once)
