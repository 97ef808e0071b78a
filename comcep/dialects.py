"""Small dialect switches, so that domain code stays the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from comcep.extensions import db


def upsert(table: object):  # noqa: ANN201 - an INSERT with on_conflict_do_update
    """An INSERT … ON CONFLICT for the current database."""
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    return insert(table)
