"""Post numbers under moderation: a reply takes a place (1..n) when published, never two,
whatever runs at the same moment (a split, a merge, another publication); and a decision
taken as its author leaves with their posts never undoes their withdrawal."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from comcep import policy
from comcep.errors import ComcepError
from comcep.extensions import db
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.moderation import services as moderation
from tests.factories import category, make_reply, make_topic
from tests.moderation.helpers import assert_counters_right, posts_of, reload, set_premoderation


@pytest.fixture
def newcomer(make_member):  # noqa: ANN201
    return make_member(statut="pair", network="apec", name="Nouvelle Recrue")


def _waiting_reply(members, client_for, newcomer, topic: Topic) -> Post:  # noqa: ANN001
    set_premoderation(client_for(members["admin"]), "1")
    sent = client_for(newcomer).post(
        f"/t/{topic.id}/repondre", data={"body": "Ma réponse en attente.", "submit": "1"}
    )
    assert sent.status_code == 302
    pending = posts_of(topic.id)[-1]
    assert pending.is_pending
    return pending


def _in_another_transaction(app: Flask, work: Callable[[], None]) -> threading.Thread:
    """`work` in its own thread, app context, session and connection, committed there."""

    def run() -> None:
        with app.app_context():
            try:
                work()
                db.session.commit()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _approved_elsewhere(app: Flask, pending_id: int, staff_id: int) -> None:
    """« Valider » on the post by another request, committed before this one goes on."""

    def approve() -> None:
        other = db.session.get(Post, pending_id)
        actor = db.session.get(Member, staff_id)
        moderation.approve_post(actor, other, db.session.get(Topic, other.topic_id))

    thread = _in_another_transaction(app, approve)
    thread.join(timeout=30)
    assert not thread.is_alive()


def _left_elsewhere(app: Flask, member_id: int) -> None:
    """The member leaves with their posts, in another request committed before this one
    goes on."""

    def leave() -> None:
        member = db.session.get(Member, member_id)
        moderation.hide_member_posts(member, member)

    thread = _in_another_transaction(app, leave)
    thread.join(timeout=30)
    assert not thread.is_alive()


def _split_while(
    app: Flask,
    monkeypatch,
    members,
    topic: Topic,
    moved: Post,
    post_id: int,
    work,  # noqa: ANN001
) -> None:
    """Split `moved` off `topic`, running `work` in another transaction once the split has
    read the post `post_id` to number it again; both must end, neither deadlocked."""
    was_published = policy.was_published
    started: list[threading.Thread] = []

    def work_meanwhile(post) -> bool:  # noqa: ANN001
        if post.id == post_id and not started:
            started.append(_in_another_transaction(app, work))
            started[0].join(timeout=2)  # blocks, if the split holds the topic
        return was_published(post)

    monkeypatch.setattr(policy, "was_published", work_meanwhile)
    moderation.split_topic(
        members["animation"],
        reload(Topic, topic.id),
        [moved.id],
        "Un sujet à part",
        category("premier-entretien"),
    )
    db.session.commit()
    started[0].join(timeout=30)
    assert not started[0].is_alive()


def test_a_reply_approved_while_a_split_renumbers_its_topic_keeps_its_place(
    app, monkeypatch, members, client_for, newcomer
) -> None:
    """The split read the topic's posts, then numbered them again: a reply approved in
    between (its number taken on the topic's row) was numbered back below 0 as if still
    waiting, shown « non publié » after every post to all, its number given again."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    topic = make_topic(members["pair"], title="Un sujet", body="Premier message.")
    make_reply(members["other_pair"], topic, "Deuxième message.")
    moved = make_reply(members["other_pair"], topic, "Troisième message, à déplacer.")
    pending = _waiting_reply(members, client_for, newcomer, topic)
    staff_id, pending_id = members["animation"].id, pending.id

    def approve() -> None:
        post = db.session.get(Post, pending_id)
        staff = db.session.get(Member, staff_id)
        moderation.approve_post(staff, post, db.session.get(Topic, post.topic_id))

    # The approval runs once the split has read the waiting reply to number it.
    _split_while(app, monkeypatch, members, topic, moved, pending_id, approve)

    assert [(p.id, p.number) for p in posts_of(topic.id)][-1] == (pending_id, 3)
    assert reload(Topic, topic.id).last_number == 3
    assert not reload(Post, pending_id).is_pending
    assert_counters_right()


def test_a_reply_approved_twice_at_the_same_moment_is_numbered_once(
    app, members, client_for, newcomer
) -> None:
    """Two « Valider » on one waiting reply (a double click, two animatrices): each read it
    waiting, and the second numbered it again after the first's number, leaving readers a
    gap (#2, #4) and one « non lu » too many; it told its author and readers twice."""
    topic = make_topic(members["pair"], title="Un sujet", body="Premier message.")
    make_reply(members["other_pair"], topic, "Deuxième message.")
    pending = _waiting_reply(members, client_for, newcomer, topic)
    staff_id, pending_id = members["animation"].id, pending.id
    # This request read the reply waiting (its page, its form)…
    post, stale_topic = reload(Post, pending_id), reload(Topic, topic.id)
    staff = reload(Member, staff_id)
    assert post.is_pending

    _approved_elsewhere(app, pending_id, staff_id)  # …while another request published it

    with pytest.raises(ComcepError):
        moderation.approve_post(staff, post, stale_topic)
    db.session.rollback()
    assert [p.number for p in posts_of(topic.id)] == [1, 2, 3]
    assert reload(Topic, topic.id).last_number == 3
    assert_counters_right()


@pytest.mark.parametrize("renumbering", ["split", "merge"])
def test_a_topic_validated_after_the_animatrice_answered_it_keeps_its_opening_post_first(
    members, client_for, newcomer, renumbering
) -> None:
    """A newcomer's topic waits; the animatrice answers it (n° 2), then validates it, which
    dates its opening post now, after her answer. A split or merge numbers posts again by
    date: her answer became n° 1, the page opened on it (with the topic's title to edit)
    and the newcomer's question came second."""
    make_topic(members["pair"], title="Un sujet publié", body="Déjà là.")
    set_premoderation(client_for(members["admin"]), "1")
    sent = client_for(newcomer).post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Ma question", "body": "Ma QUESTIONMOT.", "submit": "1"},
    )
    assert sent.status_code == 302
    waiting = db.session.scalar(select(Topic).order_by(Topic.id.desc()))
    staff = client_for(members["animation"])
    answer = {"body": "Réponse de l'animatrice.", "submit": "1"}
    assert staff.post(f"/t/{waiting.id}/repondre", data=answer).status_code == 302
    opening = posts_of(waiting.id)[0]
    assert staff.post(f"/p/{opening.id}/restaurer").status_code == 302
    assert not reload(Topic, waiting.id).is_hidden
    if renumbering == "split":
        moved = make_reply(members["animation"], reload(Topic, waiting.id), "Une digression.")
        moderation.split_topic(
            members["animation"],
            reload(Topic, waiting.id),
            [moved.id],
            "La digression",
            category("premier-entretien"),
        )
    else:
        later = make_topic(members["animation"], title="Un sujet voisin", body="Plus récent.")
        moderation.merge_topics(
            members["animation"], reload(Topic, later.id), reload(Topic, waiting.id)
        )
    db.session.commit()
    numbered = [(p.body_source, p.number) for p in posts_of(waiting.id)]
    assert numbered[:2] == [("Ma QUESTIONMOT.", 1), ("Réponse de l'animatrice.", 2)]
    page = client_for(members["pilot_pair"]).get(f"/t/{waiting.id}").text
    assert page.index("QUESTIONMOT") < page.index("Réponse de l")
    assert_counters_right()


