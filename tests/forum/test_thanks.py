"""« Merci » on posts (Discourse's like): given once per member and post, taken back by its
giver, counted on the post, told to its author on the site only, and nothing across the
wall."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Post, PostThanks, Topic
from comcep.members.models import Member
from comcep.moderation import services as moderation
from comcep.notifications.models import Notification
from comcep.outbox import OutboxEvent
from tests.factories import category, make_reply, make_topic

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "request_scoped_clients")


def _thank(client: FlaskClient, post: Post, action: str = "donner", **kwargs: object):  # noqa: ANN202
    return client.post(f"/p/{post.id}/merci", data={"action": action}, **kwargs)


def _count(post_id: int) -> tuple[int, int]:
    """The post's kept count and its rows, read afresh."""
    db.session.rollback()
    kept = db.session.scalar(select(Post.thanks_count).where(Post.id == post_id))
    rows = db.session.scalar(
        select(func.count()).select_from(PostThanks).where(PostThanks.post_id == post_id)
    )
    return kept, rows


def _thanks_notifications(member: Member) -> list[Notification]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Notification).where(
                Notification.member_id == member.id, Notification.kind == "thanks"
            )
        )
    )


@pytest.fixture
def asked(members: dict[str, Member]) -> tuple[Topic, Post]:
    """A pair's question and another pair's answer, in the pairs' rubriques."""
    topic = make_topic(members["pair"], title="Un cas de reconversion")
    answer = make_reply(members["other_pair"], topic, "Voici ce que je ferais.")
    return topic, answer


