"""The mots-clés pages cost the same whatever the forum (issue 8): /mots-cles sums
`TagCategoryCount`, a mot-clé's page reads its topics in the order of
`topic_tags.last_post_at`. Both stay exactly what the topics say, through every write path,
and follow the wall for a pair, a hors pair and the staff."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum import knowledge, queries, services
from comcep.forum.models import Post, Tag, TagCategoryCount, Topic, topic_tags
from comcep.members import membership
from comcep.members.models import Member
from comcep.moderation import services as moderation
from comcep.policy import Viewer, visible_category_ids
from tests.factories import category, make_reply, make_topic
from tests.forum.test_query_budget import GET_BUDGET, RequestScopedClient
from tests.plans import recorded_statements, sqlite_plan

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

VIEWERS = ("other_pair", "hors_pair", "animation")


def _counts_from_topics() -> dict[tuple[int, int], tuple[int, int]]:
    """The counters, recomputed here in Python from every tagged topic."""
    counts: Counter = Counter()
    rows = db.session.execute(
        select(topic_tags.c.tag_id, Topic).join(Topic, Topic.id == topic_tags.c.topic_id)
    )
    for tag_id, topic in rows:
        counts[tag_id, topic.category_id, topic.is_hidden] += 1
    keys = {(tag_id, category_id) for tag_id, category_id, _ in counts}
    return {key: (counts[*key, False], counts[*key, True]) for key in keys}


def _kept_counts() -> dict[tuple[int, int], tuple[int, int]]:
    return {
        (row.tag_id, row.category_id): (row.topic_count, row.hidden_topic_count)
        for row in db.session.scalars(select(TagCategoryCount))
        if (row.topic_count, row.hidden_topic_count) != (0, 0)
    }


def _expected_lists(viewer: Viewer) -> dict[int, list[int]]:
    """Each mot-clé's topics the viewer may see, in activity order, computed in Python."""
    visible = visible_category_ids(viewer)
    lists: dict[int, list[Topic]] = {}
    rows = db.session.execute(
        select(topic_tags.c.tag_id, Topic).join(Topic, Topic.id == topic_tags.c.topic_id)
    )
    for tag_id, topic in rows:
        if topic.category_id in visible and (viewer.is_staff or not topic.is_hidden):
            lists.setdefault(tag_id, []).append(topic)
    return {
        tag_id: [t.id for t in sorted(topics, key=lambda t: (t.last_post_at, t.id), reverse=True)]
        for tag_id, topics in lists.items()
    }


def _assert_exact(app: Flask, members: dict[str, Member]) -> None:
    db.session.expire_all()
    assert _kept_counts() == _counts_from_topics()
    dates = db.session.execute(
        select(topic_tags.c.topic_id, topic_tags.c.last_post_at, Topic.last_post_at).join(
            Topic, Topic.id == topic_tags.c.topic_id
        )
    )
    for topic_id, kept, actual in dates:
        assert kept == actual, topic_id
    for role in VIEWERS:
        with app.test_request_context():
            viewer = Viewer.for_member(members[role])
            expected = _expected_lists(viewer)
            shown = {tag.id: n for tag, n in knowledge.tag_counts(viewer)}
            active = {tag.id for tag in knowledge.active_tags()}
            assert shown == {t: len(expected.get(t, [])) for t in active}, role
            for tag in knowledge.active_tags():
                page = queries.tag_topics(viewer, members[role], tag, 1)
                assert page.total == len(expected.get(tag.id, [])), (role, tag.slug)
                assert [row.topic.id for row in page.items] == expected.get(tag.id, []), role


def _tag(slug: str) -> Tag:
    return db.session.scalar(select(Tag).where(Tag.slug == slug))


def _opening(topic: Topic) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))


def test_tag_counts_and_order_stay_exact_through_every_write_path(
    app: Flask, members: dict[str, Member]
) -> None:
    pair, other, animation = members["pair"], members["other_pair"], members["animation"]
    first = make_topic(pair, title="Financer une VAE", replies=[(other, "Par le CPF.")])
    services.set_tags(first, ["cpf", "vae"])
    opened = make_topic(other, slug="echanges", title="Question ouverte aux partenaires")
    services.set_tags(opened, ["cpf"])
    make_reply(members["hors_pair"], opened, "Une réponse de partenaire.")
    third = make_topic(other, title="Un autre sujet VAE")
    services.set_tags(third, ["vae", "jeunes"])
    db.session.commit()
    _assert_exact(app, members)

    make_reply(pair, first, "Une réponse qui le fait remonter.")  # the order changes
    _assert_exact(app, members)

    opening = _opening(first)
    moderation.hide_post(animation, opening, first, "Données personnelles.")
    db.session.commit()
    _assert_exact(app, members)
    moderation.restore_post(animation, opening, first)
    db.session.commit()
    _assert_exact(app, members)

    moderation.move_topic(animation, first, category("echanges"), confirmed=True)  # the wall
    db.session.commit()
    _assert_exact(app, members)

    late = make_reply(other, opened, "Une question à part.")
    moderation.split_topic(
        animation, opened, [late.id], "Une question à part", category("divers"), confirmed=True
    )
    db.session.commit()
    _assert_exact(app, members)

    moderation.merge_topics(animation, third, opened, confirmed=True)
    db.session.commit()
    _assert_exact(app, members)

    services.set_tags(opened, ["vae", "handicap"])
    db.session.commit()
    _assert_exact(app, members)

    services.merge_tags(_tag("vae"), _tag("cpf"))
    db.session.commit()
    _assert_exact(app, members)

    membership.leave(pair, remove_posts=True)
    db.session.commit()
    _assert_exact(app, members)


