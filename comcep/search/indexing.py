"""The bridge between the database (the truth) and the search backend: builds documents
from rows, applies the outbox, rebuilds and checks the index."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, func, select, text
from whoosh.index import LockError

from comcep import outbox
from comcep.dialects import COMMA
from comcep.extensions import db
from comcep.forum.models import Category, Post, Tag, Topic, topic_tags
from comcep.rendering import searchable_text
from comcep.search.backend import SearchBackend, SearchDocument, fingerprint
from comcep.search.postgres_backend import PostgresBackend
from comcep.search.whoosh_backend import WhooshBackend

POST_KIND = "search.post"
TOPIC_KIND = "search.topic"
#: Posts from which `rebuild` analyses in two processes (see `WhooshBackend.rebuild`).
PARALLEL_REBUILD_FROM = 20_000


def get_backend() -> SearchBackend:
    """The app's backend (COMCEP_SEARCH_BACKEND), opened once per process."""
    app = current_app._get_current_object()
    backend = app.extensions.get("comcep_search")
    if backend is None:
        if app.config["SEARCH_BACKEND"] == "postgres":
            backend = PostgresBackend()
        else:
            backend = WhooshBackend(
                app.config["SEARCH_INDEX_PATH"],
                cache_bytes=app.config["SEARCH_CACHE_MB"] * 1024 * 1024,
            )
        app.extensions["comcep_search"] = backend
    return backend


def _transactional() -> PostgresBackend | None:
    backend = get_backend()
    return backend if getattr(backend, "transactional", False) else None


def enqueue_posts(post_ids: list[int] | set[int]) -> None:
    """Index these posts: now, in the caller's transaction (PostgreSQL), or through the
    outbox after commit (Whoosh)."""
    backend = _transactional()
    if backend is not None:
        backend.index_posts(post_ids)
    else:
        outbox.enqueue(POST_KIND, post_ids)


def enqueue_topics(topic_ids: list[int] | set[int]) -> None:
    """Reindex every post of these topics (moved, renamed, hidden, merged…)."""
    backend = _transactional()
    if backend is not None:
        backend.index_topics(topic_ids)
    else:
        outbox.enqueue(TOPIC_KIND, topic_ids)


@functools.cache
def _documents_query() -> Select:
    """Built once (0.1 ms saved on each reply's indexing). The topic's tags
    ride along as one aggregated column (a reply's indexing: one statement, not two);
    `_tag_slugs` splits and sorts them."""
    tags = (
        select(func.aggregate_strings(Tag.slug, COMMA))
        .join(topic_tags, topic_tags.c.tag_id == Tag.id)
        .where(topic_tags.c.topic_id == Topic.id)
        .scalar_subquery()
    )
    return (
        select(
            Post.id,
            Post.topic_id,
            Topic.category_id,
            func.coalesce(Category.parent_id, Category.id),
            Post.author_id,
            Topic.title,
            Post.body_html,
            Post.created_at,
            Post.is_hidden,
            Topic.is_hidden,
            Post.number,
            tags,
        )
        .join(Topic, Topic.id == Post.topic_id)
        .join(Category, Category.id == Topic.category_id)
    )


def _tag_slugs(joined: str | None) -> tuple[str, ...]:
    """Slugs are letters, digits and hyphens (`rendering.slugify`): a comma parts them."""
    return tuple(sorted(joined.split(","))) if joined else ()


def _document(row: tuple) -> SearchDocument:
    (
        post_id,
        topic_id,
        category_id,
        theme_id,
        author_id,
        title,
        html,
        created_at,
        post_hidden,
        topic_hidden,
        number,
        tags,
    ) = row
    return SearchDocument(
        post_id=post_id,
        topic_id=topic_id,
        category_id=category_id,
        theme_id=theme_id,
        author_id=author_id,
        title=title,
        body=searchable_text(html),
        created_at=created_at,
        is_hidden=bool(post_hidden or topic_hidden),
        is_first_post=number == 1,
        tags=_tag_slugs(tags),
    )


