"""The load test's summary (`bench/run.py`): each page's median of its interleaved rounds,
and its share of the hello world measured in the same round."""

from __future__ import annotations

from bench.run import load_summary


def _run(app: str, url: str, number: int, rps: float, errors: int = 0) -> dict:
    return {
        "app": app,
        "url": url,
        "round": number,
        "requests_per_s": rps,
        "non_2xx_3xx": errors,
        "socket_errors": 0,
    }


def test_each_page_is_the_median_of_its_rounds_against_its_own_round_s_hello() -> None:
    runs = [
        _run("comcep", "/t/1", 1, 500.0),
        _run("hello", "/", 1, 5000.0),
        _run("comcep", "/t/1", 2, 700.0, errors=2),
        _run("hello", "/", 2, 5000.0),
        _run("comcep", "/t/1", 3, 800.0),
        _run("hello", "/", 3, 4000.0),  # a slow round: its page is compared with it
    ]
    topic, hello = load_summary(runs)
    assert topic == {
        "app": "comcep",
        "url": "/t/1",
        "rounds": 3,
        "requests_per_s": 700.0,
        "errors": 2,
        "share_of_hello": 0.14,  # median of 10 %, 14 % and 20 %
    }
    assert hello["requests_per_s"] == 5000.0
    assert hello["share_of_hello"] is None


def test_a_run_of_one_round_without_numbers_still_reads() -> None:
    """load.json written before the rounds (no "round" key) still makes a report."""
    runs = [_run("comcep", "/", 1, 300.0), _run("hello", "/", 1, 6000.0)]
    for run in runs:
        del run["round"]
    comcep, _hello = load_summary(runs)
    assert comcep["share_of_hello"] == 0.05
