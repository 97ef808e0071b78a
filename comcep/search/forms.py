"""The search form (GET, no CSRF: it changes nothing)."""

from __future__ import annotations

from wtforms import BooleanField, DateField, IntegerField, SearchField, SelectField
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
    auteur = IntegerField("Auteur", validators=[Optional()])
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
