"""Recovery attacks: a reader combines published figures to learn one that describes fewer
than 5 distinct members (SPEC: « Any cell that describes fewer than 5 distinct members is
shown as "< 5" »).

Written as an attacker, independently of `anonymise`: each test builds data where a figure
about 1 to 4 members could be read or computed before these rules, and states what the
report must print instead. Three rules:

1. a month-end count of the growth table (of any period) reads « masqué » whenever the
   networks table of the period ending at that month's end withholds that kind's total;
2. a thème's or a rubrique's topic count (and its messages, and their shares) reads « < 5 »
   (or « masqué ») when its topics were opened by fewer than 5 distinct members; the totals'
   topics too;
3. a responsiveness share splits topics in two parts, each recoverable (share × topics): it
   reads « < 5 » unless each part is empty or opened by ≥ 5 askers and, for answered topics,
   first answered by ≥ 5 distinct members; the median first-reply time describes the
   answered topics likewise.

Most tests use the third quarter of 2025, where the conftest forum has nothing (and which the
`forum` fixture is not even asked for), with members admitted on 1 January 2025.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest

from comcep.analytics import member_months, report
from comcep.analytics.report import Period
from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import Topic
from comcep.members.models import Member
from tests.analytics.conftest import Q1_2025, Forum, MakeMember, utc
from tests.analytics.test_complementary import CONTENT, assert_nothing_recovered
from tests.factories import category

SMALL = "< 5"
MASKED = "masqué"
HIDDEN = (SMALL, MASKED)

Q3_2025 = Period(date(2025, 7, 1), date(2025, 9, 30))
START = utc(2025, 8, 4, 9)  # a Monday of August 2025, well inside Q3 2025

Reply = tuple[Member, float]  # (replier, hours after the opening)


# --- Builders --------------------------------------------------------------------------


def admitted(make_member: MakeMember, count: int, network: str = "apec") -> list[Member]:
    """`count` members of `network`, admitted on 1 January 2025 (before the period)."""
    statut = "hors_pair" if network in ("carif-oref", "dgefp") else "pair"
    made = [make_member(statut=statut, network=network) for _ in range(count)]
    for member in made:
        member.created_at = utc(2025, 1, 1)
    db.session.commit()
    return made


class Opener:
    """Opens topics one hour apart from START, so that no two share a date."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self, asker: Member, slug: str, replies: Sequence[Reply] = ()) -> Topic:
        self.at += timedelta(hours=1)
        opened = self.at
        topic = services.create_topic(asker, category(slug), "Un sujet", "Un texte", at=opened)
        for replier, hours in replies:
            services.reply(replier, topic, "Une réponse", at=opened + timedelta(hours=hours))
        db.session.commit()
        return topic


def rubrique_row(rubriques: list[dict], slug_name: str) -> dict:
    return next(row for row in rubriques if row["rubrique"] == slug_name)


def theme_row(themes: list[dict], name: str) -> dict:
    return next(row for row in themes if row["theme"] == name)


def assert_row_hidden(row: dict) -> None:
    """The whole row is withheld: counts « < 5 » or « masqué », no shares."""
    assert row["topics"] in HIDDEN, f"topics printed: {row}"
    assert row["messages"] in HIDDEN, f"messages printed: {row}"
    assert row["topics_pct"] is None, row
    assert row["messages_pct"] is None, row


def assert_no_complementary_recovery(period: Period) -> None:
    """The attacker of test_complementary: nothing « < 5 » is found by difference, neither
    among the thèmes (against the totals row) nor among a thème's rubriques (against it)."""
    themes, rubriques, totals = report.theme_tables(period)
    for column in ("topics", "messages"):
        if isinstance(totals[column], int):
            cells = [row[column] for row in themes]
            assert_nothing_recovered(totals[column], cells, *CONTENT[column])
    for theme in themes:
        rows = [row for row in rubriques if row["theme"] == theme["theme"]]
        for column in ("topics", "messages"):
            if isinstance(theme[column], int):
                cells = [row[column] for row in rows]
                assert_nothing_recovered(theme[column], cells, *CONTENT[column])


def practice_topics(
    opener: Opener, askers: Sequence[Member], repliers: Sequence[Member], slug: str
) -> None:
    """One topic per asker in `slug`, each answered once, by a different replier, 1 h later."""
    for asker, replier in zip(askers, repliers, strict=True):
        opener(asker, slug, [(replier, 1)])


# --- 1. The growth table's month-end counts ---------------------------------------------


