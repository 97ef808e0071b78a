"""Forum writes. Services flush, never commit: the caller commits once, so a post, its
counters and its side-effect rows share one transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    ScalarSelect,
    Select,
    Update,
    and_,
    bindparam,
    case,
    delete,
    func,
    inspect,
    not_,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased

from comcep import outbox, policy
from comcep.analytics import rollups
from comcep.dialects import upsert
from comcep.errors import ComcepError
from comcep.extensions import UTCDateTime, db, utcnow
from comcep.forum.models import (
    Category,
    MemberCategoryStats,
    Post,
    PostRevision,
    PostThanks,
    Tag,
    TagCategoryCount,
    Topic,
    TopicRead,
    topic_tags,
)
from comcep.members.models import Member
from comcep.members.queries import mentions_by, post_mentions
from comcep.messages.models import ConversationMember, PrivateMessage
from comcep.moderation import settings
from comcep.rendering import render_markdown, slugify
from comcep.search import indexing

TITLE_MIN, TITLE_MAX = 5, 200
BODY_MIN, BODY_MAX = 1, 50_000
# « Précédent » after publishing gives the form back, filled in by the browser: the same text
# sent again by its author within this window is that form, not a second message.
REPEAT_WINDOW = timedelta(minutes=10)
REPEATED_REPLY = (
    "Vous venez déjà de publier ce message dans ce sujet : il n'est pas envoyé une seconde "
    "fois. Modifiez le texte si vous vouliez écrire autre chose."
)
REPEATED_TOPIC = (
    "Vous venez déjà d'ouvrir ce sujet dans cette rubrique, avec ce titre et ce message : il "
    "n'est pas publié une seconde fois."
)


def _repeated(actor: Member, topic: Topic, body: str, *, new_topic: bool) -> ScalarSelect[Any]:
    """The author's previous copy of what is being posted, as a scalar subquery that rides in
    the statement taking the post's number, so that the guard costs no statement of its own:
    for a topic, another topic they opened within the window in the same rubrique with the
    same title and first post; for a reply, the text of their latest post in the topic within
    the window (the caller compares it: an older copy is a message written again on purpose).
    It catches a form sent again, not two sent in the same instant: on PostgreSQL the second
    waits for the topic's row, but its subquery reads the posts as they were when it began."""
    since = utcnow() - REPEAT_WINDOW
    if new_topic:
        # No join: SQLite writes RETURNING's columns without their table, so each level
        # reads one table and its names resolve there.
        others = select(Topic.id).where(
            Topic.author_id == actor.id,
            Topic.category_id == topic.category_id,
            Topic.id != topic.id,
            Topic.created_at >= since,
            Topic.title == topic.title,
        )
        return (
            select(Post.topic_id)
            .where(Post.number == 1, Post.body_source == body, Post.topic_id.in_(others))
            .limit(1)
            .scalar_subquery()
        )
    return (
        select(Post.body_source)
        .where(Post.author_id == actor.id, Post.topic_id == topic.id, Post.created_at >= since)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def create_topic(
    actor: Member,
    category: Category,
    title: str,
    body: str,
    *,
    at: datetime | None = None,
    refuse_repeat: bool = False,
) -> Topic:
    """Open a topic with its first post and update the rubrique's counters. With
    `refuse_repeat` (a form), the same topic opened again minutes later is refused."""
    now = at or utcnow()
    title = title.strip()
    topic = Topic(
        category_id=category.id,
        author_id=actor.id,
        title=title,
        slug=slugify(title),
        created_at=now,
        last_post_at=now,
        post_count=0,
        last_number=0,
        last_post_number=0,
    )
    db.session.add(topic)
    db.session.flush()
    _add_post(actor, topic, body, now, new_topic=True, refuse_repeat=refuse_repeat)
    return topic


def reply(
    actor: Member,
    topic: Topic,
    body: str,
    *,
    at: datetime | None = None,
    refuse_repeat: bool = False,
) -> Post:
    """Add a post to a topic and move « dernier message » of the topic and its rubrique. With
    `refuse_repeat` (a form), the author's latest post sent again is refused."""
    now = at or utcnow()
    return _add_post(actor, topic, body, now, new_topic=False, refuse_repeat=refuse_repeat)


PENDING_REASON = "En attente de validation par l'équipe d'animation."


def _add_post(
    actor: Member,
    topic: Topic,
    body: str,
    now: datetime,
    *,
    new_topic: bool,
    refuse_repeat: bool = False,
) -> Post:
    # Taking the next number is an atomic UPDATE … RETURNING: concurrent replies never clash.
    # The pre-moderation setting and the repeat guard ride along: no statement of their own.
    repeated = _repeated(actor, topic, body, new_topic=new_topic) if refuse_repeat else null()
    number, premoderation_posts, previous = db.session.execute(
        update(Topic)
        .where(Topic.id == topic.id)
        .values(last_number=Topic.last_number + 1)
        .returning(Topic.last_number, settings.value_column(settings.PREMODERATION_POSTS), repeated)
    ).one()
    if new_topic and previous is not None:
        raise ComcepError(REPEATED_TOPIC, field="title")
    if not new_topic and previous == body:
        raise ComcepError(REPEATED_REPLY, field="body")
    limit = settings.to_int(settings.PREMODERATION_POSTS, premoderation_posts)
    read_up_to = number  # the author has read the topic up to their post
    if new_topic or not settings.may_wait(actor, limit):
        # An opening post keeps n° 1 even while it waits: its whole topic waits with it.
        pending = settings.needs_premoderation(actor, limit)
    else:
        waiting = _wait_instead(actor, topic, limit)
        pending = waiting is not None
        if waiting is not None:
            number, read_up_to = waiting, number - 1
    post = Post(
        topic_id=topic.id,
        number=number,
        author_id=actor.id,
        body_source=body,
        body_html=render_markdown(body, post_mentions(actor, topic.category_id)),
        created_at=now,
    )
    # A reply that may become the topic's first reply changes the month it was opened in.
    answers = not new_topic and (topic.first_reply_at is None or now < topic.first_reply_at)
    opened = topic.created_at
    if pending:  # pre-moderation: invisible to others until approved, counters untouched
        post.is_hidden = post.is_pending = True
        post.hidden_reason = PENDING_REASON
        if new_topic:
            topic.is_hidden = True
    db.session.add(post)
    db.session.flush()
    # A reply in a hidden topic (its author's, the staff's) counts as hidden: neither the
    # rubrique's « dernier message » nor the counts that members read may show it.
    hidden = pending or topic.is_hidden
    _count_for_member(actor.id, topic.category_id, new_topic=new_topic, hidden=hidden)
    with outbox.batch():  # the notifications' row and the index's: one INSERT
        if not pending:
            _count_new_post(topic, post, actor, now, new_topic=new_topic, rubrique=not hidden)
            outbox.enqueue("notify.post", [post.id])
        # The counters moved in SQL: reload them only if read (a reply redirects).
        db.session.expire(topic)
        mark_read(actor, inspect(topic).identity[0], read_up_to)  # no reload of the expired topic
        rollups.mark_month_of(now)
        if answers:
            rollups.mark_month_of(opened)
        indexing.enqueue_posts([post.id])
    return post


def _wait_instead(actor: Member, topic: Topic, limit: int) -> int | None:
    """For a reply of a member pre-moderation may apply to: if it must wait, the number just
    taken is given back and the reply's waiting number returned (None if it is published).
    A waiting reply takes no place in the topic (`Post.number`): others would read a gap
    in the numbers, and « N non lus » would count it. The count deciding it is the
    condition of the statement giving the number back: no statement more than when it was
    asked alone. The topic's row, written by the statement that took the number, stays
    locked until commit, so no other post took one in between."""
    return db.session.execute(
        update(Topic)
        .where(Topic.id == topic.id, settings.too_few_published(actor.id, limit))
        .values(last_number=Topic.last_number - 1)
        .returning(waiting_number(topic.id))
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def waiting_number(topic_id: int) -> ScalarSelect[int]:
    """The number of the topic's next waiting post: below the lowest one given (-1 for
    the first), so that waiting posts take numbers in the order written, outside the
    topic's places 1..n. Taken while the topic's row is locked (`_add_post`)."""
    return (
        select(func.coalesce(func.min(Post.number), 0) - 1)
        .where(Post.topic_id == topic_id, Post.number < 0)
        .scalar_subquery()
    )


def _count_new_post(
    topic: Topic, post: Post, actor: Member, now: datetime, *, new_topic: bool, rubrique: bool
) -> None:
    # PostgreSQL copies the date to the topic's mots-clés in the topic's UPDATE (a
    # data-modifying WITH, which SQLite has not): a reply there runs one statement more
    # for its search vector.
    in_cte = db.session.get_bind().dialect.name == "postgresql"
    topic_update, category_update = _new_post_statements(new_topic, tags_in_cte=in_cte)
    # Parameter names must not be column names: a key naming a column of the updated table
    # would also be SET (a stale `category_id` would move the topic back).
    db.session.execute(
        topic_update,
        {
            "b_topic": topic.id,
            "b_post": post.id,
            "b_number": post.number,
            "b_now": now,
            "b_actor": actor.id,
            "b_actor_network": actor.network_id,
        },
    )
    if rubrique:
        db.session.execute(category_update, {"b_category": topic.category_id, "b_post": post.id})
    if not new_topic and not in_cte:  # a new topic has no mot-clé yet (`set_tags` copies it)
        db.session.execute(_tag_activity_statement(), {"b_topic": topic.id, "b_now": now})


@functools.cache
def _tag_activity_statement() -> Update:
    """A reply's date copied to the topic's mots-clés (`topic_tags.last_post_at`)."""
    return (
        update(topic_tags)
        .where(topic_tags.c.topic_id == bindparam("b_topic", type_=Integer))
        .values(last_post_at=bindparam("b_now", type_=UTCDateTime()))
    )


@functools.cache
def _new_post_statements(new_topic: bool, *, tags_in_cte: bool = False) -> tuple[Update, Update]:
    """The counters' UPDATEs for a new post, built once (each reply only binds values):
    the topic's count and « dernier message », its first reply when there is none yet (the
    newest post is the first reply then), and the rubrique's counts. With `tags_in_cte`,
    a reply's topic UPDATE also copies its date to the topic's mots-clés."""
    now = bindparam("b_now", type_=UTCDateTime())
    actor_id = bindparam("b_actor", type_=Integer)
    values: dict[str, Any] = {
        "post_count": Topic.post_count + 1,
        "last_post_id": bindparam("b_post", type_=Integer),
        "last_post_number": bindparam("b_number", type_=Integer),
        "last_post_at": now,
        "last_poster_id": actor_id,
    }
    if not new_topic:
        first = and_(  # no first reply yet, or a later one (a reply dated in the past)
            or_(Topic.first_reply_at.is_(None), Topic.first_reply_at > now),
            Topic.created_at <= now,
            or_(Topic.author_id.is_(None), Topic.author_id != actor_id),
        )
        values["first_reply_at"] = case((first, now), else_=Topic.first_reply_at)
        values["first_reply_author_id"] = case((first, actor_id), else_=Topic.first_reply_author_id)
        values["first_reply_cross_network"] = case(
            (first, _other_network(bindparam("b_actor_network", type_=Integer))),
            else_=Topic.first_reply_cross_network,
        )
    topic_update = (
        update(Topic).where(Topic.id == bindparam("b_topic", type_=Integer)).values(**values)
    )
    if tags_in_cte and not new_topic:
        topic_update = topic_update.add_cte(_tag_activity_statement().cte("tag_activity"))
    category_update = (
        update(Category)
        .where(Category.id == bindparam("b_category", type_=Integer))
        .values(
            post_count=Category.post_count + 1,
            topic_count=Category.topic_count + (1 if new_topic else 0),
            last_post_id=bindparam("b_post", type_=Integer),
        )
    )
    return topic_update, category_update


def edit_post(actor: Member, post: Post, topic: Topic, body: str, title: str | None = None) -> Post:
    """Change a post, keeping the previous version (and title) as a revision."""
    new_title = title.strip() if title is not None and post.number == 1 else None
    title_changed = new_title is not None and new_title != topic.title
    if body == post.body_source and not title_changed:
        return post
    db.session.add(
        PostRevision(
            post_id=post.id,
            editor_id=actor.id,
            created_at=utcnow(),
            title=topic.title if title_changed else None,
            body_source=post.body_source,
        )
    )
    post.body_source = body
    # The names link as the author would link them, whoever edits (the moderation's view
    # of the members is wider than a hors pair author's).
    author = actor if post.author_id == actor.id else _member(post.author_id)
    post.body_html = render_markdown(body, post_mentions(author, topic.category_id))
    if "@" in body and not post.is_pending:  # whom it mentions now: after commit
        outbox.enqueue("notify.edit", [post.id])
    post.edited_at = utcnow()
    post.edited_by_id = actor.id
    post.revision_count = post.revision_count + 1
    if title_changed:
        topic.title = new_title
        topic.slug = slugify(new_title)
        indexing.enqueue_topics([topic.id])
    else:
        indexing.enqueue_posts([post.id])
    db.session.flush()
    return post


def mark_read(member: Member, topic_id: int, number: int) -> None:
    """Record that the member has read the topic up to `number` (one upsert, never back).
    Only a place counts: a reply not published (numbered below 0) has none to read up to."""
    if number < 1:
        return
    statement = _read_mark_statement(db.session.get_bind().dialect.name)
    params = {"b_member": member.id, "b_topic": topic_id, "b_number": number, "b_now": utcnow()}
    db.session.execute(statement, params)


@functools.cache
def _read_mark_statement(dialect: str) -> Insert:
    """The read mark's upsert, built once per database kind: building it took 0.22 ms,
    each topic view that reads new posts and each post."""
    statement = upsert(TopicRead, dialect).values(
        member_id=bindparam("b_member", type_=Integer),
        topic_id=bindparam("b_topic", type_=Integer),
        last_read_number=bindparam("b_number", type_=Integer),
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
    return statement.on_conflict_do_update(
        index_elements=[TopicRead.member_id, TopicRead.topic_id],
        set_={
            "last_read_number": case(
                (
                    statement.excluded.last_read_number > TopicRead.last_read_number,
                    statement.excluded.last_read_number,
                ),
                else_=TopicRead.last_read_number,
            ),
            "updated_at": statement.excluded.updated_at,
        },
    )


def mark_all_read(member: Member) -> None:
    """« Marquer les forums comme lus »: everything up to now counts as read."""
    member.marked_read_at = utcnow()
    db.session.flush()


def category_by_slug(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def refresh_category_counters(category_ids: list[int] | None = None) -> None:
    """Recompute rubrique counters and « dernier message » from the rows (after moderation,
    moves or bulk loads): visible topics and posts only."""
    query = select(Category.id)
    if category_ids is not None:
        query = query.where(Category.id.in_(category_ids))
    for category_id in db.session.scalars(query).all():
        visible = (Topic.category_id == category_id) & Topic.is_hidden.is_(False)
        topic_count, post_count = db.session.execute(
            select(func.count(Topic.id), func.coalesce(func.sum(Topic.post_count), 0)).where(
                visible
            )
        ).one()
        last_post_id = db.session.scalar(
            select(Post.id)
            .join(Topic, Topic.id == Post.topic_id)
            .where(visible, Post.is_hidden.is_(False))
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(1)
        )
        db.session.execute(
            update(Category)
            .where(Category.id == category_id)
            .values(topic_count=topic_count, post_count=post_count, last_post_id=last_post_id)
        )
    refresh_tag_counts(category_ids)


def tag_count_rows() -> Select:
    """Each (mot-clé, rubrique) with its visible and hidden topics, computed from the rows:
    the definition `TagCategoryCount` keeps (the migration's backfill says the same)."""

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        select(
            topic_tags.c.tag_id,
            Topic.category_id,
            count(Topic.is_hidden.is_(False)),
            count(Topic.is_hidden.is_(True)),
        )
        .join(Topic, Topic.id == topic_tags.c.topic_id)
        .group_by(topic_tags.c.tag_id, Topic.category_id)
    )


def refresh_tag_counts(
    category_ids: list[int] | None = None, tag_ids: list[int] | None = None
) -> None:
    """Recount the topics of these mots-clés in these rubriques (None: all) from the rows,
    after a topic's tags, rubrique or visibility changed."""
    table = TagCategoryCount.__table__
    rows = tag_count_rows()
    remove = table.delete()
    if category_ids is not None:
        rows = rows.where(Topic.category_id.in_(category_ids))
        remove = remove.where(table.c.category_id.in_(category_ids))
    if tag_ids is not None:
        rows = rows.where(topic_tags.c.tag_id.in_(tag_ids))
        remove = remove.where(table.c.tag_id.in_(tag_ids))
    db.session.execute(remove)
    columns = ["tag_id", "category_id", "topic_count", "hidden_topic_count"]
    db.session.execute(table.insert().from_select(columns, rows))


def sync_tag_activity(topic_ids: list[int]) -> None:
    """Copy these topics' last_post_at to their mots-clés (the mot-clé page's order)."""
    db.session.execute(
        update(topic_tags)
        .where(topic_tags.c.topic_id.in_(topic_ids))
        .values(
            last_post_at=select(Topic.last_post_at)
            .where(Topic.id == topic_tags.c.topic_id)
            .scalar_subquery()
        )
    )


def _count_for_member(member_id: int, category_id: int, *, new_topic: bool, hidden: bool) -> None:
    """One more post (and topic) in the member's counts for this rubrique: one upsert."""
    dialect = db.session.get_bind().dialect.name
    statement = _member_count_statement(dialect, new_topic=new_topic, hidden=hidden)
    db.session.execute(statement, {"b_member": member_id, "b_category": category_id})


@functools.cache
def _member_count_statement(dialect: str, *, new_topic: bool, hidden: bool) -> Insert:
    """`_count_for_member`'s upsert, built once per database kind and case (each post)."""
    topics, posts = (
        ("hidden_topic_count", "hidden_post_count") if hidden else ("topic_count", "post_count")
    )
    values: dict[str, Any] = {
        "member_id": bindparam("b_member", type_=Integer),
        "category_id": bindparam("b_category", type_=Integer),
        "topic_count": 0,
        "post_count": 0,
        "hidden_topic_count": 0,
        "hidden_post_count": 0,
        topics: int(new_topic),
        posts: 1,
    }
    increments = {posts: getattr(MemberCategoryStats, posts) + 1}
    if new_topic:
        increments[topics] = getattr(MemberCategoryStats, topics) + 1
    return (
        upsert(MemberCategoryStats, dialect)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[MemberCategoryStats.member_id, MemberCategoryStats.category_id],
            set_=increments,
        )
    )


MEMBER_STATS_COLUMNS = [
    "member_id",
    "category_id",
    "topic_count",
    "post_count",
    "hidden_topic_count",
    "hidden_post_count",
]


def member_stats_rows() -> Select:
    """Each (author, rubrique) with its counts, computed from the posts: the definition
    that `MemberCategoryStats` keeps (the migration's backfill says the same in SQL)."""
    hidden = or_(Post.is_hidden, Topic.is_hidden)
    opening = Post.number == 1

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        select(
            Post.author_id,
            Topic.category_id,
            count(and_(opening, not_(hidden))),
            count(not_(hidden)),
            count(and_(opening, hidden)),
            count(hidden),
        )
        .join(Topic, Topic.id == Post.topic_id)
        .where(Post.author_id.is_not(None))
        .group_by(Post.author_id, Topic.category_id)
    )


def refresh_member_stats(member_ids: list[int] | None, category_ids: list[int] | None) -> None:
    """Recompute the counts of these members in these rubriques (None: all) from the posts,
    after moderation moved, hid, restored, split or merged topics."""
    table = MemberCategoryStats.__table__
    rows = member_stats_rows()
    delete = table.delete()
    if member_ids is not None:
        rows = rows.where(Post.author_id.in_(member_ids))
        delete = delete.where(table.c.member_id.in_(member_ids))
    if category_ids is not None:
        rows = rows.where(Topic.category_id.in_(category_ids))
        delete = delete.where(table.c.category_id.in_(category_ids))
    db.session.execute(delete)
    db.session.execute(table.insert().from_select(MEMBER_STATS_COLUMNS, rows))


def refresh_topic_stats(topic_ids: list[int]) -> None:
    """Recompute a topic's visible post count and « dernier message » from its rows."""
    for topic_id in topic_ids:
        visible = (Post.topic_id == topic_id) & Post.is_hidden.is_(False)
        count = db.session.scalar(select(func.count(Post.id)).where(visible)) or 0
        last = db.session.execute(
            select(Post.id, Post.number, Post.created_at, Post.author_id)
            .where(visible)
            .order_by(Post.number.desc())
            .limit(1)
        ).first()
        values: dict = {"post_count": count}
        if last is not None:
            values.update(
                last_post_id=last.id,
                last_post_number=last.number,
                last_post_at=last.created_at,
                last_poster_id=last.author_id,
            )
        else:
            values.update(last_post_id=None, last_post_number=0)
        db.session.execute(update(Topic).where(Topic.id == topic_id).values(**values))
    db.session.execute(first_reply_update(topic_ids))
    sync_tag_activity(topic_ids)


def first_reply_columns() -> dict[str, ColumnElement[Any]]:
    """The first reply's date, author and whether it came from another network, as
    subqueries correlated to `Topic`, by column name. The first reply is the earliest
    visible post (by date, then number) after the opening one, written by someone other than
    the topic's author, not dated before the topic (a post merged in from an older topic is
    no answer). It is cross-network when both members have a network (or organisation) and
    they differ; NULL when either is unknown (`members.services` recomputes it when an admin
    changes a member's network). The comité's responsiveness figures read these, kept on the
    topic."""
    reply = aliased(Post)
    first = (
        select(reply.created_at, reply.author_id)
        .where(
            reply.topic_id == Topic.id,
            reply.number > 1,
            reply.is_hidden.is_(False),
            reply.created_at >= Topic.created_at,
            or_(
                Topic.author_id.is_(None),
                reply.author_id.is_(None),
                reply.author_id != Topic.author_id,
            ),
        )
        .order_by(reply.created_at, reply.number)
        .limit(1)
        .correlate(Topic)  # also from inside the replier's network subquery
    )
    replier_id = first.with_only_columns(reply.author_id).scalar_subquery()
    replier = aliased(Member)
    replier_network = select(replier.network_id).where(replier.id == replier_id).scalar_subquery()
    return {
        "first_reply_at": first.with_only_columns(reply.created_at).scalar_subquery(),
        "first_reply_author_id": replier_id,
        "first_reply_cross_network": _other_network(replier_network),
    }


def _other_network(replier_network: ColumnElement[int | None]) -> ColumnElement[bool | None]:
    """Whether a reply from `replier_network` crosses from the topic's author's network."""
    asker = aliased(Member)
    asker_network = select(asker.network_id).where(asker.id == Topic.author_id).scalar_subquery()
    return case(
        (or_(asker_network.is_(None), replier_network.is_(None)), None),
        else_=asker_network != replier_network,
    )


def first_reply_update(topic_ids: list[int] | None = None) -> Update:
    """Recompute the first reply's columns (`first_reply_columns`) of these topics (None:
    every topic) in one UPDATE."""
    statement = update(Topic).values(**first_reply_columns())
    if topic_ids is not None:
        statement = statement.where(Topic.id.in_(topic_ids))
    return statement


# --- Solutions and mots-clés (issue 11) ---------------------------------------------

MAX_TAGS = 5


def set_tags(topic: Topic, slugs: list[str]) -> None:
    """Replace a topic's mots-clés (0 to 5 active ones, given by slug)."""
    slugs = list(dict.fromkeys(s for s in slugs if s))
    if len(slugs) > MAX_TAGS:
        raise ComcepError(f"Choisissez {MAX_TAGS} mots-clés au plus.", field="tags")
    tags = list(db.session.scalars(select(Tag).where(Tag.slug.in_(slugs), Tag.retired.is_(False))))
    db.session.flush()  # the rows copy the topic's date from the database
    if len(tags) != len(slugs):
        raise ComcepError("Mot-clé inconnu : choisissez dans la liste.", field="tags")
    before = db.session.scalars(
        topic_tags.delete().where(topic_tags.c.topic_id == topic.id).returning(topic_tags.c.tag_id)
    ).all()
    if tags:
        db.session.execute(_tag_rows([topic.id], [tag.id for tag in tags]))
    changed = sorted({*before, *(tag.id for tag in tags)})
    if changed:
        refresh_tag_counts([topic.category_id], changed)
    rollups.mark_topics_changed([topic.id])
    indexing.enqueue_topics([topic.id])


def mark_solution(actor: Member, topic: Topic, post: Post) -> None:
    """« Réponse retenue »: one reply per topic; marking another one replaces it."""
    if post.topic_id != topic.id or post.number == 1 or post.is_hidden:
        raise ComcepError("Choisissez une réponse visible de ce sujet.")
    topic.solution_post_id = post.id
    topic.solved_at = utcnow()
    rollups.mark_month_of(topic.created_at)
    db.session.flush()


def _member(member_id: int | None) -> Member | None:
    return db.session.get(Member, member_id) if member_id is not None else None


def conversation_mention_readers(conversation_ids: set[int]) -> dict[int, tuple]:
    """`policy.conversation_mention_readers` of each conversation, in one query."""
    participants: dict[int, list[Member]] = {}
    for conversation_id, member in db.session.execute(
        select(ConversationMember.conversation_id, Member)
        .join(Member, Member.id == ConversationMember.member_id)
        .where(ConversationMember.conversation_id.in_(conversation_ids))
    ):
        participants.setdefault(conversation_id, []).append(member)
    return {
        conversation_id: policy.conversation_mention_readers(members)
        for conversation_id, members in participants.items()
    }


def thank(member: Member, post: Post) -> bool:
    """Give the member's « Merci » for the post (once: a second one changes nothing);
    whether it was new. The caller has asked `policy.check_thank`."""
    # RETURNING tells whether a row went in (psycopg gives no rowcount for a conflict).
    table = PostThanks.__table__
    inserted = db.session.execute(
        upsert(table)
        .values(post_id=post.id, member_id=member.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[table.c.post_id, table.c.member_id])
        .returning(table.c.post_id)
    ).first()
    if inserted is not None:
        _count_thanks(post, 1)
    return inserted is not None


def withdraw_thanks(member: Member, post: Post) -> bool:
    """Take the member's « Merci » back (the author's notification stays, as in Discourse);
    whether there was one."""
    table = PostThanks.__table__
    deleted = db.session.execute(
        delete(table)
        .where(table.c.post_id == post.id, table.c.member_id == member.id)
        .returning(table.c.post_id)
    ).first()
    if deleted is not None:
        _count_thanks(post, -1)
    return deleted is not None


def _count_thanks(post: Post, step: int) -> None:
    """The post's count moves in SQL (two members thanking at once both count)."""
    post.thanks_count = db.session.scalar(
        update(Post)
        .where(Post.id == post.id)
        .values(thanks_count=Post.thanks_count + step)
        .returning(Post.thanks_count)
        .execution_options(synchronize_session=False)
    )


def withdraw_solution(topic: Topic) -> None:
    topic.solution_post_id = None
    topic.solved_at = None
    rollups.mark_month_of(topic.created_at)
    db.session.flush()


def _tag_rows(topic_ids: list[int], tag_ids: list[int]) -> Insert:
    """These topics tagged with these mots-clés, each row with its topic's last_post_at."""
    return topic_tags.insert().from_select(
        ["topic_id", "tag_id", "last_post_at"],
        select(Topic.id, Tag.id, Topic.last_post_at)
        .join(Tag, true())  # each topic with each mot-clé
        .where(Topic.id.in_(topic_ids), Tag.id.in_(tag_ids)),
    )


def create_tag(name: str) -> Tag:
    slug = slugify(name, 60)
    if db.session.scalar(select(Tag.id).where(Tag.slug == slug)) is not None:
        raise ComcepError("Ce mot-clé existe déjà.")
    tag = Tag(slug=slug, name=name.strip(), retired=False)
    db.session.add(tag)
    db.session.flush()
    return tag


def merge_tags(source: Tag, target: Tag) -> list[int]:
    """Move every topic of `source` to `target`, then retire `source` (nothing deleted)."""
    if source.id == target.id:
        raise ComcepError("Choisissez deux mots-clés différents.")
    topic_ids = list(
        db.session.scalars(select(topic_tags.c.topic_id).where(topic_tags.c.tag_id == source.id))
    )
    already = set(
        db.session.scalars(select(topic_tags.c.topic_id).where(topic_tags.c.tag_id == target.id))
    )
    db.session.execute(topic_tags.delete().where(topic_tags.c.tag_id == source.id))
    new_rows = [t for t in topic_ids if t not in already]
    if new_rows:
        db.session.execute(_tag_rows(new_rows, [target.id]))
    refresh_tag_counts(None, [source.id, target.id])
    source.retired = True
    rollups.mark_topics_changed(topic_ids)
    indexing.enqueue_topics(topic_ids)
    return topic_ids


def render_again(batch_size: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Render every post and private message again from its source, in batches of one
    transaction each, after the rendering rules changed (another site's images as links,
    mentions as links): the pages show what was stored at write time, so older posts keep
    the old rules until this runs. Only the rows whose HTML changes are written (and their
    posts indexed again). Returns how many changed."""
    changed = 0
    for model in (Post, PrivateMessage):
        last_id = 0
        while True:
            ids = db.session.scalars(
                select(model.id).where(model.id > last_id).order_by(model.id).limit(batch_size)
            ).all()
            if not ids:
                break
            last_id = ids[-1]
            changed += render_rows_again(model, model.id.in_(ids))
            db.session.commit()
            if progress is not None:
                progress(len(ids))
    return changed


def render_rows_again(model: type[Post] | type[PrivateMessage], where: ColumnElement[bool]) -> int:
    """Render again the posts or private messages matching `where`, each with its author's
    mention lookup; write those whose HTML changed, unless their text changed meanwhile (an
    edit saved while this ran keeps its own HTML). How many were written."""
    # Where each row is read: a post's rubrique, a message's conversation.
    place = Topic.category_id if model is Post else PrivateMessage.conversation_id
    statement = select(model.id, model.author_id, model.body_source, model.body_html, place)
    if model is Post:
        statement = statement.join(Topic, Topic.id == Post.topic_id)
    rows = db.session.execute(statement.where(where)).all()
    authors = {
        member.id: member
        for member in db.session.scalars(
            select(Member).where(Member.id.in_({row.author_id for row in rows} - {None}))
        )
    }
    places = {row[4] for row in rows}
    readers = (
        {category_id: policy.mention_readers(category_id) for category_id in places}
        if model is Post
        else conversation_mention_readers(places)
    )
    updates = []
    for row in rows:
        found = functools.partial(readers.get, row[4], ())
        html = render_markdown(row.body_source, mentions_by(authors.get(row.author_id), found))
        if html != row.body_html:
            updates.append({"b_id": row.id, "b_source": row.body_source, "b_html": html})
    if updates:
        table = model.__table__  # Core: one executemany UPDATE
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.body_source == bindparam("b_source"))
            .values(body_html=bindparam("b_html")),
            updates,
        )
        if model is Post:
            indexing.enqueue_posts([u["b_id"] for u in updates])
    return len(updates)
