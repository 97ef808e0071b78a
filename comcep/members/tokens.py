"""Signed, expiring, single-use links (e-mail confirmation, invitation, password reset).

A token carries the member's current `token_nonce`; every use rotates the nonce, so a link
works once and never twice.
"""

from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from comcep.errors import ComcepError
from comcep.extensions import db
from comcep.members.models import Member

MAX_AGE = {
    "confirm": 7 * 24 * 3600,
    "invite": 14 * 24 * 3600,
    "reset": 3600,
    "email": 24 * 3600,
}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"comcep-{purpose}")


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def make_token(member: Member, purpose: str, extra: str = "") -> str:
    if not member.token_nonce:
        member.token_nonce = new_nonce()
        db.session.flush()
    return _serializer(purpose).dumps([member.id, member.token_nonce, extra])


class LinkError(ComcepError):
    """A link that cannot be used: malformed or tampered with (400)."""

    status = 400
    title = "Lien invalide"


class DeadLink(LinkError):
    """A genuine link that is used up or out of date (410 Gone)."""

    status = 410
    title = "Lien expiré ou déjà utilisé"


def check_token(token: str, purpose: str) -> tuple[Member, str]:
    """The member and extra data of a usable link, without consuming it (a form's GET)."""
    try:
        member_id, nonce, extra = _serializer(purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired as error:
        raise DeadLink("Ce lien a expiré. Faites une nouvelle demande.") from error
    except (BadSignature, ValueError, TypeError) as error:
        raise LinkError(
            "Ce lien n'est pas valide : vérifiez qu'il a été copié en entier depuis l'e-mail."
        ) from error
    member = db.session.scalar(select(Member).where(Member.id == member_id))
    if member is None or not member.token_nonce or member.token_nonce != nonce:
        raise DeadLink("Ce lien a déjà été utilisé ou n'est plus valide.")
    return member, extra


def signed_member_id(token: str, purpose: str) -> int | None:
    """The member id of a genuine link, however old or used: to tell why a dead link no
    longer serves (an invitation withdrawn, accepted, or sent again)."""
    try:
        member_id, _nonce, _extra = _serializer(purpose).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return member_id if isinstance(member_id, int) else None


def use_token(token: str, purpose: str) -> tuple[Member, str]:
    """Check a link and consume it; a French error says why it cannot be used."""
    member, extra = check_token(token, purpose)
    member.token_nonce = new_nonce()
    return member, extra
