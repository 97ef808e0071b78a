"""The `comcep` console script: Flask's commands (run, db…) plus each domain's group."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from comcep import create_app


def register_commands(app: Flask) -> None:
    """Attach each domain's command group to the app (so `flask --app comcep` has them)."""
    from comcep.analytics.cli import analytics
    from comcep.backup import backup_command
    from comcep.forum.cli import posts_group, seed_demo
    from comcep.members.cli import user
    from comcep.search.cli import search

    app.cli.add_command(user)
    app.cli.add_command(backup_command)
    app.cli.add_command(search)
    app.cli.add_command(seed_demo)
    app.cli.add_command(posts_group)
    app.cli.add_command(analytics)
    app.cli.add_command(mail_group)
    app.cli.add_command(members_group)
    app.cli.add_command(notifications_group)
    app.cli.add_command(attachments_group)
    app.cli.add_command(worker_command)


@click.group(cls=FlaskGroup, create_app=create_app)
def main() -> None:
    """ComCEP : administration de la communauté."""


@click.group("mail")
def mail_group() -> None:
    """Envoi des e-mails."""


@mail_group.command("send")
@with_appcontext
def mail_send() -> None:
    """Envoyer les e-mails en attente (ceux qu'un échec SMTP a laissés)."""
    from comcep.mail import send_pending

    click.echo(f"{send_pending()} e-mail(s) envoyé(s).")


@click.group("members")
def members_group() -> None:
    """Tâches sur les membres."""


@members_group.command("expire")
@with_appcontext
def members_expire() -> None:
    """Faire expirer les demandes d'inscription non confirmées depuis 7 jours."""
    from comcep.extensions import db
    from comcep.members.membership import expire_registrations

    count = expire_registrations()
    db.session.commit()
    click.echo(f"{count} demande(s) expirée(s).")


@click.group("notifications")
def notifications_group() -> None:
    """Notifications par e-mail."""


@notifications_group.command("digest")
@with_appcontext
def notifications_digest() -> None:
    """Préparer les résumés quotidiens et hebdomadaires dus (à lancer chaque heure)."""
    from comcep import outbox
    from comcep.notifications.services import send_digests

    count = send_digests()
    outbox.process()
    click.echo(f"{count} résumé(s) envoyé(s).")


@click.group("attachments")
def attachments_group() -> None:
    """Pièces jointes."""


@attachments_group.command("gc")
@with_appcontext
def attachments_gc() -> None:
    """Supprimer les fichiers stockés auxquels aucun message ne renvoie."""
    from comcep.attachments.services import garbage_collect

    click.echo(f"{garbage_collect()} fichier(s) supprimé(s).")


@click.command("worker")
@click.option("--once", is_flag=True, help="Une seule passe, puis s'arrêter.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Traiter en continu les tâches en attente (index, e-mails, notifications)."""
    from flask import current_app

    from comcep.worker import run_worker

    handled = run_worker(current_app._get_current_object(), once=once)
    plural = "s" if handled > 1 else ""
    click.echo(f"{handled} tâche{plural} traitée{plural}.")
