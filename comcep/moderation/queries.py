"""Reads for the moderation pages (staff only: callers check the policy first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ScalarSelect, func, or_, select, true
from sqlalchemy.orm import contains_eager, joinedload

from comcep import policy
from comcep.attachments.models import Attachment
from comcep.extensions import db
from comcep.forum import knowledge
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member
from comcep.messages.models import PrivateMessage
from comcep.moderation.models import ModerationLog, Report
from comcep.policy import Viewer


@dataclass
class QueueItem:
    post: Post
    topic: Topic
    reports: list[Report]
    files: list[Attachment]  # a report often concerns a file (« données personnelles »)


def open_reports() -> list[Report]:
    """Every open report (on posts and private messages), oldest first, in one query on
    their partial index: the queue's two lists share it."""
    return list(
        db.session.scalars(
            select(Report)
            .options(joinedload(Report.reporter))
            .where(Report.status == "open")
            .order_by(Report.created_at)
        )
    )


def reported_messages(reports: Sequence[Report]) -> list[tuple[PrivateMessage, list[Report]]]:
    """Reported private messages (the message alone, never its conversation), from
    `open_reports`."""
    reports = [r for r in reports if r.message_id is not None]
    ids = list(dict.fromkeys(r.message_id for r in reports))
    if not ids:
        return []
    messages = {
        m.id: m
        for m in db.session.scalars(
            select(PrivateMessage)
            .options(joinedload(PrivateMessage.author))
            .where(PrivateMessage.id.in_(ids))
        )
    }
    return [(messages[i], [r for r in reports if r.message_id == i]) for i in ids if i in messages]


def review_queue(reports: Sequence[Report]) -> list[QueueItem]:
    """Open reports (from `open_reports`) grouped by post, oldest first, with the post in
    context and its attachments: 2 queries."""
    reports = [r for r in reports if r.post_id is not None]
    post_ids = list(dict.fromkeys(r.post_id for r in reports))
    if not post_ids:
        return []
    rows = db.session.execute(
        select(Post, Topic)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Topic.category)
        .options(contains_eager(Topic.category), joinedload(Post.author))
        .where(Post.id.in_(post_ids))
    ).all()
    by_post = {post.id: (post, topic) for post, topic in rows}
    files = knowledge.attachments_by_post(list(by_post))
    return [
        QueueItem(*by_post[pid], [r for r in reports if r.post_id == pid], files.get(pid, []))
        for pid in post_ids
        if pid in by_post
    ]


def pending_posts() -> list[tuple[Post, Topic, list[Attachment]]]:
    """Posts awaiting validation (oldest first), in context, with their files: their ids
    from the partial index `ix_posts_pending` first (1 query when none waits, 3 otherwise).
    In one statement, the ORDER BY let SQLite walk every post by `ix_posts_created` rather
    than read that index, empty most of the time and so without statistics."""
    # is_pending = 1 on SQLite, as the partial index says: that index then serves.
    ids = list(db.session.scalars(select(Post.id).where(Post.is_pending == true())))
    if not ids:
        return []
    rows = db.session.execute(
        select(Post, Topic)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Topic.category)
        .options(contains_eager(Topic.category), joinedload(Post.author))
        .where(Post.id.in_(ids))
        .order_by(Post.created_at, Post.id)
    ).all()
    files = knowledge.attachments_by_post([post.id for post, _ in rows])
    return [(post, topic, files.get(post.id, [])) for post, topic in rows]


def log_page(page: int, action: str | None, actor_id: int | None) -> Pagination:
    query = (
        select(ModerationLog)
        .options(joinedload(ModerationLog.actor))
        .order_by(ModerationLog.created_at.desc(), ModerationLog.id.desc())
    )
    if action:
        query = query.where(ModerationLog.action == action)
    if actor_id:
        query = query.where(ModerationLog.actor_id == actor_id)
    return db.paginate(query, page=page, per_page=50, error_out=False)


@dataclass(frozen=True, slots=True)
class TargetMember:
    """What `filters.member_name` needs to name a member."""

    id: int
    display_name: str
    state: str


@dataclass(frozen=True, slots=True)
class TargetPost:
    id: int
    number: int  # below 0: a reply not published (`filters.post_place`)
    is_pending: bool
    topic_id: int
    topic_title: str
    author: TargetMember | None


@dataclass
class LogTargets:
    """The names of what a page of the journal acted on, by id and kind; a target missing
    here (gone, or out of the viewer's reach) shows as its « réf. »."""

    posts: dict[int, TargetPost] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    members: dict[int, TargetMember] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)


