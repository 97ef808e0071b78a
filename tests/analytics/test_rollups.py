"""Monthly tallies kept between reports (`comcep.analytics.rollups`): a report read from them
equals a report counted from the posts, after every kind of change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from comcep.analytics import queries, report, rollups
from comcep.analytics.anonymise import SMALL
from comcep.analytics.models import AnalyticsMonth, MonthCell
from comcep.analytics.report import Period
from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import Post, Tag, Topic
from comcep.members.models import Member
from comcep.members.services import update_member
from comcep.moderation import services as moderation
from comcep.worker import Worker
from tests.analytics.conftest import Q1_2025, Forum, MakeMember, solved_forum, utc
from tests.factories import category

Q1_TO_Q2 = Period(date(2025, 1, 1), date(2025, 6, 30))


def from_posts(period: Period) -> dict:
    """The report with no kept tally: every month counted from the posts."""
    rollups.forget()
    counted = report.build_report(period)
    db.session.rollback()
    return counted


def kept_report(period: Period) -> dict:
    """The report as the page builds it, its tallies stored and committed."""
    built = report.build_report(period)
    rollups.commit_stored()
    return built


def current_months() -> set[str]:
    rows = db.session.execute(
        select(AnalyticsMonth.month).where(
            AnalyticsMonth.computed_generation == AnalyticsMonth.generation
        )
    )
    return set(rows.scalars())


def test_a_report_keeps_the_settled_months_it_counted(forum: Forum) -> None:
    first = kept_report(Q1_2025)

    assert current_months() == {"2025-01", "2025-02", "2025-03"}
    assert kept_report(Q1_2025) == first == from_posts(Q1_2025)


def test_a_kept_report_counts_no_month_again(forum: Forum, monkeypatch: pytest.MonkeyPatch) -> None:
    kept_report(Q1_2025)
    counted: list[list[rollups.Span]] = []
    count_spans = rollups.count_spans
    monkeypatch.setattr(rollups, "count_spans", lambda s: counted.append(s) or count_spans(s))

    report.build_report(Q1_2025)

    assert counted == [[]]


@pytest.mark.parametrize(
    ("now", "posted", "first_settled"),
    [
        # Paris is at UTC+1 in February: the 24th began at 23:00 UTC on the 23rd.
        (utc(2025, 2, 24, 12), utc(2025, 2, 24, 9), 23),
        # Half an hour after Paris midnight, yesterday is not settled yet (`SETTLED_AFTER`).
        (utc(2025, 2, 23, 23, 30), utc(2025, 2, 23, 23, 10), 22),
    ],
    ids=["yesterday settled", "yesterday not yet settled"],
)
def test_the_current_month_is_counted_from_the_posts_but_its_settled_days(
    make_member: MakeMember,
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
    posted: datetime,
    first_settled: int,
) -> None:
    # The clock is fixed, so that a run crossing Paris midnight or 01:00 cannot change the
    # days expected.
    settle_at(monkeypatch, now)
    authors = [make_member(network="apec") for _ in range(5)]
    period = Period(date(2025, 2, 1), date(2025, 2, 24))
    topic = services.create_topic(authors[0], category("divers"), "Un sujet", "Texte", at=posted)
    db.session.commit()
    before = kept_report(period)
    for minute, author in enumerate(authors[1:], start=1):
        services.reply(author, topic, "Réponse", at=posted + timedelta(minutes=minute))
    db.session.commit()

    after = kept_report(period)

    assert before["growth"][-1]["messages"] == "< 5"
    assert after["growth"][-1]["messages"] == 5  # one opener: the totals row stays « < 5 »
    assert current_months() == {
        date(2025, 2, day).isoformat() for day in range(1, first_settled + 1)
    }


def test_the_live_spans_are_the_days_not_yet_settled_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settle_at(monkeypatch, FEBRUARY_NOT_SETTLED)

    spans = rollups.live_spans(Q1_2025.start, Q1_2025.end)

    assert spans[0].start == utc(2025, 2, 23, 23)  # 24 February, Paris midnight
    assert spans[-1].end == Q1_2025.end
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    assert not any(span.whole for span in spans)
    settle_at(monkeypatch, utc(2025, 4, 1, 12))
    assert rollups.live_spans(Q1_2025.start, Q1_2025.end) == []


def test_a_period_typed_up_to_2100_counts_no_month_after_the_latest_post(
    forum: Forum, monkeypatch: pytest.MonkeyPatch
) -> None:
    """« Dates choisies » up to 31/12/2100: the months to come hold nothing, and were
    counted from the posts one stretch each (900 of them, none ever settled), seconds of
    building and planning one statement; the figures stay those of the posts."""
    far = Period(date(2025, 1, 1), date(2100, 12, 31))
    settle_at(monkeypatch, utc(2025, 4, 15, 12))  # the latest post: 1 April (Paris)

    spans = rollups.live_spans(far.start, far.end)

    assert spans[-1].end == rollups.month_start(2025, 6)  # the month after next
    assert len(spans) <= 2
    assert rollups.disagreements(far.start, far.end) == []
    services.create_topic(  # a post dated ahead (an import) is still counted
        forum.members["ft2"], category("divers"), "Daté de 2031", "Texte", at=utc(2031, 5, 2, 9)
    )
    db.session.commit()
    assert rollups.live_spans(far.start, far.end)[-1].end == rollups.month_start(2031, 6)
    assert rollups.disagreements(far.start, far.end) == []
    growth = {row["month"]: row["messages"] for row in report.build_report(far)["growth"]}
    assert growth["2031-05"] == SMALL
    assert growth["2100-12"] == 0


def change_each_way(forum: Forum) -> list[tuple[str, Callable[[], object]]]:
    animatrice = forum.members["ft1"]
    t1, t2, t6 = forum.topics["T1"], forum.topics["T2"], forum.topics["T6"]
    t1_posts = forum.posts["T1"]
    return [
        ("hide", lambda: moderation.hide_post(animatrice, t1_posts[1], t1, "Hors charte.")),
        ("restore", lambda: moderation.restore_post(animatrice, t1_posts[1], t1)),
        ("hide topic", lambda: moderation.hide_post(animatrice, forum.posts["T6"][0], t6, "x")),
        ("move", lambda: moderation.move_topic(animatrice, t2, category("liens-utiles"))),
        (
            "split",
            lambda: moderation.split_topic(
                animatrice, t1, [t1_posts[3].id, t1_posts[4].id], "Suite", category("divers")
            ),
        ),
        ("merge", lambda: moderation.merge_topics(animatrice, t2, t1)),
        (
            "reply dated in a settled month",
            lambda: services.reply(forum.members["ml3"], t1, "Tardive", at=utc(2025, 2, 20, 9)),
        ),
    ]


FEBRUARY_NOT_SETTLED = utc(2025, 2, 24, 12)  # its days up to the 23rd are settled


def settle_at(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """Reports and changes see `now` as the time: February 2025 can be the month not yet
    settled, and kept by days."""
    monkeypatch.setattr(rollups, "utcnow", lambda: now)


@pytest.mark.parametrize(
    ("period", "now"),
    [
        (Q1_TO_Q2, None),
        (Period(date(2024, 12, 10), date(2026, 1, 20)), None),
        (Q1_TO_Q2, FEBRUARY_NOT_SETTLED),
    ],
    ids=["months", "a whole year", "days of the month not yet settled"],
)
def test_every_change_leaves_the_kept_report_equal_to_the_posts(
    forum: Forum, period: Period, now: datetime | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if now is not None:
        settle_at(monkeypatch, now)
    tag = db.session.scalars(select(Tag).where(Tag.retired.is_(False))).first()
    assert tag is not None
    lonely = services.create_topic(
        forum.members["ft2"], category("divers"), "Sans réponse", "Texte", at=utc(2025, 2, 12, 9)
    )
    db.session.commit()
    kept_report(period)
    if now is not None:
        assert "2025-02-12" in current_months()
    steps = change_each_way(forum)
    steps.append(("tag", lambda: services.set_tags(forum.topics["T3"], [tag.slug])))
    steps.append(
        (
            "first reply to a topic opened on a settled day",
            lambda: services.reply(forum.members["ap2"], lonely, "Enfin une réponse"),
        )
    )
    for name, change in steps:
        change()
        db.session.commit()
        kept = kept_report(period)
        assert rollups.disagreements(period.start, period.end) == [], name
        assert rollups.first_reply_disagreements() == [], name
        assert kept == from_posts(period), name
        kept_report(period)  # the next step starts from kept tallies again


def test_a_change_makes_its_months_count_again(forum: Forum) -> None:
    kept_report(Q1_2025)
    t5 = forum.topics["T5"]  # January
    moderation.hide_post(forum.members["ft1"], forum.posts["T5"][1], t5, "Hors charte.")
    db.session.commit()

    assert current_months() == {"2025-02", "2025-03"}


def test_members_are_united_exactly_across_months(make_member: MakeMember) -> None:
    """Two writers in January and three others in February make five: not « < 5 »,
    though each month alone is; the same two in both months stay « < 5 »."""
    first = [make_member(network="apec") for _ in range(2)]
    others = [make_member(network="apec") for _ in range(3)]
    topic = services.create_topic(first[0], category("divers"), "Un", "Texte", at=utc(2025, 1, 5))
    services.reply(first[1], topic, "Réponse", at=utc(2025, 1, 6))
    again = services.create_topic(
        first[0], category("liens-utiles"), "Deux", "T", at=utc(2025, 1, 7)
    )
    services.reply(first[1], again, "Réponse", at=utc(2025, 2, 6))
    for n, member in enumerate(others):
        services.reply(member, topic, "Réponse", at=utc(2025, 2, 10 + n))
    db.session.commit()
    kept_report(Q1_2025)

    tallies = rollups.tallies(Q1_2025.start, Q1_2025.end)
    divers, liens = category("divers").id, category("liens-utiles").id
    counts = tallies.content_counts(rollups_themes())

    assert counts.messages[divers].people == 5
    assert counts.messages[liens].people == 2
    assert tallies.messages_by_month()["2025-01"].people == 2
    assert counts.total_messages.people == 5


def test_cells_keep_only_the_keys_their_figures_are_read_by(make_member: MakeMember) -> None:
    """Messages are kept by rubrique, replies by network, topics both ways. Three members
    who each replied in two rubriques in a month are three behind their network's replies,
    not six (which would pass « < 5 »)."""
    asker = make_member(network="apec")
    repliers = [make_member(network="cap-emploi") for _ in range(3)]
    divers, liens = category("divers"), category("liens-utiles")
    one = services.create_topic(asker, divers, "Un", "Texte", at=utc(2025, 1, 5))
    two = services.create_topic(asker, liens, "Deux", "Texte", at=utc(2025, 1, 6))
    for day, replier in enumerate(repliers, start=7):
        for topic in (one, two):
            services.reply(replier, topic, "Réponse", at=utc(2025, 1, day))
    db.session.commit()
    kept_report(Q1_2025)

    cells = db.session.execute(
        select(MonthCell.kind, MonthCell.key_id, MonthCell.network_id, MonthCell.people).where(
            MonthCell.month == "2025-01"
        )
    ).all()
    shapes = {(kind, key > 0, network is not None) for kind, key, network, _people in cells}
    assert {k: (r, n) for k, r, n in shapes if k in ("message", "reply", "topic", "topic_net")} == {
        "message": (True, False),
        "reply": (False, True),
        "topic": (True, False),
        "topic_net": (False, True),
    }
    network = repliers[0].network_id
    replies = {(key, net): people for kind, key, net, people in cells if kind == "reply"}
    assert replies == {(0, network): 3}
    activity = rollups.tallies(Q1_2025.start, Q1_2025.end).activity_by_network()
    assert (activity[network].replies.count, activity[network].replies.people) == (6, 3)
    assert activity[asker.network_id].topics.count == 2
    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []


def rollups_themes() -> dict[int, int]:
    return {c.id: c.parent_id or c.id for c in report.queries.category_tree()}


def test_a_stale_tally_stored_late_does_not_count(forum: Forum) -> None:
    """A report that counted a month before a change committed stores cells of the old
    generation: they are not read, and the month is counted again."""
    generations = {"2025-01": 0}
    counted = rollups.count_spans(rollups.spans(utc(2024, 12, 31, 23), utc(2025, 1, 31, 23)))
    moderation.hide_post(forum.members["ft1"], forum.posts["T5"][1], forum.topics["T5"], "x")
    db.session.commit()
    rollups.store(counted, generations)
    db.session.commit()

    assert "2025-01" not in current_months()
    assert kept_report(Q1_2025) == from_posts(Q1_2025)


def test_check_and_refresh_commands(forum: Forum, app: Flask) -> None:
    runner = app.test_cli_runner()
    refreshed = runner.invoke(args=["analytics", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "mois compté" in refreshed.output
    assert {"2025-01", "2025-02", "2025-03"} <= current_months()

    assert runner.invoke(args=["analytics", "check"]).exit_code == 0

    db.session.execute(
        update(MonthCell)
        .where(MonthCell.month == "2025-02", MonthCell.kind == "message")
        .values(items=MonthCell.items + 1)
    )
    db.session.execute(update(Topic).values(first_reply_at=None))
    db.session.commit()
    broken = runner.invoke(args=["analytics", "check"])

    assert broken.exit_code == 1
    assert "messages par rubrique" in broken.output
    assert "première réponse" in broken.output


@pytest.mark.parametrize("hours", [0, 1])
def test_a_month_is_settled_an_hour_after_its_end(hours: int) -> None:
    january = rollups.spans(utc(2024, 12, 31, 23), utc(2025, 1, 31, 23))[0]
    assert january.whole
    now = january.end + timedelta(hours=hours, seconds=-1)
    assert rollups._settled(january, now) is False
    assert rollups._settled(january, now + timedelta(seconds=1)) is bool(hours)


def test_the_month_not_yet_settled_is_cut_at_paris_midnights() -> None:
    march = rollups.spans(utc(2025, 2, 28, 23), utc(2025, 3, 31, 22))[0]  # summer time on the 30th

    cut = rollups.with_days(march, utc(2025, 3, 31, 22, 30))  # the 31st settles at 23:00

    days = [s for s in cut if s.whole]
    assert [s.month for s in days] == [f"2025-03-{n:02d}" for n in range(1, 31)]
    assert (days[0].start, days[0].end) == (utc(2025, 2, 28, 23), utc(2025, 3, 1, 23))
    assert (days[-1].start, days[-1].end) == (utc(2025, 3, 29, 23), utc(2025, 3, 30, 22))
    assert cut[30:] == [rollups.Span("2025-03", utc(2025, 3, 30, 22), utc(2025, 3, 31, 22), False)]
    # A day is settled an hour after its end, as a month is; a partial first day is counted.
    later = rollups.Span("2025-03", utc(2025, 3, 10, 11), utc(2025, 3, 31, 22), False)
    cut = rollups.with_days(later, utc(2025, 3, 19, 23, 59))  # the 19th settles at 00:00
    assert [s.month for s in cut] == ["2025-03"] + [f"2025-03-{n:02d}" for n in range(11, 19)] + [
        "2025-03"
    ]
    assert (cut[0].start, cut[0].end) == (utc(2025, 3, 10, 11), utc(2025, 3, 10, 23))
    assert (cut[-1].start, cut[-1].end) == (utc(2025, 3, 18, 23), utc(2025, 3, 31, 22))


def test_the_settled_days_of_the_month_not_yet_settled_are_kept_then_read(
    forum: Forum, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle_at(monkeypatch, FEBRUARY_NOT_SETTLED)
    first = kept_report(Q1_2025)
    february = {f"2025-02-{n:02d}" for n in range(1, 24)}

    assert current_months() == {"2025-01"} | february
    counted: list[list[rollups.Span]] = []
    count_spans = rollups.count_spans
    monkeypatch.setattr(rollups, "count_spans", lambda s: counted.append(s) or count_spans(s))
    assert kept_report(Q1_2025) == first
    assert counted == [[]]
    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []
    assert first == from_posts(Q1_2025)


def test_the_worker_tallies_the_settled_days_of_the_month_not_yet_settled(
    forum: Forum, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle_at(monkeypatch, FEBRUARY_NOT_SETTLED)

    assert rollups.refresh() == 1 + 23  # January, and February's settled days

    assert current_months() >= {"2025-01"} | {f"2025-02-{n:02d}" for n in range(1, 24)}
    assert rollups.refresh() == 0


def test_a_late_first_reply_counts_its_day_again_and_a_hidden_post_its_month(
    forum: Forum, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle_at(monkeypatch, FEBRUARY_NOT_SETTLED)
    lonely = services.create_topic(
        forum.members["ft2"], category("divers"), "Sans réponse", "Texte", at=utc(2025, 2, 12, 9)
    )
    db.session.commit()
    kept_report(Q1_2025)
    counted: list[list[str]] = []
    count_spans = rollups.count_spans
    monkeypatch.setattr(
        rollups, "count_spans", lambda s: counted.append([x.month for x in s]) or count_spans(s)
    )

    services.reply(forum.members["ap2"], lonely, "Enfin une réponse")
    db.session.commit()
    after_reply = kept_report(Q1_2025)
    moderation.hide_post(forum.members["ft1"], forum.posts["T6"][1], forum.topics["T6"], "x")
    db.session.commit()
    after_hide = kept_report(Q1_2025)

    assert counted == [["2025-02-12"], [f"2025-02-{n:02d}" for n in range(1, 24)]]
    assert after_hide == from_posts(Q1_2025) != after_reply


def test_a_month_kept_whole_drops_its_days(forum: Forum, monkeypatch: pytest.MonkeyPatch) -> None:
    settle_at(monkeypatch, FEBRUARY_NOT_SETTLED)
    kept_report(Q1_2025)
    settle_at(monkeypatch, utc(2025, 3, 4, 12))

    kept = kept_report(Q1_2025)

    assert current_months() == {"2025-01", "2025-02"} | {"2025-03-01", "2025-03-02", "2025-03-03"}
    days = [MonthCell.month.between("2025-02-01", "2025-02-31")]
    assert db.session.scalars(select(MonthCell.month).where(*days)).all() == []
    assert kept == from_posts(Q1_2025)


def test_a_period_from_before_the_first_post_reads_its_first_month_whole(forum: Forum) -> None:
    since_launch = Period(date(2024, 12, 31), date(2025, 2, 28))  # first post: 31 Dec, 23:59

    kept = kept_report(since_launch)

    assert current_months() == {"2024-12", "2025-01", "2025-02"}
    assert kept == from_posts(since_launch)
    assert rollups.disagreements(since_launch.start, since_launch.end) == []
    services.create_topic(forum.members["ft2"], category("divers"), "Tôt", "x", at=utc(2024, 12, 5))
    db.session.commit()
    rollups.forget()
    kept = kept_report(since_launch)
    assert current_months() == {"2025-01", "2025-02"}  # December counted from the 31st
    assert kept == from_posts(since_launch)


def test_the_worker_tallies_the_settled_months(forum: Forum, app: Flask) -> None:
    assert current_months() == set()

    Worker(app).run(once=True)

    assert {"2025-01", "2025-02", "2025-03"} <= current_months()
    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []


# Races and write paths found in review: each test failed before its fix.


def _hide_elsewhere(app: Flask, forum: Forum, topic: str, number: int) -> None:
    """A moderator hides a post in another session, committed at once."""
    post_id, topic_id = forum.posts[topic][number - 1].id, forum.topics[topic].id
    actor_id = forum.members["ft1"].id
    with app.app_context():
        moderation.hide_post(
            db.session.get(Member, actor_id),
            db.session.get(Post, post_id),
            db.session.get(Topic, topic_id),
            "Hors charte.",
        )
        db.session.commit()


def hide_once_counted(
    monkeypatch: pytest.MonkeyPatch, app: Flask, forum: Forum, topic: str
) -> list[int]:
    """The first count of months or days that follows hides the topic's second post in
    another session once it has counted; the list returned tells that it did."""
    count_spans = rollups.count_spans
    raced: list[int] = []

    def counting_then_a_hide(stretches: list[rollups.Span]) -> dict:
        result = count_spans(stretches)
        if not raced:
            raced.append(1)
            _hide_elsewhere(app, forum, topic, 2)
        return result

    monkeypatch.setattr(rollups, "count_spans", counting_then_a_hide)
    return raced


def test_a_slow_report_never_overwrites_the_cells_of_a_newer_generation(
    forum: Forum, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R1 counts; meanwhile a post is hidden and R2 stores the new generation's cells; R1's
    older cells must not replace them."""
    count_spans = rollups.count_spans
    raced: list[int] = []

    def first_report_counting(stretches: list[rollups.Span]) -> dict:
        result = count_spans(stretches)
        if stretches and not raced:
            raced.append(1)
            _hide_elsewhere(app, forum, "T1", 2)
            with app.app_context():
                kept_report(Q1_2025)
        return result

    monkeypatch.setattr(rollups, "count_spans", first_report_counting)
    kept_report(Q1_2025)
    monkeypatch.setattr(rollups, "count_spans", count_spans)

    assert raced
    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []
    assert kept_report(Q1_2025) == from_posts(Q1_2025)


