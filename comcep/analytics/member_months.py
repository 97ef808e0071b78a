"""The comité's member figures, from admissions and departures kept per Paris month.

Counting members at a date, or their admissions and departures by month, grouped every
member on each report: at 12 500 members, 22 to 38 ms of a report, a hundred times its cost
at 125 members. `MemberMonthCount` keeps those events per (month, statut, network), and a
report adds up a few hundred rows; only the partial months at a period's edges are counted
from the members, through the indexes of when members were admitted and left. Members at a
date are those admitted before it less those gone before it, which is `queries`' definition
as long as nobody leaves before being admitted (a departure is dated when it happens).

The counts are kept exact by the flush that changes a member, whatever changed it (a
decision, a departure, a new network or statut, an anonymisation): before the flush, the
member's events are read as the database holds them (`FOR UPDATE` on PostgreSQL, so that a
concurrent change waits instead of being counted twice), after it as they are now, and the
difference is added in the same transaction. A bulk UPDATE or INSERT of members bypasses the
flush: `expire_registrations` touches only accounts never admitted; a bulk load (the
benchmark's generator) ends with `recount()` (`comcep analytics refresh` does it too), and
`comcep analytics check` compares the kept counts with the members.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
    case,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, scoped_session

from comcep.analytics.models import MemberMonthCount
from comcep.analytics.queries import (
    ADMITTED_STATES,
    BEFORE,
    MemberMonth,
    NetworkCount,
    admitted,
    joined_at,
    network_count,
    networks_with,
)
from comcep.analytics.rollups import PARIS, month_start, spans
from comcep.dialects import upsert
from comcep.extensions import UTCDateTime, db
from comcep.members.models import Member

# What a member's events depend on (`network` is the relationship behind `network_id`).
WATCHED = (
    "registration_status",
    "state",
    "statut",
    "network_id",
    "network",
    "decided_at",
    "created_at",
    "left_at",
)
PENDING = "comcep_member_months"  # in Session.info: the members of the flush, before it

Event = tuple[str, str, int]  # (month, statut, network id or 0)


def month_of(when: datetime) -> str:
    local = when.astimezone(PARIS)
    return f"{local.year:04d}-{local.month:02d}"


def _month_begins(when: datetime) -> datetime:
    local = when.astimezone(PARIS)
    return month_start(local.year, local.month)


# --- Keeping the counts -----------------------------------------------------------------


def _events_select() -> Select:
    return select(
        Member.id,
        Member.registration_status,
        Member.state,
        Member.statut,
        Member.network_id,
        joined_at(),
        Member.left_at,
    )


def _events(row: Sequence[Any]) -> Counter[tuple[Event, str]]:
    """A member's admission and departure, as `queries.member_growth` counts them."""
    _id, status, state, statut, network_id, joined, left = row
    found: Counter[tuple[Event, str]] = Counter()
    if status != "approved" or state not in ADMITTED_STATES:
        return found
    network = network_id or 0
    found[((month_of(joined), statut, network), "joined")] += 1
    if left is not None:
        found[((month_of(left), statut, network), "departed")] += 1
    return found


def _read(session: Session, ids: Sequence[int], *, lock: bool = False) -> dict[int, Counter]:
    if not ids:
        return {}
    statement = _events_select().where(Member.id.in_(ids))
    if lock:
        statement = statement.with_for_update()  # SQLite has no FOR UPDATE: it writes alone
    rows = session.connection().execute(statement)
    return {row[0]: _events(row) for row in rows}


def _changed(member: Member) -> bool:
    attrs = inspect(member).attrs
    return any(attrs[name].history.has_changes() for name in WATCHED)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    session.info.pop(PENDING, None)  # a flush that failed left its own behind
    members = [m for m in session.new if isinstance(m, Member)]
    members += [m for m in session.dirty if isinstance(m, Member) and _changed(m)]
    members += [m for m in session.deleted if isinstance(m, Member)]
    if not members:
        return
    before = _read(session, [m.id for m in members if m.id is not None], lock=True)
    session.info[PENDING] = [(m, before.get(m.id, Counter())) for m in members]


def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    now = _read(session, [m.id for m, _before in pending])  # a deleted member reads nothing
    change: Counter[tuple[Event, str]] = Counter()
    for member, before in pending:
        change.update(now.get(member.id, Counter()))
        change.subtract(before)
    _add(session.connection(), change)


