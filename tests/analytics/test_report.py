"""The comité's figures on a forum with known numbers (see conftest.py for the forum)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from flask import Flask

from comcep.analytics import member_months, queries, report
from comcep.analytics.report import Period
from comcep.extensions import db
from comcep.forum import services
from comcep.members import membership
from comcep.members.tokens import make_token
from comcep.moderation import services as moderation
from tests.analytics.conftest import (
    ADMITTED,
    Q1_2025,
    Forum,
    MakeMember,
    new_askers,
    open_topics,
    utc,
)
from tests.factories import category

SMALL = "< 5"
MASKED = "masqué"


def by(rows: list[dict], key: str) -> dict[str, dict]:
    return {row[key]: row for row in rows}


def theme_rows(period: Period = Q1_2025) -> dict[str, dict]:
    themes, _rubriques, _totals = report.theme_tables(period)
    return by(themes, "theme")


def test_themes_have_exact_counts_and_shares_of_the_period(
    forum: Forum, make_member: MakeMember
) -> None:
    open_topics(new_askers(make_member, 1), "monter-un-dossier")  # a 5th opener
    open_topics([forum.members[f"hp{n}"] for n in range(2, 6)], "echanges")  # 5 openers
    themes = theme_rows()

    assert themes["Les échanges de pratiques"] == {
        "theme": "Les échanges de pratiques",
        "topics": 5,
        "topics_pct": 35.7,
        "messages": 14,
        "messages_pct": 40.0,
    }
    # 5 topics opened by 5 hors pairs, 10 messages by 6 members: shown
    assert themes["Échanges hors pairs"] == {
        "theme": "Échanges hors pairs",
        "topics": 5,
        "topics_pct": 35.7,
        "messages": 10,
        "messages_pct": 28.6,
    }
    # 2 topics by 2 members (8 messages by 7): a topic count describes its openers
    assert themes["Les outils du CEP"] == {
        "theme": "Les outils du CEP",
        "topics": SMALL,
        "topics_pct": None,
        "messages": SMALL,
        "messages_pct": None,
    }
    assert themes["Accueil"] == {
        "theme": "Accueil",
        "topics": 0,
        "topics_pct": 0.0,
        "messages": 0,
        "messages_pct": 0.0,
    }


def test_every_theme_is_listed_in_the_order_of_the_index(forum: Forum) -> None:
    themes, _rubriques, _totals = report.theme_tables(Q1_2025)

    assert [row["theme"] for row in themes] == [
        "Accueil",
        "Bienvenue aux nouveaux conseillers",
        "Les échanges de pratiques",
        "Se professionnaliser dans le métier",
        "Les outils du CEP",
        "Les améliorations du forum",
        "Les événements en régions",
        "Divers",
        "Échanges hors pairs",
        "Le coin des animateurs",
        "Groupe pilote",
    ]


def test_totals_count_every_visible_topic_and_message_of_the_period(forum: Forum) -> None:
    _themes, _rubriques, totals = report.theme_tables(Q1_2025)

    assert totals == {"topics": 9, "messages": 30}


def test_a_theme_written_by_fewer_than_five_members_reads_small_with_no_share(
    forum: Forum,
) -> None:
    divers = theme_rows()["Divers"]  # 2 topics, 3 messages by ml2, ap5 and ft4

    assert divers == {
        "theme": "Divers",
        "topics": SMALL,
        "topics_pct": None,
        "messages": SMALL,
        "messages_pct": None,
    }


def test_rubriques_drill_down_with_shares_of_the_whole_period(
    forum: Forum, make_member: MakeMember
) -> None:
    open_topics(new_askers(make_member, 3), "premier-entretien")  # 5 openers
    open_topics(new_askers(make_member, 4), "je-partage-mes-outils")  # 5 openers
    _themes, rubriques, _totals = report.theme_tables(Q1_2025)
    rows = by(rubriques, "rubrique")

    assert rows["Le premier entretien"] == {
        "theme": "Les échanges de pratiques",
        "rubrique": "Le premier entretien",
        "topics": 5,
        "topics_pct": 31.3,
        "messages": 12,
        "messages_pct": 32.4,
    }  # opened by 5 members, written by 8: shown
    assert rows["L'accueil du bénéficiaire"]["topics"] == SMALL
    # 5 topics and 9 messages, masked: « Les liens utiles » would be its thème's row minus it
    assert rows["Je partage mes outils"]["topics"] == MASKED
    assert rows["Je partage mes outils"]["messages"] == MASKED
    assert rows["Les liens utiles"]["messages"] == SMALL
    # two « < 5 » rubriques in their thème: neither can be derived, nothing more is masked
    assert (
        rows["Aider à monter un dossier : les bonnes structures, le financement…"]["topics"]
        == SMALL
    )
    assert rows["Après le premier entretien"]["topics"] == 0
    # a thème without rubriques is its own row
    assert rows["Divers"]["theme"] == "Divers"
    assert rows["Accueil"]["theme"] == "Accueil"


def test_a_topic_opened_at_2359_paris_on_the_last_day_is_in_and_at_midnight_is_out(
    forum: Forum,
) -> None:
    counts = queries.content_counts(Q1_2025.start, Q1_2025.end)
    divers = category("divers").id

    # T8 (31 March 23:59 Paris) and T10 (1 January 00:00 Paris) are in;
    # T9 (1 April 00:00 Paris) and T11 (31 December 23:59 Paris) are out.
    assert counts.topics[divers].count == 2
    assert counts.messages[divers].count == 3  # T8's reply came on 1 April
    # one day later, T9 and T8's reply are in, T10 still is
    later = queries.content_counts(Q1_2025.start, Period(Q1_2025.first, date(2025, 4, 1)).end)
    assert later.topics[divers].count == 3
    assert later.messages[divers].count == 5


@pytest.mark.parametrize(
    ("first", "last", "start", "end"),
    [
        (date(2025, 1, 1), date(2025, 3, 31), utc(2024, 12, 31, 23), utc(2025, 3, 31, 22)),
        (date(2025, 7, 1), date(2025, 7, 31), utc(2025, 6, 30, 22), utc(2025, 7, 31, 22)),
        (date(2025, 10, 1), date(2025, 12, 31), utc(2025, 9, 30, 22), utc(2025, 12, 31, 23)),
    ],
    ids=["winter-to-summer", "summer", "summer-to-winter"],
)
def test_a_period_runs_from_paris_midnight_to_paris_midnight_after_its_last_day(
    first: date, last: date, start: datetime, end: datetime
) -> None:
    period = Period(first, last)

    assert (period.start, period.end) == (start, end)


def test_hidden_posts_and_hidden_topics_are_not_counted(forum: Forum) -> None:
    pratiques = category("premier-entretien").parent_id

    def counted() -> tuple[int, int]:
        counts = queries.content_counts(Q1_2025.start, Q1_2025.end)
        return counts.theme_topics[pratiques].count, counts.theme_messages[pratiques].count

    before = counted()
    topic = forum.topics["T1"]
    moderation.hide_post(None, forum.posts["T1"][1], topic, "Hors charte.")  # ap1's reply
    db.session.commit()

    after = counted()

    assert before == (4, 13)  # T1's hidden reply and the hidden T12 were never counted
    assert after == (4, 12)
    moderation.hide_post(None, forum.posts["T2"][0], forum.topics["T2"], "Hors charte.")
    db.session.commit()
    assert counted() == (3, 8)  # T2 and its 3 replies


def test_a_moved_topic_counts_under_its_new_theme(forum: Forum, make_member: MakeMember) -> None:
    open_topics(new_askers(make_member, 4), "comment-je-me-professionnalise")
    moderation.move_topic(None, forum.topics["T6"], category("comment-je-me-professionnalise"))
    db.session.commit()

    themes = theme_rows()

    assert themes["Les outils du CEP"]["topics"] == SMALL  # only T5 left: 3 writers
    assert themes["Se professionnaliser dans le métier"]["topics"] == 5
    assert themes["Se professionnaliser dans le métier"]["messages"] == 9
    assert themes["Se professionnaliser dans le métier"]["messages_pct"] == 26.5


def test_members_by_network_at_the_end_of_the_period(forum: Forum, comite: object) -> None:
    networks = by(report.network_table(queries.members_by_network(Q1_2025.end)), "network")

    assert networks["france-travail"]["members"] == 6
    assert networks["france-travail"]["members_pct"] == 42.9  # of the 14 pairs
    # 5 members, masked: with Missions locales alone « < 5 », the shares would give it away
    assert networks["apec"]["members"] == MASKED
    assert networks["apec"]["members_pct"] is None
    assert networks["carif-oref"]["members"] == 5
    assert networks["carif-oref"]["members_pct"] == 100.0  # of the 5 hors pairs
    assert networks["dgefp"]["members"] == 0  # the comité's reader joined after 2025
    assert networks["cap-emploi"] == {
        "network": "cap-emploi",
        "name": "Cap emploi",
        "kind": "pair",
        "members": 0,
        "members_pct": 0.0,
    }


def test_a_network_of_three_members_reads_small(forum: Forum) -> None:
    networks = by(report.network_table(queries.members_by_network(Q1_2025.end)), "network")

    assert networks["missions-locales"]["members"] == SMALL
    assert networks["missions-locales"]["members_pct"] is None


def test_responsiveness_of_the_topics_opened_in_the_period(forum: Forum) -> None:
    figures = queries.responsiveness(Q1_2025.start, Q1_2025.end)

    # first replies (hours): T1 2, T2 10 (not the asker's own), T3 60, T4 none (hidden),
    # T5 48, T6 3, T7 1, T8 1 (in April: measured at report time), T10 2
    assert (figures.topics, figures.askers, figures.answered) == (9, 9, 8)
    assert figures.median_seconds == 2.5 * 3600
    assert figures.within_48h == 7  # 48 h exactly included
    assert (figures.cross_network, figures.cross_network_base) == (3, 8)  # T1, T3, T10
    # T4 alone is unanswered, T3 alone late: one asker each; ml1 alone answered T3 late…
    assert figures.parts["unanswered"] == queries.Part(1, 1, 0)
    assert figures.parts["late"] == queries.Part(2, 2, 1)
    assert figures.parts["cross"] == queries.Part(3, 3, 3)
    # …so every share would give a figure about fewer than 5 members away
    assert report.responsiveness_figures(Q1_2025) == {
        "topics": 9,
        "median_first_reply_hours": 2.5,
        "answered_within_48h_pct": SMALL,
        "unanswered_pct": SMALL,
        "cross_network_first_reply_pct": SMALL,
    }


def test_responsiveness_reads_small_when_fewer_than_five_members_asked(
    make_member: MakeMember,
) -> None:
    askers = [make_member(network="apec") for _ in range(2)]
    repliers = [make_member(network="france-travail") for _ in range(5)]
    opened = utc(2025, 2, 1, 9)
    for asker in askers:
        topic = services.create_topic(asker, category("divers"), "Un sujet", "Texte", at=opened)
        for hours, replier in enumerate(repliers, start=1):
            services.reply(replier, topic, "Réponse", at=opened + timedelta(hours=hours))
    db.session.commit()

    figures = report.responsiveness_figures(Q1_2025)

    assert set(figures.values()) == {SMALL}


def test_activity_by_network_counts_topics_opened_and_replies_given(forum: Forum) -> None:
    networks = queries.members_by_network(Q1_2025.end)
    activity = by(report.activity_table(Q1_2025, networks), "network")

    # france-travail: 3 topics by 3 members; 8 replies by 6 members
    assert activity["france-travail"]["topics"] == SMALL
    assert activity["france-travail"]["replies"] == 8
    assert activity["apec"]["replies"] == SMALL  # 6 replies, but by 4 members
    assert activity["carif-oref"] == {
        "network": "carif-oref",
        "name": "Carif-Oref",
        "kind": "hors_pair",
        "topics": SMALL,
        "replies": SMALL,
    }
    assert activity["cap-emploi"]["topics"] == 0
    assert activity["cap-emploi"]["replies"] == 0


def test_activity_counts_are_exact_with_five_distinct_authors(forum: Forum) -> None:
    raw = queries.activity_by_network(Q1_2025.start, Q1_2025.end)
    ids = {n.code: n.id for n in queries.members_by_network(Q1_2025.end)}

    apec = raw[ids["apec"]]
    assert (apec.topics.count, apec.topics.people) == (3, 3)
    assert (apec.replies.count, apec.replies.people) == (6, 4)


def test_growth_gives_members_at_each_month_end_and_messages_of_each_month(
    forum: Forum,
) -> None:
    assert report.growth_table(Q1_2025) == [
        {"month": "2025-01", "pairs": 14, "hors_pairs": 5, "messages": 10},
        {"month": "2025-02", "pairs": 14, "hors_pairs": 5, "messages": 15},
        {"month": "2025-03", "pairs": 14, "hors_pairs": 5, "messages": 5},
    ]


def test_growth_is_cumulative_and_follows_admissions_and_departures(
    forum: Forum, make_member: MakeMember
) -> None:
    newcomers = [make_member(network="apec") for _ in range(3)]
    for member in newcomers:
        member.created_at = utc(2025, 2, 10, 12)
    gone = forum.members["ft6"]
    gone.state, gone.left_at = "left", utc(2025, 3, 5)
    pending = make_member(network="apec", state="pending")
    pending.created_at = utc(2025, 1, 5)
    db.session.commit()

    pairs = [row["pairs"] for row in report.growth_table(Q1_2025)]

    assert pairs == [14, 17, 16]


def test_a_member_admitted_on_decision_counts_from_the_decision(
    forum: Forum, make_member: MakeMember
) -> None:
    late = [make_member(statut="hors_pair", network="expert") for _ in range(5)]
    for member in late:
        member.created_at = utc(2025, 1, 5)  # asked in January
        member.decided_at = utc(2025, 3, 1, 10)  # admitted in March
    db.session.commit()

    hors_pairs = [row["hors_pairs"] for row in report.growth_table(Q1_2025)]

    assert hors_pairs == [5, 5, 10]


def test_an_invited_member_counts_from_accepting_the_invitation(
    app: Flask, forum: Forum, make_member: MakeMember, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five experts invited in January accept in March: members from March, not January.
    Counted from the invitation, January's and February's hors pairs grew when they
    accepted, months after those figures were read, with people who were not members yet."""
    admin = make_member(roles=("admin",))
    invited = []
    with app.test_request_context():
        for n in range(5):
            member = membership.invite(
                admin,
                email=f"expert{n}@exemple.fr",
                name=f"Expert {n}",
                statut="hors_pair",
                network_code="expert",
                region_code="bretagne",
                organisation="Cabinet",
            )
            member.created_at = utc(2025, 1, 5)  # invited in January
            invited.append((member, make_token(member, "invite")))
        db.session.commit()
        monkeypatch.setattr(membership, "utcnow", lambda: utc(2025, 3, 1, 10))
        for _member, token in invited:
            membership.accept_invitation(token, "une-phrase-de-passe-longue")
        db.session.commit()

    hors_pairs = [row["hors_pairs"] for row in report.growth_table(Q1_2025)]

    assert hors_pairs == [5, 5, 10]
    february = Period(date(2025, 2, 1), date(2025, 2, 28))
    experts = [
        r for r in report.build_report(february)["members_by_network"] if r["network"] == "expert"
    ]
    assert experts[0]["members"] == 0
    assert member_months.disagreements(Q1_2025.start, Q1_2025.end) == []


