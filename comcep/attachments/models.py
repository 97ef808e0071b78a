"""Attachments of posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from comcep.extensions import UTCDateTime, db


class Attachment(db.Model):
    """A file attached to a post; the bytes are in storage under `key` (their SHA-256)."""

    __tablename__ = "attachments"
    # /outils lists files newest first, of every type or of one: its pages read these.
    __table_args__ = (
        Index("ix_attachments_created", "created_at", "id"),
        Index("ix_attachments_family_created", "family", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(120))
    label: Mapped[str] = mapped_column(String(60))
    family: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64), index=True)
    thumbnail_key: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def is_image(self) -> bool:
        return self.family == "image"
