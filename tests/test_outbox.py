"""`outbox.process`: every due row is applied in one call, follow-up work included, and a
call whose last batch was short and queued nothing ends without claiming again;
`outbox.batch`: the rows one change queues, written by one INSERT; the rows a batch handled,
deleted by one DELETE."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from comcep import outbox
from comcep.extensions import db
from comcep.members.models import Network

FIRST, FOLLOW_UP = "test.outbox.first", "test.outbox.follow_up"


@pytest.fixture
def handled() -> Iterator[dict[str, list[int]]]:
    """Two handlers: the first queues one follow-up row per odd id it handles."""
    seen: dict[str, list[int]] = {FIRST: [], FOLLOW_UP: []}

    def first(ids: list[int]) -> None:
        seen[FIRST].extend(ids)
        outbox.enqueue(FOLLOW_UP, [i * 10 for i in ids if i % 2])

    outbox.register(FIRST, first)
    outbox.register(FOLLOW_UP, seen[FOLLOW_UP].extend)
    yield seen
    outbox.HANDLERS.pop(FIRST, None)
    outbox.HANDLERS.pop(FOLLOW_UP, None)


def _claims(statements: list[str]) -> int:
    return sum(s.lstrip().upper().startswith("UPDATE OUTBOX_EVENTS") for s in statements)


def _queue(kind: str, ids: list[int]) -> None:
    outbox.enqueue(kind, ids)
    db.session.commit()


def test_a_short_batch_that_queued_nothing_is_claimed_once(
    app: Flask, handled: dict[str, list[int]], count_queries: Callable
) -> None:
    _queue(FIRST, [2, 4, 6])
    with app.test_request_context(), count_queries() as statements:
        assert outbox.process() == 3
    assert handled[FIRST] == [2, 4, 6]
    assert _claims(statements) == 1, statements
    assert outbox.backlog()[0] == 0


def test_follow_up_work_queued_by_a_handler_runs_in_the_same_call(
    app: Flask, handled: dict[str, list[int]], count_queries: Callable
) -> None:
    _queue(FIRST, [1, 2, 3])
    with app.test_request_context(), count_queries() as statements:
        assert outbox.process() == 5
    assert handled == {FIRST: [1, 2, 3], FOLLOW_UP: [10, 30]}
    assert _claims(statements) == 2, statements  # the follow-up batch was short: no third
    assert outbox.backlog()[0] == 0


def test_a_full_batch_is_followed_by_the_next(app: Flask, handled: dict[str, list[int]]) -> None:
    _queue(FIRST, [2, 4, 6, 8, 10])
    with app.test_request_context():
        assert outbox.process(batch_size=2) == 5
    assert sorted(handled[FIRST]) == [2, 4, 6, 8, 10]
    assert outbox.backlog()[0] == 0


def test_rows_queued_by_another_session_are_left_to_the_next_call(
    app: Flask, handled: dict[str, list[int]]
) -> None:
    """What another request commits meanwhile is its own (inline) or the worker's: the next
    call takes it."""
    _queue(FIRST, [2])

    def first_and_another_request(ids: list[int]) -> None:
        handled[FIRST].extend(ids)
        with db.engine.begin() as conn:  # another transaction, as another request's
            conn.execute(
                outbox.OutboxEvent.__table__.insert(),
                [
                    {
                        "kind": FIRST,
                        "ref_id": 4,
                        "created_at": outbox.utcnow(),
                        "available_at": outbox.utcnow(),
                        "attempts": 0,
                        "last_error": "",
                        "parked": False,
                    }
                ],
            )

    outbox.register(FIRST, first_and_another_request)
    with app.test_request_context():
        assert outbox.process() == 1
        outbox.register(FIRST, handled[FIRST].extend)
        assert outbox.process() == 1
    assert handled[FIRST] == [2, 4]


# --- `outbox.batch`: the rows of one change in one INSERT ----------------------------------


def _inserts(statements: list[str]) -> int:
    return sum(s.lstrip().upper().startswith("INSERT INTO OUTBOX_EVENTS") for s in statements)


def test_rows_of_several_kinds_queued_in_a_batch_are_written_by_one_insert(
    app: Flask, handled: dict[str, list[int]], count_queries: Callable
) -> None:
    with count_queries() as statements, outbox.batch():
        outbox.enqueue(FIRST, [2])
        with outbox.batch():  # a nested block leaves the writing to the outer one
            outbox.enqueue(FOLLOW_UP, [7, 8])
        assert _inserts(statements) == 0
    assert _inserts(statements) == 1, statements
    db.session.commit()
    with app.test_request_context():
        assert outbox.process() == 3  # the rows were queued as `process` expects
    assert handled == {FIRST: [2], FOLLOW_UP: [7, 8]}


def test_a_batch_that_raises_writes_nothing_and_the_next_enqueue_writes_at_once(
    app: Flask, handled: dict[str, list[int]], count_queries: Callable
) -> None:
    def failing_change() -> None:
        with outbox.batch():
            outbox.enqueue(FIRST, [2])
            raise RuntimeError

    with count_queries() as statements, pytest.raises(RuntimeError):
        failing_change()
    assert _inserts(statements) == 0
    db.session.rollback()  # as a view does with a failed change
    with count_queries() as statements:
        outbox.enqueue(FIRST, [4])  # outside any block: written at once
    assert _inserts(statements) == 1
    db.session.commit()
    with app.test_request_context():
        assert outbox.process() == 1
    assert handled[FIRST] == [4]


# --- one DELETE for the rows of every kind a batch handled ----------------------------------


def _deletes(statements: list[str]) -> int:
    return sum(s.lstrip().upper().startswith("DELETE FROM OUTBOX_EVENTS") for s in statements)


def test_the_rows_of_every_kind_handled_in_a_batch_go_in_one_delete(
    app: Flask, handled: dict[str, list[int]], count_queries: Callable
) -> None:
    """A reply queues its indexing and its notifying: one DELETE after both, not one each."""
    with outbox.batch():
        outbox.enqueue(FIRST, [2, 4])
        outbox.enqueue(FOLLOW_UP, [7])
    db.session.commit()
    with app.test_request_context(), count_queries() as statements:
        assert outbox.process() == 3
    assert _deletes(statements) == 1, statements
    assert outbox.backlog()[0] == 0


def test_a_failing_kind_keeps_its_rows_and_the_others_are_still_done_and_deleted(
    app: Flask, handled: dict[str, list[int]]
) -> None:
    """The kind that raised rolls back its own writes only: a kind handled before it keeps
    what it wrote (committed before its rows are deleted) and its rows go."""

    def writes_then_done(ids: list[int]) -> None:
        db.session.add(Network(code="reseau-job", name="Réseau écrit par un job", kind="pair"))
        handled[FIRST].extend(ids)

    def fails(_ids: list[int]) -> None:
        db.session.add(Network(code="reseau-echec", name="Réseau d'un job qui échoue", kind="pair"))
        db.session.flush()
        raise RuntimeError("panne")

    outbox.register(FIRST, writes_then_done)
    outbox.register(FOLLOW_UP, fails)
    with outbox.batch():
        outbox.enqueue(FIRST, [2])
        outbox.enqueue(FOLLOW_UP, [7])
    db.session.commit()
    with app.test_request_context():
        assert outbox.process() == 1
    slugs = set(db.session.scalars(db.select(Network.code)))
    assert "reseau-job" in slugs
    assert "reseau-echec" not in slugs
    rows = db.session.scalars(db.select(outbox.OutboxEvent)).all()
    assert [(row.kind, row.ref_id, row.attempts) for row in rows] == [(FOLLOW_UP, 7, 1)]
    assert "panne" in rows[0].last_error