@pytest.mark.parametrize(
    ("at", "month"),
    [
        (utc(2025, 3, 31, 21, 59), "2025-03"),  # 23:59 Paris, summer time
        (utc(2025, 3, 31, 22, 0), "2025-04"),  # 00:00 Paris
        (utc(2025, 10, 31, 22, 59), "2025-10"),  # 23:59 Paris, winter time again
        (utc(2025, 10, 31, 23, 0), "2025-11"),
        (utc(2025, 9, 30, 21, 59), "2025-09"),
        (utc(2025, 9, 30, 22, 0), "2025-10"),
        (utc(2024, 12, 31, 22, 59), "2024-12"),
        (utc(2024, 12, 31, 23, 0), "2025-01"),
        (utc(2025, 3, 30, 0, 30), "2025-03"),  # the night of the change
        (utc(2025, 2, 28, 23, 0), "2025-03"),
    ],
    ids=lambda value: value.isoformat() if isinstance(value, datetime) else value,
)
def test_messages_fall_in_their_paris_month(
    make_member: MakeMember, at: datetime, month: str
) -> None:
    author = make_member()
    services.create_topic(author, category("divers"), "Un sujet", "Texte", at=at)
    db.session.commit()

    months = queries.messages_by_month(utc(2024, 1, 1), utc(2026, 1, 1))

    assert {m: t.count for m, t in months.items()} == {month: 1}


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (date(2025, 4, 1), date(2025, 1, 1), date(2025, 3, 31)),
        (date(2025, 6, 30), date(2025, 1, 1), date(2025, 3, 31)),
        (date(2025, 7, 1), date(2025, 4, 1), date(2025, 6, 30)),
        (date(2025, 1, 15), date(2024, 10, 1), date(2024, 12, 31)),
        (date(2025, 12, 31), date(2025, 7, 1), date(2025, 9, 30)),
    ],
    ids=str,
)
def test_last_quarter_is_the_last_complete_calendar_quarter(
    today: date, first: date, last: date
) -> None:
    period = report.last_quarter(today)

    assert (period.first, period.last) == (first, last)


