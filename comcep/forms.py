"""Form base classes: French built-in messages, a CSRF-only form for POST buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm


class BaseForm(FlaskForm):
    class Meta:
        locales = ("fr_FR", "fr")


class ConfirmForm(BaseForm):
    """A form with only the CSRF token, for POST-only buttons (log out, mark read)."""
