"""Durable side effects: rows written in the same transaction as the change that causes
them, applied after commit (inline, right after the request) or by `comcep search sync`.

A crash or a busy lock between commit and processing delays the work, never loses it:
a row is deleted only once its handler has succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import redis
from flask import Flask, Response, current_app, has_request_context
from sqlalchemy import Integer, String, Text, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from comcep.extensions import UTCDateTime, db, utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
_SESSION_FLAG = "comcep_outbox_dirty"
_QUEUED = "comcep_outbox_queued"  # rows this session has queued, ever: see `process`
_BATCH = "comcep_outbox_batch"  # rows waiting for the end of a `batch()` block

# kind -> handler(list of ref ids); registered by the domains (search, mail…)
HANDLERS: dict[str, Callable[[list[int]], None]] = {}


class OutboxEvent(db.Model):
    """One unit of side-effect work: `kind` names the handler, `ref_id` its object."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    ref_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    parked: Mapped[bool] = mapped_column(default=False)


class Busy(Exception):  # noqa: N818 - a state, not a failure
    """A handler's resource is held elsewhere for a while (the search index, while
    `comcep search rebuild` writes it): try again soon, without counting an attempt, so
    that a long rebuild never parks the work waiting behind it."""


BUSY_RETRY_SECONDS = 15


def register(kind: str, handler: Callable[[list[int]], None]) -> None:
    HANDLERS[kind] = handler


def enqueue(
    kind: str, ref_ids: list[int] | tuple[int, ...] | set[int], delay_seconds: float = 0
) -> None:
    """Add work to the current transaction; it runs only if the transaction commits (and not
    before `delay_seconds`, e.g. to let an author fix a typo before e-mails go out)."""
    now = utcnow()
    available = now + timedelta(seconds=delay_seconds)
    rows = [
        {
            "kind": kind,
            "ref_id": ref_id,
            "created_at": now,
            "available_at": available,
            "attempts": 0,
            "last_error": "",
            "parked": False,
        }
        for ref_id in sorted(set(ref_ids))
    ]
    pending = db.session.info.get(_BATCH)
    if pending is not None:
        pending.extend(rows)
    elif rows:
        _insert(rows)


@contextmanager
def batch() -> Iterator[None]:
    """Write the rows enqueued inside the block with one INSERT when it ends, still in the
    caller's transaction (a reply queues its notifications and its indexing: one statement
    instead of two). If the block raises, nothing is written: the transaction is doomed."""
    if _BATCH in db.session.info:  # inside another batch: the outer one writes
        yield
        return
    rows: list[dict] = []
    db.session.info[_BATCH] = rows
    try:
        yield
    finally:
        del db.session.info[_BATCH]
    if rows:
        _insert(rows)


def _insert(rows: list[dict]) -> None:
    db.session.execute(OutboxEvent.__table__.insert(), rows)
    db.session.info[_SESSION_FLAG] = True
    db.session.info[_QUEUED] = db.session.info.get(_QUEUED, 0) + len(rows)


def _claim(kinds: tuple[str, ...] | None, batch_size: int) -> list[tuple[int, str, int]]:
    """Take due rows for this process: their `available_at` moves to the end of a lease, so
    no other worker takes them (SKIP LOCKED on PostgreSQL; SQLite serialises writers), and
    a worker that dies leaves them to be taken again once the lease is over."""
    now = utcnow()
    candidates = (
        select(OutboxEvent.id)
        .where(OutboxEvent.parked.is_(False), OutboxEvent.available_at <= now)
        .order_by(OutboxEvent.id)
        .limit(batch_size)
    )
    if kinds:
        candidates = candidates.where(OutboxEvent.kind.in_(kinds))
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    lease = now + timedelta(seconds=current_app.config.get("OUTBOX_LEASE_SECONDS", 300))
    rows = db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(candidates.scalar_subquery()), OutboxEvent.available_at <= now)
        .values(available_at=lease)
        .returning(OutboxEvent.id, OutboxEvent.kind, OutboxEvent.ref_id)
    ).all()
    db.session.commit()
    return sorted((row.id, row.kind, row.ref_id) for row in rows)


