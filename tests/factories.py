"""Builders for forum rows in tests: they go through the services and commit."""

from __future__ import annotations

from sqlalchemy import select

from comcep import outbox
from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member


def category(slug: str) -> Category:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def make_topic(
    author: Member,
    slug: str = "premier-entretien",
    title: str = "Un sujet de test",
    body: str = "Le premier message du sujet.",
    replies: list[tuple[Member, str]] | None = None,
) -> Topic:
    topic = services.create_topic(author, category(slug), title, body)
    for replier, text in replies or []:
        services.reply(replier, topic, text)
    db.session.commit()
    outbox.process()  # as the app does after a request
    return topic


def make_reply(author: Member, topic: Topic, body: str = "Une réponse.") -> Post:
    post = services.reply(author, topic, body)
    db.session.commit()
    outbox.process()
    return post


def name_referent(client, member: Member, validates: str | None, **fields: object):  # noqa: ANN001, ANN201
    """The admin's form for a hors pair at Carif-Oref with the role « validation », naming
    (or not) the pairs' network they validate."""
    data = {"statut": "hors_pair", "network": "carif-oref", "roles": ["validation"], **fields}
    if validates is not None:
        data["validates"] = validates
    return client.post(f"/admin/membres/{member.id}", data=data)
