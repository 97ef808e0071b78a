"""Admissions and departures kept per month (`comcep.analytics.member_months`): after every
kind of change to a member, the kept figures equal those counted from the members, for
periods of whole and partial months, and a recount finds the same rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from comcep.analytics import member_months, queries, report
from comcep.analytics.models import MemberMonthCount
from comcep.analytics.report import Period
from comcep.extensions import db, utcnow
from comcep.members import membership
from comcep.members.models import Member, Network
from comcep.members.services import update_member
from comcep.moderation import services as moderation
from tests.analytics.conftest import MakeMember, utc


def periods() -> list[Period]:
    today = report.paris_today()
    return [
        Period(date(2025, 1, 1), date(2025, 3, 31)),  # whole months
        Period(date(2025, 1, 15), date(2025, 3, 10)),  # both edges inside a month
        Period(date(2025, 3, 29), date(2025, 3, 31)),  # within one month, across the DST change
        Period(date(2024, 11, 1), date(2025, 12, 31)),
        Period(today.replace(day=1), today),  # the current month
        Period(date(2025, 2, 10), today),
        report.last_quarter(today),
    ]


def kept_rows() -> set[tuple]:
    rows = db.session.execute(
        select(
            MemberMonthCount.month,
            MemberMonthCount.statut,
            MemberMonthCount.network_id,
            MemberMonthCount.joined,
            MemberMonthCount.departed,
        )
    )
    return {tuple(row) for row in rows if row.joined or row.departed}


def assert_kept_equal_the_members() -> None:
    for period in periods():
        kept = set(member_months.member_growth(period.start, period.end))
        assert kept == set(queries.member_growth(period.start, period.end)), period
        kept_networks = member_months.members_by_network(period.end)
        assert kept_networks == queries.members_by_network(period.end), period
    before = kept_rows()
    member_months.recount()
    assert kept_rows() == before
    db.session.rollback()


@pytest.fixture
def admin(make_member: MakeMember) -> Member:
    return make_member(roles=("admin",), network="apec")


def test_every_change_to_a_member_keeps_the_counts_exact(
    app: Flask, make_member: MakeMember, admin: Member
) -> None:
    members = [make_member(network="apec") for _ in range(4)]
    members += [make_member(statut="hors_pair", network="carif-oref") for _ in range(3)]
    assert_kept_equal_the_members()

    # admitted in the past, on a decision or on the account's creation
    members[0].created_at = utc(2025, 1, 20, 10)
    members[1].created_at = utc(2025, 1, 5)
    members[1].decided_at = utc(2025, 3, 1, 10)
    members[2].created_at = utc(2025, 3, 31, 21, 59)  # 23:59 in Paris: March
    members[3].created_at = utc(2025, 3, 31, 22, 0)  # midnight in Paris: April
    members[4].created_at = utc(2024, 12, 31, 23, 0)  # midnight in Paris: January
    db.session.commit()
    assert_kept_equal_the_members()

    with app.test_request_context():
        awaiting = make_member(network="missions-locales", state="pending")
        awaiting.registration_status = "awaiting"
        refused = make_member(network="missions-locales", state="pending")
        refused.registration_status = "awaiting"
        db.session.commit()
        assert_kept_equal_the_members()
        membership.approve_registration(admin, awaiting)
        membership.refuse_registration(admin, refused, "Hors du périmètre du CEP.")
        db.session.commit()
        assert_kept_equal_the_members()

        moderation.suspend_member(admin, members[5], 7, "Propos hors charte.")
        db.session.commit()
        assert_kept_equal_the_members()
        moderation.lift_suspension(admin, members[5])
        db.session.commit()

        # a new network, a new statut: every month of the member moves with them
        update_member(
            admin, members[1], statut="pair", network_code="france-travail", roles=[], group_ids=[]
        )
        update_member(admin, members[4], statut="pair", network_code="apec", roles=[], group_ids=[])
        db.session.commit()
        assert_kept_equal_the_members()

        membership.anonymise(members[2], admin)
        db.session.commit()
        assert_kept_equal_the_members()
    # a departure dated back (a member leaves after being admitted)
    members[2].left_at = utc(2025, 4, 10, 12)
    members[6].created_at = utc(2025, 1, 2)
    members[6].state = "left"
    members[6].left_at = utc(2025, 3, 15)
    db.session.commit()
    assert_kept_equal_the_members()

    db.session.delete(members[6])
    db.session.commit()
    assert_kept_equal_the_members()


def test_a_change_rolled_back_leaves_the_counts_as_they_were(make_member: MakeMember) -> None:
    member = make_member(network="apec")
    before = kept_rows()
    member.created_at = utc(2025, 2, 1, 12)
    member.network_id = None
    db.session.flush()
    assert kept_rows() != before
    db.session.rollback()

    assert kept_rows() == before
    assert_kept_equal_the_members()


def test_a_failed_flush_leaves_nothing_behind_for_the_next(make_member: MakeMember) -> None:
    first = make_member(network="apec")
    second = make_member(network="apec")
    second.created_at = utc(2025, 2, 1, 12)
    second.email = first.email
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()

    first.created_at = utc(2025, 3, 1, 12)
    db.session.commit()

    assert_kept_equal_the_members()


def test_a_change_to_nothing_the_counts_read_costs_no_statement(
    app: Flask, make_member: MakeMember
) -> None:
    member = make_member(network="apec")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        member.display_name = "Un autre nom"
        member.marked_read_at = utcnow()
        db.session.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()

    assert len(statements) == 1
    assert statements[0].startswith("UPDATE members")


def test_the_partial_months_of_a_period_are_counted_from_the_members(
    make_member: MakeMember,
) -> None:
    """Members admitted on either side of a period's first day, in the same month, fall on
    either side of the baseline."""
    early, late = make_member(network="apec"), make_member(network="apec")
    early.created_at = utc(2025, 1, 14, 10)
    late.created_at = utc(2025, 1, 15, 10)
    db.session.commit()
    period = Period(date(2025, 1, 15), date(2025, 2, 20))

    rows = {
        (r.statut, r.month): r.joined for r in member_months.member_growth(period.start, period.end)
    }

    assert rows[("pair", queries.BEFORE)] == 1
    assert rows[("pair", "2025-01")] == 1


def test_check_finds_counts_gone_astray_and_refresh_mends_them(
    app: Flask, make_member: MakeMember
) -> None:
    member = make_member(network="apec")
    member.created_at = utc(2025, 1, 20, 10)
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["analytics", "check"]).exit_code == 0

    db.session.execute(update(MemberMonthCount).values(joined=MemberMonthCount.joined + 1))
    db.session.commit()
    checked = runner.invoke(args=["analytics", "check"])

    assert checked.exit_code == 1
    assert "membres par mois" in checked.output
    assert "membres par réseau" in checked.output
    refreshed = runner.invoke(args=["analytics", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "membre(s) recompté(s)" in refreshed.output
    assert runner.invoke(args=["analytics", "check"]).exit_code == 0


def test_a_report_reads_no_member_row_for_the_whole_months(make_member: MakeMember) -> None:
    """Members admitted in whole months of the period and before it are read from the kept
    counts: changing their rows behind the flush's back changes nothing the report shows."""
    member = make_member(network="apec")
    member.created_at = utc(2025, 1, 20, 10)
    db.session.commit()
    period = Period(date(2025, 1, 1), date(2025, 3, 31))
    growth = member_months.member_growth(period.start, period.end)
    db.session.execute(
        update(Member).where(Member.id == member.id).values(created_at=utcnow() - timedelta(1))
    )

    assert member_months.member_growth(period.start, period.end) == growth
    db.session.rollback()


