"""Member forms: login, registration, password and e-mail changes, validation, invitations."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from comcep.forms import BaseForm, choices
from comcep.members.models import is_email_address


def _email_ok(_form: BaseForm, field: EmailField) -> None:
    if field.data and not is_email_address(field.data.strip()):
        raise ValidationError("Adresse e-mail invalide.")


def _email_field(label: str = "Adresse e-mail") -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired("Indiquez votre adresse e-mail."),
            Length(max=254, message="254 caractères au plus."),
            _email_ok,
        ],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
    )


def _new_password(label: str = "Mot de passe") -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired("Choisissez un mot de passe."), Length(max=200)],
        description="10 caractères au moins, mêlant trois sortes de caractères (minuscules, "
        "majuscules, chiffres, symboles), ou bien 16 caractères au moins ; ni votre nom, ni "
        "votre adresse, ni un mot de passe courant.",
    )


class LoginForm(BaseForm):
    email = _email_field()
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


class RegistrationForm(BaseForm):
    name = StringField(
        "Nom et prénom",
        validators=[DataRequired("Indiquez votre nom."), Length(min=2, max=80)],
    )
    email = _email_field("Adresse e-mail professionnelle")
    # The service checks the code and says why a network is refused (unknown, or one
    # that no longer exists), more clearly than WTForms' « N'est pas un choix valide ».
    network = SelectField(
        "Réseau", validators=[DataRequired("Choisissez votre réseau.")], validate_choice=False
    )
    organisation = StringField(
        "Structure",
        validators=[DataRequired("Indiquez votre structure."), Length(max=160)],
    )
    region = SelectField("Région", validators=[DataRequired("Choisissez votre région.")])
    motivation = TextAreaField(
        "Motivation",
        validators=[
            DataRequired("Dites en quelques mots pourquoi vous souhaitez rejoindre la ComCEP."),
            Length(max=2000, message="2 000 caractères au plus."),
        ],
    )
    password = _new_password()


class EmailOnlyForm(BaseForm):
    email = _email_field()


class NewPasswordForm(BaseForm):
    password = _new_password("Nouveau mot de passe")


class ChangePasswordForm(BaseForm):
    current = PasswordField("Mot de passe actuel", validators=[DataRequired("Indiquez-le.")])
    password = _new_password("Nouveau mot de passe")


class ChangeEmailForm(BaseForm):
    email = _email_field("Nouvelle adresse e-mail")
    # Three forms share the account page: each password field has an id of its own.
    password = PasswordField(
        "Mot de passe", id="email-password", validators=[DataRequired("Indiquez-le.")]
    )


class ProfileForm(BaseForm):
    """What a member changes of their own profile from « Mon compte ». Not the network nor
    the statut (the staff manage them), nor the name the référent validated (SPEC §4)."""

    # Required of pairs only, as at registration: the service says so (hors pairs are
    # invited with or without one).
    organisation = StringField(
        "Structure",
        validators=[Optional(), Length(max=160, message="160 caractères au plus.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    region = SelectField("Région", validators=[DataRequired("Choisissez votre région.")])


class LeaveForm(BaseForm):
    password = PasswordField(
        "Mot de passe", id="leave-password", validators=[DataRequired("Indiquez-le.")]
    )
    confirm = BooleanField(
        "Je comprends que mon compte sera anonymisé et que je ne pourrai plus me connecter.",
        validators=[InputRequired("Cochez la case pour confirmer.")],
    )
    remove_posts = BooleanField(
        "Retirer aussi mes messages du forum : ils seront masqués à tous les membres, et un "
        "sujet que j'ai ouvert l'est avec ses réponses.",
        id="leave-remove-posts",
    )


class AnonymiseForm(BaseForm):
    """An admin's anonymisation of a member: irreversible, so a box naming the member (its
    label is written by the page) must be ticked; the service checks it."""

    confirm = BooleanField("Je confirme l'anonymisation", id="anonymise-confirm")
    remove_posts = BooleanField(
        "À sa demande, masquer aussi tous ses messages (un sujet qu'il ou elle a ouvert l'est "
        "avec ses réponses)",
        id="anonymise-remove-posts",
    )


class DecisionForm(BaseForm):
    decision = RadioField(
        "Décision",
        choices=choices([("approve", "Valider"), ("refuse", "Refuser")]),
        validators=[InputRequired("Choisissez une décision.")],
    )
    reason = TextAreaField(
        "Raison du refus (envoyée au demandeur)", validators=[Optional(), Length(max=2000)]
    )


class InvitationForm(BaseForm):
    email = _email_field()
    name = StringField(
        "Nom et prénom", validators=[DataRequired("Indiquez le nom."), Length(max=80)]
    )
    statut = SelectField(
        "Statut",
        choices=choices([("hors_pair", "Hors pair (partenaire)"), ("pair", "Pair (conseiller)")]),
    )
    network = SelectField("Réseau ou organisation", validators=[DataRequired()])
    region = SelectField("Région", validators=[DataRequired()])
    organisation = StringField("Structure", validators=[Optional(), Length(max=160)])


class AdminMemberForm(BaseForm):
    statut = SelectField("Statut", choices=choices([("pair", "Pair"), ("hors_pair", "Hors pair")]))
    network = SelectField("Réseau ou organisation")
    roles = SelectMultipleField(
        "Rôles",
        choices=choices(
            [
                ("animation", "Animation"),
                ("validation", "Validation (référent du réseau)"),
                ("comite", "Comité opérationnel"),
                ("admin", "Administration"),
            ]
        ),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    groups = SelectMultipleField(
        "Groupes",
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    validates = SelectField("Réseau dont il ou elle valide les inscriptions")


class NetworkForm(BaseForm):
    """A new network of pairs or organisation of hors pairs (administrators)."""

    kind = RadioField(
        "Pour",
        choices=choices(
            [("pair", "Des pairs (un réseau)"), ("hors_pair", "Des hors pairs (une organisation)")]
        ),
        validators=[InputRequired("Choisissez pour qui.")],
    )
    name = StringField(
        "Nom",
        validators=[
            DataRequired("Indiquez le nom."),
            Length(max=120, message="120 caractères au plus."),
        ],
    )
    code = StringField(
        "Code",
        validators=[
            DataRequired("Indiquez le code."),
            Length(max=40, message="40 caractères au plus."),
        ],
        description=(
            "Minuscules, chiffres et tirets, par exemple « cap-emploi » : il ne change plus "
            "ensuite (liens, exports, ligne de commande)."
        ),
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
    )


class NetworkNameForm(BaseForm):
    name = StringField(
        "Nom",
        validators=[
            DataRequired("Indiquez le nom."),
            Length(max=120, message="120 caractères au plus."),
        ],
    )
