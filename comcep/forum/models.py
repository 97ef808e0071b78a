"""Forum tables; counters and « dernier message » are kept on rows so pages stay cheap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from comcep.extensions import UTCDateTime, db
from comcep.members.models import Group, Member


class Category(db.Model):
    """A thème (top level, `parent_id` is None) or a rubrique; the wall is set here."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    open_to_hors_pairs: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_only: Mapped[bool] = mapped_column(Boolean, default=False)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_topics_only: Mapped[bool] = mapped_column(Boolean, default=False)
    accepts_solutions: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    topic_count: Mapped[int] = mapped_column(Integer, default=0)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    last_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL"), index=True
    )

    parent: Mapped[Category | None] = relationship(remote_side=[id], lazy="joined", innerjoin=False)
    group: Mapped[Group | None] = relationship(lazy="raise")
    last_post: Mapped[Post | None] = relationship(foreign_keys=[last_post_id], lazy="raise")

    @property
    def is_theme(self) -> bool:
        return self.parent_id is None


def _filter_indexes(name: str, condition: str) -> tuple[Index, Index]:
    """Partial indexes of the topics a list filter keeps, in a rubrique's order and in the
    forum's activity order. The query must spell `condition` literally (no bound value) for
    SQLite and PostgreSQL to know the index holds every row it asks for."""
    return tuple(
        Index(
            f"ix_topics_{name}{suffix}",
            *columns,
            sqlite_where=text(condition),
            postgresql_where=text(condition),
        )
        for suffix, columns in (
            ("_category", ("category_id", "is_pinned", "last_post_at")),
            ("_activity", ("last_post_at",)),
        )
    )


