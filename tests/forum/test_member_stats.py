"""MemberCategoryStats stays exactly what the posts say, through every write path, and the
profile's counts follow the wall (SPEC §2, §4; issue 8: a profile costs the same whatever
the member wrote)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import MemberCategoryStats, Post, Topic
from comcep.members.models import Member
from comcep.members.queries import profile_counts
from comcep.moderation import services as moderation
from comcep.moderation import settings
from comcep.policy import Viewer, visible_category_ids
from tests.factories import category, make_reply, make_topic

_POSTS_WITH_TOPICS = select(Post, Topic).join(Topic, Topic.id == Post.topic_id)


def _from_posts() -> dict[tuple[int, int], tuple[int, int, int, int]]:
    """The counts, recomputed here by walking every post in Python."""
    counts: Counter = Counter()
    for post, topic in db.session.execute(_POSTS_WITH_TOPICS):
        if post.author_id is None:
            continue
        hidden = post.is_hidden or topic.is_hidden
        key = (post.author_id, topic.category_id)
        counts[key, "topics", hidden] += post.number == 1
        counts[key, "posts", hidden] += 1
    keys = {key for key, *_ in counts}
    return {
        key: (
            counts[key, "topics", False],
            counts[key, "posts", False],
            counts[key, "topics", True],
            counts[key, "posts", True],
        )
        for key in keys
    }


def _kept() -> dict[tuple[int, int], tuple[int, int, int, int]]:
    db.session.expire_all()
    return {
        (row.member_id, row.category_id): (
            row.topic_count,
            row.post_count,
            row.hidden_topic_count,
            row.hidden_post_count,
        )
        for row in db.session.scalars(select(MemberCategoryStats))
        if (row.topic_count, row.post_count, row.hidden_topic_count, row.hidden_post_count)
        != (0, 0, 0, 0)
    }


def _assert_exact() -> None:
    assert _kept() == _from_posts()


def test_counts_stay_exact_through_posting_and_every_moderation_action(
    members: dict[str, Member],
) -> None:
    pair, other, animation = members["pair"], members["other_pair"], members["animation"]
    topic = make_topic(pair, replies=[(other, "Réponse un."), (pair, "Merci !")])
    second = make_topic(other, slug="echanges", title="Un sujet ouvert aux hors pairs")
    make_reply(members["hors_pair"], second, "Une réponse de partenaire.")
    _assert_exact()

    reply = db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 2))
    moderation.hide_post(animation, reply, topic, "Hors sujet.")
    db.session.commit()
    _assert_exact()
    moderation.restore_post(animation, reply, topic)
    db.session.commit()
    _assert_exact()

    opening = db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))
    moderation.hide_post(animation, opening, topic, "Données personnelles.")
    db.session.commit()
    _assert_exact()
    moderation.restore_post(animation, opening, topic)
    moderation.move_topic(animation, topic, category("accueil-du-beneficiaire"))
    db.session.commit()
    _assert_exact()

    third = make_reply(other, topic, "Encore une réponse.")
    new = moderation.split_topic(
        animation, topic, [third.id], "Une question à part", category("divers")
    )
    db.session.commit()
    _assert_exact()
    moderation.merge_topics(animation, new, second, confirmed=True)
    db.session.commit()
    _assert_exact()


def test_pre_moderated_posts_count_for_staff_until_approved(
    members: dict[str, Member], make_member: Callable[..., Member]
) -> None:
    settings.set_value(settings.PREMODERATION_POSTS, "1")
    db.session.commit()
    newcomer = make_member()
    topic = make_topic(newcomer, title="Première question d'un nouveau")
    _assert_exact()
    assert profile_counts(Viewer.for_member(members["pair"]), newcomer.id) == (0, 0)
    assert profile_counts(Viewer.for_member(members["animation"]), newcomer.id) == (1, 1)
    opening = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    moderation.approve_post(members["animation"], opening, topic)
    db.session.commit()
    _assert_exact()
    assert profile_counts(Viewer.for_member(members["pair"]), newcomer.id) == (1, 1)


def test_profile_counts_follow_the_wall(
    app, members: dict[str, Member], client_for: Callable[[Member], FlaskClient]
) -> None:
    pair = members["pair"]
    make_topic(pair, replies=[(pair, "Un complément.")])  # pairs only: 1 topic, 2 posts
    open_topic = make_topic(pair, slug="echanges", title="Pour les partenaires aussi")
    make_reply(pair, open_topic, "Précision.")
    hidden = make_reply(pair, open_topic, "À masquer.")
    moderation.hide_post(members["animation"], hidden, open_topic, "Doublon.")
    db.session.commit()

    expected = {"other_pair": (2, 4), "hors_pair": (1, 2), "animation": (2, 5)}
    for role, counts in expected.items():
        with app.test_request_context():
            viewer = Viewer.for_member(members[role])
            assert profile_counts(viewer, pair.id) == counts, role
            # the same as counting the posts through the wall
            visible = visible_category_ids(viewer)
            posts = [
                (post, topic)
                for post, topic in db.session.execute(_POSTS_WITH_TOPICS)
                if post.author_id == pair.id
                and topic.category_id in visible
                and (viewer.is_staff or not (post.is_hidden or topic.is_hidden))
            ]
            assert counts == (sum(p.number == 1 for p, _ in posts), len(posts)), role
    page = client_for(members["hors_pair"]).get(f"/membres/{pair.id}").get_data(as_text=True)
    assert "Pour les partenaires aussi" in page


def test_services_recompute_everything_when_asked(members: dict[str, Member]) -> None:
    make_topic(members["pair"], replies=[(members["other_pair"], "Oui.")])
    db.session.execute(MemberCategoryStats.__table__.delete())
    services.refresh_member_stats(None, None)
    db.session.commit()
    _assert_exact()
