"""Reads for the body of knowledge: mots-clés, the tool library (/outils), solutions."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Exists, Select, bindparam, func, select
from sqlalchemy.orm import contains_eager
from werkzeug.exceptions import NotFound

from comcep import policy
from comcep.attachments.models import Attachment
from comcep.extensions import db, read_columns
from comcep.forum.models import Post, Tag, TagCategoryCount, Topic, topic_tags
from comcep.forum.queries import RowPagination
from comcep.policy import Viewer


def active_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).where(Tag.retired.is_(False)).order_by(Tag.name)))


def all_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.retired, Tag.name)))


def tag_counts(viewer: Viewer) -> list[tuple[Tag, int]]:
    """Each active mot-clé with the number of topics the viewer may see (one query): the
    sums of its counters (`TagCategoryCount`) in the rubriques the viewer reads, whatever
    the number of topics."""
    counted = TagCategoryCount.topic_count
    if viewer.is_staff:
        counted = counted + TagCategoryCount.hidden_topic_count
    visible = (
        select(TagCategoryCount.tag_id, func.sum(counted).label("n"))
        .where(TagCategoryCount.category_id.in_(sorted(policy.visible_category_ids(viewer))))
        .group_by(TagCategoryCount.tag_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Tag, func.coalesce(visible.c.n, 0))
        .outerjoin(visible, visible.c.tag_id == Tag.id)
        .where(Tag.retired.is_(False))
        .order_by(Tag.name)
    )
    return [(tag, count) for tag, count in rows]


def find_tag(slug: str) -> Tag | None:
    """A mot-clé in use (retired ones are not filters any more)."""
    return db.session.scalar(select(Tag).where(Tag.slug == slug, Tag.retired.is_(False)))


def get_tag_or_404(slug: str) -> Tag:
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None:
        raise NotFound()
    return tag


@dataclass(frozen=True, slots=True)
class TagChip:
    """A mot-clé as a chip links to it: plain values (a mapped `Tag` per chip cost more than
    the query)."""

    id: int
    slug: str
    name: str


@functools.cache
def _tags_statement() -> Select:
    return (
        select(topic_tags.c.topic_id, Tag.id, Tag.slug, Tag.name)
        .join(Tag, Tag.id == topic_tags.c.tag_id)
        .where(topic_tags.c.topic_id.in_(bindparam("topic_ids", expanding=True)))
        .order_by(Tag.name)
    )


@functools.cache
def has_tags_column() -> Exists:
    """Whether the topic bound as `topic_id` carries a mot-clé: a prebuilt column that the
    topic page folds into a query it already makes, so that an untagged topic (most of them)
    costs no query for its chips."""
    return (
        select(topic_tags.c.tag_id).where(topic_tags.c.topic_id == bindparam("topic_id")).exists()
    )


def tags_by_topic(topic_ids: list[int]) -> dict[int, list[TagChip]]:
    """Mots-clés of a page of topics in one query (chips on lists)."""
    if not topic_ids:
        return {}
    result: dict[int, list[TagChip]] = {}
    for topic_id, *tag in read_columns(_tags_statement(), {"topic_ids": list(topic_ids)}):
        result.setdefault(topic_id, []).append(TagChip(*tag))
    return result


@dataclass
class ToolRow:
    attachment: Attachment
    topic: Topic


FAMILIES = {
    "pdf": "PDF",
    "text": "Documents texte",
    "sheet": "Tableurs",
    "slides": "Présentations",
    "image": "Images",
    "csv": "CSV",
}


#: /outils counts the first files only: counting them all would read every file of the
#: forum on each page. The pager reaches the newest TOOLS_COUNT_CAP (34 pages); the filters
#: (type, mot-clé) reach older ones.
TOOLS_COUNT_CAP = 1000


def tools(viewer: Viewer, page: int, family: str | None, tag: Tag | None) -> Pagination:
    """Every attachment the viewer may see, newest first (the wall in SQL). A page reads the
    files in the order of their (family,) created_at index, keeping the visible ones, and
    stops at its last row; the count stops at TOOLS_COUNT_CAP."""
    query = (
        select(Attachment, Topic)
        .join(Post, Post.id == Attachment.post_id)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Topic.category)
        .options(contains_eager(Topic.category))
        .where(policy.visible_posts(viewer))
        .order_by(Attachment.created_at.desc(), Attachment.id.desc())
    )
    if family in FAMILIES:
        query = query.where(Attachment.family == family)
    if tag is not None:
        query = query.where(
            select(topic_tags.c.topic_id)
            .where(topic_tags.c.topic_id == Topic.id, topic_tags.c.tag_id == tag.id)
            .exists()
        )
    return RowPagination(
        select=query,
        session=db.session(),
        page=page,
        per_page=30,
        error_out=False,
        row_type=ToolRow,
        key=Attachment.id,
        count_cap=TOOLS_COUNT_CAP,
    )


@functools.cache
def _attachments_statement() -> Select:
    return (
        select(Attachment)
        .where(Attachment.post_id.in_(bindparam("post_ids", expanding=True)))
        .order_by(Attachment.id)
    )


def attachments_by_post(post_ids: list[int]) -> dict[int, list[Attachment]]:
    if not post_ids:
        return {}
    result: dict[int, list[Attachment]] = {}
    for attachment in db.session.scalars(_attachments_statement(), {"post_ids": list(post_ids)}):
        result.setdefault(attachment.post_id, []).append(attachment)
    return result


def get_attachment_or_404(viewer: Viewer, attachment_id: int) -> Attachment:
    """A file answers exactly like a missing one when its post is out of reach."""
    row = db.session.execute(
        select(Attachment, Post, Topic)
        .join(Post, Post.id == Attachment.post_id)
        .join(Topic, Topic.id == Post.topic_id)
        .where(Attachment.id == attachment_id)
    ).one_or_none()
    if row is None:
        raise NotFound()
    attachment, post, topic = row
    policy.check_see_post_content(viewer, post, topic)
    return attachment
