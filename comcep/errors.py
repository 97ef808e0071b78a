"""French error pages; a hidden object answers exactly like a missing one."""

from __future__ import annotations

import logging
import time
from typing import IO

import click
from flask import Flask, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from comcep.extensions import db, limiter

logger = logging.getLogger(__name__)


class ComcepError(Exception):
    """A refused action, with a French message fit for the person who asked."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the form field the message belongs to, when there is one


class FrenchError(click.ClickException):
    """A command's refusal printed as « Erreur : … » on stderr, exit status 1, no traceback."""

    def show(self, file: IO[str] | None = None) -> None:
        click.echo(f"Erreur : {self.format_message()}", err=True, file=file)


MESSAGES = {
    400: ("Requête invalide", "La requête n'a pas pu être traitée."),
    403: ("Action non autorisée", "Vous n'avez pas le droit de faire cela."),
    404: ("Page introuvable", "Cette page n'existe pas ou n'est pas accessible."),
    405: ("Méthode non autorisée", "Cette adresse ne s'utilise pas ainsi."),
    413: (
        "Envoi trop volumineux",
        "Ce que vous avez envoyé dépasse la taille permise, pièces jointes comprises : rien "
        "n'a été enregistré. Revenez à la page précédente, où votre texte est conservé par "
        "le navigateur, retirez le fichier trop lourd et renvoyez.",
    ),
    429: (
        "Trop de tentatives",
        "Vous avez fait trop de demandes en peu de temps. Patientez un moment puis réessayez.",
    ),
    500: ("Erreur du serveur", "Une erreur inattendue s'est produite. Réessayez plus tard."),
}


# Forms whose text must survive an expired session (SPEC §9: « loses nothing »), and the
# e-mail links' confirmation pages (an expired page offers its button again; a used link
# says so in 410). Each view validates its form before it acts, and answers itself in 4xx.
KEEP_INPUT_ON_CSRF_ERROR = frozenset(
    {
        "members.confirm",
        "members.confirm_email_change",
        "forum.new_topic",
        "forum.reply",
        "forum.edit_post",
        "messages.new",
        "messages.show",
        "members.register",
        "members.update_profile",
        "moderation.report",
        "moderation.report_message",
        "moderation.hide",
        "moderation.rename",
        "moderation.relay",
        "moderation.split",
        "moderation.moderate_member",
    }
)


def _page(code: int, detail: str | None = None) -> ResponseReturnValue:
    title, default = MESSAGES.get(code, MESSAGES[400])
    # A 404 never says why: its body is the same for missing and hidden content.
    message = default if code == 404 or not detail else detail
    if request.accept_mimetypes.best == "application/json":
        return {"error": title, "message": message}, code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> ResponseReturnValue:
        g.comcep_csrf_failed = True  # rate limits that count only genuine attempts skip it
        if request.endpoint in KEEP_INPUT_ON_CSRF_ERROR:
            # The writing forms answer themselves: their own validation refuses the token
            # (400, French message) and shows back everything that was typed.
            try:
                return app.view_functions[request.endpoint](**(request.view_args or {}))
            except HTTPException as error:
                return http_error(error)
        return _page(
            400,
            "Le formulaire a expiré ou n'est pas valide (jeton de sécurité manquant). "
            "Rechargez la page et recommencez.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code < 400:
            return error
        if error.code == 429:
            return _page(429, _too_many_requests_message(error))
        detail = error.description if error.code in (400, 403) and _is_french(error) else None
        return _page(error.code, detail)

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def value_out_of_range(_error: Exception) -> ResponseReturnValue:
        # A number the database cannot hold (/t/99999999999, ?page=10**20) or a NUL byte,
        # which PostgreSQL refuses in text: bad input, not a server error.
        db.session.rollback()
        return _page(
            400,
            "L'adresse ou le formulaire contient une valeur invalide (nombre trop grand "
            "ou caractère interdit).",
        )

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        if app.testing:  # let tests see the traceback instead of a polite page
            raise error
        logger.exception("Unhandled error on %s", request.path)
        return _page(500)


def _too_many_requests_message(error: HTTPException) -> str:
    """Which limit was hit (its French `error_message`) and how long to wait before retrying."""
    limit = getattr(error, "limit", None)
    lead = (
        error.description
        if limit is not None and limit.error_message
        else "Vous avez fait trop de demandes en peu de temps."
    )
    try:
        current = limiter.current_limit
        seconds = current.reset_at - int(time.time()) if current else None
    except Exception:  # noqa: BLE001 - storage unreachable: no delay shown
        seconds = None
    if seconds is None:
        return f"{lead} Patientez un moment puis réessayez."
    if seconds < 90:
        wait = f"{max(seconds, 1)} seconde{'s' if seconds > 1 else ''}"
    elif seconds < 90 * 60:
        wait = f"{round(seconds / 60)} minutes"
    else:
        wait = f"{round(seconds / 3600)} heures"
    return f"{lead} Vous pourrez réessayer dans {wait}."


def _is_french(error: HTTPException) -> bool:
    """Only our own descriptions (French, set by the policy) are shown to users."""
    default = type(error).description
    return bool(error.description) and error.description != default