class Topic(db.Model):
    __tablename__ = "topics"
    __table_args__ = (
        Index("ix_topics_category_activity", "category_id", "is_pinned", "last_post_at"),
        Index("ix_topics_activity", "last_post_at"),
        Index("ix_topics_announcement", "is_announcement", "last_post_at"),
        Index("ix_topics_created", "created_at"),
        # « Sans réponse » and « non résolus » (`queries._filtered`), in a rubrique and in
        # « actifs »: the pages and their capped counts read these topics only, whatever the
        # share of the forum they are.
        *_filter_indexes("unanswered", "post_count <= 1"),
        *_filter_indexes("unsolved", "solution_post_id IS NULL"),
        # The solved topics only (the foreign key's lookups): an index holding the unsolved
        # ones too would tempt SQLite to fetch them all and sort, for « non résolus ».
        Index(
            "ix_topics_solution_post_id",
            "solution_post_id",
            sqlite_where=text("solution_post_id IS NOT NULL"),
            postgresql_where=text("solution_post_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    is_pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    is_announcement: Mapped[bool] = mapped_column(Boolean, default=False)
    is_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    post_count: Mapped[int] = mapped_column(
        Integer, default=0
    )  # visible posts, opening one included
    last_number: Mapped[int] = mapped_column(Integer, default=0)  # highest post number ever given
    last_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    last_post_number: Mapped[int] = mapped_column(Integer, default=0)
    last_post_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_poster_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    solution_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL")
    )
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The first reply (for the comité's responsiveness figures, kept like the counters):
    # the earliest visible post after the opening one, by someone other than the topic's
    # author and not dated before the topic (`forum.services.first_reply_columns`).
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_reply_author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    first_reply_cross_network: Mapped[bool | None] = mapped_column(Boolean)

    category: Mapped[Category] = relationship(lazy="raise")
    author: Mapped[Member | None] = relationship(foreign_keys=[author_id], lazy="raise")
    last_poster: Mapped[Member | None] = relationship(foreign_keys=[last_poster_id], lazy="raise")
    posts: WriteOnlyMapped[Post] = relationship(
        back_populates="topic", foreign_keys="Post.topic_id"
    )
    tags: Mapped[list[Tag]] = relationship(
        secondary="topic_tags", lazy="raise", order_by="Tag.name"
    )

    @property
    def reply_count(self) -> int:
        return max(self.post_count - 1, 0)


class Post(db.Model):
    """A message; `number` is its stable place in the topic (pages are ranges of numbers).
    A reply never published (awaiting pre-moderation, or refused there) takes no place:
    it is numbered below 0 (-1, -2… in the order written, `forum.services.waiting_number`)
    until its publication numbers it after every post, so that the numbers readers see
    follow each other and their « non lus » never count it. An opening post keeps n° 1
    even while it waits: its whole topic waits with it."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("topic_id", "number", name="uq_posts_topic_number"),
        Index("ix_posts_author_created", "author_id", "created_at"),
        Index("ix_posts_created", "created_at"),
        Index("ix_posts_search_vector", "search_vector", postgresql_using="gin"),
        # The few posts awaiting pre-moderation, counted in the staff's header on each page.
        Index(
            "ix_posts_pending",
            "topic_id",
            sqlite_where=text("is_pending = 1"),
            postgresql_where=text("is_pending"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    revision_count: Mapped[int] = mapped_column(Integer, default=0)
    # Kept with every « Merci » given or taken back (`PostThanks`): the page shows it as is.
    thanks_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    is_pending: Mapped[bool] = mapped_column(Boolean, default=False)  # awaiting pre-moderation
    # Refused (or withdrawn) while it awaited pre-moderation: never published, so it stays
    # out of everyone's sight but its author's and the staff's, as a pending post does
    # (`policy.lists_post`), instead of showing as « Message masqué ». Always hidden too;
    # publishing it (`moderation.services.restore_post`) clears both.
    is_refused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # PostgreSQL full-text search: weighted vector (title A, body B) and what it was built from.
    # Deferred: only SQL reads them, and a tsvector is as long as the text it indexes.
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR().with_variant(Text(), "sqlite"), deferred=True
    )
    search_fp: Mapped[str] = mapped_column(String(32), default="", deferred=True)

    topic: Mapped[Topic] = relationship(
        back_populates="posts", foreign_keys=[topic_id], lazy="raise"
    )
    author: Mapped[Member | None] = relationship(foreign_keys=[author_id], lazy="raise")


class PostThanks(db.Model):
    """A member's « Merci » for a post (Discourse's like): one per member and post, taken
    back by its giver only; the post keeps their number (`Post.thanks_count`)."""

    __tablename__ = "post_thanks"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TopicEvent(db.Model):
    """A note by the moderation shown between a topic's posts (a split: where its messages
    went, or where they came from). Not a post: counters, « dernier message », member
    counts, analyses, search and notifications never see it."""

    __tablename__ = "topic_events"
    __table_args__ = (Index("ix_topic_events_topic_after", "topic_id", "after_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    # Shown after the post of this number (0: before the first); kept by renumbering.
    after_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # split_to | split_from
    other_topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MemberCategoryStats(db.Model):
    """How many topics and posts a member wrote in a rubrique, kept with every write so that
    a profile's counts cost the same whatever the member wrote: the profile sums the rows
    of the rubriques its viewer may read. « Visible » counts posts neither hidden nor in a
    hidden topic; the hidden ones (staff see them) are counted apart."""

    __tablename__ = "member_category_stats"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    topic_count: Mapped[int] = mapped_column(Integer, default=0)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden_topic_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden_post_count: Mapped[int] = mapped_column(Integer, default=0)


class PostRevision(db.Model):
    """A previous version of a post, kept whenever it is edited (nothing is ever lost)."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    title: Mapped[str | None] = mapped_column(String(200))
    body_source: Mapped[str] = mapped_column(Text)
    # Hidden by the moderation from the post's readers (personal data edited out of the
    # post stays in its earlier versions): kept, and read by the staff.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)

    editor: Mapped[Member | None] = relationship(lazy="raise", foreign_keys=[editor_id])


class TopicRead(db.Model):
    """How far a member has read a topic (the highest post number seen)."""

    __tablename__ = "topic_reads"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_read_number: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class Tag(db.Model):
    """A mot-clé across rubriques (CPF, VAE…), curated by the animatrice."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


topic_tags = Table(
    "topic_tags",
    db.metadata,
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # The topic's last_post_at, kept with it (`forum.services.sync_tag_activity`): a
    # mot-clé's page reads its topics in activity order from the index below, instead of
    # sorting every topic of the mot-clé.
    Column("last_post_at", UTCDateTime(), nullable=False),
    Index("ix_topic_tags_tag_activity", "tag_id", "last_post_at", "topic_id"),
)


class TagCategoryCount(db.Model):
    """How many topics carry a mot-clé in a rubrique, visible ones and hidden ones apart
    (staff see both): /mots-cles and a mot-clé's pager sum the rows of the rubriques their
    viewer may read, whatever the number of topics. Recounted from the rows by
    `forum.services.refresh_tag_counts` whenever tags, places or visibility change."""

    __tablename__ = "tag_category_counts"

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    topic_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden_topic_count: Mapped[int] = mapped_column(Integer, default=0)
