"""Helpers shared by the moderation tests: reading rows afresh, parsing pages, and an
independent recount of every counter the forum keeps on its rows."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from werkzeug.test import TestResponse

from comcep.attachments.models import Attachment
from comcep.extensions import db, utcnow
from comcep.forum.models import Category, Post, Topic
from comcep.moderation.models import ModerationLog
from tests.factories import category


def location(response: TestResponse) -> str:
    """The redirect target as path and query (the host is never ours to test)."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def text_of(response: TestResponse) -> str:
    return unescape(response.text)


def plain(html: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def reload(model: type, row_id: Any) -> Any:
    db.session.expire_all()
    return db.session.get(model, row_id)


def count(model: type) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def posts_of(topic_id: int) -> list[Post]:
    """A topic's posts in the order of its page: its places 1..n, then the replies not
    published, numbered below 0 (-1, -2…: `Post.number`)."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Post)
            .where(Post.topic_id == topic_id)
            .order_by(Post.number < 0, func.abs(Post.number))
        )
    )


def first_post(topic: Topic) -> Post:
    return posts_of(topic.id)[0]


def log_entries(action: str | None = None) -> list[ModerationLog]:
    db.session.expire_all()
    query = select(ModerationLog).order_by(ModerationLog.id)
    if action:
        query = query.where(ModerationLog.action == action)
    return list(db.session.scalars(query))


def counters(slug: str) -> tuple[int, int, int | None]:
    """(topic_count, post_count, last_post_id) of a rubrique, read afresh."""
    row = reload(Category, category(slug).id)
    return row.topic_count, row.post_count, row.last_post_id


def assert_counters_right() -> None:
    """Recount, in Python and from the rows alone, what every topic and rubrique should
    show (visible posts of visible topics) and compare with the stored counters."""
    db.session.expire_all()
    topics = list(db.session.scalars(select(Topic)))
    posts = list(db.session.scalars(select(Post)))
    by_topic: dict[int, list[Post]] = {}
    for post in posts:
        by_topic.setdefault(post.topic_id, []).append(post)
    for topic in topics:
        visible = sorted(
            (p for p in by_topic.get(topic.id, []) if not p.is_hidden), key=lambda p: p.number
        )
        assert topic.post_count == len(visible), f"post_count of topic {topic.id}"
        expected_last = visible[-1].id if visible else None
        assert topic.last_post_id == expected_last, f"last_post_id of topic {topic.id}"
        assert topic.last_post_number == (visible[-1].number if visible else 0), (
            f"last_post_number of topic {topic.id}"
        )
        if visible:
            assert topic.last_post_at == visible[-1].created_at, f"last_post_at of topic {topic.id}"
            assert topic.last_poster_id == visible[-1].author_id, (
                f"last_poster_id of topic {topic.id}"
            )
        numbers = sorted(p.number for p in by_topic.get(topic.id, []))
        assert topic.last_number >= (numbers[-1] if numbers else 0), (
            f"last_number of topic {topic.id}"
        )
    for rubrique in db.session.scalars(select(Category)):
        shown = [t for t in topics if t.category_id == rubrique.id and not t.is_hidden]
        visible_posts = [p for t in shown for p in by_topic.get(t.id, []) if not p.is_hidden]
        last = max(visible_posts, key=lambda p: (p.created_at, p.id), default=None)
        assert rubrique.topic_count == len(shown), f"topic_count of {rubrique.slug}"
        assert rubrique.post_count == len(visible_posts), f"post_count of {rubrique.slug}"
        assert rubrique.last_post_id == (last.id if last else None), (
            f"last_post_id of {rubrique.slug}"
        )


def index_row(html: str, rubrique_name: str) -> str:
    """The visible text of a rubrique's row on the index."""
    text = unescape(html)
    start = text.index(f">{rubrique_name}</a>")
    row = text[text.rindex("<tr", 0, start) : text.index("</tr>", start)]
    return plain(row)


def topic_titles_in_list(html: str) -> list[str]:
    """Topic titles of a topic table, in the order shown."""
    return [unescape(t) for t in re.findall(r'class="topic-row__title"[^>]*>([^<]*)</a>', html)]


def search_count(html: str) -> str:
    match = re.search(r'class="search-count"[^>]*>([^<]*)', html)
    return unescape(match.group(1)).strip() if match else ""


def without_csrf(html: str) -> str:
    """A page with its CSRF token values blanked (they change on every request)."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', html)


def attach_file(post: Post, filename: str, size: int) -> Attachment:
    """A file row on a post (the queue lists files; their bytes are not read here)."""
    attachment = Attachment(
        post_id=post.id,
        uploader_id=post.author_id,
        filename=filename,
        mime="application/pdf",
        label="PDF",
        family="pdf",
        size=size,
        key="0" * 64,
        created_at=utcnow(),
    )
    db.session.add(attachment)
    db.session.commit()
    return attachment


def set_premoderation(client, value: str):  # noqa: ANN001, ANN201
    """The admins' setting: a new member's first `value` posts wait for validation."""
    return client.post("/moderation/reglages", data={"premoderation_posts": value})
