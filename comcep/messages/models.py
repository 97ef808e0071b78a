"""Conversations between two or more members; only participants may open them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comcep.extensions import UTCDateTime, db
from comcep.members.models import Member


class Conversation(db.Model):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message_count: Mapped[int] = mapped_column(default=0)


class ConversationMember(db.Model):
    __tablename__ = "conversation_members"
    __table_args__ = (
        Index("ix_conversation_members_member", "member_id", "conversation_id"),
        # The header's count of unread conversations: a range of this index, whatever the
        # number of conversations the member took part in.
        Index("ix_conversation_members_unread", "member_id", "unread", "left_at"),
    )

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the member leaves: the conversation is no longer theirs (no list, no count,
    # no access) until a participant brings them back; the row says they took part.
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Kept by `messages.services` (a message makes it true for every other participant,
    # reading makes it false): « the conversation's last message is after last_read_at »,
    # which no index can answer, as a column one can.
    unread: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The latest message e-mailed to the member at once: a retry after an SMTP failure on
    # another participant does not e-mail them the same message again.
    emailed_up_to: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member: Mapped[Member] = relationship(lazy="raise")


class PrivateMessage(db.Model):
    __tablename__ = "private_messages"
    __table_args__ = (Index("ix_private_messages_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    is_hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")

    author: Mapped[Member | None] = relationship(lazy="raise")