def test_counts_are_written_in_key_order(
    app: Flask, make_member: MakeMember, admin: Member
) -> None:
    """Two flushes that touch the same rows lock them in the same order (PostgreSQL would
    otherwise let a move from A to B and one from B to A wait for each other)."""
    low, high = sorted(
        db.session.execute(select(Network.id, Network.code).where(Network.kind == "pair")).all()
    )[:2]
    member = make_member(network=low.code)
    inserted: list[list] = []

    def capture(_conn, _cursor, statement, parameters, *_args) -> None:  # noqa: ANN001
        if "analytics_member_months" in statement and statement.startswith("INSERT"):
            inserted.append(parameters)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with app.test_request_context():
            update_member(
                admin, member, statut="pair", network_code=high.code, roles=[], group_ids=[]
            )
            db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)

    assert len(inserted) == 1
    assert _network_ids(inserted[0]) == [low.id, high.id]


def _network_ids(parameters: Any) -> list[int]:
    """The network of each row of a multi-row INSERT, in the order of its VALUES: named
    network_id_m0, _m1… (PostgreSQL) or every fifth positional value (SQLite)."""
    if isinstance(parameters, dict):
        names = [name for name in parameters if name.startswith("network_id_m")]
        return [parameters[name] for name in sorted(names, key=lambda n: int(n[12:]))]
    return list(parameters)[2::5]