def _add(connection: Connection, change: Counter[tuple[Event, str]]) -> None:
    rows: dict[Event, dict[str, Any]] = {}
    for (key, column), n in change.items():
        if n:
            month, statut, network = key
            row = rows.setdefault(
                key,
                {"month": month, "statut": statut, "network_id": network, "joined": 0},
            )
            row.setdefault("departed", 0)
            row[column] += n
    if not rows:
        return
    table = MemberMonthCount.__table__
    # In key order: two flushes touching the same rows lock them in the same order.
    ordered = [rows[key] for key in sorted(rows)]
    statement = upsert(table, connection.dialect.name).values(ordered)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.month, table.c.statut, table.c.network_id],
        set_={
            "joined": table.c.joined + statement.excluded.joined,
            "departed": table.c.departed + statement.excluded.departed,
        },
    )
    connection.execute(statement)


def watch(session: scoped_session) -> None:
    """Keep the counts with every flush of this session (once, whatever the apps built)."""
    for name, listener in (("before_flush", _before_flush), ("after_flush", _after_flush)):
        if not event.contains(session, name, listener):
            event.listen(session, name, listener)


def _from_members(connection: Connection) -> Counter[tuple[Event, str]]:
    counted: Counter[tuple[Event, str]] = Counter()
    for row in connection.execute(_events_select().where(admitted())):
        counted.update(_events(row))
    return counted


def recount(connection: Connection | None = None) -> int:
    """Count every month again from the members, in the caller's transaction (`comcep
    analytics refresh`; the benchmark's generator after its bulk load, on its connection);
    returns the number of admissions counted."""
    connection = connection or db.session.connection()
    if connection.dialect.name == "postgresql":
        # A member changed meanwhile adds to the counts after this transaction, not before.
        connection.execute(
            text(f"LOCK TABLE {MemberMonthCount.__tablename__} IN SHARE ROW EXCLUSIVE MODE")
        )
    connection.execute(delete(MemberMonthCount))
    counted = _from_members(connection)
    _add(connection, counted)
    return sum(n for (_event, column), n in counted.items() if column == "joined")


# --- Reading them -----------------------------------------------------------------------


Edge = tuple[str, datetime, datetime]  # a partial month: (label, start, end)


def _edge_parts(i: int) -> list[Select]:
    """Admissions and departures within edge `i` (bound parameters e{i}_…), counted from the
    members. Both ranges read an index: `ix_members_joined` (decided_at, created_at), once
    for the decisions and once for the accounts admitted without one, and `ix_members_left_at`.
    """
    lo = bindparam(f"e{i}_lo", type_=UTCDateTime())
    hi = bindparam(f"e{i}_hi", type_=UTCDateTime())
    joined = or_(
        and_(Member.decided_at >= lo, Member.decided_at < hi),
        and_(Member.decided_at.is_(None), Member.created_at >= lo, Member.created_at < hi),
    )
    left = and_(Member.left_at >= lo, Member.left_at < hi)
    n = func.count(Member.id)
    return [
        select(
            Member.statut.label("statut"),
            func.coalesce(Member.network_id, 0).label("network_id"),
            bindparam(f"e{i}_label", type_=String()).label("month"),
            (n * is_joined).label("joined"),
            (n * (1 - is_joined)).label("departed"),
        )
        .where(admitted(), within)
        .group_by(Member.statut, Member.network_id)
        for within, is_joined in ((joined, 1), (left, 0))
    ]


