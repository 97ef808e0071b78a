"""`extensions.read_columns`: column reads past the ORM's result layer still see the
session's pending changes, as the ORM's autoflush would make them seen."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from comcep.extensions import db, read_columns
from comcep.forum.models import Category
from comcep.members.models import Member
from tests.factories import category


def _hors_pair_rubriques() -> int:
    statement = select(func.count(Category.id)).where(Category.open_to_hors_pairs.is_(True))
    return read_columns(statement).scalar_one()


def test_pending_changes_are_flushed_before_reading(make_member: Callable[..., Member]) -> None:
    divers = category("divers")
    before = _hors_pair_rubriques()
    divers.open_to_hors_pairs = True  # pending, not flushed

    assert _hors_pair_rubriques() == before + 1


def test_no_autoflush_is_respected(make_member: Callable[..., Member]) -> None:
    divers = category("divers")
    before = _hors_pair_rubriques()
    with db.session.no_autoflush:
        divers.open_to_hors_pairs = True

        assert _hors_pair_rubriques() == before
    db.session.rollback()
