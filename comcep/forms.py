"""Form base classes: French built-in messages, a CSRF-only form for POST buttons."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, widgets
from wtforms.fields.choices import Choice, SelectChoice

from comcep.errors import ComcepError

CSRF_MESSAGE = (
    "Le formulaire a expiré ou n'est pas valide (jeton de sécurité manquant ou périmé). "
    "Votre texte est conservé ci-dessous : renvoyez-le."
)


NUL_MESSAGE = "Le texte contient des caractères invisibles non autorisés."


class BaseForm(FlaskForm):
    class Meta:
        locales = ("fr_FR", "fr")

        def render_field(self, field: Field, render_kw: dict) -> Markup:
            # A page often holds several forms: a hidden CSRF input needs no id, and
            # several `id="csrf_token"` on one page break accessibility (RGAA 8.2).
            if field.type == "CSRFTokenField":
                render_kw = {"id": False, **render_kw}
            return super().render_field(field, render_kw)  # type: ignore[misc]

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        token = getattr(self, self.meta.csrf_field_name, None) if self.meta.csrf else None
        if token is not None and token.errors:  # Flask-WTF's messages are English only
            token.errors = [CSRF_MESSAGE]
        # A NUL character in any text: PostgreSQL refuses it in a text column, which
        # answered a bare 400 and lost the form; refused here, the form comes back whole.
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                if NUL_MESSAGE not in field.errors:
                    field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid


class ConfirmForm(BaseForm):
    """A form with only the CSRF token, for POST-only buttons (log out, mark read)."""


def field_errors(form: BaseForm, error: ComcepError, default: str) -> list[str]:
    """The error list of the field a service error is about (or of `default`), so that the
    message shows under the field it concerns."""
    field = form[error.field] if error.field and error.field in form else form[default]
    if not isinstance(field.errors, list):  # a field not validated yet holds a tuple
        field.errors = list(field.errors)
    return field.errors


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs, in the form WTForms 3.3+ expects."""
    return [SelectChoice(value, label) for value, label in pairs]


class Select(widgets.Select):
    """WTForms' select, writing each plain option with one f-string: WTForms formats every
    option's attributes through `Markup.format` (about 40 µs an option), and the search
    form's list of rubriques is written on every search. Same output as WTForms', byte for
    byte (tests/test_forms.py compares them); options with attributes take WTForms' path."""

    @classmethod
    def render_option(cls, choice: Choice, **kwargs: object) -> Markup:
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        value, label = escape(value), escape(choice.label or choice.value)
        return Markup(f'<option {selected}value="{value}">{label}</option>')  # noqa: S704 - escaped