def test_since_launch_starts_at_the_first_admission_or_message(forum: Forum) -> None:
    period = report.preset_period("lancement", date(2025, 6, 1))

    assert period.first == ADMITTED.date()
    assert period.last == date(2025, 6, 1)


def test_this_year_runs_from_the_first_of_january_to_today() -> None:
    period = report.preset_period("annee", date(2025, 6, 1))

    assert (period.first, period.last) == (date(2025, 1, 1), date(2025, 6, 1))


def test_an_empty_forum_gives_zeros_and_undefined_shares() -> None:
    data = report.build_report(Q1_2025)

    assert data["totals"] == {"topics": 0, "messages": 0}
    assert all(row["topics"] == 0 and row["topics_pct"] is None for row in data["themes"])
    assert data["responsiveness"] == {
        "topics": 0,
        "median_first_reply_hours": None,
        "answered_within_48h_pct": None,
        "unanswered_pct": None,
        "cross_network_first_reply_pct": None,
    }
    assert [row["messages"] for row in data["growth"]] == [0, 0, 0]


def test_the_report_has_the_keys_of_the_spec(forum: Forum) -> None:
    data = report.build_report(Q1_2025)

    assert list(data) == [
        "period",
        "totals",
        "themes",
        "rubriques",
        "members_by_network",
        "growth",
        "responsiveness",
        "activity_by_network",
        "solutions",
        "tags",
    ]
    assert set(data["solutions"]) >= {"solved_pct", "median_hours_to_solution"}
    assert data["period"] == {"from": "2025-01-01", "to": "2025-03-31", "timezone": "Europe/Paris"}
    assert set(data["responsiveness"]) >= {
        "median_first_reply_hours",
        "answered_within_48h_pct",
        "unanswered_pct",
        "cross_network_first_reply_pct",
    }


