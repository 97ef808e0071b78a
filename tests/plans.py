"""The statements a block runs, with their parameters, and SQLite's plan for one: the tests
that check a page reads an index rather than the forum."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from comcep.extensions import db


@contextmanager
def recorded_statements() -> Iterator[list[tuple[str, Any]]]:
    """The statements run inside, with their parameters (to ask the database for a plan)."""
    statements: list[tuple[str, Any]] = []

    def listener(_conn, _cursor, statement, parameters, *_args) -> None:  # noqa: ANN001
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def sqlite_plan(statement: str, parameters: Any) -> str:
    """SQLite's plan for a statement, one step a line."""
    rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(row[-1] for row in rows)
