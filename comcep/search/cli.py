"""`comcep search rebuild|sync|check`."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from comcep.search import indexing
from comcep.search.whoosh_backend import SearchIndexError


@click.group()
def search() -> None:
    """Gérer l'index de recherche."""


@search.command("rebuild")
@with_appcontext
def rebuild() -> None:
    """Reconstruire l'index à partir de la base de données."""
    total = indexing.post_count()
    with click.progressbar(length=total, label="Indexation", file=sys.stderr) as bar:
        done = [0]

        def progress(count: int) -> None:
            bar.update(count - done[0])
            done[0] = count

        try:
            count = indexing.rebuild(progress)
        except SearchIndexError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"{count} messages indexés.")


@search.command("sync")
@with_appcontext
def sync() -> None:
    """Appliquer les mises à jour de l'index en attente."""
    click.echo(f"{indexing.sync()} mises à jour appliquées.")


@search.command("check")
@with_appcontext
def check() -> None:
    """Comparer l'index et la base ; code de sortie non nul s'ils divergent."""
    report = indexing.check()
    if report.ok:
        click.echo("L'index est à jour : il correspond à la base de données.")
        return
    click.echo(
        f"L'index diverge de la base : {len(report.missing)} manquants, "
        f"{len(report.stale)} périmés, {len(report.extra)} en trop.",
        err=True,
    )
    for label, ids in (
        ("manquants", report.missing),
        ("périmés", report.stale),
        ("en trop", report.extra),
    ):
        if ids:
            click.echo(f"  {label} : {', '.join(map(str, ids[:20]))}", err=True)
    click.echo("Lancez « comcep search sync » ou « comcep search rebuild ».", err=True)
    sys.exit(1)