def test_a_reply_refused_as_it_is_validated_elsewhere_is_not_refused_in_its_place(
    app, members, client_for, newcomer
) -> None:
    """« Refuser » on a reply another animatrice validated at the same moment: the refusal,
    read it waiting, marked it refused where it now held a place (n° 3): readers saw a gap
    where the numbers follow each other, its author was told both. It is refused instead."""
    topic = make_topic(members["pair"], title="Un sujet", body="Premier message.")
    make_reply(members["other_pair"], topic, "Deuxième message.")
    pending = _waiting_reply(members, client_for, newcomer, topic)
    staff_id, pending_id = members["animation"].id, pending.id
    post, stale_topic = reload(Post, pending_id), reload(Topic, topic.id)
    staff = reload(Member, staff_id)
    assert post.is_pending

    _approved_elsewhere(app, pending_id, staff_id)

    with pytest.raises(ComcepError):
        moderation.hide_post(staff, post, stale_topic, "Hors charte.")
    db.session.rollback()
    published = reload(Post, pending_id)
    assert (published.number, published.is_refused, published.is_hidden) == (3, False, False)
    assert_counters_right()


def test_a_reply_hidden_while_a_split_renumbers_its_topic_waits_for_it(
    app, monkeypatch, members, client_for
) -> None:
    """A split holds its topic, then numbers its posts again; hiding a post of it at the
    same moment took the post's row, then waited for the topic's: the two deadlocked, and
    one animatrice got an error page. Hiding now waits for the topic first, as the split."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    topic = make_topic(members["pair"], title="Un sujet", body="Premier message.")
    kept = make_reply(members["other_pair"], topic, "Deuxième message, à masquer.")
    moved = make_reply(members["other_pair"], topic, "Troisième message, à déplacer.")
    staff_id, kept_id = members["animation"].id, kept.id

    def hide() -> None:
        post = db.session.get(Post, kept_id)
        staff = db.session.get(Member, staff_id)
        moderation.hide_post(staff, post, db.session.get(Topic, post.topic_id), "Hors charte.")

    _split_while(app, monkeypatch, members, topic, moved, kept_id, hide)
    hidden = reload(Post, kept_id)
    assert (hidden.number, hidden.is_hidden) == (2, True)
    assert reload(Topic, topic.id).last_number == 2
    assert_counters_right()


def test_a_reply_validated_as_its_author_leaves_with_their_posts_is_not_refused_in_its_place(
    app, monkeypatch, members, client_for, newcomer
) -> None:
    """A member leaves with their posts while an animatrice validates their waiting reply:
    the removal read it waiting, the validation numbered it (n° 3), then the removal marked
    it refused where it held a place, a gap readers saw. The removal now holds the topics
    first: the validation waits for it, then finds the reply withdrawn, which it no longer
    publishes (it took « refusé » for a refusal it may revise)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    topic = make_topic(members["pair"], title="Un sujet", body="Premier message.")
    make_reply(members["other_pair"], topic, "Deuxième message.")
    pending = _waiting_reply(members, client_for, newcomer, topic)
    staff_id, pending_id = members["animation"].id, pending.id
    refused: list[str] = []

    def approve() -> None:
        post = db.session.get(Post, pending_id)
        staff = db.session.get(Member, staff_id)
        try:
            moderation.approve_post(staff, post, db.session.get(Topic, post.topic_id))
        except ComcepError as error:
            refused.append(error.message)

    started: list[threading.Thread] = []
    utcnow = moderation.utcnow

    def validated_meanwhile():  # noqa: ANN202 - once the removal has read the posts
        if not started:
            started.append(_in_another_transaction(app, approve))
            started[0].join(timeout=2)  # blocks, if the removal holds the topic
        return utcnow()

    monkeypatch.setattr(moderation, "utcnow", validated_meanwhile)
    moderation.hide_member_posts(reload(Member, newcomer.id), reload(Member, newcomer.id))
    db.session.commit()
    started[0].join(timeout=30)
    assert not started[0].is_alive()

    withdrawn = reload(Post, pending_id)
    assert (withdrawn.number, withdrawn.is_refused, withdrawn.is_hidden) == (-1, True, True)
    assert refused  # the validation was told the reply is no longer waiting
    assert [p.number for p in posts_of(topic.id) if p.number > 0] == [1, 2]
    assert reload(Topic, topic.id).last_number == 2
    assert_counters_right()


