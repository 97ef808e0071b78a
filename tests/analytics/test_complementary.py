"""Complementary suppression: no « < 5 » figure can be recovered from a published total.

The attacker here is written independently of `anonymise.complementary`: it enumerates every
value the hidden cells of a column could take given what is published (the total, the cells
shown, « < 5 » member counts in 1…4, other « < 5 » counts at least 1 — 0 for a thème's or a
rubrique's topics —, masked cells at least 5 items when they count messages or members) and
asserts that each « < 5 » cell keeps at least two possible values.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from comcep.analytics import queries, report
from comcep.analytics.report import Period
from comcep.extensions import db
from comcep.forum import services
from tests.analytics.conftest import Q1_2025, Forum, MakeMember, new_askers, open_topics, utc
from tests.factories import category

SMALL = "< 5"
MASKED = "masqué"
# A « < 5 » thème or rubrique has few writers, not few items: it may have opened no topic in
# the period, but has a message; a masked one has 5 writers or more, hence 5 messages or more.
CONTENT = {"topics": ((0, 1000), 0), "messages": ((1, 1000), 5)}


def possible_values(
    total: int, cells: list[object], small_range: tuple[int, int], masked_low: int
) -> list[set[int]]:
    """For each cell of a column, every value consistent with the published figures."""
    hidden = [i for i, cell in enumerate(cells) if isinstance(cell, str)]
    remainder = total - sum(cell for cell in cells if isinstance(cell, int))
    ranges = [small_range if cells[i] == SMALL else (masked_low, remainder) for i in hidden]
    found: list[set[int]] = [set() for _ in cells]

    def fill(k: int, left: int) -> Iterator[list[int]]:
        if k == len(ranges):
            if left == 0:
                yield []
            return
        low, high = ranges[k]
        for value in range(low, min(high, left) + 1):
            for rest in fill(k + 1, left - value):
                yield [value, *rest]

    for assignment in fill(0, remainder):
        for i, value in zip(hidden, assignment, strict=True):
            found[i].add(value)
    return found


def assert_nothing_recovered(
    total: int, cells: list[object], small_range: tuple[int, int], masked_low: int
) -> None:
    found = possible_values(total, cells, small_range, masked_low)
    for cell, values in zip(cells, found, strict=True):
        if cell == SMALL:
            assert len(values) >= 2, f"a « < 5 » cell is recovered: {values} from {cells}"


def test_the_attacker_recovers_a_lone_small_cell() -> None:
    """The check works: one « < 5 » cell beside a published total is found by difference."""
    found = possible_values(20, [SMALL, 6, 11], (1, 1000), 5)

    assert found[0] == {3}


def more_openers(forum: Forum, make_member: MakeMember) -> None:
    """Five openers or more in three thèmes, so that « Divers » (2 openers) is alone « < 5 »
    among them; in « Les outils du CEP », « Les liens utiles » stays « < 5 » (1 opener)."""
    open_topics(new_askers(make_member, 1), "monter-un-dossier")
    open_topics(new_askers(make_member, 4), "je-partage-mes-outils")
    open_topics([forum.members[f"hp{n}"] for n in range(2, 6)], "echanges")


def test_no_small_theme_is_recovered_from_the_total_row(
    forum: Forum, make_member: MakeMember
) -> None:
    more_openers(forum, make_member)
    themes, _rubriques, totals = report.theme_tables(Q1_2025)

    assert [row["topics"] for row in themes].count(SMALL) == 1  # Divers, alone « < 5 »
    assert MASKED in [row["topics"] for row in themes]
    for column in ("topics", "messages"):
        cells = [row[column] for row in themes]
        assert_nothing_recovered(totals[column], cells, *CONTENT[column])
    shown = [row for row in themes if isinstance(row["topics"], int)]
    assert all(row["topics_pct"] is not None for row in shown)
    assert all(row["topics_pct"] is None for row in themes if row not in shown)


def test_no_small_theme_is_recovered_by_a_hors_pair_who_reads_the_hors_pairs_theme(
    forum: Forum, make_member: MakeMember
) -> None:
    """The comité is mostly hors pairs: they read « Échanges hors pairs » and count its
    topics and messages of the period themselves. Masked to protect « Divers », that thème
    gave it back: total − the thèmes shown − what the reader counted. A thème every hors
    pair reads protects nothing; it is left as it is and another one is masked."""
    more_openers(forum, make_member)
    open_topics([forum.members["ft1"]], "premier-entretien")  # its thème: 6 topics, not 5
    themes, _rubriques, totals = report.theme_tables(Q1_2025)
    read = queries.content_counts(Q1_2025.start, Q1_2025.end)
    echanges = category("echanges")
    known = {  # what a hors pair counts in « Échanges hors pairs »
        "topics": read.theme_topics[echanges.parent_id].count,
        "messages": read.theme_messages[echanges.parent_id].count,
    }

    assert [row["topics"] for row in themes].count(SMALL) == 1  # Divers
    for column in ("topics", "messages"):
        cells = [
            known[column] if row["theme"] == "Échanges hors pairs" else row[column]
            for row in themes
        ]
        assert_nothing_recovered(totals[column], cells, *CONTENT[column])


def test_no_small_rubrique_is_recovered_from_its_themes_row(
    forum: Forum, make_member: MakeMember
) -> None:
    more_openers(forum, make_member)
    themes, rubriques, _totals = report.theme_tables(Q1_2025)

    assert any(isinstance(row["topics"], int) and row["topics"] > 0 for row in themes)

    for theme in themes:
        rows = [row for row in rubriques if row["theme"] == theme["theme"]]
        if not isinstance(theme["topics"], int):
            assert all(not isinstance(row["topics"], int) or row["topics"] == 0 for row in rows)
            continue
        for column in ("topics", "messages"):
            cells = [row[column] for row in rows]
            assert_nothing_recovered(theme[column], cells, *CONTENT[column])


def test_no_small_network_is_recovered_from_the_shares_or_the_growth_total(
    forum: Forum,
) -> None:
    networks = report.network_table(queries.members_by_network(Q1_2025.end))
    growth = report.growth_table(Q1_2025)

    pairs = [row["members"] for row in networks if row["kind"] == "pair"]
    assert SMALL in pairs
    assert growth[-1]["pairs"] == 14  # the month-end count: the pairs' total is published
    assert_nothing_recovered(14, pairs, (1, 4), 5)


def test_a_kind_whose_small_count_cannot_be_protected_withholds_its_total(
    forum: Forum, make_member: MakeMember
) -> None:
    """Hors pairs: carif-oref 5, dgefp 1 — masking carif-oref leaves 6 = 1 + 5 only."""
    make_member(statut="hors_pair", network="dgefp").created_at = utc(2025, 1, 5)
    db.session.commit()

    networks = report.network_table(queries.members_by_network(Q1_2025.end))
    growth = report.growth_table(Q1_2025)

    organisations = {row["network"]: row for row in networks if row["kind"] == "hors_pair"}
    assert organisations["dgefp"]["members"] == SMALL
    assert organisations["carif-oref"]["members"] == MASKED
    assert all(row["members_pct"] is None for row in organisations.values())
    assert growth[-1]["hors_pairs"] == MASKED
    # January's and February's ends too: a period ending then would withhold them as well
    assert [row["hors_pairs"] for row in growth] == [MASKED, MASKED, MASKED]


@pytest.mark.parametrize("column", ["topics", "replies"])
def test_no_small_activity_is_recovered_from_the_period_totals(forum: Forum, column: str) -> None:
    activity = report.activity_table(Q1_2025, queries.members_by_network(Q1_2025.end))

    cells = [row[column] for row in activity]
    total = {"topics": 9, "replies": 21}[column]  # every topic has a known author here
    assert SMALL in cells
    assert_nothing_recovered(total, cells, (1, 1000), 5)


def test_no_small_activity_is_recovered_by_a_hors_pair_who_reads_the_hors_pairs_theme(
    forum: Forum, make_member: MakeMember
) -> None:
    """Hors pairs write only in « Échanges hors pairs », which every hors pair reads: the
    topics an organisation opened are counted there, by the comité itself. Masked to protect
    missions-locales (2 topics), carif-oref (5) gave it back: 24 − apec 11 − france-travail 6
    − carif-oref 5."""
    more_openers(forum, make_member)  # apec: 8 topics; carif-oref: 5
    open_topics(new_askers(make_member, 3), "divers")  # apec, now 11
    ft = [make_member(network="france-travail") for _ in range(3)]
    open_topics(ft, "liens-utiles")  # france-travail: 6 topics by 6 members
    activity = report.activity_table(Q1_2025, queries.members_by_network(Q1_2025.end))
    _themes, _rubriques, totals = report.theme_tables(Q1_2025)

    cells = {row["network"]: row["topics"] for row in activity}
    assert cells["missions-locales"] == SMALL
    known = [5 if row["network"] == "carif-oref" else row["topics"] for row in activity]
    assert_nothing_recovered(totals["topics"], known, (1, 1000), 5)


def test_no_small_month_is_recovered_from_the_messages_total(
    forum: Forum, make_member: MakeMember
) -> None:
    """Second quarter: April has T8's reply and T9's opening (2 messages, 2 writers, « < 5 »);
    May 6 messages and June 8, each by 6 writers."""
    authors = [make_member(network="apec") for _ in range(6)]
    for member in authors:
        member.created_at = utc(2024, 12, 1)
    open_topics(authors, "divers", at=utc(2025, 5, 5, 9))  # 6 openers: the total is shown
    opened = utc(2025, 6, 5, 9)
    topic = services.create_topic(authors[0], category("divers"), "Sujet", "Texte", at=opened)
    for n in range(1, 8):
        services.reply(authors[n % 6], topic, "Réponse", at=opened + timedelta(hours=n))
    db.session.commit()
    q2 = Period(date(2025, 4, 1), date(2025, 6, 30))

    growth = report.growth_table(q2)
    _themes, _rubriques, totals = report.theme_tables(q2)

    assert [row["messages"] for row in growth] == [SMALL, MASKED, 8]
    assert totals["messages"] == 16
    assert_nothing_recovered(16, [row["messages"] for row in growth], (1, 1000), 5)
