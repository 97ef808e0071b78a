"""Forum writes: numbering, counters, « dernier message », revisions and read marks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from comcep.extensions import db, utcnow
from comcep.forum import services
from comcep.forum.models import Category, Post, PostRevision, Topic, TopicRead
from tests.factories import category, make_reply, make_topic


def _reload(model: type, row_id: int):  # noqa: ANN202 - any model
    db.session.expire_all()
    return db.session.get(model, row_id)


def _read_number(member_id: int, topic_id: int) -> int | None:
    return db.session.scalar(
        select(TopicRead.last_read_number).where(
            TopicRead.member_id == member_id, TopicRead.topic_id == topic_id
        )
    )


def test_create_topic_opens_it_with_post_number_one_and_counts_it(members) -> None:
    rubrique = category("premier-entretien")
    topic = services.create_topic(
        members["pair"], rubrique, "  Un titre avec espaces  ", "Le **premier** message."
    )
    db.session.commit()
    assert topic.title == "Un titre avec espaces"
    assert topic.slug == "un-titre-avec-espaces"
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    assert first.number == 1
    assert first.body_html == "<p>Le <strong>premier</strong> message.</p>\n"
    assert (topic.post_count, topic.last_number, topic.last_post_number) == (1, 1, 1)
    assert topic.last_post_id == first.id
    assert topic.last_poster_id == members["pair"].id
    rubrique = _reload(Category, rubrique.id)
    assert (rubrique.topic_count, rubrique.post_count, rubrique.last_post_id) == (1, 1, first.id)


def test_replies_get_consecutive_numbers_and_move_the_last_post(members) -> None:
    topic = make_topic(members["pair"])
    replies = [make_reply(members["other_pair"], topic, f"Réponse {n}.") for n in range(3)]
    assert [reply.number for reply in replies] == [2, 3, 4]
    topic = _reload(Topic, topic.id)
    assert (topic.post_count, topic.last_number, topic.last_post_number) == (4, 4, 4)
    assert topic.last_post_id == replies[-1].id
    assert topic.last_poster_id == members["other_pair"].id
    rubrique = _reload(Category, topic.category_id)
    assert (rubrique.topic_count, rubrique.post_count) == (1, 4)
    assert rubrique.last_post_id == replies[-1].id


def test_writing_a_post_marks_it_read_for_its_author(members) -> None:
    topic = make_topic(members["pair"])
    assert _read_number(members["pair"].id, topic.id) == 1
    make_reply(members["other_pair"], topic)
    assert _read_number(members["other_pair"].id, topic.id) == 2
    assert _read_number(members["pair"].id, topic.id) == 1


def test_post_dates_given_by_the_caller_are_kept(members) -> None:
    opened = utcnow() - timedelta(days=10)
    topic = services.create_topic(
        members["pair"], category("premier-entretien"), "Un sujet daté", "Texte.", at=opened
    )
    answer = services.reply(
        members["other_pair"], topic, "Réponse.", at=opened + timedelta(hours=5)
    )
    db.session.commit()
    topic = _reload(Topic, topic.id)
    assert topic.created_at == opened
    assert topic.last_post_at == opened + timedelta(hours=5)
    assert _reload(Post, answer.id).created_at == opened + timedelta(hours=5)


def test_edit_post_keeps_the_previous_body_as_a_revision(members) -> None:
    topic = make_topic(members["pair"])
    reply = make_reply(members["other_pair"], topic, "Avant.")
    services.edit_post(members["other_pair"], reply, topic, "Après *modification*.")
    db.session.commit()
    reply = _reload(Post, reply.id)
    assert reply.body_source == "Après *modification*."
    assert reply.body_html == "<p>Après <em>modification</em>.</p>\n"
    assert reply.revision_count == 1
    assert reply.edited_at is not None
    revision = db.session.scalar(select(PostRevision))
    assert (revision.post_id, revision.body_source, revision.title) == (reply.id, "Avant.", None)


def test_edit_post_changes_the_title_only_through_the_first_post(members) -> None:
    topic = make_topic(members["pair"], title="Ancien titre")
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))
    reply = make_reply(members["pair"], topic, "Une réponse.")

    services.edit_post(members["pair"], reply, topic, "Une réponse.", title="Titre ignoré")
    db.session.commit()
    assert _reload(Topic, topic.id).title == "Ancien titre"

    topic = _reload(Topic, topic.id)
    first = _reload(Post, first.id)
    services.edit_post(members["pair"], first, topic, first.body_source, title="Nouveau titre")
    db.session.commit()
    topic = _reload(Topic, topic.id)
    assert (topic.title, topic.slug) == ("Nouveau titre", "nouveau-titre")
    revision = db.session.scalar(select(PostRevision))
    assert revision.title == "Ancien titre"


def test_edit_post_without_change_adds_no_revision(members) -> None:
    topic = make_topic(members["pair"], title="Même titre", body="Même texte.")
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    services.edit_post(members["pair"], first, topic, "Même texte.", title="  Même titre ")
    db.session.commit()
    assert db.session.scalar(select(func.count(PostRevision.id))) == 0
    assert _reload(Post, first.id).revision_count == 0


def test_mark_read_never_goes_back(members) -> None:
    topic = make_topic(members["pair"], replies=[(members["other_pair"], "R.")] * 4)
    reader = members["animation"]
    services.mark_read(reader, topic.id, 4)
    db.session.commit()
    services.mark_read(reader, topic.id, 2)
    db.session.commit()
    assert _read_number(reader.id, topic.id) == 4
    services.mark_read(reader, topic.id, 5)
    db.session.commit()
    assert _read_number(reader.id, topic.id) == 5


def test_mark_all_read_records_the_moment(members) -> None:
    before = utcnow()
    services.mark_all_read(members["pair"])
    db.session.commit()
    assert _reload(type(members["pair"]), members["pair"].id).marked_read_at >= before


def test_category_by_slug_finds_a_rubrique_or_nothing() -> None:
    assert services.category_by_slug("premier-entretien").name == "Le premier entretien"
    assert services.category_by_slug("nope") is None


def test_refresh_category_counters_counts_visible_topics_and_posts_only(members) -> None:
    kept = make_topic(
        members["pair"], title="Sujet visible", replies=[(members["other_pair"], "R.")]
    )
    hidden = make_topic(members["pair"], title="Sujet masqué")
    hidden_reply = make_reply(members["other_pair"], kept, "Réponse masquée.")
    hidden.is_hidden = True
    hidden_reply.is_hidden = True
    kept.post_count -= 1  # what moderation does to the topic's own counter
    rubrique = category("premier-entretien")
    rubrique.topic_count = rubrique.post_count = 99
    db.session.commit()

    services.refresh_category_counters([rubrique.id])
    db.session.commit()
    rubrique = _reload(Category, rubrique.id)
    second = db.session.scalar(select(Post).where(Post.topic_id == kept.id, Post.number == 2))
    assert (rubrique.topic_count, rubrique.post_count) == (1, 2)
    assert rubrique.last_post_id == second.id


def test_refresh_category_counters_empties_a_rubrique_without_topics(members) -> None:
    rubrique = category("liens-utiles")
    rubrique.topic_count, rubrique.post_count = 3, 7
    db.session.commit()
    services.refresh_category_counters()
    db.session.commit()
    rubrique = _reload(Category, rubrique.id)
    assert (rubrique.topic_count, rubrique.post_count, rubrique.last_post_id) == (0, 0, None)


def test_a_reply_through_a_stale_topic_never_writes_its_rubrique_back(members) -> None:
    """A topic moved by another request while this one holds it: the reply's counter UPDATEs
    bind values by names that are no column's (a `category_id` key would be SET too)."""
    topic = make_topic(members["pair"], slug="premier-entretien")
    db.session.commit()
    topic.category_id  # noqa: B018 - loaded, then left stale
    moved_to = category("liens-utiles").id
    with db.engine.begin() as other:  # another request's transaction
        other.execute(
            Topic.__table__.update().where(Topic.__table__.c.id == topic.id),
            {"category_id": moved_to},
        )

    services.reply(members["other_pair"], topic, "Réponse pendant le déplacement.")
    db.session.commit()

    assert db.session.scalar(select(Topic.category_id).where(Topic.id == topic.id)) == moved_to
