"""`comcep analytics report` (SPEC §10)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from comcep.analytics import report
from tests.analytics.conftest import Forum, MakeMember, new_askers, open_topics

Q1 = ["--from", "2025-01-01", "--to", "2025-03-31"]


def test_the_json_report_is_one_object_with_the_spec_keys(forum: Forum, runner: object) -> None:
    result = runner.invoke(args=["analytics", "report", *Q1, "--format", "json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"]["from"] == "2025-01-01"
    assert data["period"]["to"] == "2025-03-31"
    assert {"theme", "topics", "topics_pct", "messages", "messages_pct"} == set(data["themes"][0])
    pratiques = next(t for t in data["themes"] if t["theme"] == "Les échanges de pratiques")
    assert (pratiques["topics"], pratiques["topics_pct"]) == ("< 5", None)  # 4 openers
    assert data["totals"] == {"topics": 9, "messages": 30}
    networks = {row["network"]: row["members"] for row in data["members_by_network"]}
    assert networks["missions-locales"] == "< 5"
    assert networks["france-travail"] == 6
    assert data["responsiveness"]["topics"] == 9
    assert data["responsiveness"]["answered_within_48h_pct"] == "< 5"  # T3 alone came late
    assert data["responsiveness"]["median_first_reply_hours"] == 2.5
    assert [row["month"] for row in data["growth"]] == ["2025-01", "2025-02", "2025-03"]
    assert set(data["solutions"]) >= {"solved_pct", "median_hours_to_solution"}
    assert {"tag", "topics", "messages"} <= set(data["tags"][0])


@pytest.mark.parametrize("table", list(report.TABLES))
def test_each_table_comes_out_as_csv_with_the_json_keys_as_header(
    forum: Forum, runner: object, table: str
) -> None:
    result = runner.invoke(args=["analytics", "report", *Q1, "--format", "csv", "--table", table])

    assert result.exit_code == 0, result.output
    assert not result.output.startswith("\ufeff")  # stdout is for programs: no BOM
    rows = list(csv.reader(io.StringIO(result.output)))
    assert tuple(rows[0]) == report.TABLES[table][1]
    assert len(rows) > 1


def test_the_csv_themes_table_gives_the_same_figures_as_the_json(
    forum: Forum, runner: object
) -> None:
    data = json.loads(runner.invoke(args=["analytics", "report", *Q1]).output)
    output = runner.invoke(
        args=["analytics", "report", *Q1, "--format", "csv", "--table", "themes"]
    ).output

    rows = list(csv.DictReader(io.StringIO(output)))

    assert [row["theme"] for row in rows] == [t["theme"] for t in data["themes"]]
    for row, theme in zip(rows, data["themes"], strict=True):
        assert row["topics"] == str(theme["topics"])
        assert row["topics_pct"] == (
            "" if theme["topics_pct"] is None else f"{theme['topics_pct']:.1f}"
        )


def test_the_semicolon_option_uses_decimal_commas(
    forum: Forum, runner: object, make_member: MakeMember
) -> None:
    open_topics(new_askers(make_member, 1), "monter-un-dossier")  # a 5th opener
    output = runner.invoke(
        args=[
            "analytics",
            "report",
            *Q1,
            "--format",
            "csv",
            "--table",
            "themes",
            "--sep",
            "semicolon",
        ]
    ).output

    assert "Les échanges de pratiques;5;50,0;14;45,2" in output.splitlines()


def test_without_dates_the_report_covers_the_last_complete_quarter(runner: object) -> None:
    expected = report.last_quarter(report.paris_today())

    data = json.loads(runner.invoke(args=["analytics", "report"]).output)

    assert data["period"]["from"] == expected.first.isoformat()
    assert data["period"]["to"] == expected.last.isoformat()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-03-31", "--to", "2025-01-01"], "--from doit précéder --to"),
        (["--from", "2025-01-01"], "ensemble"),
        (["--from", "31/01/2025", "--to", "2025-03-31"], "AAAA-MM-JJ"),
        (["--format", "xml"], "xml"),
    ],
    ids=["reversed", "alone", "bad-date", "bad-format"],
)
def test_bad_options_exit_non_zero_with_a_message(
    runner: object, args: list[str], message: str
) -> None:
    result = runner.invoke(args=["analytics", "report", *args])

    assert result.exit_code != 0
    assert message in result.output