def test_a_report_keeps_no_day_that_changed_while_it_counted(
    forum: Forum, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hide in February, not yet settled, while a report counts its days: their rows did
    not exist when the report read their generations, and must still tell it they moved."""
    settle_at(monkeypatch, FEBRUARY_NOT_SETTLED)
    raced = hide_once_counted(monkeypatch, app, forum, "T6")

    kept_report(Q1_2025)

    assert raced
    assert not any(month.startswith("2025-02-") for month in current_months())
    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []


def test_refresh_reads_the_generations_before_counting(
    forum: Forum, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    raced = hide_once_counted(monkeypatch, app, forum, "T1")

    rollups.refresh()

    assert raced
    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []


def test_a_member_moved_to_another_network_is_counted_there(forum: Forum) -> None:
    kept_report(Q1_2025)
    ap1 = forum.members["ap1"]  # gave T1's first reply, from another network than ft1's
    update_member(
        forum.members["ft1"],
        ap1,
        statut="pair",
        network_code="france-travail",
        roles=[],
        group_ids=[],
    )
    db.session.commit()

    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []
    assert rollups.first_reply_disagreements() == []
    assert kept_report(Q1_2025) == from_posts(Q1_2025)


def test_a_reply_dated_before_the_first_reply_becomes_the_first_reply(forum: Forum) -> None:
    t2 = forum.topics["T2"]  # first reply from another member: ap2, 10 h after the opening
    services.reply(forum.members["ml3"], t2, "Plus tôt", at=utc(2025, 2, 3, 10, 30))
    db.session.commit()

    assert rollups.first_reply_disagreements() == []
    assert db.session.get(Topic, t2.id).first_reply_author_id == forum.members["ml3"].id


def test_first_replies_and_solutions_follow_every_change_of_a_kept_month(forum: Forum) -> None:
    """Changes that alter the first replies or retained answers of topics opened in a kept
    month, without adding a post to that month, still make it count again: the median,
    the shares and the members behind them equal the direct queries after each."""
    solved_forum(forum)
    members = forum.members
    t1, t2, t4 = forum.topics["T1"], forum.topics["T2"], forum.topics["T4"]
    steps: list[tuple[str, Callable[[], object]]] = [
        ("a first reply, given today, to a March topic", lambda: services.reply(
            members["ml3"], t4, "Enfin une réponse")),
        ("another retained answer", lambda: services.mark_solution(
            members["ft1"], t1, forum.posts["T1"][1])),
        ("a retained answer withdrawn", lambda: services.withdraw_solution(t2)),
        ("a rubrique no longer takes solutions", lambda: setattr(
            category("premier-entretien"), "accepts_solutions", False)),
        ("the first replier of a March topic moves to another network", lambda: update_member(
            members["ft1"], members["ml3"], statut="pair", network_code="apec", roles=[],
            group_ids=[])),
    ]  # fmt: skip
    for name, change in steps:
        kept_report(Q1_TO_Q2)
        before = queries.topic_figures(Q1_TO_Q2.start, Q1_TO_Q2.end)
        change()
        db.session.commit()

        assert queries.topic_figures(Q1_TO_Q2.start, Q1_TO_Q2.end) != before, name
        assert rollups.disagreements(Q1_TO_Q2.start, Q1_TO_Q2.end) == [], name
        assert kept_report(Q1_TO_Q2) == from_posts(Q1_TO_Q2), name


def test_the_medians_of_kept_months_are_exact(forum: Forum) -> None:
    """A median over several kept months is the middle delay of all their topics (or the
    mean of the two middle ones), not a median of medians."""
    kept_report(Q1_2025)
    replies, solutions = rollups.tallies(Q1_2025.start, Q1_2025.end).topic_figures(
        {c.id for c in queries.category_tree() if c.accepts_solutions}
    )

    assert current_months() == {"2025-01", "2025-02", "2025-03"}
    assert (replies, solutions) == tuple(
        rollups._capped_people(f) for f in queries.topic_figures(Q1_2025.start, Q1_2025.end)
    )
    # first replies (T1 ap1 +2 h, T2 ap2 +10 h, T3 ft3 +60 h, T5 ft6 +48 h, T6 ap4 +3 h,
    # T7 hp2 +1 h, T8 ml3 +1 h, T10 ft4 +2 h): the mean of the two middle ones, 2 h and 3 h
    assert replies.median_seconds == 2.5 * 3600


def test_kept_delays_are_written_in_increasing_order(forum: Forum) -> None:
    """Each kept cell holds its delays in increasing order (`keep_delays`: the medians
    partition runs in order quicker), whatever the order of the topics behind them."""
    kept_report(Q1_2025)

    kept = {
        (cell.month, cell.kind, cell.key_id, cell.network_id): rollups.kept_delays(
            cell.delays
        ).tolist()
        for cell in db.session.scalars(select(MonthCell).where(MonthCell.delays.is_not(None)))
    }
    assert sum(len(delays) for delays in kept.values()) >= 8  # the first replies of Q1 at least
    assert any(len(delays) > 2 for delays in kept.values())
    assert {key: sorted(delays) for key, delays in kept.items()} == kept


# Whole years: their months summed once into year cells, read in their place.

YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31))


def test_a_whole_year_is_summed_once_then_read_from_its_year_cells(
    forum: Forum, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kept_report(YEAR_2025)
    assert "2025" in current_months()
    assert set(db.session.scalars(select(MonthCell.month).where(MonthCell.month == "2025")))
    summed: list[list[str]] = []
    store_years = rollups.store_years
    monkeypatch.setattr(rollups, "store_years", lambda y: summed.append(y) or store_years(y))

    again = kept_report(YEAR_2025)
    tallied = rollups.tallies(YEAR_2025.start, YEAR_2025.end, keep=False)

    assert summed == []  # read, not summed again
    assert tallied.kept.years == {"2025"}
    assert again == first == from_posts(YEAR_2025)
    # A period that holds 2025 but not all of 2024 reads 2025 by its year cells too.
    longer = Period(date(2024, 11, 15), date(2026, 2, 10))
    assert rollups.tallies(longer.start, longer.end, keep=False).kept.years == {"2025"}
    assert kept_report(longer) == from_posts(longer)


def test_the_year_cells_are_not_read_once_a_month_of_theirs_changed(forum: Forum) -> None:
    kept_report(YEAR_2025)
    moderation.hide_post(forum.members["ft1"], forum.posts["T5"][1], forum.topics["T5"], "x")
    db.session.commit()

    assert "2025" not in current_months()
    assert rollups.tallies(YEAR_2025.start, YEAR_2025.end, keep=False).kept.years == set()
    assert kept_report(YEAR_2025) == from_posts(YEAR_2025)
    assert "2025" in current_months()  # summed again from the months, the changed one recounted
    assert kept_report(YEAR_2025) == from_posts(YEAR_2025)


def test_a_year_is_not_summed_from_a_month_changed_meanwhile(
    forum: Forum, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report found twelve current months; a post of January is hidden before it sums
    them: the year must not be kept as of the older cells."""
    rollups.refresh()
    db.session.execute(
        update(AnalyticsMonth)
        .where(AnalyticsMonth.month == "2025")
        .values(computed_generation=None)
    )
    db.session.commit()
    store_years = rollups.store_years

    def hide_first(years: list[str]) -> list[str]:
        _hide_elsewhere(app, forum, "T5", 2)
        return store_years(years)

    monkeypatch.setattr(rollups, "store_years", hide_first)
    report.build_report(YEAR_2025)
    rollups.commit_stored()
    monkeypatch.setattr(rollups, "store_years", store_years)

    assert "2025" not in current_months()
    assert "2025-01" not in current_months()
    assert kept_report(YEAR_2025) == from_posts(YEAR_2025)


def test_check_compares_the_months_and_the_years_alike(forum: Forum, app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["analytics", "refresh"]).exit_code == 0
    assert "2025" in current_months()
    assert rollups.disagreements(YEAR_2025.start, YEAR_2025.end) == []

    db.session.execute(
        update(MonthCell)
        .where(MonthCell.month == "2025", MonthCell.kind == "message")
        .values(items=MonthCell.items + 1)
    )
    db.session.commit()
    broken = runner.invoke(args=["analytics", "check"])

    assert broken.exit_code == 1
    assert "messages par rubrique (par année)" in broken.output
    assert rollups.disagreements(Q1_2025.start, Q1_2025.end) == []  # no whole year in it
