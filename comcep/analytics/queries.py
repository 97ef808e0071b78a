"""Aggregate SQL for the comité's analyses: every figure is a GROUP BY, never a loop over posts.

Definitions (SPEC §8; also written on the page):

- a **message** is a visible post: the post is not hidden (moderated or awaiting
  pre-moderation) and its topic is not hidden; the opening post counts as a message;
- a **topic** counts when it is not hidden; it belongs to the period of its creation, a message
  to the period of its posting;
- the **thème** of a topic is the top-level category of its rubrique *at report time* (a topic
  moved since is counted where it is now); a topic sitting directly in a thème belongs to it;
- a **member** is an admitted account (registration approved; active, suspended, or left after
  being a member), counted from its admission (`decided_at`: a référent's decision or the
  acceptance of an invitation; `created_at` for accounts made by an admin) until it leaves
  (`left_at`);
- the **first reply** of a topic is its earliest visible post (by date, then number) with
  number > 1, written by someone other than the topic's author and not dated before the topic
  (a post merged in from an older topic is no answer); it may come after the period's end
  (delays are measured at report time). A topic without one is « sans réponse »;
- a first reply is **cross-network** when the replier's network (or organisation) differs from
  the asker's; topics where either network is unknown are left out of that share.

Periods are half-open UTC intervals [start, end) computed by `report.Period` from Europe/Paris
calendar dates; months are Europe/Paris months (see `month_of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Subquery

from comcep import policy
from comcep.extensions import UTCDateTime, db
from comcep.forum.models import Category, Post, Tag, Topic, topic_tags
from comcep.members.models import Member, Network

TIMEZONE = "Europe/Paris"
BEFORE = "0000-00"  # month bucket of what happened before the period (cumulative baselines)
FIRST_REPLY_TARGET_SECONDS = 48 * 3600


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def at(value: datetime) -> ColumnElement[datetime]:
    """A bound timestamp processed like the columns (naive UTC text on SQLite)."""
    return literal(value, UTCDateTime())


def month_of(column: ColumnElement[Any]) -> ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp, in Europe/Paris time.

    PostgreSQL converts with the time zone database. SQLite has none: a UTC instant belongs to
    the Paris month of the instant shifted by the offset in force at the *next* month start,
    which is +2 h for UTC months March to September (1 April … 1 October fall in summer time)
    and +1 h otherwise. Month starts never fall inside a DST change (EU rules, last Sundays of
    March and October), so the shift is exact for every date since 1996.
    """
    if _dialect() == "postgresql":
        return func.to_char(func.timezone(TIMEZONE, column), "YYYY-MM")
    utc_month = cast(func.strftime("%m", column), Integer)
    shift = case((utc_month.between(3, 9), "+2 hours"), else_="+1 hours")
    return func.strftime("%Y-%m", column, shift)


def seconds_between(later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement:
    """Whole seconds from `earlier` to `later`, as a float, on both databases."""
    if _dialect() == "postgresql":
        return cast(func.round(extract("epoch", later - earlier)), Float)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0), Float)


def visible_topic() -> ColumnElement[bool]:
    return Topic.is_hidden.is_(False)


def visible_post() -> ColumnElement[bool]:
    return and_(Post.is_hidden.is_(False), Topic.is_hidden.is_(False))


def between(column: ColumnElement[Any], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= at(start), column < at(end))


# --- Categories and content ------------------------------------------------------------


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    parent_id: int | None
    name: str
    position: int
    accepts_solutions: bool = False
    # Read by every hors pair (open to them, neither staff only nor kept for a group, its
    # thème likewise): the comité, hors pairs mostly, count its content themselves.
    open_to_all: bool = False


def category_tree() -> list[CategoryInfo]:
    """Every category (thèmes and rubriques) in display order; names only, no content; with
    whether every hors pair reads it (the policy's rule, for `policy.HORS_PAIR`)."""
    rows = db.session.execute(
        select(
            Category.id,
            Category.parent_id,
            Category.name,
            Category.position,
            Category.accepts_solutions,
        ).order_by(Category.position, Category.id)
    ).all()
    read_by_all = policy.visible_category_ids(policy.HORS_PAIR)
    return [
        CategoryInfo(*row[:4], accepts_solutions=bool(row[4]), open_to_all=row[0] in read_by_all)
        for row in rows
    ]


