"""The comité's content figures, from monthly tallies kept in the database.

Counting a period's posts again on every visit cost seconds on a million posts (every figure
is a GROUP BY over the period's posts). A Paris month that ended more than a day ago is
therefore tallied once into `MonthCell` rows, and a report adds up those cells. In the month
not yet settled, each day that ended more than a day ago is tallied the same way (under
'YYYY-MM-DD', `with_days`, with a generation of its own), and dropped once the month is kept
whole. Only the days not yet settled,
the partial months at the period's edges and the months whose figures changed since they
were tallied are counted from the posts, in one query, by the same definitions as
`queries` (visible posts and topics, the rubrique at report time, the author's network).
A period that begins before the first post reads its first month whole
(`_from_month_start`).

The first replies and retained answers are tallied by the month their topic was opened in,
with the delays behind their medians (`MonthCell.delays`), so that a median over any run of
months is exact; which rubriques take solutions is applied when reading, as it is now.

A change that can alter a settled month (hiding, restoring, moving, splitting, merging a
topic, its mots-clés) calls `mark_topics_changed` in its own transaction: the months of the
topics' posts get a new `generation` (and every day of such a month not yet settled), and
their cells count again only once recomputed. A
first reply or a retained answer given later changes the month of the topic's opening
(`mark_month_of`), and a member's new network the months of the topics they first replied to.
Cells computed by a report are stored by it (`store`, committed by the caller); `comcep
analytics refresh` tallies every settled month ahead, and `comcep analytics check` compares
the kept figures with the direct queries.

A whole year of settled months is also summed into year cells (`MonthCell.month` 'YYYY',
`store_years`), read in place of its months' while the year and its twelve months are
current: every change to a month gives its year a new generation too (`_bump`). A report
since launch then adds up about a tenth of the cells.

« < 5 » needs the number of distinct members behind any union of cells (a thème, a period):
each cell keeps that number capped at 5 and, while it is under 5, the members' ids, so that
a union is exact (`People`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from comcep.analytics.anonymise import THRESHOLD
from comcep.analytics.models import AnalyticsMonth, MonthCell
from comcep.analytics.queries import (
    FIRST_REPLY_TARGET_SECONDS,
    PARTS,
    TIMEZONE,
    ContentCounts,
    NetworkActivity,
    Part,
    Responsiveness,
    Solutions,
    TagCount,
    Tally,
    activity_by_network,
    category_tree,
    content_counts,
    first_activity,
    first_content,
    last_content,
    messages_by_month,
    month_of,
    reply_class,
    seconds_between,
    tag_counts,
    topic_figures,
    visible_post,
    visible_topic,
)
from comcep.dialects import upsert
from comcep.extensions import UTCDateTime, db, utcnow
from comcep.forum.models import Post, Tag, Topic, topic_tags
from comcep.members.models import Member

PARIS = ZoneInfo(TIMEZONE)
# A day or a month is kept from the posts once this long has passed since its end. A reply
# dated in a day not yet settled gives it no new generation (`mark_month_of`), so no write
# transaction may stamp a post before the end of a day and commit this long after it: a
# request's is cut by gunicorn's 30 s timeout and SQLite's 30 s busy timeout. An hour rather
# than a day: a report counts from the posts today's and, before 01:00, yesterday's, not
# yesterday's all day long (at a million posts, 1.5 ms of the 20 ms of a report since launch).
SETTLED_AFTER = timedelta(hours=1)
# A cell present in every tallied month, even an empty one, holding the month's messages in
# every rubrique: the figures by month read one cell a month.
MONTH_MARK = "month"
TOPIC_NETWORK = "topic_net"  # topics by network; « topic » cells are by rubrique
STORED = "comcep_analytics_stored"  # in Session.info: a report stored tallies to commit


# --- Members behind a figure ----------------------------------------------------------


@dataclass
class People:
    """Distinct members behind a figure: their ids while fewer than THRESHOLD, else None."""

    ids: frozenset[int] | None = frozenset()

    def add(self, other: People) -> None:
        if self.ids is None or other.ids is None:
            self.ids = None
            return
        united = self.ids | other.ids
        self.ids = None if len(united) >= THRESHOLD else united

    @property
    def count(self) -> int:
        """Exact under THRESHOLD, THRESHOLD otherwise (all that « < 5 » needs)."""
        return THRESHOLD if self.ids is None else len(self.ids)

    @classmethod
    def of(cls, ids: Iterable[int]) -> People:
        found = frozenset(ids)
        return cls(None if len(found) >= THRESHOLD else found)


# Kept delays (`MonthCell.delays`): whole seconds as 32-bit big-endian integers in hex, 8
# digits each (±68 years), in increasing order. Decoding them is a single C loop
# (`bytes.fromhex`): read as decimal lists, the delays of ten years of a million posts cost a
# report since launch 19 M instructions, a sixth of what it costs more than at 10 000 posts.
# In order, they are quicker to take a median of: `np.median` partitions the cells' delays
# put end to end, and on runs in order its pivots split them evenly (at a million posts, the
# 92 000 delays of the 20 cells a report since launch reads, 9 years and 11 months: 0.4-0.6
# ms, against 2.3 ms in the order of the topics).
DELAY_TYPE = np.dtype(">i4")
_DELAY_RANGE = np.iinfo(DELAY_TYPE)


def kept_delays(text: str) -> np.ndarray:
    """The delays of a kept cell."""
    return np.frombuffer(bytes.fromhex(text), dtype=DELAY_TYPE)


def keep_delays(delays: Sequence[np.ndarray]) -> str | None:
    """The delays as a kept cell holds them, in increasing order (None when there are none)."""
    if not delays:
        return None
    values = np.concatenate(delays)
    if not values.size:
        return None
    values = np.clip(values, _DELAY_RANGE.min, _DELAY_RANGE.max).astype(DELAY_TYPE)
    return np.sort(values).tobytes().hex()


@dataclass
class Figure:
    items: int = 0
    extra: int = 0
    people: People = field(default_factory=People)
    delays: list[np.ndarray] = field(default_factory=list)  # arrays of whole seconds

    def add(self, other: Figure) -> None:
        self.items += other.items
        self.extra += other.extra
        self.people.add(other.people)
        self.delays.extend(other.delays)

    @property
    def median(self) -> float | None:
        """The median of the delays: the middle one, or the mean of the two middle ones (as
        `queries._median`)."""
        if not self.delays:
            return None
        values = np.concatenate(self.delays)
        return float(np.median(values)) if values.size else None

    @property
    def tally(self) -> Tally:
        return Tally(self.items, self.people.count)


def _total(figures: Iterable[Figure]) -> Figure:
    total = Figure()
    for figure in figures:
        total.add(figure)
    return total


Key = tuple[str, int, int | None]  # (kind, rubrique or mot-clé id, network id)
MonthFigures = dict[Key, Figure]


# --- Months ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A stretch of the period within one Paris month: `whole` when it is the entire month."""

    month: str
    start: datetime
    end: datetime
    whole: bool


