"""Private message forms."""

from __future__ import annotations

from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from comcep.forms import BaseForm
from comcep.forum.forms import _body_field


class NewConversationForm(BaseForm):
    recipients = StringField(
        "Destinataires",
        validators=[Optional(), Length(max=2000)],
        description="Noms complets des membres, séparés par des virgules : dès deux lettres, "
        "les noms des membres à qui vous pouvez écrire vous sont proposés.",
    )
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
