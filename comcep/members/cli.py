"""`comcep user …`: create members from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from comcep.errors import ComcepError, FrenchError
from comcep.extensions import db
from comcep.members.models import ROLES
from comcep.members.services import create_member


@click.group()
def user() -> None:
    """Gérer les membres."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--statut", required=True, help="pair ou hors_pair")
@click.option("--network", "network_code", required=True, help="Code du réseau ou organisation")
@click.option("--region", "region_code", required=True, help="Code de la région")
@click.option("--role", "roles", multiple=True, help=f"Rôle : {', '.join(ROLES)}")
@click.option("--group", "groups", multiple=True, help="Groupe existant (plusieurs possibles)")
@click.option("--new-group", is_flag=True, help="Créer les groupes --group qui n'existent pas")
@click.option(
    "--validates",
    default="",
    help="Avec --role validation : code du réseau de pairs dont il ou elle valide les "
    "inscriptions (par défaut, le sien pour un pair)",
)
@click.option("--organisation", default="", help="Structure")
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Lire le mot de passe sur stdin"
)
@with_appcontext
def create(
    email: str,
    name: str,
    statut: str,
    network_code: str,
    region_code: str,
    roles: tuple[str, ...],
    groups: tuple[str, ...],
    new_group: bool,
    organisation: str,
    validates: str,
    password_stdin: bool,
) -> None:
    """Créer un membre actif (mot de passe lu sur l'entrée standard)."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
    if validates and "validation" not in roles:
        raise FrenchError("--validates va avec --role validation.")
    try:
        member = create_member(
            email=email,
            name=name,
            statut=statut,
            network_code=network_code,
            region_code=region_code,
            password=password,
            roles=list(roles),
            groups=list(groups),
            organisation=organisation,
            validates=validates,
            new_groups=new_group,
        )
        db.session.commit()
    except ComcepError as error:
        db.session.rollback()
        raise FrenchError(error.message) from error
    click.echo(f"Membre créé : #{member.id} {member.email} ({member.statut})")