def month_start(year: int, month: int) -> datetime:
    """The UTC instant a Paris month begins."""
    return datetime.combine(date(year, month, 1), time(0), tzinfo=PARIS).astimezone(UTC)


def spans(start: datetime, end: datetime) -> list[Span]:
    """The period [start, end) cut at Paris month starts."""
    local = start.astimezone(PARIS)
    year, month = local.year, local.month
    found = []
    while True:
        begins = month_start(year, month)
        if begins >= end:
            return found
        year_after, month_after = (year + 1, 1) if month == 12 else (year, month + 1)
        month_end = month_start(year_after, month_after)
        lo, hi = max(begins, start), min(month_end, end)
        if lo < hi:
            whole = lo == begins and hi == month_end
            found.append(Span(f"{year:04d}-{month:02d}", lo, hi, whole))
        year, month = year_after, month_after


def _settled(span: Span, now: datetime) -> bool:
    return span.whole and span.end + SETTLED_AFTER <= now


def _day_start(day: date) -> datetime:
    """The UTC instant a Paris day begins (midnight is never skipped nor repeated there)."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def _month_settled(key: str, now: datetime) -> bool:
    """Whether the whole month of this month's or day's key is settled (kept whole, not by
    days)."""
    year, month = int(key[:4]), int(key[5:7])
    after = month_start(year + 1, 1) if month == 12 else month_start(year, month + 1)
    return after + SETTLED_AFTER <= now


def with_days(stretch: Span, now: datetime) -> list[Span]:
    """A stretch of a month not yet settled, cut into its settled whole Paris days (kept
    like months, under 'YYYY-MM-DD') and the rest (counted from the posts, under the
    month). Without them, every report counted the current month's posts so far: at a
    million posts, 7 ms on the 4th of the month and five times as much on the 28th; with
    them, today's posts (and yesterday's, until 01:00), whatever the day."""
    found: list[Span] = []
    day = stretch.start.astimezone(PARIS).date()
    while (begins := _day_start(day)) < stretch.end:
        ends = _day_start(day + timedelta(days=1))
        lo, hi = max(begins, stretch.start), min(ends, stretch.end)
        piece = Span(day.isoformat(), lo, hi, lo == begins and hi == ends)
        if not _settled(piece, now):
            last = found[-1] if found else None
            if last is not None and not last.whole and last.end == lo:
                found[-1] = replace(last, end=hi)
            else:
                found.append(Span(stretch.month, lo, hi, False))
        else:
            found.append(piece)
        day += timedelta(days=1)
    return found


def _stretches(start: datetime, end: datetime, now: datetime) -> list[Span]:
    """The period cut at Paris month starts, and a month not yet settled at its days."""
    found: list[Span] = []
    for stretch in spans(start, end):
        whole_month = _settled(stretch, now) or _month_settled(stretch.month, now)
        found.extend([stretch] if whole_month else with_days(stretch, now))
    return found


def _month_key(key: str) -> str:
    """The month of a month's or a day's key."""
    return key[:7]


def _days_of(month: str) -> list[str]:
    """The keys of every day of a month ('YYYY-MM')."""
    year, number = int(month[:4]), int(month[5:7])
    first = date(year, number, 1)
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return [(first + timedelta(days=n)).isoformat() for n in range((following - first).days)]


# --- Counting from the posts ------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The shape of the stretches a statement counts: how many, and how many ranges of dates
    they join into. The statement is built once per shape and database (`_statement`), and
    the stretches' months and dates are its parameters (`_layout`)."""

    stretches: int
    ranges: int


def _layout(stretches: Sequence[Span]) -> tuple[Layout, dict[str, Any]]:
    """The stretches' shape and the values of its parameters: each stretch's month and end
    (`_month_in`), and the ranges of dates they cover, adjacent ones joined (`_within`)."""
    ordered = sorted(stretches, key=lambda s: s.start)
    ranges: list[list[datetime]] = []
    for s in ordered:
        if ranges and ranges[-1][1] == s.start:
            ranges[-1][1] = s.end
        else:
            ranges.append([s.start, s.end])
    values: dict[str, Any] = {}
    for n, s in enumerate(ordered):
        values[f"month_{n}"], values[f"end_{n}"] = s.month, s.end
    for n, (lo, hi) in enumerate(ranges):
        values[f"from_{n}"], values[f"to_{n}"] = lo, hi
    return Layout(len(ordered), len(ranges)), values


def _instant(name: str) -> Any:
    """A bound timestamp processed like the columns (naive UTC text on SQLite)."""
    return bindparam(name, type_=UTCDateTime())


def _within(column: Any, layout: Layout) -> Any:
    """In any of the stretches' ranges of dates, so that a run of months is one range of
    the date index."""
    return or_(
        *(
            and_(column >= _instant(f"from_{n}"), column < _instant(f"to_{n}"))
            for n in range(layout.ranges)
        )
    )


def _month_in(column: Any, layout: Layout) -> Any:
    """The month of a date known to lie in one of the stretches (each within one Paris
    month): its stretch's, found by comparing the date with their ends, which costs a
    fraction of converting every row's date to Paris time (`month_of`)."""
    last = bindparam(f"month_{layout.stretches - 1}", type_=String)
    if layout.stretches == 1:
        return last
    return case(
        *(
            (column < _instant(f"end_{n}"), bindparam(f"month_{n}", type_=String))
            for n in range(layout.stretches - 1)
        ),
        else_=last,
    )


def _cells(
    kind: str, by_author: Any, items: Any, extra: Any, keep: Any = None, delays: bool = False
) -> Select:
    """Cells from rows grouped by (month, key, network, author): the items summed, the
    distinct authors counted, and listed while fewer than THRESHOLD; with `delays`, the
    rows' lists of delays (column `d`) joined."""
    r = by_author.c
    people = func.count(r.author_id)
    cells = select(
        literal("live", String).label("source"),
        literal(kind, String).label("kind"),
        r.month,
        r.key_id,
        r.network_id,
        func.sum(items(r)).label("items"),
        func.sum(extra(r)).label("extra"),
        people.label("people"),
        case((people < THRESHOLD, _concat(cast(r.author_id, String))), else_="").label("sample"),
        (_concat(r.d) if delays else literal(None, String)).label("delays"),
    ).group_by(r.month, r.key_id, r.network_id)
    return cells.where(keep(r)) if keep is not None else cells