def log_targets(viewer: Viewer, entries: Sequence[ModerationLog]) -> LogTargets:
    """Titles and names for the journal's rows: one query per kind of target on the page
    (not one per row), each through the policy's predicate for that kind."""
    ids: dict[str, set[int]] = {}
    for entry in entries:
        ids.setdefault(entry.target_type, set()).add(entry.target_id)
    targets = LogTargets()
    if post_ids := sorted(ids.get("post", ())):
        rows = db.session.execute(
            select(
                Post.id,
                Post.number,
                Post.is_pending,
                Topic.id,
                Topic.title,
                Member.id,
                Member.display_name,
                Member.state,
            )
            .join(Topic, Topic.id == Post.topic_id)
            .outerjoin(Member, Member.id == Post.author_id)
            .where(Post.id.in_(post_ids), policy.visible_posts(viewer))
        )
        for post_id, number, pending, topic_id, title, author_id, name, state in rows:
            author = None if author_id is None else TargetMember(author_id, name, state)
            targets.posts[post_id] = TargetPost(post_id, number, pending, topic_id, title, author)
    if topic_ids := sorted(ids.get("topic", ())):
        rows = db.session.execute(
            select(Topic.id, Topic.title).where(
                Topic.id.in_(topic_ids), policy.visible_topics(viewer)
            )
        )
        targets.topics = {topic_id: title for topic_id, title in rows}
    if member_ids := sorted(ids.get("member", ())):
        rows = db.session.execute(
            select(Member.id, Member.display_name, Member.state).where(
                Member.id.in_(member_ids),
                # Staff name registration requests too (pending members), not only listed ones.
                or_(policy.visible_members(viewer), policy.visible_registrations(viewer)),
            )
        )
        targets.members = {row[0]: TargetMember(*row) for row in rows}
    if category_ids := sorted(ids.get("category", ())):
        rows = db.session.execute(
            select(Category.id, Category.name).where(
                Category.id.in_(category_ids), policy.visible_categories(viewer)
            )
        )
        targets.categories = {category_id: name for category_id, name in rows}
    return targets


def log_actions() -> list[str]:
    return list(db.session.scalars(select(ModerationLog.action).distinct().order_by("action")))


def log_actors() -> list[tuple[int, str]]:
    """Members who appear as actors in the journal, by name, for its filter."""
    rows = db.session.execute(
        select(Member.id, Member.display_name)
        .where(Member.id.in_(select(ModerationLog.actor_id).distinct()))
        .order_by(Member.display_name)
    )
    return [(row.id, row.display_name) for row in rows]


def my_reports(member: Member) -> list[tuple[Report, Post, Topic]]:
    rows = db.session.execute(
        select(Report, Post, Topic)
        .join(Post, Post.id == Report.post_id)
        .join(Topic, Topic.id == Post.topic_id)
        .where(
            Report.reporter_id == member.id,
            Report.reason != "corrected",  # an author's correction is no report of theirs
            # The wall still applies; a topic hidden after the report keeps its outcome shown.
            Topic.category_id.in_(sorted(policy.visible_category_ids(Viewer.for_member(member)))),
        )
        .order_by(Report.created_at.desc())
        .limit(100)
    ).all()
    return [(r, p, t) for r, p, t in rows]


def waiting_count_query() -> ScalarSelect[int]:
    """What waits for the staff, for the header's single query: the items of the queue,
    as it lists them (`review_queue`, `reported_messages`: a post or a private message
    however many reports it has), and posts awaiting pre-moderation (a partial index holds
    both the open reports and those)."""
    reports = (
        select(func.count(Report.post_id.distinct()) + func.count(Report.message_id.distinct()))
        .where(Report.status == "open")
        .scalar_subquery()
    )
    pending = select(func.count(Post.id)).where(Post.is_pending == true()).scalar_subquery()
    return select(reports + pending).scalar_subquery()


def merge_candidates(viewer: Viewer, words: str, exclude_id: int) -> list[str]:
    """Topics whose title holds `words`, most recent first, as « 24 — Titre · Rubrique »
    (the merge form reads the leading number): what the animatrice picks from by title."""
    words = " ".join(words.split())[:100]
    if len(words) < 2:
        return []
    rows = db.session.execute(
        select(Topic.id, Topic.title, Category.name)
        .join(Category, Category.id == Topic.category_id)
        .where(
            policy.openable_topics(viewer),
            Topic.id != exclude_id,
            Topic.title.icontains(words, autoescape=True),
        )
        .order_by(Topic.last_post_at.desc())
        .limit(8)
    )
    return [f"{topic_id} — {title} · {rubrique}" for topic_id, title, rubrique in rows]
