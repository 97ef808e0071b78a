"""Pages of the topic lists: a page past the middle of a list of known length is found
walking the list from its end; every page must hold exactly the rows of the forward walk,
in the same order (pinned topics first in a rubrique, ties in last activity broken by id)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select, update

from comcep import policy
from comcep.extensions import db
from comcep.forum import queries, services
from comcep.forum.models import Topic
from comcep.members.models import Member
from comcep.policy import Viewer
from tests.factories import category, make_topic

PER_PAGE = 3
PAGES = 6  # 14 topics in « echanges », 13 visible to non-staff: page 6 is past the end


@pytest.fixture(autouse=True)
def _small_pages(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TOPICS_PER_PAGE", PER_PAGE)


@pytest.fixture
def forum(members: dict[str, Member]) -> None:
    """14 topics in « echanges » (open to hors pairs) and 6 in « premier-entretien », their
    activity interleaved and tied by threes; two pinned and one hidden in « echanges »."""
    slugs = ["echanges"] * 14 + ["premier-entretien"] * 6
    topics = [
        make_topic(members["pair"], slug, title=f"Sujet numéro {n}") for n, slug in enumerate(slugs)
    ]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n, topic in enumerate(topics):
        values = {
            "last_post_at": start + timedelta(hours=(n * 7 % 20) // 3),
            "is_pinned": n in (2, 9, 15),
            "is_hidden": n in (5, 16),
        }
        db.session.execute(update(Topic).where(Topic.id == topic.id).values(**values))
    services.refresh_category_counters()
    db.session.commit()


def _expected(viewer: Viewer, category_id: int | None = None) -> list[int]:
    """The whole list, filtered and ordered in Python: what every page is compared with."""
    visible = policy.visible_category_ids(viewer)
    rows = [
        row
        for row in db.session.execute(select(Topic)).scalars().all()
        if row.category_id in visible
        and (viewer.is_staff or not row.is_hidden)
        and category_id in (None, row.category_id)
    ]
    pinned_first = category_id is not None
    rows.sort(key=lambda t: (pinned_first and t.is_pinned, t.last_post_at, t.id), reverse=True)
    return [row.id for row in rows]


def _pages(listing: Callable[[int], Pagination], count: int) -> list[list[int]]:
    return [[row.topic.id for row in listing(page).items] for page in range(1, count + 1)]


def _slices(ids: list[int], count: int) -> list[list[int]]:
    return [ids[start : start + PER_PAGE] for start in range(0, count * PER_PAGE, PER_PAGE)]


@pytest.mark.parametrize("who", ["pair", "hors_pair", "animation"])
def test_every_page_of_a_rubrique_holds_the_rows_of_the_forward_order(
    members, forum, count_queries, who
) -> None:
    member, rubrique = members[who], category("echanges")
    viewer = Viewer.for_member(member)
    expected = _expected(viewer, rubrique.id)
    assert len(expected) == (14 if viewer.is_staff else 13)
    pages, counts, backwards = [], [], 0
    for page in range(1, PAGES + 1):
        with count_queries() as statements:
            listing = queries.category_topics(viewer, member, rubrique, page)
            pages.append([row.topic.id for row in listing.items])
        counts.append(len(statements))
        backwards += sum("is_pinned ASC" in sql for sql in statements)
    assert pages == _slices(expected, PAGES)
    assert backwards == 3  # pages 3 to 5 are found from the end; page 6 is past it
    assert len(set(counts)) == 1  # as many statements backwards as forwards


@pytest.mark.parametrize("who", ["pair", "hors_pair", "animation"])
def test_a_filtered_rubrique_keeps_the_forward_walk(members, forum, count_queries, who) -> None:
    member, rubrique = members[who], category("echanges")
    viewer = Viewer.for_member(member)
    with count_queries() as statements:
        pages = _pages(
            lambda page: queries.category_topics(viewer, member, rubrique, page, "sans-reponse"),
            PAGES,
        )
    assert pages == _slices(_expected(viewer, rubrique.id), PAGES)
    assert not [sql for sql in statements if "is_pinned ASC" in sql]


@pytest.mark.parametrize("walk", [True, False], ids=["walk", "database-choice"])
@pytest.mark.parametrize("who", ["pair", "hors_pair", "animation"])
def test_every_page_of_the_active_topics_holds_the_rows_of_the_forward_order(
    members, forum, count_queries, monkeypatch, who, walk
) -> None:
    monkeypatch.setattr(queries, "walk_pays", lambda *_args: walk)
    member = members[who]
    viewer = Viewer.for_member(member)
    expected = _expected(viewer)
    assert len(expected) == {"pair": 18, "hors_pair": 13, "animation": 20}[who]
    count = len(expected) // PER_PAGE + 2  # and one page past the end
    with count_queries() as statements:
        pages = _pages(lambda page: queries.active_topics(viewer, member, page), count)
    assert pages == _slices(expected, count)
    walked = any("topics.category_id + 0 IN" in sql for sql in statements)
    assert walked == (walk and not viewer.is_staff)


@pytest.mark.parametrize(
    ("page", "visible", "walks"),
    [
        (1, 15_993, True),  # a hors pair at 1 M posts: 14 % of 115,912 topics
        (2, 15_993, True),
        (320, 15_993, False),  # the middle: about half the forum to walk, sort instead
        (640, 15_993, True),  # the last page, walked from the end
        (1, 104_000, True),  # a pair
        (1, 500, False),  # a single small rubrique: sorting 500 topics is cheaper
        (1, 0, False),
    ],
)
def test_actifs_walk_the_activity_order_only_when_it_reads_less_than_a_sort(
    page, visible, walks
) -> None:
    assert queries.walk_pays(page, 25, visible, 115_912) is walks
