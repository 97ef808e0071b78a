"""The period selector of /analyses (GET, no CSRF: it changes nothing)."""

from __future__ import annotations

from datetime import date

from wtforms import DateField, SelectField
from wtforms.validators import Optional

from comcep.analytics.report import DEFAULT_PRESET, PRESETS, Period, preset_period
from comcep.forms import BaseForm, choices

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


class PeriodForm(BaseForm):
    class Meta:
        csrf = False

    periode = SelectField(
        "Période",
        choices=choices(PRESETS.items()),
        default=DEFAULT_PRESET,
        validators=[Optional()],
    )
    du = DateField("Du", format="%Y-%m-%d", validators=[Optional()])
    au = DateField("Au (inclus)", format="%Y-%m-%d", validators=[Optional()])

    @property
    def wants_dates(self) -> bool:
        """Chosen dates: « Dates choisies », or a link giving du/au without a preset."""
        return self.periode.data == "dates" or (
            not self.periode.raw_data and bool(self.du.raw_data or self.au.raw_data)
        )

    def validate(self, extra_validators: dict | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.wants_dates:
            return True
        ok = True
        for field in (self.du, self.au):
            if field.data is None:
                field.errors.append("Indiquez une date (jj/mm/aaaa).")
                ok = False
            elif not EARLIEST <= field.data <= LATEST:
                field.errors.append("Choisissez une date entre 2000 et 2100.")
                ok = False
        if ok and self.du.data > self.au.data:
            self.au.errors.append("La date de fin doit suivre la date de début.")
            ok = False
        return ok

    def period(self, today: date) -> Period:
        """The period asked for; call after validate()."""
        if self.wants_dates:
            return Period(self.du.data, self.au.data, "dates")
        return preset_period(self.periode.data or DEFAULT_PRESET, today)
