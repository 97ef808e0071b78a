"""The in-process timings of `bench/run.py`, taken by several processes per size in
interleaved rounds: how their samples are pooled and reported, and in what order the
processes run (on a shared machine one process ran the same code twice as slow as another)."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import run as bench_run

SLOW = "SELECT * FROM posts WHERE topic_id = ?"
FAST = "SELECT 1"


def _part_samples(
    times: list[float],
    hello: list[float],
    plan: bool,
    status: int = 200,
    page_name: str = "index",
    writes: bool | None = None,
) -> dict:
    page = {
        "page": page_name,
        "as": "pair",
        "url": "/",
        "method": "POST" if writes else "GET",
        "expect": 200,
        "times_ms": times,
        "cpu_ms": [t / 2 for t in times],
        "queries": [5] * len(times),
        "outbox_queries": [0] * len(times),
        "status": [status] * len(times),
        "statements_ms": {SLOW: [t / 4 for t in times], FAST: [0.01] * len(times)},
        "plans": {SLOW: ["SEARCH posts USING INDEX ix_posts_topic_id"]} if plan else {},
    }
    return {
        "database": "sqlite",
        "size": 10_000,
        "warmup": 5,
        "analyses_route": True,
        "measured_at": "2026-12-04T21:00:00+00:00",
        "load_average": [1.0, 1.0, 1.0],
        "hello_us": hello,
        "search_index_complete": True,
        "generation": {"posts": 10_000},
        "live_posts": {"since": "2026-12-04T23:00+00:00", "posts": 3, "bench_replies": 0},
        "writes": writes,
        "pages": [page],
    }


def test_the_processes_samples_are_pooled_and_each_process_median_is_kept() -> None:
    merged = bench_run.merge_parts(
        [
            _part_samples([1.0, 1.1, 1.2], [90.0, 92.0], plan=False),
            _part_samples([1.0, 1.2, 1.3], [91.0, 93.0], plan=True),
            _part_samples([2.4, 2.6, 2.5], [180.0, 170.0], plan=False),  # a slow minute
        ]
    )
    (page,) = merged["pages"]
    assert page["requests"] == 9
    assert page["processes"] == 3
    assert page["median_ms"] == 1.2  # of all nine samples: the slow process does not lead
    assert page["process_medians_ms"] == [1.1, 1.2, 2.5]
    assert page["min_ms"] == 1.0
    assert page["p95_ms"] == 2.6
    assert page["cpu_median_ms"] == 0.6
    assert (page["queries"], page["queries_min"], page["queries_max"]) == (5, 5, 5)
    assert page["ok"] is True
    slowest = page["slowest_statement"]
    assert slowest["sql"] == SLOW
    assert slowest["per_request"] == 1.0
    assert slowest["plan"] == ["SEARCH posts USING INDEX ix_posts_topic_id"]  # the 2nd's
    assert merged["processes"] == 3
    assert merged["hello_us_processes"] == [[90.0, 92.0], [91.0, 93.0], [180.0, 170.0]]
    assert merged["hello_us"] == [90.0, 92.0]


def test_pages_measured_by_different_processes_are_matched_by_name() -> None:
    """The reply is measured by processes of its own, after the other pages: each page
    pools the samples of the processes that measured it, and the posts counted live are
    those the reading processes saw (the writing ones add to them)."""
    reads = [
        _part_samples([1.0, 1.0], [90.0, 90.0], plan=False, writes=False),
        _part_samples([3.0, 3.0], [90.0, 90.0], plan=False, writes=False),
    ]
    writes = [
        _part_samples([9.0, 9.0], [95.0, 95.0], plan=False, page_name="reply", writes=True),
        _part_samples([11.0, 11.0], [95.0, 95.0], plan=False, page_name="reply", writes=True),
    ]
    writes[1]["live_posts"]["posts"] = 5  # the first writing process's replies
    merged = bench_run.merge_parts([*reads, *writes])
    index, reply = merged["pages"]
    assert (index["page"], index["process_medians_ms"]) == ("index", [1.0, 3.0])
    assert (reply["page"], reply["process_medians_ms"]) == ("reply", [9.0, 11.0])
    assert reply["median_ms"] == 10.0
    assert merged["processes"] == 2
    assert len(merged["hello_us_processes"]) == 4
    assert [count["posts"] for count in merged["live_posts"]] == [3, 3]


def test_a_status_seen_in_one_process_only_still_fails_the_page() -> None:
    merged = bench_run.merge_parts(
        [
            _part_samples([1.0], [90.0, 90.0], plan=False),
            _part_samples([1.0], [90.0, 90.0], plan=False, status=500),
        ]
    )
    assert merged["pages"][0]["status"] == [200, 500]
    assert merged["pages"][0]["ok"] is False


def test_the_report_flags_processes_that_disagree_and_gives_each_one_s_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path)
    steady = bench_run.merge_parts(
        [
            _part_samples([1.0, 1.0], [90.0, 92.0], plan=False),
            _part_samples([1.1, 1.1], [91.0, 93.0], plan=False),
        ]
    )
    noisy = bench_run.merge_parts(
        [
            _part_samples([1.0, 1.0], [90.0, 92.0], plan=False),
            _part_samples([2.0, 2.0], [180.0, 181.0], plan=False),
        ]
    )
    noisy["size"] = 1_000_000
    bench_run.write_report([steady, noisy], None)
    report = (tmp_path / "latest.md").read_text()
    assert (
        "| index | pair | 1.1 / 1.1 · 5 q | 1.5 / 2.0 · 5 q | processes differ up to ×2.0 (1 M) |"
        in (report)
    )
    assert "Each size was measured by 2 processes" in report
    assert "10 k 90.0 → 92.0 · 91.0 → 93.0 µs (2026-12-04)" in report
    assert "1 M 90.0 → 92.0 · 180.0 → 181.0 µs" in report
    assert "counted one by one" in report
    assert "10 k 3 · 3, 1 M 3 · 3." in report


def test_the_part_option_reads_n_of_k() -> None:
    assert bench_run._part("2/3") == (1, 3)
    for wrong in ("0/3", "4/3", "3", "a/b", "-1/2"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench_run._part(wrong)


def test_every_size_is_measured_in_rounds_there_and_back_by_fresh_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Round 1 visits the sizes in order, round 2 back, round 3 in order: a slow period
    falls on neighbouring sizes alike. Each process is a new interpreter making its share of
    the requests, and the parent merges what they wrote."""
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        commands.append(command)
        name, part = command[command.index("--measure") + 1], command.index("--part") + 1
        writes = command[command.index("--phase") + 1] == "writes"
        times = [float(command[part][0])] * 2  # process n's samples take n ms
        samples = _part_samples(times, [90.0, 90.0], plan=False, writes=writes)
        if writes:
            samples = _part_samples([t + 10 for t in times], [90.0, 90.0], False, 200, "reply")
            samples["writes"] = True
        Path(command[command.index("--out") + 1]).write_text(json.dumps(samples))
        assert name in {"sqlite-10000", "sqlite-1000000"}
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(bench_run.subprocess, "run", fake_run)
    targets = [bench_run.Target("sqlite", 10_000), bench_run.Target("sqlite", 1_000_000)]
    args = argparse.Namespace(processes=3, requests=40, warmup=5)
    merged = bench_run.measure_interleaved(targets, args)

    order = [
        (c[c.index("--phase") + 1], c[c.index("--measure") + 1], c[c.index("--part") + 1])
        for c in commands
    ]
    rounds = [
        ("sqlite-10000", "1/3"),
        ("sqlite-1000000", "1/3"),
        ("sqlite-1000000", "2/3"),
        ("sqlite-10000", "2/3"),
        ("sqlite-10000", "3/3"),
        ("sqlite-1000000", "3/3"),
    ]
    # Every process reads before any writes: a report since launch must not time the
    # replies measured in the same run.
    assert order == [("reads", *r) for r in rounds] + [("writes", *r) for r in rounds]
    assert all(c[c.index("--requests") + 1] == "14" for c in commands)  # 3 × 14 >= 40
    assert all(c[0].endswith("python") or "python" in Path(c[0]).name for c in commands)
    assert set(merged) == {"sqlite-10000", "sqlite-1000000"}
    index, reply = merged["sqlite-10000"]["pages"]
    assert index["process_medians_ms"] == [1.0, 2.0, 3.0]
    assert (reply["page"], reply["process_medians_ms"]) == ("reply", [11.0, 12.0, 13.0])
    assert len(merged["sqlite-10000"]["live_posts"]) == 3  # the reading processes'


def test_the_warming_searches_leave_every_measured_word_new() -> None:
    """« A new word each time, after N other searches » fills the process's caches first:
    with other words only, or its words (and the first row's) would not be new."""
    from comcep.search.analyzer import analyze

    queries = bench_run._warming_queries(bench_run.WARMING)
    assert len(queries) == len(set(queries)) == bench_run.WARMING
    measured = ["reconversion", "bilan", "compétences", "projet", "transition"]
    measured += ["professionnelle", *bench_run._fresh_words(1_000)]
    taken = {stem for word in measured for stem in analyze(word)}
    warming = {stem for query in queries for stem in analyze(query)}
    assert len(warming) >= 20
    assert not warming & taken