@dataclass(frozen=True)
class Tally:
    """A count and the number of distinct members behind it (for suppression)."""

    count: int = 0
    people: int = 0


@dataclass(frozen=True)
class ContentCounts:
    topics: dict[int, Tally]  # by category id: people are the topics' openers
    messages: dict[int, Tally]  # by category id
    theme_messages: dict[int, Tally]  # by thème id: people are the thème's distinct writers
    total_messages: Tally
    theme_topics: dict[int, Tally]  # by thème id: people are the thème's distinct openers
    total_topics: Tally  # people: the period's distinct openers


def content_counts(start: datetime, end: datetime) -> ContentCounts:
    """Topics and messages of the period by category, thème and overall, in one query.

    Distinct members cannot be added up across rubriques, so the topics (the posts) are first
    grouped by (rubrique, opener) (by (rubrique, writer)) in one pass (the `openers` and
    `writers` CTEs, at most rubriques × members rows), then summed by rubrique, by thème and
    overall.
    """
    openers = (
        select(
            Topic.category_id.label("category_id"),
            func.coalesce(Category.parent_id, Category.id).label("theme_id"),
            Topic.author_id.label("author_id"),
            func.count(Topic.id).label("n"),
        )
        .join(Category, Category.id == Topic.category_id)
        .where(visible_topic(), between(Topic.created_at, start, end))
        .group_by(Topic.category_id, Category.parent_id, Category.id, Topic.author_id)
        .cte("openers")
    )
    o = openers.c
    topics = select(
        literal("topics", String).label("level"),
        o.category_id.label("key"),
        func.sum(o.n).label("n"),
        func.count(o.author_id).label("people"),
    ).group_by(o.category_id)
    theme_topics = select(
        literal("theme_topics", String),
        o.theme_id,
        func.sum(o.n),
        func.count(o.author_id.distinct()),
    ).group_by(o.theme_id)
    total_topics = select(
        literal("total_topics", String),
        literal(0, Integer),
        func.coalesce(func.sum(o.n), 0),
        func.count(o.author_id.distinct()),
    )
    writers = (
        select(
            Topic.category_id.label("category_id"),
            func.coalesce(Category.parent_id, Category.id).label("theme_id"),
            Post.author_id.label("author_id"),
            func.count(Post.id).label("n"),
        )
        .select_from(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Category, Category.id == Topic.category_id)
        .where(visible_post(), between(Post.created_at, start, end))
        .group_by(Topic.category_id, Category.parent_id, Category.id, Post.author_id)
        .cte("writers")
    )
    w = writers.c
    messages = select(
        literal("messages", String), w.category_id, func.sum(w.n), func.count(w.author_id)
    ).group_by(w.category_id)
    themes = select(
        literal("themes", String), w.theme_id, func.sum(w.n), func.count(w.author_id.distinct())
    ).group_by(w.theme_id)
    total = select(
        literal("total", String),
        literal(0, Integer),
        func.coalesce(func.sum(w.n), 0),
        func.count(w.author_id.distinct()),
    )
    parts = (topics, messages, themes, total, theme_topics, total_topics)
    rows = db.session.execute(union_all(*parts)).all()
    result: dict[str, dict[int, Tally]] = defaultdict(dict)
    for level, key, n, people in rows:
        result[level][key] = Tally(int(n), int(people))
    return ContentCounts(
        topics=result["topics"],
        messages=result["messages"],
        theme_messages=result["themes"],
        total_messages=result["total"].get(0, Tally()),
        theme_topics=result["theme_topics"],
        total_topics=result["total_topics"].get(0, Tally()),
    )


# --- Members ---------------------------------------------------------------------------


ADMITTED_STATES = ("active", "suspended", "left")  # with registration_status « approved »


def admitted() -> ColumnElement[bool]:
    """A member who was admitted (still there, suspended or gone since)."""
    return and_(
        Member.registration_status == "approved",
        Member.state.in_(ADMITTED_STATES),
    )


def joined_at() -> ColumnElement[datetime]:
    """When a member was admitted: the decision (a référent's, or the acceptance of an
    invitation), or the account's creation (accounts made by an administrator)."""
    return func.coalesce(Member.decided_at, Member.created_at, type_=UTCDateTime())


def _member_at(end: datetime) -> ColumnElement[bool]:
    """Admitted before `end` and not gone before it."""
    return and_(
        admitted(),
        joined_at() < at(end),
        or_(Member.left_at.is_(None), Member.left_at >= at(end)),
    )