def _count_parts(stretches: Layout) -> list[Select]:
    """The statements counting the cells of stretches of months of this shape from the posts (their
    UNION ALL gives rows of « live », kind, month, key, network, items, extra, people,
    sample).

    Every stretch lies within one Paris month, so a row's month is that of the stretch its
    date falls in (`_month_in`).
    The posts are grouped by (month, rubrique, network, author) first, then by cell, in SQL:
    only cells (a few hundred per month) and the ids of the members behind small ones come
    back, never names. Each kind keeps only the key its figures are read by: messages and
    topics by rubrique, replies and topics (« topic_net ») by network. Kept by both, they made
    50 000 cells over ten years at a million posts instead of 8 000, and a report since
    launch adds up every one of them.
    """
    post_month = _month_in(Post.created_at, stretches)
    posts = (
        select(
            post_month.label("month"),
            Topic.category_id.label("key_id"),
            Member.network_id.label("network_id"),
            Post.author_id.label("author_id"),
            func.count(Post.id).label("a"),
            func.sum(case((Post.number > 1, 1), else_=0)).label("b"),
        )
        .select_from(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .outerjoin(Member, Member.id == Post.author_id)
        .where(visible_post(), _within(Post.created_at, stretches))
        .group_by(post_month, Topic.category_id, Member.network_id, Post.author_id)
        .cte("posts_by_author")
    )
    topic_month = _month_in(Topic.created_at, stretches)
    topics = (
        select(
            topic_month.label("month"),
            Topic.category_id.label("key_id"),
            Member.network_id.label("network_id"),
            Topic.author_id.label("author_id"),
            func.count(Topic.id).label("a"),
        )
        .outerjoin(Member, Member.id == Topic.author_id)
        .where(visible_topic(), _within(Topic.created_at, stretches))
        .group_by(topic_month, Topic.category_id, Member.network_id, Topic.author_id)
        .cte("topics_by_author")
    )
    opened = (
        select(
            topic_tags.c.tag_id.label("tag_id"),
            Topic.author_id.label("author_id"),
            literal(1, Integer).label("is_topic"),
            Topic.created_at.label("at"),
        )
        .join(Topic, Topic.id == topic_tags.c.topic_id)
        .where(visible_topic(), _within(Topic.created_at, stretches))
    )
    posted = (
        select(topic_tags.c.tag_id, Post.author_id, literal(0, Integer), Post.created_at)
        .select_from(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .join(topic_tags, topic_tags.c.topic_id == Post.topic_id)
        .where(visible_post(), _within(Post.created_at, stretches))
    )
    items = union_all(opened, posted).subquery("tagged")
    tag_month = _month_in(items.c.at, stretches)
    tags = (
        select(
            tag_month.label("month"),
            items.c.tag_id.label("key_id"),
            literal(None, Integer).label("network_id"),
            items.c.author_id.label("author_id"),
            func.sum(items.c.is_topic).label("a"),
            func.sum(1 - items.c.is_topic).label("b"),
        )
        .group_by(tag_month, items.c.tag_id, items.c.author_id)
        .subquery("tags_by_author")
    )
    answered, solved, asked, solvable = _topic_figure_rows(stretches)
    return [
        _cells("message", _by_rubrique(posts), lambda r: r.a, lambda _r: literal(0, Integer)),
        _cells(
            "reply",
            _by_network(posts),
            lambda r: r.b,
            lambda _r: literal(0, Integer),
            lambda r: r.b > 0,
        ),
        _cells("topic", _by_rubrique(topics), lambda r: r.a, lambda _r: literal(0, Integer)),
        _cells(TOPIC_NETWORK, _by_network(topics), lambda r: r.a, lambda _r: literal(0, Integer)),
        _cells("tag", tags, lambda r: r.a, lambda r: r.b),
        _cells("answered", answered, lambda r: r.a, lambda r: r.b, delays=True),
        _cells("crossed", answered, lambda r: r.c, lambda r: r.e),
        _cells("solved", solved, lambda r: r.a, lambda _r: literal(0, Integer), delays=True),
        _cells("asked", asked, lambda r: r.a, lambda _r: literal(0, Integer)),
        _cells("sol_ask", solvable, lambda r: r.a, lambda _r: literal(0, Integer)),
        _cells("tag_open", tags, lambda r: r.a, lambda _r: literal(0, Integer), lambda r: r.a > 0),
    ]


def _by_rubrique(by_author: Any) -> Any:
    """Rows by (month, rubrique, author), network left out. A member has one network, so each
    of them still stands once per month and rubrique."""
    r = by_author.c
    network = literal(None, Integer).label("network_id")
    return select(r.month, r.key_id, network, r.author_id, *_counted(r)).subquery()


def _by_network(by_author: Any) -> Any:
    """Rows by (month, network, author), summed over the rubriques (key 0)."""
    r = by_author.c
    sums = [func.sum(column).label(column.name) for column in _counted(r)]
    return (
        select(r.month, literal(0, Integer).label("key_id"), r.network_id, r.author_id, *sums)
        .group_by(r.month, r.network_id, r.author_id)
        .subquery()
    )


def _counted(r: Any) -> list[Any]:
    """The counted columns of rows by author: « a », and « b » where there is one."""
    return [column for column in r if column.name in ("a", "b")]


def _delay_list(delay: Any) -> Any:
    """A group's delays as comma-separated whole seconds."""
    return _concat(cast(cast(delay, Integer), String))


def _topic_figure_rows(stretches: Layout) -> tuple[Any, Any, Any, Any]:
    """The first replies and the retained answers of the topics opened in the stretches, by
    (month, class for first replies and rubrique for answers, author), by the definitions of
    `queries.responsiveness` and `queries.solutions` (the rubriques that accept solutions are
    picked when reading); and their askers: by (month, class) and by (month, rubrique,
    whether solved, the flag in the network's column). The classes (`queries.reply_class`)
    give the members behind each part of the topics a share divides them into."""
    topic_month = _month_in(Topic.created_at, stretches)
    delay = seconds_between(Topic.first_reply_at, Topic.created_at)
    kind = reply_class(delay)
    answered = (
        select(
            topic_month.label("month"),
            kind.label("key_id"),
            literal(None, Integer).label("network_id"),
            Topic.first_reply_author_id.label("author_id"),
            func.count(Topic.id).label("a"),
            func.sum(case((delay <= FIRST_REPLY_TARGET_SECONDS, 1), else_=0)).label("b"),
            func.sum(case((Topic.first_reply_cross_network.is_(True), 1), else_=0)).label("c"),
            func.count(Topic.first_reply_cross_network).label("e"),
            _delay_list(delay).label("d"),
        )
        .where(
            visible_topic(),
            Topic.first_reply_at.is_not(None),
            _within(Topic.created_at, stretches),
        )
        .group_by(topic_month, kind, Topic.first_reply_author_id)
        .subquery("answered_by_author")
    )
    asked = (
        select(
            topic_month.label("month"),
            kind.label("key_id"),
            literal(None, Integer).label("network_id"),
            Topic.author_id.label("author_id"),
            func.count(Topic.id).label("a"),
        )
        .where(visible_topic(), _within(Topic.created_at, stretches))
        .group_by(topic_month, kind, Topic.author_id)
        .subquery("asked_by_author")
    )
    answer = aliased(Post)
    counted = and_(
        answer.id == Topic.solution_post_id,
        answer.topic_id == Topic.id,
        answer.is_hidden.is_(False),
        answer.created_at >= Topic.created_at,
    )
    is_solved = case((answer.id.is_not(None), 1), else_=0)
    solvable = (
        select(
            topic_month.label("month"),
            Topic.category_id.label("key_id"),
            is_solved.label("network_id"),
            Topic.author_id.label("author_id"),
            func.count(Topic.id).label("a"),
        )
        .outerjoin(answer, counted)
        .where(visible_topic(), _within(Topic.created_at, stretches))
        .group_by(topic_month, Topic.category_id, is_solved, Topic.author_id)
        .subquery("solvable_by_author")
    )
    solved = (
        select(
            topic_month.label("month"),
            Topic.category_id.label("key_id"),
            literal(None, Integer).label("network_id"),
            answer.author_id.label("author_id"),
            func.count(Topic.id).label("a"),
            _delay_list(seconds_between(answer.created_at, Topic.created_at)).label("d"),
        )
        .join(answer, counted)
        .where(visible_topic(), _within(Topic.created_at, stretches))
        .group_by(topic_month, Topic.category_id, answer.author_id)
        .subquery("solved_by_author")
    )
    return answered, solved, asked, solvable


def count_spans(stretches: Sequence[Span]) -> dict[str, MonthFigures]:
    """The cells of these stretches of months, counted from the posts in one query."""
    if not stretches:
        return {}
    result: dict[str, MonthFigures] = {s.month: {} for s in stretches}
    layout, values = _layout(stretches)
    for _source, *row in db.session.execute(_statement(_dialect(), None, layout), values):
        _add_counted(result, row)
    return result


def _dialect() -> str:
    return db.session.get_bind().dialect.name


@lru_cache(maxsize=64)
def _statement(dialect: str, kept: bool | None, counted: Layout | None) -> Any:
    """The UNION ALL of the kept cells' statements (`kept`: None for none, else whether
    whole years are read) and of the counting ones for stretches of this shape, built once
    per shape and database: building them took a report 5 ms at every size, more than
    running them at 10 000 posts. `dialect` keys the cache only (`_concat` asks the session).
    """
    parts = [] if kept is None else _kept_parts(kept)
    return union_all(*parts, *([] if counted is None else _count_parts(counted)))


def _add_counted(result: dict[str, MonthFigures], row: Sequence[Any]) -> None:
    kind, month, key_id, network_id, n, extra, people, sample, delays = row
    # no id at all when every author of the cell is gone (a NULL author, as after a deletion)
    ids = None if people >= THRESHOLD else frozenset(int(i) for i in (sample or "").split(",") if i)
    found = [np.fromstring(delays, dtype=np.int64, sep=",")] if delays else []
    result[month][(kind, key_id, network_id)] = Figure(int(n), int(extra), People(ids), found)


# --- Kept tallies ----------------------------------------------------------------------


# Each figure of the report is a sum of cells along one of these groupings:
# name → (kinds of cell, the group's key of a cell from its month (None for kept cells,
# summed over the months), its key and the thèmes of the rubriques).
GROUPINGS: dict[str, tuple[tuple[str, ...], Any]] = {
    "topic": (("topic",), lambda _m, key, _themes: key[1]),
    "theme_topic": (("topic",), lambda _m, key, themes: themes.get(key[1], key[1])),
    "total_topic": (("topic",), lambda _m, _key, _themes: 0),
    "message": (("message",), lambda _m, key, _themes: key[1]),
    "theme": (("message",), lambda _m, key, themes: themes.get(key[1], key[1])),
    "total": (("message",), lambda _m, _key, _themes: 0),
    "month": (("message",), lambda month, _key, _themes: _month_key(month)),  # kept: MONTH_MARK
    "network_topic": ((TOPIC_NETWORK,), lambda _m, key, _themes: key[2]),
    "network_reply": (("reply",), lambda _m, key, _themes: key[2]),
    "tag": (("tag",), lambda _m, key, _themes: key[1]),
    "answered": (("answered",), lambda _m, _key, _themes: 0),
    "answered_class": (("answered",), lambda _m, key, _themes: key[1]),
    "asked": (("asked",), lambda _m, key, _themes: key[1]),
    "sol_ask": (("sol_ask",), lambda _m, key, _themes: (key[1], key[2])),  # rubrique, solved
    "tag_open": (("tag_open",), lambda _m, key, _themes: key[1]),
    "crossed": (("crossed",), lambda _m, _key, _themes: 0),
    "solved": (("solved",), lambda _m, key, _themes: key[1]),
}


@dataclass
class Kept:
    """The current kept cells of a run of months: summed over the months by (kind, key,
    network), and by month for the « month » grouping (every current month, empty ones
    included by their MONTH_MARK cell); `years`: the whole years read from their year cells
    instead of their twelve months."""

    cells: dict[Key, Figure] = field(default_factory=dict)
    months: dict[str, Figure] = field(default_factory=dict)
    years: set[str] = field(default_factory=set)


def _concat(column: Any) -> Any:
    if _dialect() == "postgresql":
        return func.string_agg(column, ",")
    return func.group_concat(column, ",")


def _read(
    months: Sequence[str], live: Sequence[Span], years: Sequence[str] = ()
) -> tuple[Kept, dict[str, MonthFigures]]:
    """In one query: the kept cells of these months whose tally is current, summed (a few
    hundred rows, whatever the period), with the cells of the `years` (whole years among the
    months) whose year cells are current in place of their months', and the cells of the
    `live` stretches counted from the posts. Months absent from `Kept.months` must be
    counted."""
    kept = Kept()
    counted: dict[str, MonthFigures] = {s.month: {} for s in live}
    if not months and not live:
        return kept, counted
    layout, values = _layout(live) if live else (None, {})
    if months:
        values |= {
            "kept": list(months),
            "kept_months": [m for m in months if len(m) == 7],  # not days
            "years": list(years),
        }
    statement = _statement(_dialect(), bool(years) if months else None, layout)
    delays_of: dict[Key, list[np.ndarray]] = defaultdict(list)
    for source, *row in db.session.execute(statement, values):
        if source == "live":
            _add_counted(counted, row)
            continue
        kind, month, key_id, network_id, items, extra, most, samples, delays = row
        if source == "kept_year":
            kept.years.add(month)
            continue
        if source == "kept_delays":
            delays_of[(kind, key_id, network_id)].append(kept_delays(delays))
            continue
        figure = _figure(items, extra, most, samples, delays)
        if source == "kept_month":
            kept.months[month] = figure
        else:
            kept.cells[(kind, key_id, network_id)] = figure
    for key, found in delays_of.items():
        kept.cells.setdefault(key, Figure()).delays.extend(found)
    return kept, counted


def _figure(
    items: int, extra: int, most: int | None, samples: str | None, delays: str | None
) -> Figure:
    """A figure from kept columns: `most`, the largest number of people of the cells summed,
    `samples`, the ids listed by those under THRESHOLD, and a kept cell's `delays`."""
    if most is not None and most >= THRESHOLD:
        people = People(None)
    else:
        people = People.of(int(i) for i in (samples or "").split(",") if i)
    return Figure(int(items), int(extra), people, [kept_delays(delays)] if delays else [])


def _current() -> Any:
    return AnalyticsMonth.computed_generation == AnalyticsMonth.generation


def _kept_parts(years: bool) -> list[Select]:
    """Statements summing the current kept cells of the months (and days) of parameter
    `kept` over them, and reading their MONTH_MARK cells (`Kept`), in the columns of the
    counted cells (`_count_parts`). With `years`, a year of parameter `years` whose year cell
    and twelve months (among `kept_months`) are current is read from its year cells (a row
    « kept_year » names it) and its months' cells are left out. One pass over the summed
    cells, whatever the number of groupings: the groupings add up these sums.

    The cells are read once, without their delays: the database keeps what it read for the
    sums and for the delays' rows, and copying the delays there too (735 kB at a million
    posts, for a report since launch) made the statement 4.1 ms instead of 3.6; the delays'
    rows take them from the table, by the cells' ids."""
    month_cells = (
        select(*_CELL_COLUMNS, MonthCell.delays.is_not(None).label("timed"))
        .join(AnalyticsMonth, and_(AnalyticsMonth.month == MonthCell.month, _current()))
        .where(MonthCell.month.in_(bindparam("kept", expanding=True)))
    )
    kept = month_cells.cte("kept")
    parts: list[Select] = []
    summed = kept
    if years:
        year_of = func.substr(AnalyticsMonth.month, 1, 4)
        complete = (
            select(year_of)
            .where(AnalyticsMonth.month.in_(bindparam("kept_months", expanding=True)), _current())
            .group_by(year_of)
            .having(func.count() == 12)
        )
        usable = (
            select(AnalyticsMonth.month)
            .where(
                AnalyticsMonth.month.in_(bindparam("years", expanding=True)),
                _current(),
                AnalyticsMonth.month.in_(complete),
            )
            .cte("usable_years")
        )
        summed = union_all(
            # On the month's row, so that a month of a year read whole is left out before its
            # cells are read (on the cells, a report since launch went through all of them).
            month_cells.where(
                func.substr(AnalyticsMonth.month, 1, 4).not_in(select(usable.c.month))
            ),
            select(*_CELL_COLUMNS, MonthCell.delays.is_not(None)).where(
                MonthCell.month.in_(select(usable.c.month))
            ),
        ).cte("summed")
        parts.append(
            select(
                literal("kept_year", String),
                literal(None, String),
                usable.c.month,
                literal(None, Integer),
                literal(None, Integer),
                literal(0, Integer),
                literal(0, Integer),
                literal(None, Integer),
                literal(None, String),
                literal(None, String),
            )
        )
    k, y = kept.c, summed.c
    over_months = (
        select(
            literal("kept", String).label("source"),
            y.kind,
            literal(None, String).label("month"),
            y.key_id,
            y.network_id,
            *_sums(y),
        )
        .where(y.kind != MONTH_MARK)
        .group_by(y.kind, y.key_id, y.network_id)
    )
    by_month = select(
        literal("kept_month", String),
        literal("month", String),
        k.month,
        literal(None, Integer),
        literal(None, Integer),
        k["items"],
        k.extra,
        k.people,
        case((k.people < THRESHOLD, k.sample)),
        literal(None, String),
    ).where(k.kind == MONTH_MARK)
    delays = (
        select(
            literal("kept_delays", String),
            y.kind,
            literal(None, String),
            y.key_id,
            y.network_id,
            literal(0, Integer),
            literal(0, Integer),
            literal(None, Integer),
            literal(None, String),
            MonthCell.delays,
        )
        .select_from(summed)
        .join(MonthCell, MonthCell.id == y.id)
        .where(y.timed)
    )
    return [over_months, by_month, delays, *parts]


_CELL_COLUMNS = [column for column in MonthCell.__table__.c if column.key != "delays"]


def _sums(c: Any) -> tuple[Any, ...]:
    """The columns of cells summed: items, extra, the most people of a cell, the ids of the
    cells under THRESHOLD; not the delays, read cell by cell (« kept_delays »): joining a
    few hundred kilobytes of them in SQL cost more than reading them."""
    return (
        func.sum(c["items"]),
        func.sum(c.extra),
        func.max(c.people),
        _concat(case((c.people < THRESHOLD, c.sample))),
        literal(None, String),
    )


def whole_years(months: Iterable[str]) -> list[str]:
    """The years ('YYYY') all twelve of whose months are among these."""
    found: dict[str, int] = defaultdict(int)
    for month in set(months):
        if len(month) == 7:  # not a day
            found[month[:4]] += 1
    return sorted(year for year, count in found.items() if count == 12)


def _months_of(years: Iterable[str]) -> list[str]:
    return [f"{year}-{number:02d}" for year in years for number in range(1, 13)]


def _generations(months: Sequence[str]) -> dict[str, int]:
    rows = db.session.execute(
        select(AnalyticsMonth.month, AnalyticsMonth.generation).where(
            AnalyticsMonth.month.in_(months)
        )
    )
    return {month: generation for month, generation in rows}


def _lock(keys: Iterable[str]) -> dict[str, tuple[int, int | None]]:
    """Create the missing rows of these months and years, then lock them all in one order (a
    year before its months, the order `_bump` writes them in), so that two transactions
    taking some of the same rows never wait for each other crosswise on PostgreSQL (SQLite
    has one writer); returns each one's latest committed (generation, computed_generation)."""
    found = sorted(set(keys))
    db.session.execute(
        upsert(AnalyticsMonth)
        .values([{"month": m, "generation": 0, "computed_generation": None} for m in found])
        .on_conflict_do_nothing(index_elements=[AnalyticsMonth.month])
    )
    locked = db.session.execute(
        select(AnalyticsMonth.month, AnalyticsMonth.generation, AnalyticsMonth.computed_generation)
        .where(AnalyticsMonth.month.in_(found))
        .order_by(AnalyticsMonth.month)
        .with_for_update()
    )
    return {month: (generation, computed) for month, generation, computed in locked}


def store(figures: dict[str, MonthFigures], generations: dict[str, int]) -> None:
    """Keep the cells of settled months counted by a report, as of the generation read
    before counting. A month whose generation moved since (a change committed meanwhile) is
    left as it is: its cells would be older than the change, and maybe than those another
    report stored for the new generation. The caller commits."""
    months = sorted(figures)
    if not months:
        return
    db.session.info[STORED] = True
    # Two reports storing the same month wait for each other here (PostgreSQL row locks;
    # SQLite has one writer), and the generations read now are the latest committed. The
    # months' years are locked too: this transaction may sum them next (`store_years`).
    state = _lock(months + [month[:4] for month in months if len(month) == 7])
    months = [m for m in months if state[m][0] == generations.get(m, 0)]
    if not months:
        return
    rows = []
    for month in months:
        messages = _total(f for key, f in figures[month].items() if key[0] == "message")
        rows.append(_cell_row(month, (MONTH_MARK, 0, None), messages))
        rows.extend(_cell_row(month, key, fig) for key, fig in figures[month].items())
    _replace_cells({month: generations.get(month, 0) for month in months}, rows)
    _forget_days([month for month in months if len(month) == 7])


def _forget_days(months: Sequence[str]) -> None:
    """Drop the day cells of these months, now kept whole: no report reads them again (two
    statements, whatever the number of months)."""
    if not months:
        return
    for table in (MonthCell, AnalyticsMonth):
        days = [table.month.between(f"{month}-01", f"{month}-31") for month in months]
        db.session.execute(delete(table).where(or_(*days)))


def _replace_cells(generations: dict[str, int], rows: list[dict[str, Any]]) -> None:
    """Put `rows` in place of the cells of these months or years, and mark them current as
    of these generations (those read under `_lock`)."""
    db.session.execute(delete(MonthCell).where(MonthCell.month.in_(list(generations))))
    if rows:
        db.session.execute(MonthCell.__table__.insert(), rows)
    table = AnalyticsMonth.__table__
    db.session.execute(
        table.update()
        .where(table.c.month == bindparam("m"), table.c.generation == bindparam("g"))
        .values(computed_generation=bindparam("g")),
        [{"m": key, "g": generation} for key, generation in generations.items()],
    )


def _cell_row(month: str, key: Key, figure: Figure) -> dict[str, Any]:
    ids = figure.people.ids
    return {
        "month": month,
        "kind": key[0],
        "key_id": key[1],
        "network_id": key[2],
        "items": figure.items,
        "extra": figure.extra,
        "people": figure.people.count,
        "sample": "" if ids is None else ",".join(str(i) for i in sorted(ids)),
        "delays": keep_delays(figure.delays),
    }


def store_years(years: Sequence[str]) -> list[str]:
    """Sum the kept cells of each of these years' twelve months into the year's cells, if
    they are all current, as of the year's generation (every change to one of its months
    gives the year a new one too, `_bump`); returns the years stored. A report since launch
    then adds up a year's cells instead of twelve times as many. The caller commits."""
    years = sorted(set(years))
    if not years:
        return []
    db.session.info[STORED] = True
    state = _lock(years + _months_of(years))
    ready = [year for year in years if all(state[m][0] == state[m][1] for m in _months_of([year]))]
    if not ready:
        return []
    sums: dict[str, MonthFigures] = {year: defaultdict(Figure) for year in ready}
    cells = db.session.execute(
        select(
            MonthCell.month,
            MonthCell.kind,
            MonthCell.key_id,
            MonthCell.network_id,
            MonthCell.items,
            MonthCell.extra,
            MonthCell.people,
            MonthCell.sample,
            MonthCell.delays,
        ).where(MonthCell.month.in_(_months_of(ready)), MonthCell.kind != MONTH_MARK)
    )
    for month, kind, key_id, network_id, items, extra, people, sample, delays in cells:
        figure = _figure(items, extra, people, sample if people < THRESHOLD else "", delays)
        sums[month[:4]][(kind, key_id, network_id)].add(figure)
    rows = [_cell_row(year, key, figure) for year in ready for key, figure in sums[year].items()]
    _replace_cells({year: state[year][0] for year in ready}, rows)
    return ready


def mark_member_changed(member_id: int) -> None:
    """A member's network changed (`members.services.update_member`): the cells of their
    posts' and topics' months count them under the old one, and so do the « crossed » cells
    of the topics they gave the first reply to."""
    months = union(
        select(month_of(Post.created_at).label("month")).where(Post.author_id == member_id),
        select(month_of(Topic.created_at)).where(
            or_(Topic.author_id == member_id, Topic.first_reply_author_id == member_id)
        ),
    ).subquery()
    _bump(db.session.scalars(select(months.c.month)))


def commit_stored() -> None:
    """Commit the tallies a report stored; a report that only read commits nothing (a
    commit would also wake the outbox for nothing)."""
    if db.session.info.pop(STORED, False):
        db.session.commit()


def mark_topics_changed(topic_ids: Iterable[int]) -> None:
    """A change to these topics may alter the figures of the months of their posts: give
    those months a new generation, in the caller's transaction."""
    ids = sorted(set(topic_ids))
    if not ids:
        return
    months = union(
        select(month_of(Post.created_at).label("month")).where(Post.topic_id.in_(ids)),
        select(month_of(Topic.created_at)).where(Topic.id.in_(ids)),
    ).subquery()
    _bump(db.session.scalars(select(months.c.month)))


def mark_month_of(when: datetime) -> None:
    """Something dated `when` changed: that month's figures, if it is settled, else that
    day's, if it is. A post dated `when` (imports, the demo, tests: a reply is dated now, in
    a day not yet settled, and costs nothing here); a topic opened then that gets its first
    reply or a retained answer (`when` is the topic's opening): in the month not yet
    settled, only its day is counted again."""
    now, day = utcnow(), when.astimezone(PARIS).date()
    whole_day = Span(day.isoformat(), _day_start(day), _day_start(day + timedelta(days=1)), True)
    if not _settled(whole_day, now):
        return  # not kept yet
    if _month_settled(whole_day.month, now):
        _bump([_month_key(whole_day.month)])
    else:  # only that day's cells: the month's other days keep theirs
        _new_generations([whole_day.month])


def _bump(months: Iterable[str]) -> None:
    """New generations for these months, their years (whose cells sum them) and, for a month
    not yet settled, its days (kept by day, `with_days`). The days' rows are made if they
    are missing, as the months' are: a report that read a day's generation before counting
    then sees it moved, and does not keep what it counted."""
    months = set(months)
    now = utcnow()
    days = [
        day
        for month in months
        if len(month) == 7 and not _month_settled(month, now)
        for day in _days_of(month)
    ]
    _new_generations(sorted(months | {month[:4] for month in months} | set(days)))


def _new_generations(keys: Sequence[str]) -> None:
    """Give these months, years or days a new generation (one statement)."""
    if not keys:
        return
    statement = upsert(AnalyticsMonth).values(
        [{"month": m, "generation": 1, "computed_generation": None} for m in keys]
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[AnalyticsMonth.month],
            set_={"generation": AnalyticsMonth.generation + 1},
        )
    )


def forget() -> None:
    """Drop every kept tally (after a bulk load that bypassed the services)."""
    db.session.execute(delete(MonthCell))
    db.session.execute(delete(AnalyticsMonth))


# --- A period's figures ---------------------------------------------------------------


@dataclass
class Tallies:
    """A period's content figures, in the shapes of `queries`' direct queries: the kept
    months' sums (`kept`) plus the months counted live (`live`)."""

    kept: Kept
    live: dict[str, MonthFigures]
    themes: dict[int, int] = field(default_factory=dict)  # category id → its thème's

    def _sum(self, grouping: str) -> dict[Any, Figure]:
        result: dict[Any, Figure] = defaultdict(Figure)
        kinds, key_of = GROUPINGS[grouping]
        if grouping == "month":
            for month, figure in self.kept.months.items():
                result[_month_key(month)].add(figure)
        else:
            for key, figure in self.kept.cells.items():
                if key[0] in kinds:
                    result[key_of(None, key, self.themes)].add(figure)
        for month, cells in self.live.items():
            for key, figure in cells.items():
                if key[0] in kinds:
                    result[key_of(month, key, self.themes)].add(figure)
        return result

    def content_counts(self, themes: dict[int, int]) -> ContentCounts:
        """As `queries.content_counts`; `themes` maps each category id to its thème's."""
        self.themes = themes
        total, total_topics = self._sum("total"), self._sum("total_topic")
        return ContentCounts(
            topics={k: f.tally for k, f in self._sum("topic").items()},
            messages={k: f.tally for k, f in self._sum("message").items()},
            theme_messages={k: f.tally for k, f in self._sum("theme").items()},
            total_messages=total[0].tally if 0 in total else Tally(),
            theme_topics={k: f.tally for k, f in self._sum("theme_topic").items()},
            total_topics=total_topics[0].tally if 0 in total_topics else Tally(),
        )

    def messages_by_month(self) -> dict[str, Tally]:
        return {m: f.tally for m, f in self._sum("month").items() if f.items}

    def activity_by_network(self) -> dict[int | None, NetworkActivity]:
        topics, replies = self._sum("network_topic"), self._sum("network_reply")
        return {
            network: NetworkActivity(
                topics[network].tally if network in topics else Tally(),
                replies[network].tally if network in replies else Tally(),
            )
            for network in set(topics) | set(replies)
        }

    def topic_figures(self, accepting: Collection[int]) -> tuple[Responsiveness, Solutions]:
        """As `queries.topic_figures`, people capped at THRESHOLD (all that « < 5 » needs);
        `accepting`: the rubriques that accept solutions now."""
        topics = self._sum("topic")
        asked = _total(topics.values())
        solvable = _total(f for key, f in topics.items() if key in accepting)
        answered = self._sum("answered").get(0, Figure())
        crossed = self._sum("crossed").get(0, Figure())
        solved = _total(f for key, f in self._sum("solved").items() if key in accepting)
        asked_by, answered_by = self._sum("asked"), self._sum("answered_class")
        parts = {
            name: Part(
                sum(asked_by[k].items for k in classes if k in asked_by),
                _total(asked_by[k] for k in classes if k in asked_by).people.count,
                _total(answered_by[k] for k in classes if k in answered_by).people.count,
            )
            for name, classes in PARTS.items()
        }
        solvable_askers = self._sum("sol_ask")
        replies = Responsiveness(
            topics=asked.items,
            askers=asked.people.count,
            answered=answered.items,
            repliers=answered.people.count,
            within_48h=answered.extra,
            cross_network=crossed.items,
            cross_network_base=crossed.extra,
            median_seconds=answered.median,
            parts=parts,
        )
        solutions = Solutions(
            topics=solvable.items,
            askers=solvable.people.count,
            solved=solved.items,
            solvers=solved.people.count,
            median_seconds=solved.median,
            **{
                name: _total(
                    f
                    for (rubrique, flag), f in solvable_askers.items()
                    if rubrique in accepting and flag == solved_flag
                ).people.count
                for name, solved_flag in (("solved_askers", 1), ("unsolved_askers", 0))
            },
        )
        return replies, solutions

    def tag_counts(self) -> list[TagCount]:
        """As `queries.tag_counts`: every active mot-clé, and the retired ones still counted."""
        counted, opened = self._sum("tag"), self._sum("tag_open")
        rows = db.session.execute(
            select(Tag.id, Tag.slug, Tag.name, Tag.retired).order_by(Tag.retired, Tag.name, Tag.id)
        )
        result = []
        for tag_id, slug, name, retired in rows:
            figure = counted.get(tag_id)
            if figure is None and retired:
                continue
            figure = figure or Figure()
            openers = opened[tag_id].people.count if tag_id in opened else 0
            result.append(
                TagCount(
                    slug,
                    name,
                    bool(retired),
                    figure.items,
                    figure.extra,
                    figure.people.count,
                    openers,
                )
            )
        return result


def tallies(start: datetime, end: datetime, *, keep: bool = True, years: bool = True) -> Tallies:
    """The period's figures: kept tallies for settled months (for its whole years, their year
    cells when current, unless `years` is false), the rest from the posts.

    With `keep`, settled months that had to be counted are stored, and the whole years whose
    months are all kept then are summed into year cells (the caller commits)."""
    settled, live = _split(start, end, utcnow())
    whole = whole_years(s.month for s in settled) if years else []
    kept, counted = _read([s.month for s in settled], live, whole)
    missing = [s for s in settled if s.month not in kept.months]  # changed, or never kept
    to_store = [s.month for s in missing] if keep else []
    generations = _generations(to_store) if to_store else {}
    counted.update(count_spans(missing))
    to_sum = [year for year in whole if year not in kept.years] if keep else []
    if to_store or to_sum:
        try:
            if to_store:
                store({m: counted[m] for m in to_store}, generations)
            store_years(to_sum)
        except OperationalError:  # the database is busy: keep them another time
            db.session.rollback()
            db.session.info.pop(STORED, None)
    return Tallies(kept, counted)


def _split(start: datetime, end: datetime, now: datetime) -> tuple[list[Span], list[Span]]:
    """A period's stretches: those settled (kept), and those counted from the posts."""
    stretches = _stretches(_from_month_start(start), _known_end(end, now), now)
    settled = [s for s in stretches if _settled(s, now)]
    return settled, [s for s in stretches if not _settled(s, now)]


def _known_end(end: datetime, now: datetime) -> datetime:
    """`end`, or the start of the Paris month after the latest post or topic when that comes
    before: the months after it hold nothing. Without it, a period typed up to 2100 counted
    its 900 months to come from the posts, one stretch each (none is ever settled), in a
    statement that took seconds to build and plan. The month after next (a post written
    meanwhile on another host) is never cut, and only a period reaching past it asks the
    database for its latest post."""
    local = now.astimezone(PARIS)
    horizon = month_start(local.year + (local.month + 1) // 12, (local.month + 1) % 12 + 1)
    if end <= horizon:
        return end
    last = last_content()
    if last is not None:
        latest = last.astimezone(PARIS)
        following = month_start(latest.year + latest.month // 12, latest.month % 12 + 1)
        horizon = max(horizon, following)
    return min(end, horizon)


def live_spans(start: datetime, end: datetime) -> list[Span]:
    """The stretches a report over [start, end) counts from the posts at every visit: the
    days not yet settled (`bench/run.py` counts their posts to tell a run's live part)."""
    return _split(start, end, utcnow())[1]


def _from_month_start(start: datetime) -> datetime:
    """The start of `start`'s Paris month when nothing was posted before `start`, else
    `start`: the figures are the same, and a period from the launch day (« depuis le
    lancement ») then reads its first month's kept cells instead of counting a part of that
    month's posts at every visit. The figures count posts and topics by their dates only, so
    a month with none before `start` has the same cells from either start."""
    local = start.astimezone(PARIS)
    begins = month_start(local.year, local.month)
    if begins == start:
        return start
    first = first_content()
    return begins if first is None or start <= first else start


def refresh(now: datetime | None = None) -> int:
    """Tally every settled month not yet current (`comcep analytics refresh`, the worker),
    and the settled days of a month not yet settled, then sum every whole year whose year
    cells are not current; returns how many months and days were counted. Commits after
    each dozen of them, so that no write lock is held while the next ones are counted."""
    now = now or utcnow()
    first = first_activity()
    if first is None:
        return 0
    stretches = [s for s in _stretches(first, now, now) if _settled(s, now)]
    current = set(_read([s.month for s in stretches], [])[0].months)
    todo = [s for s in stretches if s.month not in current]
    for chunk in (todo[i : i + 12] for i in range(0, len(todo), 12)):
        generations = _generations([s.month for s in chunk])  # before counting (see store)
        store(count_spans(chunk), generations)
        db.session.commit()
        db.session.info.pop(STORED, None)
    years = whole_years(s.month for s in stretches)
    summed = set(
        db.session.scalars(
            select(AnalyticsMonth.month).where(AnalyticsMonth.month.in_(years), _current())
        )
    )
    if store_years([year for year in years if year not in summed]):
        db.session.commit()
    db.session.info.pop(STORED, None)
    return len(todo)


def disagreements(start: datetime, end: datetime) -> list[str]:
    """Where the figures from the kept tallies differ from the direct queries of `queries`
    over the posts (`comcep analytics check`); people are compared up to THRESHOLD. The
    months' cells are compared, then the year cells that reports read in their place."""
    found = _disagreements(tallies(start, end, keep=False, years=False), start, end)
    by_year = _disagreements(tallies(start, end, keep=False), start, end)
    return found + [f"{label} (par année)" for label in by_year if label not in found]


def _capped(tallies: dict[Any, Tally]) -> dict[Any, Tally]:
    return {k: Tally(t.count, min(t.people, THRESHOLD)) for k, t in tallies.items() if t.count}


def _disagreements(kept: Tallies, start: datetime, end: datetime) -> list[str]:
    themes = {c.id: c.parent_id or c.id for c in category_tree()}
    ours, direct = kept.content_counts(themes), content_counts(start, end)
    pairs: list[tuple[str, Any, Any]] = [
        ("sujets par rubrique", _capped(ours.topics), _capped(direct.topics)),
        ("messages par rubrique", _capped(ours.messages), _capped(direct.messages)),
        ("messages par thème", _capped(ours.theme_messages), _capped(direct.theme_messages)),
        ("sujets par thème", _capped(ours.theme_topics), _capped(direct.theme_topics)),
        (
            "sujets au total",
            _capped({0: ours.total_topics}),
            _capped({0: direct.total_topics}),
        ),
        (
            "messages au total",
            _capped({0: ours.total_messages}),
            _capped({0: direct.total_messages}),
        ),
        (
            "messages par mois",
            _capped(kept.messages_by_month()),
            _capped(messages_by_month(start, end)),
        ),
    ]
    ours_activity, direct_activity = kept.activity_by_network(), activity_by_network(start, end)
    for label, pick in (("sujets", "topics"), ("réponses", "replies")):
        pairs.append(
            (
                f"{label} par réseau",
                _capped({k: getattr(v, pick) for k, v in ours_activity.items()}),
                _capped({k: getattr(v, pick) for k, v in direct_activity.items()}),
            )
        )
    pairs.append(
        (
            "mots-clés",
            [
                (t.slug, t.topics, t.messages, min(t.people, THRESHOLD), min(t.openers, THRESHOLD))
                for t in kept.tag_counts()
            ],
            [
                (t.slug, t.topics, t.messages, min(t.people, THRESHOLD), min(t.openers, THRESHOLD))
                for t in tag_counts(start, end)
            ],
        )
    )
    accepting = {c.id for c in category_tree() if c.accepts_solutions}
    for label, a, b in zip(
        ("premières réponses", "réponses retenues"),
        kept.topic_figures(accepting),
        topic_figures(start, end),
        strict=True,
    ):
        pairs.append((label, _capped_people(a), _capped_people(b)))
    return [label for label, a, b in pairs if a != b]


def _capped_people(figures: Responsiveness | Solutions) -> Any:
    names = ("askers", "repliers", "solvers", "solved_askers", "unsolved_askers")
    capped: dict[str, Any] = {
        name: min(getattr(figures, name), THRESHOLD) for name in names if hasattr(figures, name)
    }
    if isinstance(figures, Responsiveness):
        capped["parts"] = {
            name: Part(p.topics, min(p.askers, THRESHOLD), min(p.repliers, THRESHOLD))
            for name, p in figures.parts.items()
        }
    return replace(figures, **capped)


def first_reply_disagreements() -> list[str]:
    """Topics whose kept first reply differs from its definition (`comcep analytics check`)."""
    from comcep.forum.services import first_reply_columns  # it imports this module

    wrong = db.session.scalar(
        select(func.count(Topic.id)).where(
            or_(
                *(
                    getattr(Topic, name).is_distinct_from(expected)
                    for name, expected in first_reply_columns().items()
                )
            )
        )
    )
    return [f"première réponse de {wrong} sujet(s)"] if wrong else []
