"""Site settings stored in the database, so that every app host sees the same value."""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, func, select

from comcep.extensions import db
from comcep.forum.models import Post
from comcep.members.models import Member
from comcep.moderation.models import Setting

PREMODERATION_POSTS = "premoderation_posts"
DEFAULTS = {PREMODERATION_POSTS: "0"}


def get_int(key: str) -> int:
    return to_int(key, db.session.scalar(select(value_column(key))))


def value_column(key: str) -> ScalarSelect[str | None]:
    """The stored value as a scalar subquery, to ride in a statement the caller runs anyway
    (`to_int` reads it)."""
    return select(Setting.value).where(Setting.key == key).scalar_subquery()


def to_int(key: str, value: str | None) -> int:
    """A stored value as a number: the default when it is missing or not a number."""
    try:
        return int(value if value is not None else DEFAULTS.get(key, "0"))
    except ValueError:
        return int(DEFAULTS.get(key, "0"))


def set_value(key: str, value: str) -> None:
    setting = db.session.get(Setting, key)
    if setting is None:
        db.session.add(Setting(key=key, value=value))
    else:
        setting.value = value
    db.session.flush()


def may_wait(member: Member, limit: int) -> bool:
    """Whether pre-moderation applies to the member at all (before counting their posts):
    it is on (`limit`, the setting, 0 by default: off) and they are not staff."""
    return limit > 0 and not member.is_staff


def too_few_published(member_id: int, limit: int) -> ColumnElement[bool]:
    """The member has published fewer than `limit` posts, so their next one waits: a SQL
    condition, to ride in a statement the caller runs anyway (`forum.services._add_post`
    gives back a reply's number in the one that asks it)."""
    published = (
        select(func.count(Post.id))
        .where(Post.author_id == member_id, Post.is_pending.is_(False), Post.is_hidden.is_(False))
        .scalar_subquery()
    )
    return published < limit


def needs_premoderation(member: Member, limit: int) -> bool:
    """A new member's first N posts wait in the queue (N = `limit`, the setting, read by
    the caller with its own statement; 0 by default: none)."""
    if not may_wait(member, limit):
        return False
    return bool(db.session.scalar(select(too_few_published(member.id, limit))))
