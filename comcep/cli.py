"""The `comcep` console script: Flask's commands (run, db…) plus each domain's group."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from comcep import create_app


def _create_app() -> object:
    app = create_app()
    from comcep.forum.cli import seed_demo
    from comcep.members.cli import user

    app.cli.add_command(user)
    app.cli.add_command(seed_demo)
    return app


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """ComCEP : administration de la communauté."""
