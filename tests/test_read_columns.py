"""`extensions.read_columns`: column reads past the ORM's result layer still see the
session's pending changes, as the ORM's autoflush would make them seen; the viewer's visible
rubriques are written into the statement, each list in its own copy."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from sqlalchemy import Select, bindparam, func, select

from comcep import extensions, policy
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


@functools.cache
def _slugs_statement() -> Select:
    """Built once, as the pages' statements are: the copies are kept per statement."""
    return (
        select(Category.slug)
        .where(Category.id.in_(bindparam(policy.VISIBLE, expanding=True)))
        .order_by(Category.slug)
    )


def _slugs(ids: list[int]) -> list[str]:
    return list(read_columns(_slugs_statement(), {policy.VISIBLE: ids}).scalars())


@pytest.fixture
def no_list_written_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists written so far by the tests of this process (`extensions.WRITTEN_LISTS`)."""
    monkeypatch.setattr(extensions, "_lists", set())


@pytest.mark.usefixtures("no_list_written_yet")
def test_each_list_of_visible_rubriques_reads_its_own_rows(
    count_queries: Callable, make_member: Callable[..., Member]
) -> None:
    slugs = ("divers", "premier-entretien", "echanges-de-pratiques")
    first, second, third = (category(slug) for slug in slugs)

    with count_queries() as statements:
        assert _slugs([first.id, second.id]) == ["divers", "premier-entretien"]
    assert _slugs([third.id]) == ["echanges-de-pratiques"]  # not the first list's copy
    assert _slugs([first.id, second.id]) == ["divers", "premier-entretien"]
    assert _slugs([]) == []  # SQLAlchemy's own empty IN

    # Written into the SQL, not one placeholder per id spelled out on each execution.
    assert f"IN ({first.id}, {second.id})" in statements[0], statements[0]


@pytest.mark.usefixtures("no_list_written_yet")
def test_past_the_lists_written_a_list_is_bound_and_reads_its_rows(
    count_queries: Callable, monkeypatch: pytest.MonkeyPatch, make_member: Callable[..., Member]
) -> None:
    """Writing a list costs a copy of every statement: a process writes only the first
    lists it meets (those nearly every request binds), and binds any other as before."""
    monkeypatch.setattr(extensions, "WRITTEN_LISTS", 1)
    first, second = category("divers"), category("premier-entretien")
    assert _slugs([first.id]) == ["divers"]

    with count_queries() as statements:
        assert _slugs([first.id, second.id]) == ["divers", "premier-entretien"]
        assert _slugs([first.id]) == ["divers"]

    assert "IN (?, ?)" in statements[0] or "IN (%(" in statements[0], statements[0]
    assert f"IN ({first.id})" in statements[1], statements[1]
