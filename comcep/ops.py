"""Operability: /sante (health as JSON) and /metrics (Prometheus text, allow-listed).

Metrics are kept per process (each gunicorn worker reports its own, labelled by pid):
enough to watch latency and the outbox without another moving part.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections import defaultdict

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import text
from werkzeug.exceptions import NotFound

from comcep import outbox, policy
from comcep.extensions import csrf, db, utcnow
from comcep.forms import ConfirmForm
from comcep.moderation.services import log
from comcep.policy import current_viewer

bp = Blueprint("ops", __name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    """A minimal Prometheus histogram keyed by label values (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self._sums: dict[tuple, float] = defaultdict(float)

    def observe(self, labels: tuple, seconds: float) -> None:
        with self._lock:
            counts = self._counts[labels]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._sums[labels] += seconds

    def render(self, name: str, label_names: tuple[str, ...], pid: str) -> list[str]:
        lines = [f"# TYPE {name} histogram"]
        with self._lock:
            for labels, counts in sorted(self._counts.items()):
                base = ",".join(f'{k}="{v}"' for k, v in zip(label_names, labels, strict=True))
                base = f'{base},pid="{pid}"' if base else f'pid="{pid}"'
                for bound, count in zip(BUCKETS, counts, strict=False):
                    lines.append(f'{name}_bucket{{{base},le="{bound}"}} {count}')
                lines.append(f'{name}_bucket{{{base},le="+Inf"}} {counts[-1]}')
                lines.append(f"{name}_sum{{{base}}} {self._sums[labels]:.6f}")
                lines.append(f"{name}_count{{{base}}} {counts[-1]}")
        return lines


REQUESTS = Histogram()
SEARCHES = Histogram()


def observe_search(seconds: float, backend: str) -> None:
    SEARCHES.observe((backend,), seconds)


def _allowed(address: str | None) -> bool:
    allow = current_app.config.get("METRICS_ALLOW") or ""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for item in allow.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


@bp.get("/sante")
@csrf.exempt
def health() -> ResponseReturnValue:
    """Database, Redis (when configured) and the outbox; 503 when the database is away.
    The outbox's figures only to the addresses allowed on /metrics: its backlog tells
    anyone how busy the forum is."""
    report: dict[str, object] = {"status": "ok"}
    status = 200
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = "ok"
        if _allowed(request.remote_addr):
            waiting, parked, oldest = outbox.backlog()
            age = round((utcnow() - oldest).total_seconds(), 1) if oldest else 0
            report["outbox"] = {"backlog": waiting, "parked": parked, "oldest_age_seconds": age}
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db.session.rollback()
        report["database"] = "unreachable"
        report["status"] = "error"
        status = 503
    client = outbox.redis_client()
    if client is not None:
        try:
            client.ping()
            report["redis"] = "ok"
        except Exception:  # noqa: BLE001
            report["redis"] = "unreachable"
            report["status"] = "degraded" if status == 200 else "error"
    report["jobs"] = current_app.config["JOBS"]
    return report, status


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    if not _allowed(request.remote_addr):
        raise NotFound()
    pid = str(os.getpid())
    lines = REQUESTS.render("comcep_request_duration_seconds", ("endpoint", "method"), pid)
    lines += SEARCHES.render("comcep_search_duration_seconds", ("backend",), pid)
    try:
        waiting, parked, oldest = outbox.backlog()
        age = (utcnow() - oldest).total_seconds() if oldest else 0
        lines += [
            "# TYPE comcep_outbox_backlog gauge",
            f"comcep_outbox_backlog {waiting}",
            "# TYPE comcep_outbox_parked gauge",
            f"comcep_outbox_parked {parked}",
            "# TYPE comcep_outbox_oldest_age_seconds gauge",
            f"comcep_outbox_oldest_age_seconds {age:.1f}",
        ]
    except Exception:  # noqa: BLE001
        db.session.rollback()
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")


def init_app(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g._comcep_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        started = g.pop("_comcep_started", None)
        if started is not None and request.endpoint not in (None, "static", "ops.metrics"):
            REQUESTS.observe((request.endpoint, request.method), time.perf_counter() - started)
        return response


@bp.route("/admin/taches", methods=["GET", "POST"])
@login_required
def parked_tasks() -> ResponseReturnValue:
    """Tasks that failed too often: admins see why and can send them back to the queue."""
    policy.check_administer(current_viewer())
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        count = outbox.retry_parked()
        if count:
            log(current_user, "retry_parked", "site", 0, details={"taches": count})
            db.session.commit()
        plural = "s" if count > 1 else ""
        flash(f"{count} tâche{plural} remise{plural} en file.", "success")
        return redirect(url_for("ops.parked_tasks"))
    waiting, parked, oldest = outbox.backlog()
    return render_template(
        "ops/parked.html", rows=outbox.parked_rows(), waiting=waiting, oldest=oldest, form=form
    )
