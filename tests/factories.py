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
