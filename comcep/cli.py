"""The `comcep` console script: Flask's commands (run, db…) plus each domain's group."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from comcep import create_app


def register_commands(app: Flask) -> None:
    """Attach each domain's command group to the app (so `flask --app comcep` has them)."""
    from comcep.forum.cli import seed_demo
    from comcep.members.cli import user
    from comcep.search.cli import search

    app.cli.add_command(user)
    app.cli.add_command(search)
    app.cli.add_command(seed_demo)


@click.group(cls=FlaskGroup, create_app=create_app)
def main() -> None:
    """ComCEP : administration de la communauté."""