def test_a_tag_page_pages_exactly_forwards_and_from_the_end(
    app: Flask, members: dict[str, Member]
) -> None:
    app.config["TOPICS_PER_PAGE"] = 3
    topics = []
    for n in range(8):
        slug = "echanges" if n % 3 == 0 else "premier-entretien"
        topic = make_topic(members["pair"], slug=slug, title=f"Sujet CPF {n}")
        services.set_tags(topic, ["cpf"])
        topics.append(topic)
    make_reply(members["other_pair"], topics[2], "Remonte.")
    db.session.commit()
    cpf = _tag("cpf")
    for role in VIEWERS:
        with app.test_request_context():
            viewer = Viewer.for_member(members[role])
            expected = _expected_lists(viewer)[cpf.id]
            seen = []
            for page in range(1, 5):
                listed = queries.tag_topics(viewer, members[role], cpf, page)
                assert listed.total == len(expected)
                seen += [row.topic.id for row in listed.items]
            assert seen == expected, role
    assert len(_expected_lists(Viewer.for_member(members["hors_pair"]))[cpf.id]) == 3


def _tagged_topics(members: dict[str, Member], count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        slug = "echanges" if n % 4 < 2 else "premier-entretien"
        topic = make_topic(members["other_pair"], slug=slug, title=f"Sujet étiqueté {n}")
        services.set_tags(topic, ["cpf", "vae"] if n % 2 else ["cpf"])
    db.session.commit()


@pytest.mark.parametrize("role", ["referent_apec", "hors_pair", "animation"])
def test_tag_pages_run_the_same_small_number_of_queries_whatever_the_forum_size(
    app: Flask, members: dict[str, Member], count_queries: Callable, role: str
) -> None:
    app.config["TOPICS_PER_PAGE"] = 5
    client: FlaskClient = RequestScopedClient(
        app, app.response_class, use_cookies=True, user=members[role]
    )
    urls = ["/mots-cles", "/mots-cles/cpf", "/mots-cles/cpf?page=2", "/mots-cles/vae?page=2"]

    def measure() -> list[int]:
        counts = []
        for url in urls:
            assert client.get(url).status_code == 200, url
            with count_queries() as statements:
                assert client.get(url).status_code == 200, url
            counts.append(len(statements))
        return counts

    _tagged_topics(members, 24)
    small = measure()
    _tagged_topics(members, 60, start=24)
    assert measure() == small
    assert max(small) <= GET_BUDGET


def test_the_pages_read_the_tag_index_and_counters_not_every_tagged_topic(
    members: dict[str, Member], client_for: Callable[[Member], FlaskClient]
) -> None:
    """Before, a mot-clé's page sorted every topic of the mot-clé for each page and counted
    them all, and /mots-cles counted every tagged topic: now the page walks
    (tag_id, last_post_at, topic_id) and both counts read the counters."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    _tagged_topics(members, 40)
    db.session.connection().exec_driver_sql("ANALYZE")
    db.session.commit()
    for role, url in [(r, u) for r in VIEWERS for u in ("/mots-cles", "/mots-cles/cpf")]:
        client = client_for(members[role])
        assert client.get(url).status_code == 200  # applies what the outbox holds
        with recorded_statements() as statements:
            assert client.get(url).status_code == 200
        reading = [  # the chips of a page's topics aside (a page of them)
            (s, p) for s, p in statements if "topic_tags" in s and "topic_tags.topic_id IN" not in s
        ]
        for statement, parameters in reading:
            plan = sqlite_plan(statement, parameters)
            # The page's keys come off the index in order (the page's own rows, joined
            # after, may be sorted: a page of them only).
            keys = plan.split("SCAN page_keys")[0]
            assert "TEMP B-TREE" not in keys, plan
            assert "count(" not in statement.lower(), statement
            if "page_keys" in statement:
                assert "ix_topic_tags_tag_activity" in keys, plan
        if url == "/mots-cles":  # the counters only
            assert not reading, [s for s, _ in reading]
        else:
            pages = [s for s, _ in reading if "page_keys" in s]
            assert pages, [s for s, _ in statements]
