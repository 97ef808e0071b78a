"""Durable side effects: rows written in the same transaction as the change that causes
them, applied after commit (inline, right after the request) or by `comcep search sync`.

A crash or a busy lock between commit and processing delays the work, never loses it:
a row is deleted only once its handler has succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, Response, current_app
from sqlalchemy import Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from comcep.extensions import UTCDateTime, db, utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
_SESSION_FLAG = "comcep_outbox_dirty"

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
    if rows:
        db.session.execute(OutboxEvent.__table__.insert(), rows)
        db.session.info[_SESSION_FLAG] = True


def process(kinds: tuple[str, ...] | None = None, batch_size: int = 500) -> int:
    """Apply pending rows batch by batch until none is due; return how many were done."""
    done = 0
    while True:
        now = utcnow()
        query = (
            select(OutboxEvent.id, OutboxEvent.kind, OutboxEvent.ref_id)
            .where(OutboxEvent.parked.is_(False), OutboxEvent.available_at <= now)
            .order_by(OutboxEvent.id)
            .limit(batch_size)
        )
        if kinds:
            query = query.where(OutboxEvent.kind.in_(kinds))
        rows = db.session.execute(query).all()
        db.session.rollback()  # release the read snapshot before slow work
        if not rows:
            return done
        by_kind: dict[str, list[tuple[int, int]]] = {}
        for event_id, kind, ref_id in rows:
            by_kind.setdefault(kind, []).append((event_id, ref_id))
        for kind, items in by_kind.items():
            ids = [event_id for event_id, _ in items]
            try:
                HANDLERS[kind](sorted({ref_id for _, ref_id in items}))
            except Exception as error:  # noqa: BLE001 - any failure is retried later
                logger.exception("Outbox %s failed for %d rows", kind, len(ids))
                db.session.rollback()
                _postpone(ids, repr(error)[:2000])
                continue
            db.session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
            db.session.commit()
            done += len(ids)
        # Handlers may queue follow-up work (a post → notifications → e-mails): loop again.


def _postpone(ids: list[int], error: str) -> None:
    """Back off exponentially; park a row after MAX_ATTEMPTS so it stays visible."""
    for event in db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids))):
        event.attempts += 1
        event.last_error = error
        event.available_at = utcnow() + timedelta(seconds=min(2**event.attempts, 3600))
        event.parked = event.attempts >= MAX_ATTEMPTS
    db.session.commit()


def backlog() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count(OutboxEvent.id))) or 0


def retry_parked() -> int:
    result = db.session.execute(
        update(OutboxEvent).where(OutboxEvent.parked.is_(True)).values(parked=False, attempts=0)
    )
    db.session.commit()
    return result.rowcount or 0


def init_app(app: Flask) -> None:
    """In `inline` mode, work caused by a request runs right after its commit."""

    @app.after_request
    def run_inline(response: Response) -> Response:
        if db.session.info.pop(_SESSION_FLAG, False) and current_app.config["JOBS"] == "inline":
            try:
                process()
            except Exception:  # noqa: BLE001 - the rows stay; `comcep search sync` retries
                logger.exception("Inline outbox processing failed")
                db.session.rollback()
        return response