@dataclass(frozen=True)
class NetworkCount:
    id: int
    code: str
    name: str
    kind: str
    members: int
    active: bool = True  # a network closed since stays in the figures of its members

    @property
    def listed(self) -> bool:
        """Shown in the networks table: every active network, a closed one while it has
        members (the other tables list a closed network while it has figures)."""
        return self.active or self.members != 0


def members_by_network(end: datetime) -> list[NetworkCount]:
    """Every network and organisation with its members at `end` (zero rows included)."""
    counted = (
        select(Member.network_id, func.count(Member.id).label("members"))
        .where(_member_at(end))
        .group_by(Member.network_id)
        .subquery()
    )
    return [network_count(row) for row in db.session.execute(networks_with(counted))]


def networks_with(counted: Subquery) -> Select:
    """Every network, closed ones too, in their order, with the members `counted` gives them
    (columns network_id, members; zero when absent). A closed network is not listed while it
    has no figure (`NetworkCount.listed`), but it counts: a month-end or a period's activity
    may hold its members, and a table whose rows would not add up to the totals printed
    would give a figure away by difference."""
    return (
        select(
            Network.id,
            Network.code,
            Network.name,
            Network.kind,
            func.coalesce(counted.c.members, 0),
            Network.active,
        )
        .outerjoin(counted, counted.c.network_id == Network.id)
        .order_by(Network.position, Network.id)
    )


def network_count(row: Sequence[Any]) -> NetworkCount:
    id_, code, name, kind, members, active = row
    return NetworkCount(id_, code, name, kind, int(members), bool(active))


@dataclass(frozen=True)
class MemberMonth:
    statut: str
    month: str  # 'YYYY-MM', or BEFORE for the baseline
    joined: int
    left: int


def member_growth(start: datetime, end: datetime) -> list[MemberMonth]:
    """Admissions and departures by statut and Paris month, with a baseline before `start`."""

    def bucket(column: ColumnElement[datetime]) -> ColumnElement[str]:
        return case((column < at(start), BEFORE), else_=month_of(column))

    joined = joined_at()
    events = union_all(
        select(
            Member.statut.label("statut"),
            bucket(joined).label("month"),
            literal(1, Integer).label("joined"),
            literal(0, Integer).label("left"),
        ).where(admitted(), joined < at(end)),
        select(
            Member.statut, bucket(Member.left_at), literal(0, Integer), literal(1, Integer)
        ).where(admitted(), Member.left_at.is_not(None), Member.left_at < at(end)),
    ).subquery()
    rows = db.session.execute(
        select(
            events.c.statut,
            events.c.month,
            func.sum(events.c.joined),
            func.sum(events.c.left),
        ).group_by(events.c.statut, events.c.month)
    ).all()
    return [MemberMonth(statut, month, int(j), int(lft)) for statut, month, j, lft in rows]


def messages_by_month(start: datetime, end: datetime) -> dict[str, Tally]:
    """Visible messages posted in each Paris month of the period, with their distinct authors."""
    month = month_of(Post.created_at)
    rows = db.session.execute(
        select(month, func.count(Post.id), func.count(Post.author_id.distinct()))
        .join(Topic, Topic.id == Post.topic_id)
        .where(visible_post(), between(Post.created_at, start, end))
        .group_by(month)
    ).all()
    return {m: Tally(n, people) for m, n, people in rows}


# --- Responsiveness --------------------------------------------------------------------


@dataclass(frozen=True)
class Responsiveness:
    topics: int
    askers: int
    answered: int
    repliers: int
    within_48h: int
    cross_network: int
    cross_network_base: int
    median_seconds: float | None
    parts: dict[str, Part] = field(default_factory=dict)  # `PARTS`, for « < 5 »


@dataclass(frozen=True)
class Part:
    """Topics of one part (`PARTS`), their distinct askers and first repliers."""

    topics: int = 0
    askers: int = 0
    repliers: int = 0


def reply_class(delay: ColumnElement[Any]) -> ColumnElement[int]:
    """A topic's class, 0 to 8: how its first reply came (0 none, 1 later than
    FIRST_REPLY_TARGET_SECONDS, 2 within) + 3 × whose network it came from (0 unknown, 1 the
    asker's, 2 another)."""
    came = case(
        (Topic.first_reply_at.is_(None), 0),
        (delay <= FIRST_REPLY_TARGET_SECONDS, 2),
        else_=1,
    )
    network = case(
        (Topic.first_reply_cross_network.is_(True), 2),
        (Topic.first_reply_cross_network.is_(False), 1),
        else_=0,
    )
    return came + 3 * network