def month_end(period: Period, month: str) -> datetime:
    """The end of `month` within `period` (the period's end for its last month)."""
    year, number = (int(part) for part in month.split("-"))
    last = date(year, number, calendar.monthrange(year, number)[1])
    return Period(period.first, min(last, period.last)).end


def withheld_kinds(end: datetime) -> set[str]:
    """The kinds whose total the networks table of the period ending at `end` withholds: it
    has members, yet every share of it is withheld."""
    rows = report.network_table(member_months.members_by_network(end))
    kinds = {row["kind"] for row in rows}
    return {
        kind
        for kind in kinds
        if any(row["members"] != 0 for row in rows if row["kind"] == kind)
        and all(row["members_pct"] is None for row in rows if row["kind"] == kind)
    }


def test_a_month_end_count_is_masked_in_every_period_whose_network_table_withholds_it(
    forum: Forum, make_member: MakeMember
) -> None:
    """Hors pairs: carif-oref 5 and one dgefp member admitted on 5 January. At the end of
    February the networks table (period ending 28 February) shows carif-oref « masqué » and
    dgefp « < 5 » and withholds the hors pairs' total; the growth table of the first quarter
    printing 6 hors pairs at the end of February gives it back: 6 = 5 + 1, the lone dgefp
    member is recovered (and carif-oref's 5)."""
    make_member(statut="hors_pair", network="dgefp").created_at = utc(2025, 1, 5)
    db.session.commit()
    february = Period(date(2025, 1, 1), date(2025, 2, 28))
    assert withheld_kinds(february.end) == {"hors_pair"}  # the precondition of the attack

    found = 0
    periods = [
        Q1_2025,
        february,
        Period(date(2025, 2, 1), date(2025, 4, 30)),
        Period(date(2025, 1, 1), date(2025, 6, 30)),
    ]
    for period in periods:
        for row in report.growth_table(period):
            withheld = withheld_kinds(month_end(period, row["month"]))
            for kind, key in (("pair", "pairs"), ("hors_pair", "hors_pairs")):
                if kind in withheld:
                    found += 1
                    assert row[key] == MASKED, (
                        f"{period.label}, {row['month']}: {key} printed as {row[key]} while "
                        "the networks table of that month's end withholds the total"
                    )
    assert found == 14  # every month of these periods: the check is not vacuous

    growth = report.build_report(Q1_2025)["growth"]
    assert [row["hors_pairs"] for row in growth[:2]] == [MASKED, MASKED]


# --- 2. Topic counts judged by their openers --------------------------------------------


def test_a_rubrique_whose_topics_come_from_one_opener_hides_its_topics(
    make_member: MakeMember,
) -> None:
    """« Aider à monter un dossier » has 2 topics, both opened by the same member, and 5
    other members answered them (6 writers). Printing « 2 topics » there tells how many
    topics that one member opened in the period. Its thème (8 topics by 7 openers) stays
    printed, so the rubriques must not give the small one away by difference either."""
    askers, repliers = admitted(make_member, 6), admitted(make_member, 6)
    (lone,) = admitted(make_member, 1, "france-travail")
    opener = Opener()
    practice_topics(opener, askers, repliers, "premier-entretien")
    for _ in range(2):
        opener(lone, "monter-un-dossier", [(r, 2) for r in repliers[:5]])

    themes, rubriques, totals = report.theme_tables(Q3_2025)

    theme = theme_row(themes, "Les échanges de pratiques")
    assert theme["topics"] == 8  # 7 openers: printed
    assert totals["topics"] == 8
    dossier = rubrique_row(
        rubriques, "Aider à monter un dossier : les bonnes structures, le financement…"
    )
    assert_row_hidden(dossier)
    assert_no_complementary_recovery(Q3_2025)
    built = report.build_report(Q3_2025)
    assert rubrique_row(built["rubriques"], dossier["rubrique"]) == dossier


def test_a_theme_whose_topics_come_from_one_opener_hides_its_topics(
    make_member: MakeMember,
) -> None:
    """« Les outils du CEP » has one topic in the period, opened by one member and answered
    by 5 others: its row (1 topic, 6 messages, 6 writers) tells that this member opened
    exactly one topic there. Its thème row and its rubrique must read « < 5 » / « masqué »,
    and no figure of them be found again from the totals (7 topics by 7 openers)."""
    askers, repliers = admitted(make_member, 6), admitted(make_member, 6)
    (lone,) = admitted(make_member, 1, "missions-locales")
    opener = Opener()
    practice_topics(opener, askers, repliers, "premier-entretien")
    opener(lone, "liens-utiles", [(r, 3) for r in repliers[:5]])

    themes, rubriques, totals = report.theme_tables(Q3_2025)

    assert totals["topics"] == 7
    assert_row_hidden(theme_row(themes, "Les outils du CEP"))
    assert_row_hidden(rubrique_row(rubriques, "Les liens utiles"))
    assert_no_complementary_recovery(Q3_2025)


