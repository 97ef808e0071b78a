"""The members' directory (« Membres »): who it lists to a hors pair follows the posts it
may read, through every moderation change, and its pages cost the same whatever the
forum holds (no post is read, no member sorted apart from the index)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import select

from comcep import policy
from comcep.extensions import db
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.moderation import services as moderation
from tests import factories
from tests.forum.test_query_budget import GET_BUDGET, RequestScopedClient
from tests.plans import recorded_statements

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

_ROW_NAME = re.compile(r'<td><a href="/membres/(\d+)">([^<]+)</a></td>')


def rows(response) -> list[tuple[int, str]]:  # noqa: ANN001
    """The (id, name) rows of the member table, in the page's order."""
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    return [(int(id_), unescape(name)) for id_, name in _ROW_NAME.findall(table)]


def posted_where_readable(viewer: Member) -> set[int]:
    """The rule of SPEC §4 read from the posts themselves: members with a post the viewer
    may read (the reference the kept counts must agree with)."""
    seen = policy.Viewer.for_member(viewer)
    return set(
        db.session.scalars(
            select(Post.author_id)
            .join(Topic, Topic.id == Post.topic_id)
            .join(Member, Member.id == Post.author_id)
            .where(policy.visible_posts(seen), Member.state.in_(("active", "suspended")))
        )
    ) | {viewer.id}


def test_a_hors_pair_lists_exactly_those_who_posted_where_it_reads_through_moderation(
    client_for, members, make_member
) -> None:
    hors_pair = members["hors_pair"]
    writer = make_member(name="Écrit Chez Tous", network="apec")
    behind = make_member(name="Derrière Le Mur", network="apec")
    factories.make_topic(behind, "premier-entretien", "Chez les pairs", "Entre pairs.")
    shared = factories.make_topic(members["other_pair"], "echanges", "Ouvert", "Bonjour.")
    answer = factories.make_reply(writer, shared, "Ma réponse à tous.")
    moved = factories.make_topic(behind, "echanges", "Bientôt déplacé", "Ouvert un temps.")
    client = client_for(hors_pair)

    def check(expected: set[str]) -> None:
        names = {name for _id, name in rows(client.get("/membres"))}
        assert names == expected
        db.session.expire_all()
        ids = {id_ for id_, _name in rows(client.get("/membres"))}
        assert ids == posted_where_readable(hors_pair)

    check({"Hors Pair", "Paire Deux", "Écrit Chez Tous", "Derrière Le Mur"})

    # Their only readable post hidden: out of the list; shown again: back.
    moderation.hide_post(members["animation"], answer, shared, "Hors sujet")
    db.session.commit()
    check({"Hors Pair", "Paire Deux", "Derrière Le Mur"})
    moderation.restore_post(members["animation"], answer, shared)
    db.session.commit()
    check({"Hors Pair", "Paire Deux", "Écrit Chez Tous", "Derrière Le Mur"})

    # A topic moved behind the wall takes its author out of sight.
    moderation.move_topic(members["animation"], moved, factories.category("premier-entretien"))
    db.session.commit()
    check({"Hors Pair", "Paire Deux", "Écrit Chez Tous"})

    # A reply in a topic whose opening post is hidden (the topic with it) counts no more.
    opening = db.session.scalar(select(Post).where(Post.topic_id == shared.id, Post.number == 1))
    moderation.hide_post(members["animation"], opening, shared, "Données personnelles")
    db.session.commit()
    check({"Hors Pair"})


def test_pages_of_members_with_one_name_neither_overlap_nor_leave_anyone_out(
    app: Flask, client_for, members, make_member
) -> None:
    per_page = app.config["MEMBERS_PER_PAGE"]
    alike = {make_member(name="Dominique Martin").id for _ in range(per_page + 5)}
    client = client_for(members["pair"])

    first = rows(client.get("/membres?q=dominique"))
    second = rows(client.get("/membres?q=dominique&page=2"))

    assert len(first) == per_page
    assert len(second) == 5
    assert {id_ for id_, _ in first + second} == alike
    # Ties in name order come by id: the same order at every request.
    assert [id_ for id_, _ in first + second] == sorted(alike)


@pytest.mark.parametrize("who", ["pair", "hors_pair"])
def test_the_directory_reads_no_post_and_sorts_no_member(
    app: Flask, client_for, members, who: str
) -> None:
    shared = factories.make_topic(members["other_pair"], "echanges", "Ouvert", "Bonjour.")
    factories.make_reply(members["pair"], shared, "Réponse.")
    client = client_for(members[who])
    client.get("/membres")
    with recorded_statements() as recorded:
        assert client.get("/membres").status_code == 200
    # The statements that read the members: the page's, then its count.
    statements = [(s, p) for s, p in recorded if re.search(r"\bFROM members\b", s)]
    page, count = statements[-2], statements[-1]
    for statement, _params in (page, count):
        # Whether a member « posted where the viewer reads » is a look-up of their kept
        # counts: walking their posts grew with what they wrote.
        assert not re.search(r"\b(FROM|JOIN) posts\b", statement), statement
    if db.engine.dialect.name == "sqlite":
        # With statistics, as a database holding a forum has them (`bench/generate.py`).
        connection = db.session.connection()
        connection.exec_driver_sql("ANALYZE")
        statement, params = page
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        details = [row[3] for row in plan]
        assert not any("TEMP B-TREE" in line for line in details), details
        assert any("ix_members_directory" in line for line in details), details


@pytest.mark.parametrize("who", ["pair", "hors_pair"])
def test_the_directory_runs_the_same_small_number_of_queries_whatever_the_forum_size(
    app: Flask,
    members: dict[str, Member],
    make_member: Callable[..., Member],
    count_queries: Callable,
    who: str,
) -> None:
    client = RequestScopedClient(app, app.response_class, use_cookies=True, user=members[who])
    shared = factories.make_topic(members["other_pair"], "echanges", "Ouvert", "Bonjour.")

    def measure() -> int:
        client.get("/membres")
        with count_queries() as statements:
            assert client.get("/membres?page=2").status_code == 200
        return len(statements)

    small = measure()
    for n in range(40):
        writer = make_member(network="apec")
        factories.make_reply(writer, shared, f"Réponse {n}.")
        factories.make_topic(writer, "premier-entretien", f"Sujet {n}", "Entre pairs.")
    big = measure()

    assert big == small
    assert small <= GET_BUDGET


def test_a_network_or_region_out_of_the_lists_is_said_and_filters_nothing(
    members: dict[str, Member], client_for: Callable
) -> None:
    """An old link or a hand-typed URL naming no network (or region) would list no one
    without saying why: the field says it, in 400, and the directory is unfiltered."""
    client = client_for(members["pair"])
    everyone = client.get("/membres")
    assert everyone.status_code == 200
    for query, said in [
        ("network=zzz", "Réseau inconnu : choisissez dans la liste."),
        ("region=zzz", "Région inconnue : choisissez dans la liste."),
    ]:
        response = client.get(f"/membres?{query}")
        assert response.status_code == 400
        assert said in response.get_data(as_text=True)
        response.status_code = 200  # read by `rows`, which checks a listing
        assert rows(response) == rows(everyone)
        assert "zzz" not in response.get_data(as_text=True)  # in no link
    # A network of the list filters as ever.
    apec = client.get("/membres?network=apec")
    assert apec.status_code == 200
    assert "inconnu" not in apec.get_data(as_text=True)
