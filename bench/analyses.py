"""Time the comité's report on a generated forum: the first build (which tallies the settled
months it finds uncounted, as the worker would ahead of it) and then visits.

    python bench/analyses.py --database-url sqlite:////tmp/comcep-bench/sqlite-1000000.sqlite3
    python bench/analyses.py --forget \
        --database-url postgresql://postgres@127.0.0.1:5432/comcep_bench_1000000

`--forget` drops the kept tallies first, so that the first build counts every month. The
report is built in-process (`report.build_report`, what /analyses renders), without the page's
HTML; `bench/run.py` measures the page itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from comcep import create_app  # noqa: E402
from comcep.analytics import report, rollups  # noqa: E402
from comcep.extensions import db  # noqa: E402
from config import Config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Temps du rapport du comité.")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--visits", type=int, default=7)
    parser.add_argument("--forget", action="store_true", help="oublier les mois déjà comptés")
    args = parser.parse_args(argv)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=args.database_url)
    with app.app_context():
        if args.forget:
            rollups.forget()
            db.session.commit()
        for preset in ("trimestre", "lancement"):
            period = report.preset_period(preset, report.paris_today())
            started = time.perf_counter()
            report.build_report(period)
            rollups.commit_stored()
            first = time.perf_counter() - started
            visits = []
            for _ in range(args.visits):
                started = time.perf_counter()
                report.build_report(period)
                rollups.commit_stored()
                db.session.rollback()
                visits.append((time.perf_counter() - started) * 1000)
            print(
                f"{preset}: première fois {first:.2f} s ; ensuite médiane "
                f"{statistics.median(visits):.0f} ms (max {max(visits):.0f} ms, "
                f"{args.visits} visites)"
            )
        started = time.perf_counter()
        period = report.preset_period("lancement", report.paris_today())
        differences = rollups.disagreements(period.start, period.end)
        differences += rollups.first_reply_disagreements()
        print(f"contrôle ({time.perf_counter() - started:.1f} s) : {differences or 'concordant'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