def test_a_refused_reply_restored_as_its_author_leaves_with_their_posts_stays_withdrawn(
    app, members, client_for, newcomer
) -> None:
    """« Restaurer » on a refused reply, read restorable, while its author left with their
    posts: the removal withdrew it for good, and the restoration published it anyway."""
    topic = make_topic(members["pair"], title="Un sujet", body="Premier message.")
    pending = _waiting_reply(members, client_for, newcomer, topic)
    staff_id, pending_id, newcomer_id = members["animation"].id, pending.id, newcomer.id
    moderation.hide_post(reload(Member, staff_id), pending, reload(Topic, topic.id), "Hors charte.")
    db.session.commit()
    post, stale_topic = reload(Post, pending_id), reload(Topic, topic.id)
    staff = reload(Member, staff_id)
    assert post.is_refused
    assert moderation.restorable(post)

    _left_elsewhere(app, newcomer_id)

    with pytest.raises(ComcepError):
        moderation.restore_post(staff, post, stale_topic)
    db.session.rollback()
    withdrawn = reload(Post, pending_id)
    assert (withdrawn.number, withdrawn.is_refused) == (-1, True)
    assert withdrawn.hidden_reason == moderation.LEFT_WITH_POSTS
    assert_counters_right()


@pytest.mark.parametrize("decision", ["Restaurer", "Masquer"])
def test_a_decision_read_before_its_author_left_with_their_posts_keeps_the_post_withdrawn(
    app, members, newcomer, decision
) -> None:
    """« Restaurer » on a hidden reply, or « Masquer » on a shown one, read before its
    author left with their posts: the restoration showed it again, and the new reason made
    it restorable, against their request (SPEC §4)."""
    topic = make_topic(members["pair"], title="Un sujet", body="Premier message.")
    reply = make_reply(newcomer, topic, "Deuxième message.")
    staff_id, reply_id, newcomer_id = members["animation"].id, reply.id, newcomer.id
    if decision == "Restaurer":
        moderation.hide_post(reload(Member, staff_id), reply, reload(Topic, topic.id), "Vu.")
        db.session.commit()
    post, stale_topic = reload(Post, reply_id), reload(Topic, topic.id)
    staff = reload(Member, staff_id)
    assert moderation.restorable(post)

    _left_elsewhere(app, newcomer_id)

    def decide() -> None:
        if decision == "Restaurer":
            moderation.restore_post(staff, post, stale_topic)
        else:
            moderation.hide_post(staff, post, stale_topic, "Hors charte.")

    with pytest.raises(ComcepError):
        decide()
    db.session.rollback()
    withdrawn = reload(Post, reply_id)
    assert withdrawn.is_hidden
    assert withdrawn.hidden_reason == moderation.LEFT_WITH_POSTS
    assert_counters_right()