def process(
    kinds: tuple[str, ...] | None = None,
    batch_size: int = 500,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Apply due rows batch by batch until none is left (or `should_stop()` says so, checked
    between handlers); return how many were done."""
    if not has_request_context():
        # Workers and commands build e-mail links from COMCEP_BASE_URL.
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            return process(kinds, batch_size, should_stop)
    done = 0
    while True:
        if should_stop is not None and should_stop():
            return done
        rows = _claim(kinds, batch_size)
        if not rows:
            return done
        queued = db.session.info.get(_QUEUED, 0)
        by_kind: dict[str, list[tuple[int, int]]] = {}
        for event_id, kind, ref_id in rows:
            by_kind.setdefault(kind, []).append((event_id, ref_id))
        handled: list[int] = []
        for kind, items in by_kind.items():
            if should_stop is not None and should_stop():
                _release([event_id for event_id, _ in items])
                continue
            ids = [event_id for event_id, _ in items]
            try:
                HANDLERS[kind](sorted({ref_id for _, ref_id in items}))
                db.session.commit()  # the handler's own writes, before its rows go
            except Busy:
                db.session.rollback()
                _postpone(ids, "", count=False)
                continue
            except Exception as error:  # noqa: BLE001 - any failure is retried later
                logger.exception("Outbox %s failed for %d rows", kind, len(ids))
                db.session.rollback()
                _postpone(ids, repr(error)[:2000])
                continue
            handled.extend(ids)
        # One DELETE for every kind done (a reply's indexing and notifying: one statement,
        # not two). A crash before it only has the handlers run again, which each must bear.
        if handled:
            db.session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(handled)))
            db.session.commit()
            done += len(handled)
        # Handlers may queue follow-up work (a post → notifications → e-mails): loop again.
        # A short batch that queued nothing left nothing due behind it when it was claimed:
        # claiming again would only take SQLite's write lock for nothing (each reply did).
        if len(rows) < batch_size and db.session.info.get(_QUEUED, 0) == queued:
            return done


def _release(ids: list[int]) -> None:
    """Give claimed rows back at once (a worker asked to stop before handling them)."""
    db.session.execute(
        update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(available_at=utcnow())
    )
    db.session.commit()


def _postpone(ids: list[int], error: str, *, count: bool = True) -> None:
    """Back off exponentially; park a row after MAX_ATTEMPTS so it stays visible. A busy
    resource (`count=False`) only waits BUSY_RETRY_SECONDS, attempts unchanged."""
    for event in db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids))):
        if not count:
            event.available_at = utcnow() + timedelta(seconds=BUSY_RETRY_SECONDS)
            continue
        event.attempts += 1
        event.last_error = error
        event.available_at = utcnow() + timedelta(seconds=min(2**event.attempts, 3600))
        event.parked = event.attempts >= MAX_ATTEMPTS
    db.session.commit()


def backlog() -> tuple[int, int, datetime | None]:
    """(rows waiting, rows parked, creation time of the oldest row) for /sante and /metrics."""
    waiting, parked, oldest = db.session.execute(
        select(
            func.count(OutboxEvent.id),
            func.count(OutboxEvent.id).filter(OutboxEvent.parked.is_(True)),
            func.min(OutboxEvent.created_at),
        )
    ).one()
    if isinstance(oldest, str):  # SQLite aggregates lose the column type
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
    elif oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return waiting or 0, parked or 0, oldest


def next_due() -> datetime | None:
    """When the earliest waiting row (delayed, backed off or leased) becomes due."""
    due = db.session.scalar(
        select(func.min(OutboxEvent.available_at)).where(OutboxEvent.parked.is_(False))
    )
    if isinstance(due, str):  # SQLite aggregates lose the column type
        due = datetime.fromisoformat(due)
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due


def parked_rows() -> list[OutboxEvent]:
    return list(
        db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.parked.is_(True)).order_by(OutboxEvent.id)
        )
    )


def retry_parked() -> int:
    result = db.session.execute(
        update(OutboxEvent).where(OutboxEvent.parked.is_(True)).values(parked=False, attempts=0)
    )
    db.session.commit()
    return result.rowcount or 0


WAKE_KEY = "comcep:outbox:wake"


def wake_workers() -> None:
    """Tell `comcep worker`s (through Redis) that work is waiting, so none polls tightly."""
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        pipe.rpush(WAKE_KEY, "1")
        pipe.ltrim(WAKE_KEY, -100, -1)
        pipe.execute()
    except Exception:  # noqa: BLE001 - workers also poll: a lost wake-up only delays
        logger.warning("Could not wake the workers through Redis", exc_info=True)


def redis_client() -> redis.Redis | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("comcep_redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        current_app.extensions["comcep_redis"] = client
    return client


def init_app(app: Flask) -> None:
    """After a request that queued work: run it now (`inline`), or wake the workers; after
    a command (`comcep notifications digest` from cron…), wake them too."""

    @app.teardown_appcontext
    def after_command(_error: BaseException | None) -> None:
        if has_request_context() or current_app.config["JOBS"] == "inline":
            return
        if db.session.info.pop(_SESSION_FLAG, False):
            wake_workers()

    @app.after_request
    def after_commit(response: Response) -> Response:
        if not db.session.info.pop(_SESSION_FLAG, False):
            return response
        if current_app.config["JOBS"] != "inline":
            wake_workers()
            return response
        try:
            process()
        except Exception:  # noqa: BLE001 - the rows stay; `comcep search sync` retries
            logger.exception("Inline outbox processing failed")
            db.session.rollback()
        return response
