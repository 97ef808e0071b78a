"""`comcep analytics report --from --to --format json|csv [--table …]` (SPEC §10)."""

from __future__ import annotations

import json
from datetime import date, datetime

import click
from flask.cli import with_appcontext

from comcep.analytics import member_months, report, rollups
from comcep.analytics.forms import EARLIEST, LATEST
from comcep.extensions import db


@click.group()
def analytics() -> None:
    """Analyses anonymisées pour le comité opérationnel."""


def _date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise click.BadParameter(f"date attendue au format AAAA-MM-JJ, pas {value!r}.") from None


@analytics.command("report")
@click.option("--from", "first", callback=_date, help="Premier jour (AAAA-MM-JJ, heure de Paris).")
@click.option("--to", "last", callback=_date, help="Dernier jour inclus (AAAA-MM-JJ).")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option(
    "--table",
    type=click.Choice(list(report.TABLES)),
    default="themes",
    show_default=True,
    help="Le tableau à écrire en CSV.",
)
@click.option(
    "--sep",
    type=click.Choice(["comma", "semicolon"]),
    default="comma",
    show_default=True,
    help="Séparateur CSV (semicolon : « ; » et virgule décimale, pour Excel en français).",
)
@with_appcontext
def report_command(first: date | None, last: date | None, fmt: str, table: str, sep: str) -> None:
    """Écrire le rapport anonymisé d'une période (par défaut : le dernier trimestre complet)."""
    if (first is None) != (last is None):
        raise click.UsageError("Donnez --from et --to ensemble (ou aucun des deux).")
    if first is None or last is None:
        period = report.last_quarter(report.paris_today())
    else:
        if first > last:
            raise click.UsageError("--from doit précéder --to.")
        if first < EARLIEST or last > LATEST:  # as the page's form (beyond: an overflow)
            raise click.UsageError(
                f"Choisissez des dates entre le {EARLIEST:%d/%m/%Y} et le {LATEST:%d/%m/%Y}."
            )
        period = report.Period(first, last)
    if fmt == "json":
        click.echo(json.dumps(report.build_report(period), ensure_ascii=False, indent=2))
        db.session.commit()
        return
    rows = report.build_table(period, table)
    db.session.commit()
    click.echo(report.to_csv(rows, table, semicolon=sep == "semicolon"), nl=False)


@analytics.command("refresh")
@with_appcontext
def refresh_command() -> None:
    """Recompter les entrées et sorties des membres par mois, puis compter d'avance les mois
    révolus (les analyses les lisent ensuite sans recompter) ; après un chargement en masse."""
    members = member_months.recount()
    db.session.commit()
    counted = rollups.refresh()
    db.session.commit()
    click.echo(f"{members} membre(s) recompté(s), {counted} mois compté(s).")


@analytics.command("check")
@with_appcontext
def check_command() -> None:
    """Comparer les décomptes gardés aux requêtes directes, depuis le lancement ; code de
    sortie 1 en cas d'écart (les décomptes à jour sont alors recalculés par `refresh`)."""
    period = report.preset_period("lancement", report.paris_today())
    differences = rollups.disagreements(period.start, period.end)
    differences += rollups.first_reply_disagreements()
    differences += member_months.disagreements(period.start, period.end)
    db.session.rollback()
    if differences:
        click.echo("Écarts : " + ", ".join(differences) + ".", err=True)
        raise SystemExit(1)
    click.echo("Les décomptes gardés concordent avec les messages et les membres.")
