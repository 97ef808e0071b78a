"""« Sans réponse » and « non résolus », in a rubrique and in « actifs »: the right topics
and the right count for each viewer (the wall applied), a count that stops at
FILTER_COUNT_CAP, and plans that read the filters' partial indexes, not every topic."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select, update

from comcep import policy
from comcep.extensions import db
from comcep.forum import queries, services
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member
from comcep.policy import Viewer
from tests.factories import category, make_topic
from tests.plans import recorded_statements, sqlite_plan

PER_PAGE = 2
FILTERS = ["sans-reponse", "non-resolus"]
# echanges (open to hors pairs) and premier-entretien accept solutions; divers does not.
RUBRIQUES = ["echanges", "premier-entretien", "divers"]


@pytest.fixture(autouse=True)
def _small_pages(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TOPICS_PER_PAGE", PER_PAGE)


@pytest.fixture
def forum(members: dict[str, Member]) -> None:
    """In each rubrique: topics without reply, answered ones, a solved one, a hidden one."""
    for slug in RUBRIQUES:
        for n in range(6):
            replies = [(members["other_pair"], "Une réponse.")] if n % 2 else []
            topic = make_topic(members["pair"], slug, title=f"{slug} {n}", replies=replies)
            if n == 1 and category(slug).accepts_solutions:
                services.mark_solution(members["pair"], topic, _reply_of(topic))
            if n == 4:
                db.session.execute(update(Topic).where(Topic.id == topic.id).values(is_hidden=True))
    services.refresh_category_counters()
    db.session.commit()
    assert not category("divers").accepts_solutions
    assert category("premier-entretien").accepts_solutions


def _reply_of(topic: Topic) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 2))


def _expected(viewer: Viewer, list_filter: str, category_id: int | None = None) -> list[int]:
    """The filtered list, in Python."""
    visible = policy.visible_category_ids(viewer)
    accepting = set(db.session.scalars(select(Category.id).where(Category.accepts_solutions)))
    rows = [
        topic
        for topic in db.session.scalars(select(Topic))
        if topic.category_id in visible
        and (viewer.is_staff or not topic.is_hidden)
        and category_id in (None, topic.category_id)
        and (
            topic.post_count <= 1
            if list_filter == "sans-reponse"
            else topic.solution_post_id is None and topic.category_id in accepting
        )
    ]
    rows.sort(key=lambda t: (t.is_pinned, t.last_post_at, t.id), reverse=True)
    return [topic.id for topic in rows]


def _listed(listing: Callable[[int], Pagination]) -> tuple[int, list[int]]:
    first = listing(1)
    ids = [row.topic.id for page in range(1, first.pages + 2) for row in listing(page).items]
    return first.total, ids


@pytest.mark.parametrize("list_filter", FILTERS)
@pytest.mark.parametrize("who", ["pair", "hors_pair", "animation"])
def test_filtered_lists_show_and_count_what_the_viewer_may_see(
    members: dict[str, Member], forum: None, who: str, list_filter: str
) -> None:
    member = members[who]
    viewer = Viewer.for_member(member)
    expected = _expected(viewer, list_filter)
    assert expected
    assert _listed(lambda page: queries.active_topics(viewer, member, page, list_filter)) == (
        len(expected),
        expected,
    )
    for slug in RUBRIQUES:
        rubrique = category(slug)
        if rubrique.id not in policy.visible_category_ids(viewer):
            continue
        expected = _expected(viewer, list_filter, rubrique.id)
        listing = _listed(
            lambda page, r=rubrique: queries.category_topics(viewer, member, r, page, list_filter)
        )
        assert listing == (len(expected), expected), slug


@pytest.mark.parametrize("list_filter", FILTERS)
def test_the_pager_counts_a_filtered_list_up_to_the_cap(
    members: dict[str, Member], forum: None, monkeypatch: pytest.MonkeyPatch, list_filter: str
) -> None:
    monkeypatch.setattr(queries, "FILTER_COUNT_CAP", 3)
    member = members["pair"]
    viewer = Viewer.for_member(member)
    expected = _expected(viewer, list_filter)
    assert len(expected) > 3
    for page in (1, 2):
        listing = queries.active_topics(viewer, member, page, list_filter)
        assert listing.total == 3
        assert [row.topic.id for row in listing.items] == expected[2 * page - 2 : 2 * page]
    rubrique = category("premier-entretien")
    listing = queries.category_topics(viewer, member, rubrique, 1, list_filter)
    assert listing.total == min(3, len(_expected(viewer, list_filter, rubrique.id)))


@pytest.mark.parametrize("list_filter", FILTERS)
@pytest.mark.parametrize("where", ["/actifs", "/r/premier-entretien"])
def test_past_the_cap_the_pages_still_lead_to_every_topic_of_the_list(
    members: dict[str, Member],
    forum: None,
    client_for: Callable,
    monkeypatch: pytest.MonkeyPatch,
    list_filter: str,
    where: str,
) -> None:
    """The count stops at the cap, not the list: following « Suivante » from the first
    page reaches every topic the filter keeps (past the cap, the last counted page used to
    end the list, the older topics out of reach by any link)."""
    monkeypatch.setattr(queries, "FILTER_COUNT_CAP", 3)
    for n in range(4):  # enough in the rubrique alone to go past the cap
        make_topic(members["other_pair"], "premier-entretien", title=f"Encore {n}")
    member = members["pair"]
    viewer = Viewer.for_member(member)
    rubrique = category("premier-entretien") if where.startswith("/r/") else None
    expected = _expected(viewer, list_filter, rubrique.id if rubrique else None)
    assert len(expected) > 3 + PER_PAGE - 1
    titles = {t.id: t.title for t in db.session.scalars(select(Topic))}
    client = client_for(member)
    url: str | None = f"{where}?filtre={list_filter}"
    seen: list[str] = []
    number = 0
    while url:
        page = client.get(url)
        number += 1
        assert page.status_code == 200
        assert f'<span aria-current="page">{number}</span>' in page.text  # where one is
        seen += [title for title in titles.values() if f">{title}</a>" in page.text]
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == sorted(titles[i] for i in expected)


def test_a_page_past_a_capped_count_says_so_without_a_false_total(
    members: dict[str, Member], forum: None, client_for: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its count stopped at the cap: the list may hold more pages than it counted, so a
    page past its end does not say « il y en a 2 »; and the first page past the counted
    ones follows them without a gap sign (« 1 2 3 », not « 1 2 … 3 ») (review of stop 54)."""
    monkeypatch.setattr(queries, "FILTER_COUNT_CAP", 3)
    for n in range(4):
        make_topic(members["other_pair"], "premier-entretien", title=f"Encore {n}")
    client = client_for(members["pair"])
    past = client.get("/actifs?filtre=sans-reponse&page=90")
    assert past.status_code == 200
    assert "la liste s'arrête avant" in past.text
    assert "il y en a" not in past.text
    assert re.search(r'href="[^"]*page=2[^"]*">Revenir à la page 2</a>', past.text)
    third = client.get("/actifs?filtre=sans-reponse&page=3").text
    pager = third[third.index('class="pager"') :]
    assert '<span aria-current="page">3</span>' in pager
    assert "pager__gap" not in pager[: pager.index('aria-current="page">3')]