def test_the_totals_topics_read_small_when_fewer_than_5_members_opened_topics(
    make_member: MakeMember,
) -> None:
    """Two members opened the period's 3 topics (2 and 1), which 5 others answered: 18
    messages by 7 writers. « 3 topics » in the totals row is what these two members opened;
    it must read « < 5 », like every thème and rubrique that has topics."""
    (first, second), repliers = admitted(make_member, 2), admitted(make_member, 5)
    opener = Opener()
    everyone = [(r, 1 + i) for i, r in enumerate(repliers)]
    opener(first, "premier-entretien", everyone)
    opener(first, "premier-entretien", everyone)
    opener(second, "divers", everyone)

    themes, rubriques, totals = report.theme_tables(Q3_2025)

    assert totals["topics"] == SMALL
    assert report.build_report(Q3_2025)["totals"]["topics"] == SMALL
    for row in (theme_row(themes, "Divers"), theme_row(themes, "Les échanges de pratiques")):
        assert_row_hidden(row)
    assert_row_hidden(rubrique_row(rubriques, "Le premier entretien"))
    assert_no_complementary_recovery(Q3_2025)


def test_a_row_with_five_openers_and_five_writers_is_printed(make_member: MakeMember) -> None:
    """Sanity (holds today and after): 6 topics by 6 openers, answered by 6 others, all in
    « Le premier entretien »: the rubrique, its thème and the totals print 6 topics and 12
    messages."""
    askers, repliers = admitted(make_member, 6), admitted(make_member, 6, "france-travail")
    practice_topics(Opener(), askers, repliers, "premier-entretien")

    themes, rubriques, totals = report.theme_tables(Q3_2025)

    expected = {"topics": 6, "topics_pct": 100.0, "messages": 12, "messages_pct": 100.0}
    rubrique = rubrique_row(rubriques, "Le premier entretien")
    assert {k: rubrique[k] for k in expected} == expected
    theme = theme_row(themes, "Les échanges de pratiques")
    assert {k: theme[k] for k in expected} == expected
    assert totals == {"topics": 6, "messages": 12}


# --- 3. Responsiveness shares -------------------------------------------------------------


def test_unanswered_share_hidden_when_the_unanswered_topics_come_from_one_asker(
    make_member: MakeMember,
) -> None:
    """6 askers' topics are answered within the hour by 6 distinct members; a 7th asker
    opened 3 topics nobody answered. « 9 topics, 33.3 % unanswered » says that 3 topics went
    unanswered, all that member's; « 66.7 % within 48 h » says the same (the rest are the
    lone asker's)."""
    askers, repliers = admitted(make_member, 6), admitted(make_member, 6)
    (lone,) = admitted(make_member, 1)
    opener = Opener()
    practice_topics(opener, askers, repliers, "premier-entretien")
    for _ in range(3):
        opener(lone, "premier-entretien")

    figures = report.responsiveness_figures(Q3_2025)

    assert figures["topics"] == 9  # the base is printed: the share gives the count back
    assert figures["unanswered_pct"] == SMALL
    assert figures["answered_within_48h_pct"] == SMALL
    assert report.build_report(Q3_2025)["responsiveness"] == figures


def test_unanswered_share_hidden_when_one_member_gave_every_first_reply(
    make_member: MakeMember,
) -> None:
    """6 askers' topics were all first answered by the same member; 5 other askers' topics
    went unanswered. « 11 topics, 45.5 % unanswered » gives 6 answered topics: how many
    topics that one member was first to answer. (The median and the 48 h share are already
    « < 5 » here; the unanswered share is not.)"""
    askers, unanswered = admitted(make_member, 6), admitted(make_member, 5)
    (replier,) = admitted(make_member, 1, "france-travail")
    opener = Opener()
    for asker in askers:
        opener(asker, "premier-entretien", [(replier, 1)])
    for asker in unanswered:
        opener(asker, "premier-entretien")

    figures = report.responsiveness_figures(Q3_2025)

    assert figures["topics"] == 11
    assert figures["median_first_reply_hours"] == SMALL
    assert figures["unanswered_pct"] == SMALL