def test_a_thanks_is_counted_once_and_can_be_taken_back(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    _, answer = asked
    client = client_for(members["pair"])

    response = _thank(client, answer)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/p/{answer.id}")
    assert _count(answer.id) == (1, 1)

    assert _thank(client, answer).status_code == 303  # sent again: nothing more
    assert _count(answer.id) == (1, 1)

    assert _thank(client, answer, "retirer").status_code == 303
    assert _count(answer.id) == (0, 0)
    assert _thank(client, answer, "retirer").status_code == 303  # nothing left to take back
    assert _count(answer.id) == (0, 0)

    _thank(client_for(members["referent_apec"]), answer)
    _thank(client, answer)
    assert _count(answer.id) == (2, 2)


def test_the_author_is_told_once_on_the_site_and_never_by_e_mail(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    _, answer = asked
    author = members["other_pair"]
    client = client_for(members["pair"])
    author.email_frequency = "immediate"
    db.session.commit()
    queued = db.session.scalar(select(func.count()).select_from(OutboxEvent))

    for action in ("donner", "retirer", "donner"):
        _thank(client, answer, action)

    told = _thanks_notifications(author)
    assert [(n.actor_id, n.post_id) for n in told] == [(members["pair"].id, answer.id)]
    assert told[0].emailed_at is not None  # handled: no e-mail will carry it
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == queued
    page = client_for(author).get("/notifications")
    assert "vous remercie pour votre message" in unescape(page.text)


def test_a_member_does_not_thank_their_own_post(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    _, answer = asked
    response = _thank(client_for(members["other_pair"]), answer)
    assert response.status_code == 403
    assert "votre propre message" in unescape(response.text)
    assert _count(answer.id) == (0, 0)


def test_a_hidden_post_takes_no_thanks_and_answers_404_to_members(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    topic, answer = asked
    moderation.hide_post(members["animation"], answer, topic, "Hors sujet")
    db.session.commit()

    assert _thank(client_for(members["pair"]), answer).status_code == 404
    assert client_for(members["pair"]).get(f"/p/{answer.id}/merci").status_code == 404
    assert _thank(client_for(members["animation"]), answer).status_code == 403
    assert _count(answer.id) == (0, 0)


def test_a_hors_pair_gets_the_404_of_a_missing_post_and_changes_nothing(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    _, answer = asked
    client = client_for(members["hors_pair"])
    hidden = _thank(client, answer)
    missing = client.post("/p/999999/merci", data={"action": "donner"})
    assert hidden.status_code == missing.status_code == 404
    assert client.get(f"/p/{answer.id}/merci").status_code == 404
    assert _count(answer.id) == (0, 0)


@pytest.mark.parametrize("action", ["", "aimer", "DONNER"])
def test_an_unknown_action_is_refused(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post], action: str
) -> None:
    _, answer = asked
    assert _thank(client_for(members["pair"]), answer, action).status_code == 400
    assert _count(answer.id) == (0, 0)


def test_a_script_gets_the_new_count_as_json(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    _, answer = asked
    client = client_for(members["pair"])
    json_headers = {"Accept": "application/json"}

    given = _thank(client, answer, headers=json_headers)
    assert given.status_code == 200
    assert json.loads(given.text) == {
        "merci": 1,
        "donne": True,
        "message": "Merci transmis à l'auteur du message.",
    }
    taken = _thank(client, answer, "retirer", headers=json_headers)
    assert (taken.json["merci"], taken.json["donne"]) == (0, False)

    refused = _thank(client_for(members["other_pair"]), answer, headers=json_headers)
    assert refused.status_code == 403
    assert refused.is_json


def test_the_topic_page_shows_the_count_and_the_reader_s_own_thanks(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    topic, answer = asked
    _thank(client_for(members["pair"]), answer)

    giver = unescape(client_for(members["pair"]).get(f"/t/{topic.id}").text)
    assert f'data-thanks-url="/p/{answer.id}/merci" data-given="1">Remercié' in giver
    assert "1 merci" in giver

    other = unescape(client_for(members["referent_apec"]).get(f"/t/{topic.id}").text)
    assert f'data-thanks-url="/p/{answer.id}/merci" data-given="0">Merci' in other
    assert "1 merci" in other

    author = unescape(client_for(members["other_pair"]).get(f"/t/{topic.id}").text)
    assert f'data-thanks-url="/p/{answer.id}/merci"' not in author  # no button on one's own
    assert "1 merci" in author


def test_the_list_names_only_the_members_the_reader_may_see(
    client_for: Callable, members: dict[str, Member]
) -> None:
    """In « Échanges », a pair who thanked but never wrote where the hors pair reads is
    counted, not named (a hors pair lists only those members, SPEC §4)."""
    topic = make_topic(members["hors_pair"], "echanges", "Un outil à partager", "Voici l'outil.")
    opening = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    _thank(client_for(members["pair"]), opening)
    _thank(client_for(members["animation"]), opening)
    make_reply(members["animation"], topic, "Merci, je relaie.")

    seen_by_hors_pair = unescape(
        client_for(members["hors_pair"]).get(f"/p/{opening.id}/merci").text
    )
    assert "Animatrice" in seen_by_hors_pair
    assert "Paire Un" not in seen_by_hors_pair
    assert "et 1 autre membre" in seen_by_hors_pair

    seen_by_pair = unescape(client_for(members["other_pair"]).get(f"/p/{opening.id}/merci").text)
    assert "Animatrice" in seen_by_pair
    assert "Paire Un" in seen_by_pair
    assert "Remercier l'auteur" in seen_by_pair


def test_an_author_who_may_no_longer_read_the_topic_is_not_told(
    client_for: Callable, members: dict[str, Member]
) -> None:
    """The hors pair's topic moved to the pairs' rubriques: a pair's thanks there tells the
    hors pair nothing, not even that the post is still read."""
    topic = make_topic(members["hors_pair"], "echanges", "Un sujet déplacé", "Mon texte.")
    opening = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    moderation.move_topic(
        members["animation"], topic, category("premier-entretien"), confirmed=True
    )
    db.session.commit()

    assert _thank(client_for(members["pair"]), opening).status_code == 303
    assert _count(opening.id) == (1, 1)
    assert _thanks_notifications(members["hors_pair"]) == []


def test_the_export_holds_the_thanks_given_and_received(
    client_for: Callable, members: dict[str, Member], asked: tuple[Topic, Post]
) -> None:
    _, answer = asked
    _thank(client_for(members["pair"]), answer)

    given = json.loads(client_for(members["pair"]).get("/compte/export").text)
    assert [t["message_id"] for t in given["remerciements_donnes"]] == [answer.id]
    received = json.loads(client_for(members["other_pair"]).get("/compte/export").text)
    assert [m["remerciements_recus"] for m in received["messages"]] == [1]
    assert received["remerciements_donnes"] == []


@pytest.fixture
def jeanne(make_member: Callable[..., Member]) -> Member:
    """A pair who wrote only among pairs: no hors pair may list her."""
    hidden = make_member(name="Jeanne Cachée")
    make_topic(hidden, title="Un cas entre pairs", body="Seulement chez les pairs.")
    return hidden


def _opening(topic: Topic) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))


def test_thanks_notification_does_not_name_a_member_the_hors_pair_may_not_see(
    members: dict[str, Member], jeanne: Member, client_for: Callable
) -> None:
    topic = make_topic(members["hors_pair"], "echanges", "Un outil à partager", "Voici l'outil.")
    opening = _opening(topic)
    given = client_for(jeanne).post(f"/p/{opening.id}/merci", data={"action": "donner"})
    assert given.status_code == 303
    hors_pair = client_for(members["hors_pair"])
    assert hors_pair.get(f"/membres/{jeanne.id}").status_code == 404
    # The thanks page counts her without naming her...
    assert "Jeanne Cachée" not in unescape(hors_pair.get(f"/p/{opening.id}/merci").text)
    # ...but the notification names her.
    assert "Jeanne Cachée" not in unescape(hors_pair.get("/notifications").text)


def test_export_does_not_count_thanks_given_behind_the_wall(
    members: dict[str, Member], client_for: Callable
) -> None:
    topic = make_topic(members["hors_pair"], "echanges", "Un sujet déplacé", "Mon texte.")
    opening = _opening(topic)
    moderation.move_topic(
        members["animation"], topic, category("premier-entretien"), confirmed=True
    )
    db.session.commit()
    assert (
        client_for(members["pair"])
        .post(f"/p/{opening.id}/merci", data={"action": "donner"})
        .status_code
        == 303
    )
    exported = json.loads(client_for(members["hors_pair"]).get("/compte/export").text)
    # Not told, as the title: the topic no longer opens for its author.
    assert [m["remerciements_recus"] for m in exported["messages"]] == [None]