def test_a_post_dated_before_its_topic_is_no_first_reply(make_member: MakeMember) -> None:
    """A post merged in from an older topic did not answer the question."""
    askers = [make_member(network="apec") for _ in range(5)]
    others = [make_member(network="france-travail") for _ in range(5)]
    opened = utc(2025, 2, 1, 9)
    for asker, other in zip(askers, others, strict=True):
        topic = services.create_topic(asker, category("divers"), "Un sujet", "Texte", at=opened)
        services.reply(other, topic, "Réponse", at=opened - timedelta(hours=1))
    db.session.commit()

    figures = report.responsiveness_figures(Q1_2025)

    assert figures["unanswered_pct"] == 100.0


@pytest.mark.parametrize(
    "start",
    ["=", "+", "-", "@", "\t", "\r"],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return"],
)
def test_a_csv_text_cell_that_would_be_a_formula_starts_with_a_quote(start: str) -> None:
    rows = [{"tag": "t", "name": f"{start}1+1", "retired": False, "topics": 3, "messages": -2}]
    text = report.to_csv(rows, "tags", semicolon=True)
    assert list(csv.reader(io.StringIO(text), delimiter=";"))[1] == [
        "t",
        f"'{start}1+1",
        "non",  # in words for a French spreadsheet
        "3",
        "-2",
    ]


def test_negative_numbers_stay_numbers_in_csv() -> None:
    rows = [{"month": "2025-01", "pairs": -1, "hors_pairs": 0, "messages": -0.5}]
    assert report.to_csv(rows, "growth").splitlines()[1] == "2025-01,-1,0,-0.5"