def _edge_params(edges: Sequence[Edge]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, (label, start, end) in enumerate(edges):
        params |= {f"e{i}_label": label, f"e{i}_lo": start, f"e{i}_hi": end}
    return params


def _kept(where: Any, month: Any = MemberMonthCount.month) -> Select:
    k = MemberMonthCount
    return select(
        k.statut.label("statut"),
        k.network_id.label("network_id"),
        month.label("month"),
        k.joined.label("joined"),
        k.departed.label("departed"),
    ).where(where)


@cache
def _growth_statement(edges: int, whole: bool) -> Select:
    """Built once per shape, with bound parameters: building the statement cost more than
    running it on a small forum."""
    k = MemberMonthCount
    first = bindparam("first", type_=String())
    in_kept = k.month < first
    if whole:
        in_kept = or_(in_kept, k.month.between(bindparam("whole_lo"), bindparam("whole_hi")))
    parts = [_kept(in_kept, case((k.month < first, BEFORE), else_=k.month))]
    for i in range(edges):
        parts += _edge_parts(i)
    events = union_all(*parts).subquery()
    return select(
        events.c.statut,
        events.c.network_id,
        events.c.month,
        func.sum(events.c.joined),
        func.sum(events.c.departed),
    ).group_by(events.c.statut, events.c.network_id, events.c.month)


@dataclass(frozen=True)
class NetworkMonth:
    statut: str
    network_id: int  # 0: none
    month: str  # 'YYYY-MM', or BEFORE for the baseline
    joined: int
    left: int


def member_growth(start: datetime, end: datetime) -> list[MemberMonth]:
    """`queries.member_growth` from the kept counts (`network_growth`, summed by statut)."""
    totals: Counter[tuple[str, str, str]] = Counter()
    for row in network_growth(start, end):
        totals[(row.statut, row.month, "joined")] += row.joined
        totals[(row.statut, row.month, "left")] += row.left
    keys = {(statut, month) for statut, month, _event in totals}
    return [
        MemberMonth(
            statut, month, totals[(statut, month, "joined")], totals[(statut, month, "left")]
        )
        for statut, month in keys
        if totals[(statut, month, "joined")] or totals[(statut, month, "left")]
    ]


def network_growth(start: datetime, end: datetime) -> list[NetworkMonth]:
    """Admissions and departures by statut, network and Paris month, with a baseline before
    `start`, from the kept counts: the whole months of the period and those before it are
    read, the partial months at its edges counted from the members."""
    stretches = spans(start, end)
    whole = [s.month for s in stretches if s.whole]
    edges: list[Edge] = []
    begins = _month_begins(start)
    if begins < start:
        edges.append((BEFORE, begins, start))
    edges += [(s.month, s.start, s.end) for s in stretches if not s.whole]
    params = _edge_params(edges) | {"first": month_of(start)}
    if whole:
        params |= {"whole_lo": whole[0], "whole_hi": whole[-1]}
    rows = db.session.execute(_growth_statement(len(edges), bool(whole)), params)
    return [
        NetworkMonth(statut, int(network), month, int(j), int(d))
        for statut, network, month, j, d in rows
        if j or d
    ]


@cache
def _network_statement(edges: int) -> Select:
    parts = [_kept(MemberMonthCount.month < bindparam("month", type_=String()))]
    for i in range(edges):
        parts += _edge_parts(i)
    events = union_all(*parts).subquery()
    counted = (
        select(
            events.c.network_id,
            func.sum(events.c.joined - events.c.departed).label("members"),
        )
        .group_by(events.c.network_id)
        .subquery()
    )
    return networks_with(counted)


def members_by_network(end: datetime) -> list[NetworkCount]:
    """`queries.members_by_network` from the kept counts: every month before `end`'s is read,
    and `end`'s own month, when `end` falls within it, counted from the members."""
    begins = _month_begins(end)
    edges: list[Edge] = [("", begins, end)] if begins < end else []
    params = _edge_params(edges) | {"month": month_of(end)}
    rows = db.session.execute(_network_statement(len(edges)), params)
    return [network_count(row) for row in rows]


def _nonzero(counts: Counter) -> dict:
    return {key: n for key, n in counts.items() if n}


def disagreements(start: datetime, end: datetime) -> list[str]:
    """Where the kept counts differ from the members (`comcep analytics check`): every kept
    month, then the figures of the period."""
    from comcep.analytics import queries

    k = MemberMonthCount
    kept: Counter[tuple[Event, str]] = Counter()
    for month, statut, network, joined, departed in db.session.execute(
        select(k.month, k.statut, k.network_id, k.joined, k.departed)
    ):
        kept[((month, statut, network), "joined")] += joined
        kept[((month, statut, network), "departed")] += departed
    found = []
    growth = set(member_growth(start, end)) == set(queries.member_growth(start, end))
    if _nonzero(kept) != _nonzero(_from_members(db.session.connection())) or not growth:
        found.append("membres par mois")
    if members_by_network(end) != queries.members_by_network(end):
        found.append("membres par réseau")
    return found
