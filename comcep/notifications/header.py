"""The header's counters (bell, private messages, moderation queue, registration requests
waiting for a référent): one statement per request, through the wall, or columns a page
folds into a statement it already makes (the topic page: one round trip fewer on the page
members load most)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from flask import g
from sqlalchemy import ColumnElement, Select, select

from comcep import policy
from comcep.extensions import read_columns
from comcep.members import queries as member_queries
from comcep.messages import queries as message_queries
from comcep.moderation import queries as moderation_queries
from comcep.notifications import services
from comcep.policy import Viewer

_KEPT = "_comcep_header_counts"  # on `g`; `policy.clear_request_cache` forgets it
# The bell and the messages are counted up to this and shown « 99+ » past it: a member's
# header costs the same whatever the length of their history.
BADGE_CAP = 99
_NOBODY = {
    "bell_count": "",
    "unread_messages": "",
    "open_reports": 0,
    "waiting_registrations": 0,
}
# Which counters a viewer's header holds: (staff, decides registrations).
Variant = tuple[bool, bool]


def variant(viewer: Viewer) -> Variant:
    """The columns this viewer's header reads: a member who is neither staff nor référent
    reads the bell and the messages only, and no column more."""
    return viewer.is_staff, policy.decides_registrations(viewer)


@functools.cache
def columns(staff: bool, registrations: bool = False) -> tuple[ColumnElement, ...]:
    """The counters as scalar subqueries over the bound `member_id`, `policy.VISIBLE` and
    `policy.VALIDATION_NETWORK` (see `params`), built once per variant: the same objects
    each time, so a statement that carries them is built once too."""
    found: list[ColumnElement] = [
        services.unread_count_column(staff),
        message_queries.unread_count_column(BADGE_CAP),
    ]
    if staff:
        found.append(moderation_queries.waiting_count_query())
    if registrations:
        found.append(member_queries.waiting_registrations_count_column(staff))
    return tuple(found)


@functools.cache
def _statement(staff: bool, registrations: bool) -> Select:
    return select(*columns(staff, registrations))


def params(viewer: Viewer) -> dict[str, Any]:
    """What `columns` are bound to."""
    return {
        "member_id": viewer.member_id,
        **policy.visibility_params(viewer),
        **policy.registration_params(viewer),
    }


def read_with_counts(
    viewer: Viewer, page_columns: tuple[ColumnElement, ...], page_params: dict[str, Any]
) -> tuple:
    """A page's own scalar columns (bound to `member_id` and `page_params`), read in the
    statement that reads the counters, which are kept for this request: one round trip."""
    row = read_columns(_combined(page_columns, *variant(viewer)), params(viewer) | page_params)
    values = tuple(row.one())
    keep(viewer, values[len(page_columns) :])
    return tuple(values[: len(page_columns)])


@functools.cache
def _combined(page_columns: tuple[ColumnElement, ...], staff: bool, registrations: bool) -> Select:
    return select(*page_columns, *columns(staff, registrations))


def keep(viewer: Viewer, values: Sequence[int]) -> None:
    """Keep the values of `columns(*variant(viewer))` read by a page's own statement, for
    `counts` to serve this request."""
    g.setdefault(_KEPT, _as_counts(viewer, values))


def forget() -> None:
    """The counters kept for this request are stale (the page changed what they count)."""
    g.pop(_KEPT, None)


def counts(viewer: Viewer) -> dict[str, int | str]:
    """The counters of this request: read once (one statement) unless a page kept them."""
    if not viewer.is_authenticated:
        return _NOBODY
    kept = g.get(_KEPT)
    if kept is None:
        row = read_columns(_statement(*variant(viewer)), params(viewer)).one()
        kept = g.setdefault(_KEPT, _as_counts(viewer, row))
    return kept


def _as_counts(viewer: Viewer, values: Sequence[int]) -> dict[str, int | str]:
    """The values of `columns(*variant(viewer))` by name, 0 for those it does not read; the
    bell and the messages as their badges' text (see `badge`)."""
    staff, registrations = variant(viewer)
    rest = iter(values[2:])
    bell, messages = values[0], values[1]
    return {
        "bell_count": badge(bell),
        "unread_messages": badge(messages, more=messages > BADGE_CAP),
        "open_reports": next(rest) if staff else 0,
        "waiting_registrations": next(rest) if registrations else 0,
    }


def badge(count: int, *, more: bool = False) -> str:
    """A counter's badge: nothing for none; past `BADGE_CAP`, or when more were left
    uncounted, « n+ » (at least n)."""
    if more or count > BADGE_CAP:
        return f"{min(count, BADGE_CAP)}+"
    return str(count) if count else ""
