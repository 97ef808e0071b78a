"""/analyses: the comité's anonymised figures, their charts and CSV downloads (SPEC §8)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, has_request_context, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from comcep import policy
from comcep.analytics import report, rollups
from comcep.analytics.forms import PeriodForm
from comcep.policy import current_viewer

bp = Blueprint("analytics", __name__)


@bp.app_context_processor
def analytics_link() -> dict:
    """Header flag: the « Analyses » link is shown to the comité and admins only."""
    if not has_request_context():
        return {"show_analytics_link": False}
    return {"show_analytics_link": policy.can(policy.check_view_analytics, current_viewer())}


@bp.get("/analyses")
@login_required
def index() -> ResponseReturnValue:
    policy.check_view_analytics(current_viewer())
    form = PeriodForm(request.args)
    if not form.validate():
        return render_template("analytics/index.html", form=form, period=None, data=None), 400
    period = form.period(report.paris_today())
    form.du.data, form.au.data = period.first, period.last
    data = report.build_report(period)
    rollups.commit_stored()
    months = {m: report.month_label(m) for m in period.months}
    return render_template(
        "analytics/index.html",
        form=form,
        period=period,
        data=data,
        months=months,
        charts=_charts(data, months),
        masked=report.MASKED,
    )


def _plotted(value: object) -> float | int | None:
    """A figure as a chart point: suppressed (« < 5 ») and undefined ones are not drawn."""
    return value if isinstance(value, int | float) else None


def _series(rows: list[dict], key: str) -> list[float | int | None]:
    return [_plotted(row[key]) for row in rows]


def _charts(data: dict, months: dict[str, str]) -> dict[str, dict]:
    """What each chart draws, for static/js/analytics.js (a JSON block: no inline script)."""
    growth = data["growth"]
    month_labels = [months[row["month"]] for row in growth]
    themes = data["themes"]
    charts: dict[str, dict] = {
        "themes": {
            "type": "bar",
            "horizontal": True,
            "unit": "%",
            "labels": [row["theme"] for row in themes],
            "datasets": [
                {"label": "% des sujets", "data": _series(themes, "topics_pct")},
                {"label": "% des messages", "data": _series(themes, "messages_pct")},
            ],
        },
        "members": {
            "type": "line",
            "labels": month_labels,
            "datasets": [
                {"label": "Pairs", "data": _series(growth, "pairs")},
                {"label": "Hors pairs", "data": _series(growth, "hors_pairs")},
            ],
        },
        "messages": {
            "type": "bar",
            "labels": month_labels,
            "datasets": [{"label": "Messages", "data": _series(growth, "messages")}],
        },
        "activity": {
            "type": "bar",
            "horizontal": True,
            "labels": [row["name"] for row in data["activity_by_network"]],
            "datasets": [
                {"label": "Sujets ouverts", "data": _series(data["activity_by_network"], "topics")},
                {
                    "label": "Réponses données",
                    "data": _series(data["activity_by_network"], "replies"),
                },
            ],
        },
        "tags": {
            "type": "bar",
            "horizontal": True,
            "labels": [row["name"] for row in data["tags"]],
            "datasets": [
                {"label": "Sujets", "data": _series(data["tags"], "topics")},
                {"label": "Messages", "data": _series(data["tags"], "messages")},
            ],
        },
    }
    for kind in ("pair", "hors_pair"):
        rows = [row for row in data["members_by_network"] if row["kind"] == kind]
        charts[kind] = {
            "type": "bar",
            "horizontal": True,
            "labels": [row["name"] for row in rows],
            "datasets": [{"label": "Membres", "data": _series(rows, "members")}],
        }
    for spec in charts.values():
        spec["empty"] = not any(v for d in spec["datasets"] for v in d["data"] if v is not None)
    return charts


@bp.get("/analyses/<table>.csv")
@login_required
def export(table: str) -> ResponseReturnValue:
    policy.check_view_analytics(current_viewer())
    if table not in report.TABLES:
        abort(404)
    form = PeriodForm(request.args)
    if not form.validate():
        abort(400, description="La période demandée n'est pas valide.")
    period = form.period(report.paris_today())
    semicolon = request.args.get("sep") == "semicolon"
    text = report.to_csv(report.build_table(period, table), table, semicolon=semicolon, bom=True)
    rollups.commit_stored()
    excel = "-excel" if semicolon else ""  # the two downloads side by side in one folder
    filename = f"comcep-{table}-{period.first.isoformat()}-{period.last.isoformat()}{excel}.csv"
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
