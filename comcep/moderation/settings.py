"""Site settings stored in the database, so that every app host sees the same value."""

from __future__ import annotations

from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Post
from comcep.members.models import Member
from comcep.moderation.models import Setting

PREMODERATION_POSTS = "premoderation_posts"
DEFAULTS = {PREMODERATION_POSTS: "0"}


def get_int(key: str) -> int:
    value = db.session.scalar(select(Setting.value).where(Setting.key == key))
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


def needs_premoderation(member: Member) -> bool:
    """A new member's first N posts wait in the queue (N = 0 by default: none)."""
    limit = get_int(PREMODERATION_POSTS)
    if limit <= 0 or member.is_staff:
        return False
    approved = db.session.scalar(
        select(func.count(Post.id)).where(
            Post.author_id == member.id, Post.is_pending.is_(False), Post.is_hidden.is_(False)
        )
    )
    return (approved or 0) < limit
