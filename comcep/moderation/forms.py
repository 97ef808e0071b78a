"""Moderation forms."""

from __future__ import annotations

import re

from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from comcep.forms import BaseForm, choices
from comcep.forum.forms import _title_field
from comcep.moderation.models import REPORT_REASONS


class ReportForm(BaseForm):
    reason = RadioField(
        "Raison du signalement",
        choices=choices(REPORT_REASONS.items()),
        validators=[InputRequired("Choisissez une raison.")],
    )
    comment = TextAreaField(
        "Précisions (facultatif, obligatoire pour « Autre raison »)",
        validators=[Optional(), Length(max=2000, message="2 000 caractères au plus.")],
    )

    def validate(self, extra_validators: dict | None = None) -> bool:
        """« Autre raison » needs its text: a bad request (400), not a conflict."""
        if not super().validate(extra_validators):
            return False
        if self.reason.data == "other" and not (self.comment.data or "").strip():
            self.comment.errors.append("Précisez la raison de votre signalement.")
            return False
        return True


class ReasonForm(BaseForm):
    reason = TextAreaField(
        "Raison (montrée à l'auteur)",
        validators=[
            DataRequired("Indiquez la raison."),
            Length(max=2000, message="2 000 caractères au plus."),
        ],
    )


class OptionalReasonForm(BaseForm):
    reason = StringField("Raison (facultatif)", validators=[Optional(), Length(max=2000)])


def _confirm_widening_field() -> BooleanField:
    return BooleanField(
        "Je confirme : de nouveaux lecteurs (hors pairs, pairs) liront ces messages",
        description="Nécessaire quand les messages vont là où d'autres membres les liront : "
        "une rubrique ouverte aux hors pairs, ou moins réservée que celle d'où ils viennent.",
    )


class MoveForm(BaseForm):
    category = SelectField(
        "Nouvelle rubrique",
        validators=[DataRequired("Choisissez une rubrique.")],
        validate_choice=True,
    )
    reason = StringField("Raison (facultatif)", validators=[Optional(), Length(max=2000)])
    confirm_widening = _confirm_widening_field()


class RenameForm(BaseForm):
    title = _title_field()


class SplitForm(BaseForm):
    posts = SelectMultipleField(
        "Messages à déplacer dans un nouveau sujet",
        coerce=int,
        validate_choice=True,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired("Sélectionnez au moins un message.")],
    )
    title = _title_field()
    category = SelectField("Rubrique du nouveau sujet", validate_choice=True)
    confirm_widening = _confirm_widening_field()


_TOPIC_REF = re.compile(r"^\s*(?:(?:https?://[^/\s]+)?/t/)?(\d{1,9})(?:[\s/?#—-]|$)")


def topic_id_of(text: str | None) -> int | None:
    """The topic a merge target names: « 24 », « 24 — Titre · Rubrique » (a suggestion), or
    its address (« https://…/t/24/titre », « /t/24 »); None when it names none."""
    found = _TOPIC_REF.match(text or "")
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


class MergeForm(BaseForm):
    target = StringField(
        "Sujet dans lequel fusionner",
        description="Quelques mots de son titre (des sujets vous sont proposés), son numéro "
        "ou son adresse.",
        validators=[InputRequired("Indiquez le sujet cible."), Length(max=2000)],
    )
    reason = StringField("Raison (facultatif)", validators=[Optional(), Length(max=2000)])
    confirm_widening = _confirm_widening_field()


class RelayForm(BaseForm):
    category = SelectField("Rubrique des pairs où publier le relais", validate_choice=True)
    summary = TextAreaField(
        "Votre résumé de l'échange",
        validators=[
            DataRequired("Rédigez un court résumé."),
            Length(max=5000, message="5 000 caractères au plus."),
        ],
    )


class MemberModerationForm(BaseForm):
    action = RadioField(
        "Action",
        choices=choices(
            [
                ("suspend", "Suspendre le compte"),
                ("silence", "Mettre en lecture seule"),
                ("lift", "Lever la suspension et la lecture seule"),
            ]
        ),
        validators=[InputRequired("Choisissez une action.")],
    )
    days = IntegerField(
        "Durée en jours (vide : suspension sans limite)",
        validators=[Optional(), NumberRange(min=1, max=3650, message="Entre 1 et 3 650 jours.")],
    )
    reason = TextAreaField("Raison", validators=[Optional(), Length(max=2000)])


class SettingsForm(BaseForm):
    premoderation_posts = IntegerField(
        "Nombre de premiers messages d'un nouveau membre soumis à validation (0 : aucun)",
        validators=[InputRequired("Indiquez un nombre."), NumberRange(min=0, max=100)],
    )


# The per-rubrique switches an admin may flip from the web (labels shown in the table).
CATEGORY_FLAGS = {
    "attachments_enabled": "Pièces jointes",
    "accepts_solutions": "Accepte les solutions",
    "read_only": "Lecture seule",
    "staff_topics_only": "Sujets ouverts par l'équipe seulement",
}


class CategoryFlagsForm(BaseForm):
    attachments_enabled = BooleanField(CATEGORY_FLAGS["attachments_enabled"])
    accepts_solutions = BooleanField(CATEGORY_FLAGS["accepts_solutions"])
    read_only = BooleanField(CATEGORY_FLAGS["read_only"])
    staff_topics_only = BooleanField(CATEGORY_FLAGS["staff_topics_only"])


class LogFilterForm(BaseForm):
    class Meta:
        csrf = False

    action = SelectField("Action", validators=[Optional()], validate_choice=False)
    acteur = SelectField("Par", coerce=int, validators=[Optional()], validate_choice=True)


class CategoryForm(BaseForm):
    """A rubrique's (or a thème's) name and who may read it; its switches are on the list."""

    name = StringField(
        "Nom",
        validators=[
            DataRequired("Indiquez le nom."),
            Length(max=160, message="160 caractères au plus."),
        ],
    )
    description = TextAreaField(
        "Description (facultative)",
        validators=[Optional(), Length(max=1000, message="1 000 caractères au plus.")],
    )
    position = IntegerField(
        "Position (les plus petites d'abord)",
        validators=[
            Optional(),
            NumberRange(min=0, max=10_000, message="Un nombre de 0 à 10 000."),
        ],
    )
    open_to_hors_pairs = BooleanField("Ouverte aux hors pairs")
    staff_only = BooleanField("Réservée à l'équipe d'animation")
    group = SelectField("Réservée à un groupe", validate_choice=True, default="")
    confirm_opening = BooleanField(
        "Je confirme : ses nouveaux lecteurs (hors pairs, pairs) liront aussi tout ce qui y "
        "est déjà publié"
    )


class NewCategoryForm(CategoryForm):
    parent = SelectField("Dans le thème", validate_choice=True, default="")
