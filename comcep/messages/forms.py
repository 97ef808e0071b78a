"""Private message forms."""

from __future__ import annotations

from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from comcep.forms import BaseForm
from comcep.forum.forms import _body_field


def _recipients_field(label: str) -> StringField:
    return StringField(
        label,
        validators=[Optional(), Length(max=2000)],
        description="Noms complets des membres, séparés par des virgules : dès deux lettres, "
        "les noms des membres à qui vous pouvez écrire vous sont proposés.",
    )


class NewConversationForm(BaseForm):
    recipients = _recipients_field("Destinataires")
    subject = StringField(
        "Objet",
        validators=[
            DataRequired("Indiquez un objet."),
            Length(min=2, max=200, message="L'objet doit compter entre 2 et 200 caractères."),
        ],
    )
    body = _body_field()
    submit = SubmitField("Envoyer")


class MessageReplyForm(BaseForm):
    body = _body_field()
    submit = SubmitField("Répondre")


class AddParticipantsForm(BaseForm):
    """Bring more members into a conversation: they read it from its first message."""

    recipients = _recipients_field("Membres à ajouter")
    add = SubmitField("Ajouter à la conversation")  # not « submit »: the reply form has one


class LeaveConversationForm(BaseForm):
    """Leave a conversation: it is no longer listed nor counted, and no longer opens."""

    leave = SubmitField("Quitter la conversation")
