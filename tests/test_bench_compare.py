"""The side-by-side harness (`bench/compare.py`): it measures a page only once it has seen
that page do the work compared (logged in, 20 posts, 20 search results), and reports every
page it measured beside the other forum's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import compare
from comcep.extensions import db
from comcep.search import indexing
from tests.factories import make_topic


def _serve(monkeypatch: pytest.MonkeyPatch, body: str, status: int = 200) -> None:
    monkeypatch.setattr(compare, "fetch", lambda url, cookie: (status, body))


def test_comcep_s_search_results_are_counted_as_the_page_shows_them(
    members, client_for, monkeypatch
):
    indexing.get_backend().clear()
    db.session.commit()
    make_topic(members["pair"], title="Une reconversion dans le soin", body="Premier cas.")
    make_topic(members["pair"], title="Autre sujet", body="La reconversion d'un cadre.")
    make_topic(members["pair"], title="Sans rapport", body="Un bilan de compétences.")
    page = client_for(members["pair"]).get("/recherche", query_string={"q": "reconversion"})
    assert page.status_code == 200

    _serve(monkeypatch, page.text)
    app = compare.App(
        key="comcep-sqlite",
        label="ComCEP (SQLite)",
        stack="comcep",
        urls={"search": "http://127.0.0.1:1/recherche?q=reconversion"},
        marker=members["pair"].display_name,
        results_pattern=compare.COMCEP_RESULTS,
    )
    result = compare.check(app, "search")
    assert result["results"] == 2
    # Two results are not the full first page the other forum is asked for: not measured.
    assert result["problems"] == ["2 results instead of 20"]
    assert result["ok"] is False


def _json_answer(results: int) -> str:
    return json.dumps([{"results": {"results": [{"poster_name": "x"}] * results}}])


def test_a_json_search_answer_is_checked_by_its_results_and_needs_no_marker_when_said(
    monkeypatch,
):
    urls = {"search": "http://127.0.0.1:1/api/search/threads/?q=reconversion"}
    pattern = '"poster_name":'
    unmarked = compare.App(
        "other",
        "Other",
        "other",
        urls,
        marker="bancpair1",
        results_pattern=pattern,
        unmarked=("search",),
    )
    marked = compare.App(
        "other", "Other", "other", urls, marker="bancpair1", results_pattern=pattern
    )

    _serve(monkeypatch, _json_answer(20))
    assert compare.check(unmarked, "search")["ok"] is True
    assert compare.check(marked, "search")["problems"] == [
        "not logged in (no « bancpair1 » in the page)"
    ]
    _serve(monkeypatch, _json_answer(0))
    assert compare.check(unmarked, "search")["problems"] == ["0 results instead of 20"]
    _serve(monkeypatch, "", status=429)
    assert compare.check(unmarked, "search")["problems"][0] == "status 429"


def _runs(app: str, page: str, rates: list[float]) -> list[dict]:
    return [
        {
            "app": app,
            "page": page,
            "round": number,
            "requests_per_s": rate,
            "p50_ms": 1.0,
            "p99_ms": 2.0,
            "errors": 0,
            "timeouts": 0,
            "load_1m": 0.5,
        }
        for number, rate in enumerate(rates, start=1)
    ]


def test_the_report_puts_the_search_beside_the_other_forum_s(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(compare, "RESULTS", tmp_path)
    apps = [
        compare.App("comcep-sqlite", "ComCEP (SQLite)", "comcep", {"topic": "", "search": ""}),
        compare.App("other", "Misago", "other", {"topic": "", "search": ""}),
        compare.App("flask-hello", "hello (Flask)", "comcep", {"hello": ""}),
        compare.App("other-hello", "hello (Django)", "other", {"hello": ""}),
    ]
    runs = (
        _runs("comcep-sqlite", "topic", [800, 900, 1000])
        + _runs("other", "topic", [10, 20, 30])
        + _runs("comcep-sqlite", "search", [300, 200, 100])
        + _runs("other", "search", [20, 10, 10])
        + _runs("flask-hello", "hello", [4000, 4000, 4000])
        + _runs("other-hello", "hello", [2000, 2000, 2000])
    )
    summary = compare.summarise(apps, runs)
    assert [row["median_requests_per_s"] for row in summary["search"]] == [200.0, 10.0]
    assert summary["search"][0]["share_of_own_hello"] == 0.05

    checks = {
        "comcep-sqlite": [{"moment": "before", "page": "search", "bytes": 9000, "results": 20}],
        "other": [{"moment": "before", "page": "topic", "bytes": 150000, "posts": 20}],
    }
    entry = {
        "measured_at": "2026-12-04T23:00:00+00:00",
        "rounds": 3,
        "seconds": 20,
        "nice": 0,
        "load_average_before": [0.5, 0.5, 0.5],
        "load_average_after": [0.5, 0.5, 0.5],
        "comcep": {
            "commit": "abc1234",
            "python": "3.11",
            "flask": "3",
            "sqlalchemy": "2",
            "gunicorn": "27",
        },
        "other": {"name": "Misago"},
        "summary": summary,
        "apps": {
            app.key: {
                "label": app.label,
                "peak_rss_mb": [100.0],
                "nice": 0,
                "checks": checks.get(app.key, []),
                "urls": app.urls,
            }
            for app in apps
        },
    }
    older = {**entry, "summary": {"topic": summary["topic"]}}  # measured before search was
    compare.write_markdown(
        {"machine": {"cpu": "CPU", "cores": 2}, "sizes": {"10000": older, "100000": entry}}
    )
    report = (tmp_path / "compare.md").read_text()
    assert "| search | ComCEP (SQLite) | 200 | 300 / 200 / 100 | 5.0% |" in report
    assert "| search | Misago | 10.0 | 20.0 / 10.0 / 10.0 | 0.5% |" in report
    assert (
        "- search for one word (« reconversion »), first page of 20 results: requests/s of "
        "ComCEP over Misago's, medians: ComCEP (SQLite) ×20.0 (round by round: ×15.0 / "
        "×20.0 / ×10.0)." in report
    )
    assert "| ComCEP (SQLite) | [100.0] | — | — | — | — | 9000 | 20 | 0 |" in report
    assert report.count("search for one word") == 1  # the older size has no search line


@pytest.mark.parametrize(
    ("value", "on"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("false", False),
        ("non", False),
        ("1", True),
        ("true", True),
        ("Oui", True),
        (" yes ", True),
    ],
)
def test_the_unmarked_search_switch_reads_0_as_off(value, on):
    """COMPARE_OTHER_SEARCH_UNMARKED=0 leaves the marker check on."""
    assert compare._switched_on(value) is on