def test_unsolved_in_a_rubrique_without_solutions_asks_the_database_nothing(
    members: dict[str, Member], forum: None, count_queries: Callable
) -> None:
    member = members["pair"]
    viewer = Viewer.for_member(member)
    rubrique = category("divers")
    policy.visible_category_ids(viewer)  # read once per request by every page
    with count_queries() as statements:
        listing = queries.category_topics(viewer, member, rubrique, 1, "non-resolus")
    assert (listing.total, listing.items, statements) == (0, [], [])


INDEXES = {"sans-reponse": "ix_topics_unanswered", "non-resolus": "ix_topics_unsolved"}


@pytest.mark.parametrize("list_filter", FILTERS)
@pytest.mark.parametrize("where", ["rubrique", "actifs"])
def test_a_filtered_list_reads_its_partial_index(
    members: dict[str, Member], forum: None, list_filter: str, where: str
) -> None:
    """The page's keys and the count are found in the filter's partial index: the plans
    name it (SQLite; PostgreSQL picks by its statistics)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    member = members["pair"]
    viewer = Viewer.for_member(member)
    policy.visible_category_ids(viewer)  # read once per request by every page
    rubrique = category("echanges")
    with recorded_statements() as run:
        if where == "rubrique":
            queries.category_topics(viewer, member, rubrique, 1, list_filter)
        else:
            queries.active_topics(viewer, member, 1, list_filter)
    assert len(run) == 2  # the page, the count
    for statement, parameters in run:
        details = sqlite_plan(statement, parameters)
        assert INDEXES[list_filter] in details, details
        assert "SCAN topics" not in details.replace(
            f"SCAN topics USING INDEX {INDEXES[list_filter]}", ""
        )


@pytest.mark.parametrize("url", ["/actifs", "/r/echanges", "/r/premier-entretien"])
def test_a_filter_out_of_the_list_is_said_and_filters_nothing(
    forum: None, members: dict[str, Member], client_for: Callable, url: str
) -> None:
    """`?filtre=` with a value of no filter (an old link, a hand-typed URL): the page
    says so in a 400 and lists as « Tous » does, without carrying the value in its links."""
    client = client_for(members["pair"])
    unfiltered = client.get(url).get_data(as_text=True)
    response = client.get(f"{url}?filtre=inconnu")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ce filtre n&#39;existe pas : la liste est montrée sans filtre." in page
    topics = re.compile(r'href="/t/(\d+)')
    assert topics.findall(page) == topics.findall(unfiltered)
    assert "filtre=inconnu" not in page
