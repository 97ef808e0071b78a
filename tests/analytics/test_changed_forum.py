"""Every output of the analyses on a forum changed the ways the app changes it (a topic moved,
split or merged, members gone, a network closed): no error, and the kept cells agree with
the direct queries."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from comcep.analytics import report
from comcep.analytics.report import Period
from comcep.extensions import db
from comcep.members import membership
from comcep.members.models import Network
from comcep.moderation import services as moderation
from tests.analytics.conftest import Forum
from tests.factories import category

PERIODS = [
    Period(date(2025, 1, 1), date(2025, 3, 31)),
    Period(date(2025, 2, 1), date(2025, 2, 1)),  # one day
    Period(date(2025, 3, 31), date(2025, 3, 31)),
    Period(date(2025, 2, 15), date(2025, 3, 14)),  # mid-month to mid-month
    Period(date(2024, 12, 31), date(2025, 1, 1)),
]


def _all_outputs(runner) -> None:  # noqa: ANN001
    periods = [*PERIODS, report.preset_period("lancement", report.paris_today())]
    for period in periods:
        built = report.build_report(period)
        json.dumps(built)
        for table in report.TABLES:
            report.to_csv(report.table_rows(built, table), table)
    result = runner.invoke(args=["analytics", "check"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["analytics", "report", "--from", "2025-01-01", "--to", "2025-03-31"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("step", ["moved", "split", "merged", "left", "closed", "all"])
def test_odd_data_never_crashes_and_the_kept_cells_agree(
    forum: Forum,
    make_member,
    runner,
    comite_client,
    step: str,  # noqa: ANN001
) -> None:
    admin = make_member(statut="hors_pair", network="uodc", roles=("admin",))
    topics, members = forum.topics, forum.members
    if step in ("moved", "all"):
        moderation.move_topic(admin, topics["T5"], category("divers"), confirmed=True)
        db.session.commit()
    if step in ("split", "all"):
        ids = [p.id for p in forum.posts["T1"][3:5]]
        moderation.split_topic(
            admin, topics["T1"], ids, "Une suite", category("echanges"), confirmed=True
        )
        db.session.commit()
    if step in ("merged", "all"):
        moderation.merge_topics(admin, topics["T2"], topics["T6"], confirmed=True)
        db.session.commit()
    if step in ("left", "all"):
        membership.anonymise(members["ft1"])
        membership.anonymise(members["hp1"])
        db.session.commit()
    if step in ("closed", "all"):
        for key in ("ml1", "ml2", "ml3"):
            membership.anonymise(members[key])
        net = db.session.scalar(select(Network).where(Network.code == "missions-locales"))
        net.active = False
        db.session.commit()
    _all_outputs(runner)
    for period in PERIODS:
        for suffix in ("", *(f"/{t}.csv" for t in report.TABLES)):
            response = comite_client.get("/analyses" + suffix, query_string=period.query_args)
            assert response.status_code == 200, (suffix, response.status_code)
