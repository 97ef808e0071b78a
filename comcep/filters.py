"""Template filters and helpers: French dates and numbers, post bodies, member names.

A topic page formats a few dozen dates and numbers; Babel's general formatter costs about
30 µs a date and 10 µs a number. The patterns the templates use are therefore formatted
here from Babel's own French month names (read once), and every other pattern or value goes
to Babel; `tests/test_filters.py` checks that both agree.

`body` and `member_name` appear once per post: as Jinja macros, each call cost more than
the rest of the post's header.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_month_names
from babel.numbers import format_decimal, get_group_symbol
from flask import Flask, current_app
from markupsafe import Markup

from comcep.extensions import utcnow

TIMEZONE = "Europe/Paris"
LOCALE = "fr_FR"
DEFAULT_FORMAT = "d MMM yyyy 'à' HH:mm"

_ZONE = ZoneInfo(TIMEZONE)
_ABBREVIATED = dict(get_month_names("abbreviated", locale=LOCALE))
_WIDE = dict(get_month_names("wide", locale=LOCALE))
_GROUP = get_group_symbol(locale=LOCALE)

_FAST_DATES: dict[str, Callable[[datetime], str]] = {
    DEFAULT_FORMAT: lambda t: (
        f"{t.day} {_ABBREVIATED[t.month]} {t.year} à {t.hour:02d}:{t.minute:02d}"
    ),
    "d MMM yyyy": lambda t: f"{t.day} {_ABBREVIATED[t.month]} {t.year}",
    "MMM yyyy": lambda t: f"{_ABBREVIATED[t.month]} {t.year}",
    "d MMMM yyyy": lambda t: f"{t.day} {_WIDE[t.month]} {t.year}",
}


def date_fr(value: datetime | None, fmt: str = DEFAULT_FORMAT) -> str:
    """A date as French readers write it, in Paris time (naive values are UTC)."""
    if value is None:
        return ""
    fast = _FAST_DATES.get(fmt)
    if fast is None or not isinstance(value, datetime) or not 1000 <= value.year <= 9999:
        return format_datetime(value, fmt, tzinfo=TIMEZONE, locale=LOCALE)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return fast(value.astimezone(_ZONE))


def date_relative(value: datetime | None) -> str:
    """« il y a 3 h » for recent dates, the full date otherwise."""
    if value is None:
        return ""
    seconds = (utcnow() - value).total_seconds()
    if seconds < 60:
        return "à l'instant"
    if seconds < 3600:
        return f"il y a {int(seconds // 60)} min"
    if seconds < 86400:
        return f"il y a {int(seconds // 3600)} h"
    return date_fr(value, "d MMM yyyy")


def number_fr(value: int | float) -> str:
    """1 234 567 (narrow no-break spaces between thousands), 12,5 for decimals."""
    if type(value) is int:
        return f"{value:,}".replace(",", _GROUP)
    return format_decimal(value, locale=LOCALE)


def post_place(post: object, sign: str = "n° ") -> str:
    """Where a post stands in its topic, for « le message n° 3 » (`sign` before the number):
    a reply not published has no number there (`Post.number` below 0), but its state."""
    number = post.number  # type: ignore[attr-defined]
    if number > 0:
        return f"{sign}{number}"
    return "en attente de validation" if post.is_pending else "non publié"  # type: ignore[attr-defined]


def body(html: str) -> Markup:
    """A post's stored HTML, sanitised once at write time (`comcep.markup`): the only place
    stored HTML is marked safe."""
    return Markup(f'<div class="post__body">{html}</div>')  # noqa: S704 - sanitised at write


def member_name(member: object | None, *, linked: bool = True) -> Markup:
    """A member's name as a link to the profile (`linked=False`: a profile the reader may
    not open), or « Ancien membre » once they have left."""
    if member is None or getattr(member, "state", None) == "left":
        return Markup("Ancien membre")
    if not linked:
        return Markup("{}").format(member.display_name)  # type: ignore[attr-defined]
    url = current_app.jinja_env.globals["url_for"]("members.profile", member_id=member.id)  # type: ignore[attr-defined]
    return Markup('<a href="{}">{}</a>').format(url, member.display_name)  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    app.add_template_global(body)
    app.add_template_global(member_name)
    app.add_template_filter(date_fr)
    app.add_template_filter(date_relative)
    app.add_template_filter(number_fr)
    app.add_template_filter(post_place)
