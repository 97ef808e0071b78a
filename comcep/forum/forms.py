"""Forum forms: limits and messages of SPEC §9 and issue 2 (title 5–200, body 1–50 000)."""

from __future__ import annotations

from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from comcep.forms import BaseForm
from comcep.forum.services import BODY_MAX, BODY_MIN, TITLE_MAX, TITLE_MIN


def _no_control_characters(_form: BaseForm, field: StringField) -> None:
    if field.data and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in field.data):
        raise ValidationError("Le texte contient des caractères invisibles non autorisés.")


def _title_field() -> StringField:
    return StringField(
        "Titre",
        validators=[
            DataRequired("Le titre est obligatoire."),
            Length(
                min=TITLE_MIN,
                max=TITLE_MAX,
                message=f"Le titre doit compter entre {TITLE_MIN} et {TITLE_MAX} caractères.",
            ),
            _no_control_characters,
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


def _body_field() -> TextAreaField:
    return TextAreaField(
        "Message",
        validators=[
            DataRequired("Le message ne peut pas être vide."),
            Length(
                min=BODY_MIN,
                max=BODY_MAX,
                message=f"Le message doit compter au plus {BODY_MAX:,} caractères.".replace(
                    ",", " "
                ),
            ),
            _no_control_characters,
        ],
    )


class TopicForm(BaseForm):
    title = _title_field()
    body = _body_field()
    preview = SubmitField("Prévisualiser")
    submit = SubmitField("Publier le sujet")


class ReplyForm(BaseForm):
    body = _body_field()
    preview = SubmitField("Prévisualiser")
    submit = SubmitField("Publier la réponse")


class EditPostForm(BaseForm):
    title = _title_field()
    body = _body_field()
    preview = SubmitField("Prévisualiser")
    submit = SubmitField("Enregistrer les modifications")
