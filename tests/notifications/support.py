"""Small readers and writers shared by the notification tests: posting over HTTP, reading
the header counters, and rows read afresh."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from comcep import outbox
from comcep.extensions import db, utcnow
from comcep.forum.models import Post
from comcep.members.models import Member
from comcep.notifications.models import Notification
from comcep.notifications.services import EMAIL_KIND, MESSAGE_EMAIL_KIND
from comcep.outbox import OutboxEvent

BELL = re.compile(r'class="bell">Notifications(?: <span class="badge badge--count">(\d+))?')
MESSAGES = re.compile(r'>Messages(?: <span class="badge badge--count">(\d+))?')


def text_of(response: TestResponse) -> str:
    return unescape(response.get_data(as_text=True))


def location(response: TestResponse) -> str:
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost")
    return parts.path


def bell(client: FlaskClient) -> int:
    """The unread count in the header's bell, as a member sees it on the index."""
    response = client.get("/")
    assert response.status_code == 200
    match = BELL.search(response.get_data(as_text=True))
    assert match is not None, "no bell in the header"
    return int(match.group(1) or 0)


def unread_messages(client: FlaskClient) -> int:
    response = client.get("/")
    assert response.status_code == 200
    match = MESSAGES.search(response.get_data(as_text=True))
    assert match is not None, "no « Messages » link in the header"
    return int(match.group(1) or 0)


def notifications_of(member: Member, kind: str | None = None) -> list[Notification]:
    """A member's notification rows, read afresh, oldest first."""
    db.session.expire_all()
    query = select(Notification).where(Notification.member_id == member.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query.order_by(Notification.id)))


def kinds_of(member: Member) -> list[str]:
    return [n.kind for n in notifications_of(member)]


def first_post_id(topic_id: int) -> int:
    return db.session.scalar(select(Post.id).where(Post.topic_id == topic_id, Post.number == 1))


def post_reply(client: FlaskClient, topic_id: int, body: str) -> int:
    """Reply over HTTP as the client's member; the id of the new post."""
    response = client.post(f"/t/{topic_id}/repondre", data={"body": body})
    assert response.status_code == 302, text_of(response)
    path = location(response)
    assert path.startswith("/p/"), path
    return int(path.removeprefix("/p/"))


def open_topic(client: FlaskClient, slug: str, title: str, body: str) -> int:
    """Open a topic over HTTP as the client's member; the id of the new topic."""
    response = client.post(f"/r/{slug}/nouveau-sujet", data={"title": title, "body": body})
    assert response.status_code == 302, text_of(response)
    match = re.match(r"/t/(\d+)", location(response))
    assert match is not None, location(response)
    return int(match.group(1))


def set_topic_level(client: FlaskClient, topic_id: int, level: str) -> None:
    response = client.post(f"/t/{topic_id}/abonnement", data={"level": level})
    assert response.status_code == 302, text_of(response)


def set_frequency(member: Member, frequency: str) -> None:
    db.session.execute(
        update(Member).where(Member.id == member.id).values(email_frequency=frequency)
    )
    db.session.commit()
    db.session.expire_all()


def pending_email_rows() -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(OutboxEvent).where(OutboxEvent.kind == EMAIL_KIND)).all())


def send_delayed_emails() -> None:
    """Let the grouping delay run out at once, then apply the outbox as the worker does."""
    db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.kind.in_((EMAIL_KIND, MESSAGE_EMAIL_KIND)))
        .values(available_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    outbox.process()
    db.session.expire_all()
