"""The comité's content figures, from monthly tallies kept in the database.

Counting a period's posts again on every visit cost seconds on a million posts (every figure
is a GROUP BY over the period's posts). A Paris month that ended more than a day ago is
therefore tallied once into `MonthCell` rows, and a report adds up those cells; only the
months that are not settled (the current one), the partial months at the period's edges and
the months whose figures changed since they were tallied are counted from the posts, in one
query, by the same definitions as `queries` (visible posts and topics, the rubrique at report
time, the author's network).

A change that can alter a settled month (hiding, restoring, moving, splitting, merging a
topic, its mots-clés) calls `mark_topics_changed` in its own transaction: the months of the
topics' posts get a new `generation`, and their cells count again only once recomputed.
Cells computed by a report are stored by it (`store`, committed by the caller); `comcep
analytics refresh` tallies every settled month ahead, and `comcep analytics check` compares
the kept figures with the direct queries.

« < 5 » needs the number of distinct members behind any union of cells (a thème, a period):
each cell keeps that number capped at 5 and, while it is under 5, the members' ids, so that
a union is exact (`People`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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

from comcep.analytics.anonymise import THRESHOLD
from comcep.analytics.models import AnalyticsMonth, MonthCell
from comcep.analytics.queries import (
    TIMEZONE,
    ContentCounts,
    NetworkActivity,
    TagCount,
    Tally,
    activity_by_network,
    between,
    category_tree,
    content_counts,
    first_activity,
    messages_by_month,
    month_of,
    tag_counts,
    visible_post,
    visible_topic,
)
from comcep.dialects import upsert
from comcep.extensions import db, utcnow
from comcep.forum.models import Category, Post, Tag, Topic, topic_tags
from comcep.members.models import Member

PARIS = ZoneInfo(TIMEZONE)
SETTLED_AFTER = timedelta(days=1)  # no write transaction lasts a day past a month's end
MONTH_MARK = "month"  # a cell present in every tallied month, even an empty one
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


@dataclass
class Figure:
    items: int = 0
    extra: int = 0
    people: People = field(default_factory=People)

    def add(self, other: Figure) -> None:
        self.items += other.items
        self.extra += other.extra
        self.people.add(other.people)

    @property
    def tally(self) -> Tally:
        return Tally(self.items, self.people.count)


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


def _month_start(year: int, month: int) -> datetime:
    return datetime.combine(date(year, month, 1), time(0), tzinfo=PARIS).astimezone(UTC)


def spans(start: datetime, end: datetime) -> list[Span]:
    """The period [start, end) cut at Paris month starts."""
    local = start.astimezone(PARIS)
    year, month = local.year, local.month
    found = []
    while True:
        month_start = _month_start(year, month)
        if month_start >= end:
            return found
        year_after, month_after = (year + 1, 1) if month == 12 else (year, month + 1)
        month_end = _month_start(year_after, month_after)
        lo, hi = max(month_start, start), min(month_end, end)
        if lo < hi:
            whole = lo == month_start and hi == month_end
            found.append(Span(f"{year:04d}-{month:02d}", lo, hi, whole))
        year, month = year_after, month_after


def _settled(span: Span, now: datetime) -> bool:
    return span.whole and span.end + SETTLED_AFTER <= now


# --- Counting from the posts ------------------------------------------------------------


def _within(column: Any, stretches: Sequence[Span]) -> Any:
    """In any of the stretches; adjacent ones are joined, so that a run of months is one
    range of the date index."""
    ranges: list[list[datetime]] = []
    for s in sorted(stretches, key=lambda s: s.start):
        if ranges and ranges[-1][1] == s.start:
            ranges[-1][1] = s.end
        else:
            ranges.append([s.start, s.end])
    return or_(*(between(column, start, end) for start, end in ranges))


def _cells(kind: str, by_author: Any, items: Any, extra: Any, keep: Any = None) -> Select:
    """Cells from rows grouped by (month, key, network, author): the items summed, the
    distinct authors counted, and listed while fewer than THRESHOLD."""
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
    ).group_by(r.month, r.key_id, r.network_id)
    return cells.where(keep(r)) if keep is not None else cells


def _count_parts(stretches: Sequence[Span]) -> list[Select]:
    """The statements counting the cells of these stretches of months from the posts (their
    UNION ALL gives rows of « live », kind, month, key, network, items, extra, people,
    sample).

    Every stretch lies within one Paris month, so a row's month is `month_of` its date.
    The posts are grouped by (month, rubrique, network, author) first, then by cell, in SQL:
    only cells (a few hundred per month) and the ids of the members behind small ones come
    back, never names.
    """
    post_month = month_of(Post.created_at)
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
    topic_month = month_of(Topic.created_at)
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
        .subquery("topics_by_author")
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
    tag_month = month_of(items.c.at)
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
    return [
        _cells("message", posts, lambda r: r.a, lambda _r: literal(0, Integer)),
        _cells("reply", posts, lambda r: r.b, lambda _r: literal(0, Integer), lambda r: r.b > 0),
        _cells("topic", topics, lambda r: r.a, lambda _r: literal(0, Integer)),
        _cells("tag", tags, lambda r: r.a, lambda r: r.b),
    ]


def count_spans(stretches: Sequence[Span]) -> dict[str, MonthFigures]:
    """The cells of these stretches of months, counted from the posts in one query."""
    if not stretches:
        return {}
    result: dict[str, MonthFigures] = {s.month: {} for s in stretches}
    for _source, *row in db.session.execute(union_all(*_count_parts(stretches))):
        _add_counted(result, row)
    return result


def _add_counted(result: dict[str, MonthFigures], row: Sequence[Any]) -> None:
    kind, month, key_id, network_id, n, extra, people, sample = row
    ids = None if people >= THRESHOLD else frozenset(int(i) for i in sample.split(",") if i)
    result[month][(kind, key_id, network_id)] = Figure(int(n), int(extra), People(ids))


# --- Kept tallies ----------------------------------------------------------------------


# Each figure of the report is a sum of cells along one of these groupings:
# name → (kinds of cell, the group's key of a cell (month, key) for cells counted live).
GROUPINGS: dict[str, tuple[tuple[str, ...], Any]] = {
    "topic": (("topic",), lambda _m, key, _themes: key[1]),
    "message": (("message",), lambda _m, key, _themes: key[1]),
    "theme": (("message",), lambda _m, key, themes: themes.get(key[1], key[1])),
    "total": (("message",), lambda _m, _key, _themes: 0),
    "month": (("message", MONTH_MARK), lambda month, _key, _themes: month),
    "network_topic": (("topic",), lambda _m, key, _themes: key[2]),
    "network_reply": (("reply",), lambda _m, key, _themes: key[2]),
    "tag": (("tag",), lambda _m, key, _themes: key[1]),
}
Grouped = dict[str, dict[Any, Figure]]


def _concat(column: Any) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return func.string_agg(column, ",")
    return func.group_concat(column, ",")


def _number_key(name: str, key: Any) -> Any:
    if name == "month":  # its key is the text column
        return literal(None, Integer)
    return literal(0, Integer) if key is None else key  # the total: one group, key 0


def _read(months: Sequence[str], live: Sequence[Span]) -> tuple[Grouped, dict[str, MonthFigures]]:
    """In one query: the kept cells of these months whose tally is current, summed along
    every grouping (a few hundred rows, whatever the period), and the cells of the `live`
    stretches counted from the posts. The « month » grouping lists every current month,
    empty ones included (their MONTH_MARK cell): the others must be counted."""
    grouped: Grouped = {name: {} for name in GROUPINGS}
    counted: dict[str, MonthFigures] = {s.month: {} for s in live}
    parts = _kept_parts(months) + (_count_parts(live) if live else [])
    if not parts:
        return grouped, counted
    for source, *row in db.session.execute(union_all(*parts)):
        if source == "live":
            _add_counted(counted, row)
            continue
        name, text, number, _network, items, extra, most, samples = row
        if items is None:  # the total of no cell
            continue
        if most is not None and most >= THRESHOLD:
            people = People(None)
        else:
            people = People.of(int(i) for i in (samples or "").split(",") if i)
        grouped[name][text if name == "month" else number] = Figure(int(items), int(extra), people)
    return grouped, counted


def _kept_parts(months: Sequence[str]) -> list[Select]:
    """Statements summing the current kept cells of these months along each grouping, with
    the columns of the counted cells (`_count_parts`) after a source column."""
    if not months:
        return []
    kept = (
        select(MonthCell)
        .join(
            AnalyticsMonth,
            and_(
                AnalyticsMonth.month == MonthCell.month,
                AnalyticsMonth.computed_generation == AnalyticsMonth.generation,
            ),
        )
        .where(MonthCell.month.in_(months))
        .cte("kept")
    )
    k = kept.c
    theme = func.coalesce(Category.parent_id, Category.id)
    keys: dict[str, Any] = {
        "topic": k.key_id,
        "message": k.key_id,
        "theme": theme,
        "total": None,
        "month": k.month,
        "network_topic": k.network_id,
        "network_reply": k.network_id,
        "tag": k.key_id,
    }
    parts = []
    for name, (kinds, _live) in GROUPINGS.items():
        key = keys[name]
        part = select(
            literal("kept", String).label("source"),
            literal(name, String).label("grouping"),
            (k.month if name == "month" else literal(None, String)).label("text"),
            _number_key(name, key).label("n"),
            literal(None, Integer).label("network_id"),
            func.sum(k["items"]),
            func.sum(k.extra),
            func.max(k.people),
            _concat(case((k.people < THRESHOLD, k.sample))),
        ).where(k.kind.in_(kinds))
        if name == "theme":
            part = part.select_from(kept).join(Category, Category.id == k.key_id)
        if key is not None:
            part = part.group_by(key)
        parts.append(part)
    return parts


def _generations(months: Sequence[str]) -> dict[str, int]:
    rows = db.session.execute(
        select(AnalyticsMonth.month, AnalyticsMonth.generation).where(
            AnalyticsMonth.month.in_(months)
        )
    )
    return {month: generation for month, generation in rows}


def store(figures: dict[str, MonthFigures], generations: dict[str, int]) -> None:
    """Keep the cells of settled months counted by a report, as of the generation read
    before counting. A month whose generation moved since (a change committed meanwhile) is
    left as it is: its cells would be older than the change, and maybe than those another
    report stored for the new generation. The caller commits."""
    months = sorted(figures)
    if not months:
        return
    db.session.info[STORED] = True
    db.session.execute(
        upsert(AnalyticsMonth)
        .values([{"month": m, "generation": 0, "computed_generation": None} for m in months])
        .on_conflict_do_nothing(index_elements=[AnalyticsMonth.month])
    )
    # Two reports storing the same month wait for each other here (PostgreSQL row locks;
    # SQLite has one writer), and the generations read now are the latest committed.
    locked = db.session.execute(
        select(AnalyticsMonth.month, AnalyticsMonth.generation)
        .where(AnalyticsMonth.month.in_(months))
        .order_by(AnalyticsMonth.month)
        .with_for_update()
    ).all()
    unchanged = {month for month, generation in locked if generation == generations.get(month, 0)}
    months = [m for m in months if m in unchanged]
    if not months:
        return
    db.session.execute(delete(MonthCell).where(MonthCell.month.in_(months)))
    rows = []
    for month in months:
        rows.append(_cell_row(month, (MONTH_MARK, 0, None), Figure()))
        rows.extend(_cell_row(month, key, fig) for key, fig in figures[month].items())
    db.session.execute(MonthCell.__table__.insert(), rows)
    table = AnalyticsMonth.__table__
    db.session.execute(
        table.update()
        .where(table.c.month == bindparam("m"), table.c.generation == bindparam("g"))
        .values(computed_generation=bindparam("g")),
        [{"m": month, "g": generations.get(month, 0)} for month in months],
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
    }


def mark_member_changed(member_id: int) -> None:
    """A member's network changed (`members.services.update_member`): the cells of their
    posts' and topics' months count them under the old one."""
    months = union(
        select(month_of(Post.created_at).label("month")).where(Post.author_id == member_id),
        select(month_of(Topic.created_at)).where(Topic.author_id == member_id),
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


def mark_posted(when: datetime) -> None:
    """A post dated `when` (imports, the demo, tests: a reply is dated now, in a month not
    yet settled, and costs nothing here) changes that month's figures if it is settled."""
    local = when.astimezone(PARIS)
    month = spans(_month_start(local.year, local.month), when + timedelta(days=31))[0]
    if _settled(month, utcnow()):
        _bump([month.month])


