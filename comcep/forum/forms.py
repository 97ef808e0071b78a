"""Forum forms: limits and messages of SPEC §9 and issue 2 (title 5–200, body 1–50 000)."""

from __future__ import annotations

from flask_wtf.file import MultipleFileField
from wtforms import SelectMultipleField, StringField, SubmitField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length, ValidationError

from comcep.forms import NUL_MESSAGE, BaseForm
from comcep.forum.services import BODY_MAX, BODY_MIN, MAX_TAGS, TITLE_MAX, TITLE_MIN


def _no_control_characters(_form: BaseForm, field: StringField) -> None:
    if field.data and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in field.data):
        raise ValidationError(NUL_MESSAGE)  # the same words for any invisible character


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


def _at_most_max_tags(_form: BaseForm, field: SelectMultipleField) -> None:
    if field.data and len(set(field.data)) > MAX_TAGS:
        raise ValidationError(f"Choisissez {MAX_TAGS} mots-clés au plus.")


def _tags_field() -> SelectMultipleField:
    return SelectMultipleField(
        "Mots-clés (5 au plus)",
        validators=[_at_most_max_tags],
        validate_choice=True,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )


def _attachments_field() -> MultipleFileField:
    return MultipleFileField(
        "Pièces jointes",
        description="5 fichiers au plus : PDF, documents OpenDocument ou Office, images PNG, "
        "JPEG ou WebP, texte ou CSV.",
    )


class TopicForm(BaseForm):
    title = _title_field()
    body = _body_field()
    tags = _tags_field()
    attachments = _attachments_field()
    preview = SubmitField("Prévisualiser")
    submit = SubmitField("Publier le sujet")


class ReplyForm(BaseForm):
    body = _body_field()
    attachments = _attachments_field()
    preview = SubmitField("Prévisualiser")
    submit = SubmitField("Publier la réponse")


class PreviewForm(BaseForm):
    """The text of an editor's « Prévisualiser », sent without the rest of its form."""

    body = _body_field()


class EditPostForm(BaseForm):
    title = _title_field()
    body = _body_field()
    tags = _tags_field()
    preview = SubmitField("Prévisualiser")
    submit = SubmitField("Enregistrer les modifications")
