"""Form base classes: French built-in messages, a CSRF-only form for POST buttons."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


class BaseForm(FlaskForm):
    class Meta:
        locales = ("fr_FR", "fr")


class ConfirmForm(BaseForm):
    """A form with only the CSRF token, for POST-only buttons (log out, mark read)."""


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs, in the form WTForms 3.3+ expects."""
    return [SelectChoice(value, label) for value, label in pairs]