@pytest.mark.parametrize("late", ["one_asker", "one_replier"])
def test_within_48h_share_hidden_when_the_late_topics_describe_few_members(
    make_member: MakeMember, late: str
) -> None:
    """6 askers' topics are answered within the hour by 6 distinct members; 5 more topics
    are first answered 3 days later. Either one asker opened those 5 (each first answered by
    a different member: only the askers are few), or 5 askers did and one and the same member
    answered them all first (only the repliers are few). « 54.5 % within 48 h » of 11 topics
    gives 5 late topics: how many that one asker opened, or how many late first replies that
    one member wrote."""
    askers, repliers = admitted(make_member, 6), admitted(make_member, 6)
    opener = Opener()
    practice_topics(opener, askers, repliers, "premier-entretien")
    if late == "one_asker":
        (lone,) = admitted(make_member, 1)
        for replier in repliers[:5]:
            opener(lone, "premier-entretien", [(replier, 72)])
    else:
        (slow,) = admitted(make_member, 1)
        for asker in admitted(make_member, 5):
            opener(asker, "premier-entretien", [(slow, 72)])

    figures = report.responsiveness_figures(Q3_2025)

    assert figures["topics"] == 11  # 11 or 7 askers: printed, the base of the share
    assert figures["unanswered_pct"] == 0.0  # nothing unanswered: not a secret
    assert figures["answered_within_48h_pct"] == SMALL


@pytest.mark.parametrize("crossed", ["one_replier", "one_asker"])
def test_cross_network_share_hidden_when_the_cross_replies_describe_few_members(
    make_member: MakeMember, crossed: str
) -> None:
    """6 apec askers' topics are first answered by 6 distinct apec members (same network);
    5 more topics are first answered by france-travail members. Either 5 apec askers opened
    those and one france-travail member answered them all first, or one apec asker opened
    the 5 and 5 distinct france-travail members answered them first. « 45.5 % » of first
    replies across networks gives 5 cross-network first replies: all written by that one
    member, or all to that one asker."""
    askers, repliers = admitted(make_member, 6), admitted(make_member, 6)
    opener = Opener()
    practice_topics(opener, askers, repliers, "premier-entretien")
    if crossed == "one_replier":
        (outsider,) = admitted(make_member, 1, "france-travail")
        for asker in admitted(make_member, 5):
            opener(asker, "premier-entretien", [(outsider, 2)])
    else:
        (lone,) = admitted(make_member, 1)
        for outsider in admitted(make_member, 5, "france-travail"):
            opener(lone, "premier-entretien", [(outsider, 2)])

    figures = report.responsiveness_figures(Q3_2025)

    assert figures["topics"] == 11
    assert figures["answered_within_48h_pct"] == 100.0  # every topic: not a secret
    assert figures["cross_network_first_reply_pct"] == SMALL


def test_responsiveness_shares_are_printed_when_every_part_has_five_members(
    make_member: MakeMember,
) -> None:
    """Sanity (holds today and after): 6 topics answered within 2 h from another network by
    6 distinct members, 6 answered 3 days later from the asker's network by 6 others, 5
    unanswered, all by 17 distinct askers: every part of every share describes at least 5
    askers and 5 repliers, so everything is printed."""
    quick, slow, silent = (admitted(make_member, n) for n in (6, 6, 5))
    outsiders, insiders = admitted(make_member, 6, "france-travail"), admitted(make_member, 6)
    opener = Opener()
    for asker, replier in zip(quick, outsiders, strict=True):
        opener(asker, "premier-entretien", [(replier, 2)])
    for asker, replier in zip(slow, insiders, strict=True):
        opener(asker, "premier-entretien", [(replier, 72)])
    for asker in silent:
        opener(asker, "premier-entretien")

    figures = report.responsiveness_figures(Q3_2025)

    assert figures == {
        "topics": 17,
        "median_first_reply_hours": 37.0,
        "answered_within_48h_pct": 35.3,
        "unanswered_pct": 29.4,
        "cross_network_first_reply_pct": 50.0,
    }
    assert report.build_report(Q3_2025)["responsiveness"] == figures


def test_median_hidden_when_every_answered_topic_is_one_askers(make_member: MakeMember) -> None:
    """5 askers' topics went unanswered; a 6th asker's 5 topics were each first answered by
    a different member. Ten topics by six askers, but « 12 h median first reply » would be
    the median of that one member's topics alone."""
    unanswered, repliers = admitted(make_member, 5), admitted(make_member, 5)
    (lone,) = admitted(make_member, 1)
    opener = Opener()
    for asker in unanswered:
        opener(asker, "premier-entretien")
    for replier in repliers:
        opener(lone, "premier-entretien", [(replier, 12)])

    figures = report.responsiveness_figures(Q3_2025)

    assert figures["topics"] == 10
    assert figures["median_first_reply_hours"] == SMALL
    assert figures["unanswered_pct"] == SMALL
