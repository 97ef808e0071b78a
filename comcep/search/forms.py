"""The search form (GET, no CSRF: it changes nothing)."""

from __future__ import annotations

from wtforms import BooleanField, DateField, SearchField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from comcep.forms import BaseForm, Select, choices
from comcep.search.backend import MAX_QUERY_LENGTH, MESSAGE_TOO_LONG


class SearchForm(BaseForm):
    class Meta:
        csrf = False

    q = SearchField(
        "Rechercher",
        render_kw={"maxlength": MAX_QUERY_LENGTH},
        validators=[
            Length(
                max=MAX_QUERY_LENGTH,
                message=MESSAGE_TOO_LONG,
            )
        ],
    )
    rubrique = SelectField(
        "Rubrique", validators=[Optional()], validate_choice=False, widget=Select()
    )
    # A name (completed from the members the reader may see), or a member's number, as
    # the profile's « Chercher dans ses messages » sends it.
    auteur = StringField(
        "Auteur",
        description="Nom du membre : les suggestions viennent en tapant.",
        validators=[Optional(), Length(max=80, message="Ce nom est trop long (80 caractères).")],
    )
    du = DateField("Du", validators=[Optional()], format="%Y-%m-%d")
    au = DateField("Au", validators=[Optional()], format="%Y-%m-%d")
    titres = BooleanField("Dans les titres seulement")
    tri = SelectField(
        "Trier par",
        choices=choices([("relevance", "Pertinence"), ("date", "Date (plus récents d'abord)")]),
        validators=[Optional()],
        validate_choice=False,
        widget=Select(),
    )

    def validate_au(self, field: DateField) -> None:
        if field.data and self.du.data and field.data < self.du.data:
            raise ValidationError("La date de fin doit suivre la date de début.")
