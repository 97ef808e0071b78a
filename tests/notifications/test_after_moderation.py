"""Notifications after the moderation acted: a reply approved late (renumbered and re-dated)
is read in its new place; a member whose suspension for a period ran out is told again."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from comcep.extensions import db, utcnow
from comcep.forum.models import Post
from comcep.mail import MailMessage
from comcep.notifications import services as notifications
from tests.conftest import PASSWORD
from tests.factories import make_reply, make_topic
from tests.moderation.helpers import posts_of, reload, set_premoderation
from tests.notifications.support import (
    location,
    notifications_of,
    set_frequency,
    set_topic_level,
)


def test_a_grouped_line_leads_to_the_first_reply_in_reading_order_after_an_approval(
    members, client_for, make_member
) -> None:
    """A grouped line leads to its earliest post in reading order: a reply approved late
    keeps its small id but comes after the reply written meanwhile, which is read first."""
    newcomer = make_member(statut="pair", network="apec", name="Nouvelle Recrue")
    topic = make_topic(members["pair"], title="Un sujet suivi", body="Bienvenue à tous.")
    watcher = client_for(members["other_pair"])
    set_topic_level(watcher, topic.id, "watching")
    set_premoderation(client_for(members["admin"]), "1")

    client_for(newcomer).post(
        f"/t/{topic.id}/repondre", data={"body": "Une réponse qui attend.", "submit": "1"}
    )
    pending = posts_of(topic.id)[1]
    assert reload(Post, pending.id).is_pending
    client_for(members["pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Une réponse publiée.", "submit": "1"}
    )
    published = next(p for p in posts_of(topic.id) if p.body_source == "Une réponse publiée.")
    assert published.id != pending.id
    assert client_for(members["animation"]).post(f"/p/{pending.id}/restaurer").status_code == 302
    approved = reload(Post, pending.id)
    assert approved.number > reload(Post, published.id).number  # now after it

    told = notifications_of(members["other_pair"], "reply")
    assert {n.post_id for n in told} == {pending.id, published.id}
    page = watcher.get("/notifications").text
    lines = re.findall(r'href="(/notifications/\d+)"', page)
    assert len(lines) == 1  # one line for the topic
    # The reader reads on from the first post they have not seen: the one published first.
    assert location(watcher.get(lines[0])) == f"/p/{published.id}"


def _suspension_ran_out(member) -> None:  # noqa: ANN001
    member.state = "suspended"
    member.suspended_until = utcnow() - timedelta(days=1)
    db.session.commit()
    assert member.is_active


def test_a_member_whose_suspension_ran_out_is_told_of_replies_in_a_topic_they_watch(
    members, client_for, client
) -> None:
    back = members["other_pair"]
    topic = make_topic(members["pair"], title="Un sujet suivi de près", body="Bienvenue.")
    _suspension_ran_out(back)
    assert (
        client.post("/connexion", data={"email": back.email, "password": PASSWORD}).status_code
        == 302
    )  # back in
    set_topic_level(client_for(back), topic.id, "watching")
    make_reply(members["pilot_pair"], topic, "Une réponse à suivre.")
    assert [n.kind for n in notifications_of(back)] == ["reply"]


def test_a_member_whose_suspension_ran_out_gets_their_daily_digest(members) -> None:
    back, pair = members["other_pair"], members["pair"]
    topic = make_topic(pair, title="Un cas résolu")
    answer = make_reply(back, topic, "La piste qui a marché.")
    _suspension_ran_out(back)
    set_frequency(back, "daily")
    # Told on the site (notify() asks `is_active`): the digest is what e-mails it.
    assert notifications.notify(back, "solution", actor=pair, topic=topic, post_id=answer.id)
    db.session.commit()
    notifications.send_digests()
    subjects = db.session.scalars(
        select(MailMessage.subject).where(MailMessage.recipient == back.email)
    ).all()
    assert "Votre résumé du jour sur la ComCEP" in subjects
