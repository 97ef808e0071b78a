"""Notifications and subscription levels (Discourse-style: watching, tracking, normal, muted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comcep.extensions import UTCDateTime, db
from comcep.members.models import Member

LEVELS = ("watching", "tracking", "normal", "muted")
LEVEL_LABELS = {
    "watching": "Surveiller : être prévenu·e de chaque message",
    "tracking": "Suivre : compter les nouveaux messages",
    "normal": "Normal : être prévenu·e si l'on me cite ou me mentionne",
    "muted": "Silence : ne jamais être prévenu·e",
}
KINDS = {
    "reply": "a répondu dans un sujet que vous suivez",
    "my_topic": "a répondu à votre sujet",
    "quote": "a cité votre message",
    "mention": "vous a mentionné·e",
    "relay": "a relayé votre échange auprès des pairs",
    "solution": "a retenu votre réponse comme solution",
    "thanks": "vous remercie pour votre message",
    "report_decided": "a traité votre signalement",
    "post_hidden": "a masqué votre message (la raison est indiquée sur le sujet)",
    "post_refused": "n'a pas publié votre message (la raison est indiquée sur le sujet)",
    "post_restored": "a rétabli votre message : il est de nouveau visible",
    "post_approved": "a validé votre message : il est publié",
    "registration": "a validé votre demande d'inscription : bienvenue sur la ComCEP",
    "moved_reply": "a répondu dans un sujet que vous suivez ; la modération a déplacé ce "
    "message dans un autre sujet",
}
MOVED_REPLY = "moved_reply"  # a reply told of one topic, then moved to another
# Kinds shown as one line per topic and reading (Discourse's grouping): the replies in a
# topic told while unread make one line, « … et 2 autres ont répondu (5 messages) ».
GROUPED_KINDS = ("reply", "my_topic")
# The thanks for one post, told while unread, make one line too: « … et 2 autres vous
# remercient pour votre message » (Discourse's « X and 2 others liked your post »).
GROUPED_BY_POST_KINDS = ("thanks",)
GROUPED_LABELS = {
    "reply": "ont répondu dans un sujet que vous suivez",
    "my_topic": "ont répondu à votre sujet",
    "thanks": "vous remercient pour votre message",
}
EMAIL_FREQUENCIES = {
    "immediate": "Dès qu'il se passe quelque chose (regroupé par quelques minutes)",
    "daily": "Un résumé par jour",
    "weekly": "Un résumé par semaine",
    "never": "Jamais",
}


class Notification(db.Model):
    """Something that concerns a member; its text is rebuilt at display time through the
    wall, so a topic moved out of reach stops showing."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_member_unread", "member_id", "read_at", "id"),
        # The notifications page: the member's latest notifications, read or not.
        Index("ix_notifications_member", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    actor: Mapped[Member | None] = relationship(foreign_keys=[actor_id], lazy="raise")

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, "")


class TopicSubscription(db.Model):
    __tablename__ = "topic_subscriptions"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[str] = mapped_column(String(10))


class CategorySubscription(db.Model):
    __tablename__ = "category_subscriptions"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[str] = mapped_column(String(10))
