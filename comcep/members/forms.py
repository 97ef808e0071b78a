"""Member forms."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from comcep.forms import BaseForm


class LoginForm(BaseForm):
    email = EmailField(
        "Adresse e-mail",
        validators=[DataRequired("Indiquez votre adresse e-mail."), Length(max=254)],
    )
    password = PasswordField(
        "Mot de passe",
        validators=[DataRequired("Indiquez votre mot de passe."), Length(max=1000)],
    )
    remember = BooleanField("Rester connecté·e")


class MemberFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField("Nom", validators=[Optional(), Length(max=80)])
    network = SelectField("Réseau", validators=[Optional()], validate_choice=False)
    region = SelectField("Région", validators=[Optional()], validate_choice=False)
