"""Solutions and mots-clés in the comité's report (issue 11 §4), on the forum of conftest.py.

Rubriques accepting solutions (SPEC §3 migration of issue 11): the thèmes « Bienvenue… »,
« Les échanges de pratiques », « Se professionnaliser… », « Échanges hors pairs » and their
rubriques; « Les outils du CEP » and « Divers » do not.
"""

from __future__ import annotations

from comcep.analytics import queries, report
from comcep.extensions import db
from comcep.forum import services
from tests.analytics.conftest import (
    Q1_2025,
    Forum,
    MakeMember,
    five_of_each,
    solve,
    solved_forum,
    tag_forum,
)

SMALL = "< 5"


# --- Solutions -----------------------------------------------------------------------------


def test_solutions_give_the_solved_share_and_the_median_hours(
    forum: Forum, make_member: MakeMember
) -> None:
    solved_forum(forum)
    # 5 of 6 solved, but the unsolved one, T4, is ft2's alone: 83.3 % would tell so
    assert report.solution_figures(Q1_2025)["solved_pct"] == SMALL
    five_of_each(forum, make_member)

    assert report.solution_figures(Q1_2025) == {
        "solved_pct": 50.0,  # 5 of 10
        "median_hours_to_solution": 12.0,  # 2, 5, 12, 30, 61
    }


def test_a_solution_hidden_after_being_marked_no_longer_counts(forum: Forum) -> None:
    solved_forum(forum)
    forum.posts["T1"][4].is_hidden = True  # ft2's solution, hidden by the moderation
    hp_solver = forum.posts["T7"][1]  # hp2 +1 h: a fifth solver again
    services.mark_solution(forum.members["hp1"], forum.topics["T7"], hp_solver)
    db.session.commit()

    figures = report.solution_figures(Q1_2025)

    # solved: T2 12 h, T3 61 h, T7 1 h, T13 5 h, by ft1, ft4, hp2, ap5: 4 solvers
    assert figures["solved_pct"] == SMALL
    assert figures["median_hours_to_solution"] == SMALL


def test_solutions_read_small_when_fewer_than_five_members_wrote_them(forum: Forum) -> None:
    """T1, T2, T3, T4, T7 by five askers; three solutions by ft2, ft1, hp3."""
    solve(forum, "T1", 4)
    solve(forum, "T2", 3)
    solve(forum, "T7", 2)
    db.session.commit()

    assert report.solution_figures(Q1_2025) == {
        "solved_pct": SMALL,
        "median_hours_to_solution": SMALL,
    }


def test_solutions_are_undefined_when_nothing_was_solved(forum: Forum) -> None:
    assert report.solution_figures(Q1_2025) == {
        "solved_pct": 0.0,
        "median_hours_to_solution": None,
    }


# --- Mots-clés -----------------------------------------------------------------------------


def test_tags_count_topics_and_visible_messages_of_the_period(forum: Forum) -> None:
    tag_forum(forum)

    rows = {row.slug: row for row in queries.tag_counts(Q1_2025.start, Q1_2025.end)}

    assert (rows["cpf"].topics, rows["cpf"].messages, rows["cpf"].openers) == (4, 20, 4)
    # T1: 5 visible (ft3's reply hidden); T4: its opening post (ap3's reply hidden)
    assert (rows["jeunes"].topics, rows["jeunes"].messages) == (2, 6)
    # T9 opens at midnight after the period, T11 a minute before it, T12 is hidden
    assert (rows["handicap"].topics, rows["handicap"].messages) == (0, 0)
    assert rows["cpf"].name == "CPF"
    assert rows["cpf"].retired is False


def test_a_tag_reads_small_until_five_members_opened_its_topics(
    forum: Forum, make_member: MakeMember
) -> None:
    """« cpf »: 20 messages by many members, but 4 topics by 4 openers: one of them could be
    told apart; with a fifth opener, shown."""
    solved_forum(forum)
    tag_forum(forum)
    assert {row["tag"]: row for row in report.tag_table(Q1_2025)}["cpf"]["topics"] == SMALL

    five_of_each(forum, make_member)

    cpf = {row["tag"]: row for row in report.tag_table(Q1_2025)}["cpf"]
    assert (cpf["topics"], cpf["messages"]) == (5, 21)


def test_a_tag_written_by_fewer_than_five_members_reads_small(forum: Forum) -> None:
    tag_forum(forum)

    rows = {row["tag"]: row for row in report.tag_table(Q1_2025)}

    # T8 (ml2; ml3's reply is in April) and T10 (ap5, ft4): 2 topics, 3 messages, 3 writers
    assert (rows["vae"]["topics"], rows["vae"]["messages"]) == (SMALL, SMALL)


def test_every_active_tag_is_listed_and_a_retired_one_only_when_used(forum: Forum) -> None:
    tag_forum(forum)

    rows = {row["tag"]: row for row in report.tag_table(Q1_2025)}

    assert rows["formation"] == {
        "tag": "formation",
        "name": "Formation",
        "retired": False,
        "topics": 0,
        "messages": 0,
    }
    assert rows["ancien"] == {
        "tag": "ancien",
        "name": "Ancien",
        "retired": True,
        "topics": SMALL,  # T5 and T6, opened by 2 members (8 messages by 7 writers)
        "messages": SMALL,
    }
    assert "perime" not in rows  # retired, and T11 is out of the period
    assert len(rows) == 15 + 1


def test_solutions_give_no_topic_count_that_would_undo_the_themes_suppression(
    forum: Forum,
) -> None:
    """Pratiques (4 topics) + Échanges hors pairs (1, masked) accept solutions: a count of 5
    would give the masked thème, then « Divers » (« < 5 ») by difference from the total."""
    solved_forum(forum)

    assert set(report.build_report(Q1_2025)["solutions"]) == {
        "solved_pct",
        "median_hours_to_solution",
    }


def test_the_json_report_carries_solutions_and_tags(forum: Forum, make_member: MakeMember) -> None:
    solved_forum(forum)
    tag_forum(forum)
    five_of_each(forum, make_member)

    data = report.build_report(Q1_2025)

    assert data["solutions"]["solved_pct"] == 50.0
    assert data["solutions"]["median_hours_to_solution"] == 12.0
    assert {"tag": "cpf", "topics": 5, "messages": 21}.items() <= next(
        row for row in data["tags"] if row["tag"] == "cpf"
    ).items()