def _apply_posts(post_ids: list[int]) -> None:
    rows = db.session.execute(_documents_query().where(Post.id.in_(post_ids))).all()
    docs = [_document(row) for row in rows]
    found = {doc.post_id for doc in docs}
    backend = get_backend()
    missing = [post_id for post_id in post_ids if post_id not in found]
    try:
        backend.upsert(docs)
        if missing:
            backend.delete(missing)
    except LockError as error:  # a rebuild holds the index: its rows wait, uncounted
        raise outbox.Busy from error


def _apply_topics(topic_ids: list[int]) -> None:
    post_ids = list(db.session.scalars(select(Post.id).where(Post.topic_id.in_(topic_ids))))
    if post_ids:
        _apply_posts(post_ids)


outbox.register(POST_KIND, _apply_posts)
outbox.register(TOPIC_KIND, _apply_topics)


def sync() -> int:
    """Apply every pending search row (what a crash or a busy lock left behind)."""
    return outbox.process(kinds=(POST_KIND, TOPIC_KIND))


def iter_documents(batch_size: int = 2000) -> Iterator[SearchDocument]:
    """Every post as a document, in id order, streamed in keyset batches."""
    last_id = 0
    while True:
        rows = db.session.execute(
            _documents_query().where(Post.id > last_id).order_by(Post.id).limit(batch_size)
        ).all()
        if not rows:
            return
        yield from map(_document, rows)
        last_id = rows[-1][0]


def rebuild(progress: Callable[[int], None] | None = None, batch_size: int = 2000) -> int:
    """Empty the index and index every post again from the database."""
    backend = get_backend()
    if isinstance(backend, PostgresBackend):
        return _rebuild_postgres(backend, progress, batch_size * 10)

    def counted() -> Iterator[SearchDocument]:
        for count, doc in enumerate(iter_documents(batch_size), start=1):
            yield doc
            if progress and count % batch_size == 0:
                progress(count)

    # Two processes analyse while this one reads the database: about twice as fast, but
    # only worth their start-up (and a fork) for a large forum.
    procs = 2 if (os.cpu_count() or 1) >= 2 and post_count() >= PARALLEL_REBUILD_FROM else 1
    count = backend.rebuild(counted(), procs=procs)
    if progress:
        progress(count)
    return count


def _rebuild_postgres(
    backend: PostgresBackend, progress: Callable[[int], None] | None, batch_size: int
) -> int:
    """Recompute the vectors in id ranges, committing as it goes (no long lock)."""
    last = db.session.scalar(select(func.max(Post.id))) or 0
    count = 0
    for first in range(1, last + 1, batch_size):
        count += backend.rebuild_range(first, first + batch_size - 1)
        db.session.commit()
        if progress:
            progress(count)
    # Fresh statistics on the vectors: the planner chooses between the GIN index and the
    # most-recent-first scan from how common each word is.
    db.session.execute(text("ANALYZE posts"))
    db.session.commit()
    return count


def post_count() -> int:
    return db.session.scalar(select(func.count(Post.id))) or 0


@dataclass
class CheckReport:
    missing: list[int]  # in the database, not in the index
    stale: list[int]  # indexed with outdated content
    extra: list[int]  # in the index, not in the database

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def check() -> CheckReport:
    """Compare the index with the database, post by post."""
    backend = get_backend()
    if isinstance(backend, PostgresBackend):
        return CheckReport(missing=[], stale=backend.stale_post_ids(), extra=[])
    indexed = backend.indexed_versions()
    missing, stale = [], []
    seen = set()
    for doc in iter_documents():
        seen.add(doc.post_id)
        version = indexed.get(doc.post_id)
        if version is None:
            missing.append(doc.post_id)
        elif version != fingerprint(doc):
            stale.append(doc.post_id)
    extra = sorted(set(indexed) - seen)
    return CheckReport(missing=missing, stale=stale, extra=extra)