# Each responsiveness share divides the topics of the period in two, and with the number of
# topics printed, each part's count can be worked out (share × topics): each part must itself
# describe 0 or at least 5 askers (and first repliers, for answered topics). The parts, by the
# classes of `reply_class` they hold:
_PART_TESTS = {
    "unanswered": lambda came, _network: came == 0,
    "answered": lambda came, _network: came > 0,
    "within": lambda came, _network: came == 2,
    "late": lambda came, _network: came < 2,  # not answered within the target, or not at all
    "late_answered": lambda came, _network: came == 1,
    "cross": lambda _came, network: network == 2,
    "same": lambda _came, network: network == 1,
}
PARTS: dict[str, frozenset[int]] = {
    name: frozenset(c for c in range(9) if test(c % 3, c // 3))
    for name, test in _PART_TESTS.items()
}


def response_parts(start: datetime, end: datetime) -> dict[str, Part]:
    """The members behind each part of the topics opened in the period (`PARTS`), from two
    small GROUP BYs over the topics: by (class, asker) and by (class, first replier)."""
    per_topic = (
        select(
            reply_class(seconds_between(Topic.first_reply_at, Topic.created_at)).label("kind"),
            Topic.author_id.label("asker_id"),
            Topic.first_reply_author_id.label("replier_id"),
        )
        .where(visible_topic(), between(Topic.created_at, start, end))
        .subquery("classed_topics")
    )
    t = per_topic.c
    rows = db.session.execute(
        union_all(
            select(literal(0, Integer), t.kind, t.asker_id, func.count()).group_by(
                t.kind, t.asker_id
            ),
            select(literal(1, Integer), t.kind, t.replier_id, func.count())
            .where(t.replier_id.is_not(None))
            .group_by(t.kind, t.replier_id),
        )
    )
    topics: dict[int, int] = defaultdict(int)
    members: dict[tuple[int, int], set[int]] = defaultdict(set)
    for side, kind, member, n in rows:
        if side == 0:
            topics[kind] += n
        if member is not None:
            members[(side, kind)].add(member)
    return {
        name: Part(
            sum(topics[k] for k in classes),
            len(set().union(*(members[(0, k)] for k in classes))),
            len(set().union(*(members[(1, k)] for k in classes))),
        )
        for name, classes in PARTS.items()
    }


def _responsiveness_select(start: datetime, end: datetime) -> Select:
    """First-reply figures for the topics opened in the period: one row over the topics.

    The first reply is kept on each topic (`Topic.first_reply_*`, by the definition of
    `forum.services.first_reply_columns`), so this reads one row per topic, not the posts.
    The median is PostgreSQL's percentile_cont; SQLite has no median, so there it is the
    middle row(s) of the per-topic delays taken with ORDER BY … LIMIT/OFFSET, still in SQL.
    """
    per_topic = (
        select(
            Topic.id.label("topic_id"),
            Topic.author_id.label("asker_id"),
            Topic.first_reply_author_id.label("replier_id"),
            Topic.first_reply_cross_network.label("cross"),
            seconds_between(Topic.first_reply_at, Topic.created_at).label("delay"),
            Topic.first_reply_at.label("replied_at"),
        )
        .where(visible_topic(), between(Topic.created_at, start, end))
        .cte("replied_topics")
    )
    t = per_topic.c
    return select(
        func.count(t.topic_id),
        func.count(t.asker_id.distinct()),
        func.count(t.replied_at),
        func.count(t.replier_id.distinct()),
        func.coalesce(func.sum(case((t.delay <= FIRST_REPLY_TARGET_SECONDS, 1), else_=0)), 0),
        func.coalesce(func.sum(case((t.cross.is_(True), 1), else_=0)), 0),
        func.count(t.cross),
        _median(per_topic),
    ).select_from(per_topic)


def _responsiveness_of(row: Sequence[Any]) -> Responsiveness:
    median = float(row[7]) if row[7] is not None else None
    return Responsiveness(*(int(v) for v in row[:7]), median_seconds=median)


def responsiveness(start: datetime, end: datetime) -> Responsiveness:
    """First-reply figures for the topics opened in the period (`_responsiveness_select`)."""
    figures = _responsiveness_of(db.session.execute(_responsiveness_select(start, end)).one())
    return replace(figures, parts=response_parts(start, end))


def _median(per_topic: Any) -> ColumnElement[Any]:
    delay = per_topic.c.delay
    if _dialect() == "postgresql":
        return func.percentile_cont(0.5).within_group(delay)
    count = select(func.count(delay)).select_from(per_topic).scalar_subquery()
    middle = (
        select(delay.label("delay"))
        .where(delay.is_not(None))
        .order_by(delay)
        .limit(2 - count % 2)
        .offset((count - 1) // 2)
        .subquery("middle")
    )
    return select(func.avg(middle.c.delay)).scalar_subquery()


# --- Activity by network ---------------------------------------------------------------


@dataclass(frozen=True)
class NetworkActivity:
    topics: Tally
    replies: Tally


def activity_by_network(start: datetime, end: datetime) -> dict[int | None, NetworkActivity]:
    """Topics opened and replies given in the period by the members of each network."""
    opened = select(
        Topic.author_id.label("author_id"), literal(1, Integer).label("is_topic")
    ).where(visible_topic(), between(Topic.created_at, start, end))
    replied = (
        select(Post.author_id, literal(0, Integer))
        .join(Topic, Topic.id == Post.topic_id)
        .where(visible_post(), Post.number > 1, between(Post.created_at, start, end))
    )
    items = union_all(opened, replied).subquery()
    is_topic = items.c.is_topic == 1
    rows = db.session.execute(
        select(
            Member.network_id,
            func.coalesce(func.sum(items.c.is_topic), 0),
            func.count(case((is_topic, items.c.author_id)).distinct()),
            func.coalesce(func.sum(1 - items.c.is_topic), 0),
            func.count(case((~is_topic, items.c.author_id)).distinct()),
        )
        .select_from(items)
        .outerjoin(Member, Member.id == items.c.author_id)  # a gone author: no network
        .group_by(Member.network_id)
    ).all()
    return {
        network_id: NetworkActivity(Tally(int(t), tp), Tally(int(r), rp))
        for network_id, t, tp, r, rp in rows
    }


def first_activity() -> datetime | None:
    """When the community started: the earliest admission or message (one query)."""
    first_member = select(func.min(joined_at())).where(admitted()).scalar_subquery()
    first_post = select(func.min(Post.created_at)).scalar_subquery()
    row = db.session.execute(select(first_member, first_post)).one()
    values = [_as_datetime(v) for v in row if v is not None]
    return min(values) if values else None


def first_content() -> datetime | None:
    """The earliest post or topic, hidden ones included (one query, two index lookups)."""
    first_post = select(func.min(Post.created_at)).scalar_subquery()
    first_topic = select(func.min(Topic.created_at)).scalar_subquery()
    row = db.session.execute(select(first_post, first_topic)).one()
    values = [_as_datetime(v) for v in row if v is not None]
    return min(values) if values else None


def last_content() -> datetime | None:
    """The latest post or topic, hidden ones included (one query, two index lookups)."""
    last_post = select(func.max(Post.created_at)).scalar_subquery()
    last_topic = select(func.max(Topic.created_at)).scalar_subquery()
    row = db.session.execute(select(last_post, last_topic)).one()
    values = [_as_datetime(v) for v in row if v is not None]
    return max(values) if values else None


def _as_datetime(value: datetime | str) -> datetime:
    """min() over SQLite text may come back untyped; parse it as the stored UTC text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- Solutions (issue 11) --------------------------------------------------------------


@dataclass(frozen=True)
class Solutions:
    topics: int
    askers: int
    solved: int
    solvers: int
    median_seconds: float | None
    solved_askers: int = 0  # distinct askers of the solved topics
    unsolved_askers: int = 0  # and of the others: each is a part of the share solved


def _solutions_select(start: datetime, end: datetime) -> Select:
    """Solved share and median time to the solution, for the topics opened in the period in
    rubriques that accept solutions: one row.

    A topic is solved when its `solution_post_id` points to a visible post of the topic not
    dated before it (a post merged in from an older topic is no solution, as for first
    replies); the delay runs from the topic's opening to that post, even past the period's end.
    The median is taken as for the first replies (`_median`).
    """
    answer = aliased(Post)
    counted = and_(
        answer.topic_id == Topic.id,
        answer.is_hidden.is_(False),
        answer.created_at >= Topic.created_at,
    )
    per_topic = (
        select(
            Topic.id.label("topic_id"),
            Topic.author_id.label("asker_id"),
            answer.id.label("solution_id"),
            answer.author_id.label("solver_id"),
            seconds_between(answer.created_at, Topic.created_at).label("delay"),
        )
        .select_from(Topic)
        .join(Category, Category.id == Topic.category_id)
        .outerjoin(answer, and_(answer.id == Topic.solution_post_id, counted))
        .where(
            visible_topic(),
            Category.accepts_solutions.is_(True),
            between(Topic.created_at, start, end),
        )
        .cte("solved_topics")
    )
    t = per_topic.c
    return select(
        func.count(t.topic_id),
        func.count(t.asker_id.distinct()),
        func.count(t.solution_id),
        func.count(t.solver_id.distinct()),
        _median(per_topic),
        func.count(case((t.solution_id.is_not(None), t.asker_id)).distinct()),
        func.count(case((t.solution_id.is_(None), t.asker_id)).distinct()),
    ).select_from(per_topic)


def _solutions_of(row: Sequence[Any]) -> Solutions:
    median = float(row[4]) if row[4] is not None else None
    return Solutions(
        *(int(v) for v in row[:4]),
        median_seconds=median,
        solved_askers=int(row[5]),
        unsolved_askers=int(row[6]),
    )


def solutions(start: datetime, end: datetime) -> Solutions:
    """Solution figures for the topics opened in the period (`_solutions_select`)."""
    return _solutions_of(db.session.execute(_solutions_select(start, end)).one())


def topic_figures(start: datetime, end: datetime) -> tuple[Responsiveness, Solutions]:
    """`responsiveness` and `solutions` in one statement (two one-row aggregates side by
    side), for the whole report."""
    replied = _responsiveness_select(start, end).subquery("replied")
    solved = _solutions_select(start, end).subquery("solved")
    row = db.session.execute(select(replied, solved).join_from(replied, solved, true())).one()
    figures = replace(_responsiveness_of(row[:8]), parts=response_parts(start, end))
    return figures, _solutions_of(row[8:])


# --- Mots-clés (issue 11) --------------------------------------------------------------


@dataclass(frozen=True)
class TagCount:
    slug: str
    name: str
    retired: bool
    topics: int
    messages: int
    people: int  # distinct authors of the topics and messages counted
    openers: int = 0  # distinct authors of the topics counted


def tag_counts(start: datetime, end: datetime) -> list[TagCount]:
    """Topics opened and visible messages posted in the period in the topics carrying each
    mot-clé, with the distinct authors behind them, in one GROUP BY.

    Every active mot-clé is listed (zero rows included); a retired one only when topics of
    the period still carry it (retiring keeps the topics' links, `merge_tags` moves them).
    """
    opened = (
        select(
            topic_tags.c.tag_id.label("tag_id"),
            Topic.author_id.label("author_id"),
            literal(1, Integer).label("is_topic"),
        )
        .join(Topic, Topic.id == topic_tags.c.topic_id)
        .where(visible_topic(), between(Topic.created_at, start, end))
    )
    posted = (
        select(topic_tags.c.tag_id, Post.author_id, literal(0, Integer))
        .select_from(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .join(topic_tags, topic_tags.c.topic_id == Post.topic_id)
        .where(visible_post(), between(Post.created_at, start, end))
    )
    items = union_all(opened, posted).subquery("items")
    rows = db.session.execute(
        select(
            Tag.slug,
            Tag.name,
            Tag.retired,
            func.coalesce(func.sum(items.c.is_topic), 0),
            func.coalesce(func.sum(1 - items.c.is_topic), 0),
            func.count(items.c.author_id.distinct()),
            func.count(case((items.c.is_topic == 1, items.c.author_id)).distinct()),
        )
        .select_from(Tag)
        .outerjoin(items, items.c.tag_id == Tag.id)
        .group_by(Tag.id, Tag.slug, Tag.name, Tag.retired)
        .having(or_(Tag.retired.is_(False), func.count(items.c.tag_id) > 0))
        .order_by(Tag.retired, Tag.name, Tag.id)
    ).all()
    return [
        TagCount(slug, name, bool(retired), int(t), int(m), int(p), int(o))
        for slug, name, retired, t, m, p, o in rows
    ]