def _bump(months: Iterable[str]) -> None:
    found = sorted(set(months))
    if not found:
        return
    statement = upsert(AnalyticsMonth).values(
        [{"month": m, "generation": 1, "computed_generation": None} for m in found]
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
    months' sums (`kept`, by grouping) plus the months counted live (`live`)."""

    kept: Grouped
    live: dict[str, MonthFigures]
    themes: dict[int, int] = field(default_factory=dict)  # category id → its thème's

    def _sum(self, grouping: str) -> dict[Any, Figure]:
        result: dict[Any, Figure] = defaultdict(Figure)
        for key, figure in self.kept[grouping].items():
            result[key].add(figure)
        kinds, key_of = GROUPINGS[grouping]
        for month, cells in self.live.items():
            for key, figure in cells.items():
                if key[0] in kinds:
                    result[key_of(month, key, self.themes)].add(figure)
        return result

    def content_counts(self, themes: dict[int, int]) -> ContentCounts:
        """As `queries.content_counts`; `themes` maps each category id to its thème's."""
        self.themes = themes
        total = self._sum("total")
        return ContentCounts(
            topics={k: f.tally for k, f in self._sum("topic").items()},
            messages={k: f.tally for k, f in self._sum("message").items()},
            theme_messages={k: f.tally for k, f in self._sum("theme").items()},
            total_messages=total[0].tally if 0 in total else Tally(),
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

    def tag_counts(self) -> list[TagCount]:
        """As `queries.tag_counts`: every active mot-clé, and the retired ones still counted."""
        counted = self._sum("tag")
        rows = db.session.execute(
            select(Tag.id, Tag.slug, Tag.name, Tag.retired).order_by(Tag.retired, Tag.name, Tag.id)
        )
        result = []
        for tag_id, slug, name, retired in rows:
            figure = counted.get(tag_id)
            if figure is None and retired:
                continue
            figure = figure or Figure()
            result.append(
                TagCount(slug, name, bool(retired), figure.items, figure.extra, figure.people.count)
            )
        return result


def tallies(start: datetime, end: datetime, *, keep: bool = True) -> Tallies:
    """The period's figures: kept tallies for settled months, the rest from the posts.

    With `keep`, settled months that had to be counted are stored (the caller commits)."""
    now = utcnow()
    stretches = spans(start, end)
    settled = [s for s in stretches if _settled(s, now)]
    kept, counted = _read(
        [s.month for s in settled], [s for s in stretches if not _settled(s, now)]
    )
    missing = [s for s in settled if s.month not in kept["month"]]  # changed, or never kept
    to_store = [s.month for s in missing] if keep else []
    generations = _generations(to_store) if to_store else {}
    counted.update(count_spans(missing))
    if to_store:
        try:
            store({m: counted[m] for m in to_store}, generations)
        except OperationalError:  # the database is busy: keep them another time
            db.session.rollback()
            db.session.info.pop(STORED, None)
    return Tallies(kept, counted)


def refresh(now: datetime | None = None) -> int:
    """Tally every settled month not yet current (`comcep analytics refresh`, the worker);
    returns how many months were counted. Commits after each year of months, so that no
    write lock is held while the next ones are counted."""
    now = now or utcnow()
    first = first_activity()
    if first is None:
        return 0
    stretches = [s for s in spans(first, now) if _settled(s, now)]
    current = set(_read([s.month for s in stretches], [])[0]["month"])
    todo = [s for s in stretches if s.month not in current]
    for chunk in (todo[i : i + 12] for i in range(0, len(todo), 12)):
        generations = _generations([s.month for s in chunk])  # before counting (see store)
        store(count_spans(chunk), generations)
        db.session.commit()
        db.session.info.pop(STORED, None)
    return len(todo)


def disagreements(start: datetime, end: datetime) -> list[str]:
    """Where the figures from the kept tallies differ from the direct queries of `queries`
    over the posts (`comcep analytics check`); people are compared up to THRESHOLD."""

    def capped(tallies: dict[Any, Tally]) -> dict[Any, Tally]:
        return {k: Tally(t.count, min(t.people, THRESHOLD)) for k, t in tallies.items() if t.count}

    kept = tallies(start, end, keep=False)
    themes = {c.id: c.parent_id or c.id for c in category_tree()}
    ours, direct = kept.content_counts(themes), content_counts(start, end)
    pairs: list[tuple[str, Any, Any]] = [
        ("sujets par rubrique", capped(ours.topics), capped(direct.topics)),
        ("messages par rubrique", capped(ours.messages), capped(direct.messages)),
        ("messages par thème", capped(ours.theme_messages), capped(direct.theme_messages)),
        (
            "messages au total",
            capped({0: ours.total_messages}),
            capped({0: direct.total_messages}),
        ),
        (
            "messages par mois",
            capped(kept.messages_by_month()),
            capped(messages_by_month(start, end)),
        ),
    ]
    ours_activity, direct_activity = kept.activity_by_network(), activity_by_network(start, end)
    for label, pick in (("sujets", "topics"), ("réponses", "replies")):
        pairs.append(
            (
                f"{label} par réseau",
                capped({k: getattr(v, pick) for k, v in ours_activity.items()}),
                capped({k: getattr(v, pick) for k, v in direct_activity.items()}),
            )
        )
    pairs.append(
        (
            "mots-clés",
            [(t.slug, t.topics, t.messages, min(t.people, THRESHOLD)) for t in kept.tag_counts()],
            [
                (t.slug, t.topics, t.messages, min(t.people, THRESHOLD))
                for t in tag_counts(start, end)
            ],
        )
    )
    return [label for label, a, b in pairs if a != b]


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
