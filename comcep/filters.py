"""Template filters: French dates and numbers."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask import Flask

from comcep.extensions import utcnow

TIMEZONE = "Europe/Paris"


def date_fr(value: datetime | None, fmt: str = "d MMM yyyy 'à' HH:mm") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt, tzinfo=TIMEZONE, locale="fr_FR")


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
    return format_decimal(value, locale="fr_FR")


def init_app(app: Flask) -> None:
    app.add_template_filter(date_fr)
    app.add_template_filter(date_relative)
    app.add_template_filter(number_fr)
