"""ComCEP side by side with another forum: same pages, same machine, same session.

Issue 8 ends with « the same pages are measured side by side with other forum software on
the same machine ». This script is the ComCEP side of that measurement (the other forum is
installed, loaded and started by hand, outside this repository: bench/compare/README.md).

It starts ComCEP the way `bench/run.py`'s load test does (gunicorn, 2 sync workers,
production configuration, the benchmark pair logged in through /connexion) on the generated
forum of `--size` posts, on SQLite and/or PostgreSQL, plus the hello-world Flask app
(bench/hello.py). The other forum is already running: its topic page, index page and
hello-world URLs (and its search for « reconversion », to measure the search too), its
session cookie and the pid files of its gunicorn masters come from the arguments or the
environment (COMPARE_OTHER_*). Then, for `--rounds` rounds, `wrk -t2 -c8`
runs `--seconds` on each page of each app in turn, alternating the order of the apps from
one round to the next (A B C, then C B A…), so that both forums see the same machine load;
wrk's `--timeout` is 10 s rather than its default 2 s, so that a slow app's slow requests
stay in its latency figures instead of being dropped as socket errors.
Before the first round and after each one, every page is fetched once with its cookie and
checked: status 200, logged in (a marker text), 20 posts on the topic page, the number of
categories on the index.

Recorded per run: requests/s, p50 / p99 latency, errors (non-2xx/3xx and socket errors,
timeouts counted apart too), and the 1-minute load average when it started; per app: peak
RSS per worker (VmHWM of each gunicorn worker) and the page size. Medians over the rounds go
to bench/results/compare.json (one entry per size, kept across invocations) and
bench/results/compare.md.

    .venv/bin/python bench/compare.py --size 100000 \\
        --other-name "Misago 0.39.6" \\
        --other-topic-url http://127.0.0.1:8710/t/<slug>/9658/ \\
        --other-index-url http://127.0.0.1:8710/categories/ \\
        --other-hello-url http://127.0.0.1:8711/ \\
        --other-cookie "sessionid=…; csrftoken=…" \\
        --other-pidfile /tmp/compare/misago.pid --other-hello-pidfile /tmp/compare/hello.pid
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, Request, build_opener

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate as gen  # noqa: E402
from bench import run as bench  # noqa: E402

RESULTS = bench.RESULTS
PAGES = ("topic", "index", "search", "hello")
SEARCH_WORD = "reconversion"  # bench/run.py's « search: one word »
PAGE_LABELS = {
    "topic": "topic page, 20 posts (page 1 of the 200-post topic)",
    "index": "forum index (categories list)",
    "search": f"search for one word (« {SEARCH_WORD} »), first page of 20 results",
    "hello": "hello world (same stack, no database)",
}
COMCEP_POSTS = r'<article class="post[^"]*" id="p\d+"'
COMCEP_CATEGORIES = r'href="/r/([^"/?]+)"'
COMCEP_RESULTS = r'<li class="search-hit"'


@dataclass
class App:
    """One server measured: a ComCEP database, the other forum, or a hello-world app."""

    key: str
    label: str
    stack: str  # "comcep" or "other": which hello world it is compared with
    urls: dict[str, str]
    cookie: str | None = None
    marker: str | None = None  # text a logged-in page contains
    posts_pattern: str | None = None
    categories_pattern: str | None = None
    results_pattern: str | None = None
    # Pages whose body need not show the marker: an API answering in JSON names no member.
    unmarked: tuple[str, ...] = ()
    master_pid: int | None = None
    pidfile: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    def pid(self) -> int | None:
        if self.master_pid is not None:
            return self.master_pid
        if self.pidfile and Path(self.pidfile).exists():
            return int(Path(self.pidfile).read_text().split()[0])
        return None


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


def fetch(url: str, cookie: str | None) -> tuple[int, str]:
    """One GET without following redirects (a redirect means « logged out » here)."""
    opener = build_opener(_NoRedirect)
    request = Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    try:
        with opener.open(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.read().decode("utf-8", "replace")
    except HTTPError as error:
        return error.code, ""


def check(app: App, page: str) -> dict[str, Any]:
    """Fetch one page once and say whether it is the page we mean to measure."""
    status, body = fetch(app.urls[page], app.cookie)
    result: dict[str, Any] = {"page": page, "status": status, "bytes": len(body.encode())}
    problems = []
    if status != 200:
        problems.append(f"status {status}")
    if page != "hello" and page not in app.unmarked and app.marker and app.marker not in body:
        problems.append(f"not logged in (no « {app.marker} » in the page)")
    if page == "topic" and app.posts_pattern:
        result["posts"] = len(re.findall(app.posts_pattern, body))
        if result["posts"] != 20:
            problems.append(f"{result['posts']} posts instead of 20")
    if page == "index" and app.categories_pattern:
        result["categories"] = len(set(re.findall(app.categories_pattern, body)))
    if page == "search" and app.results_pattern:
        # The same work on both sides: a full first page, not « no result » served fast.
        result["results"] = len(re.findall(app.results_pattern, body))
        if result["results"] != 20:
            problems.append(f"{result['results']} results instead of 20")
    result["ok"] = not problems
    result["problems"] = problems
    return result


def _ms(value: str | None) -> float | None:
    """wrk's latency text (« 854.75ms », « 1.46s », « 210.69us ») in milliseconds."""
    if not value:
        return None
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not found:
        return None
    number, unit = float(found.group(1)), found.group(2)
    return round(number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 2)


def run_wrk(url: str, seconds: int, cookie: str | None, timeout: int) -> dict[str, Any]:
    """`wrk -t2 -c8` as bench/run.py runs it, with a longer --timeout: at its default (2 s) a
    slow app's slowest requests are dropped from the latency figures and counted as errors."""
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", f"{timeout}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    connect, read, write, timeouts = map(int, sockets.groups()) if sockets else (0, 0, 0, 0)
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    return {
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "errors": (int(non2xx.group(1)) if non2xx else 0) + connect + read + write + timeouts,
        "timeouts": timeouts,
        "p50_ms": _ms(latency.get("50")),
        "p90_ms": _ms(latency.get("90")),
        "p99_ms": _ms(latency.get("99")),
        "raw": output,
    }


def wrk(app: App, page: str, seconds: int, timeout: int) -> dict[str, Any]:
    load = round(os.getloadavg()[0], 2)
    cookie = app.cookie if page != "hello" else None
    return {
        "app": app.key,
        "page": page,
        "load_1m": load,
        **run_wrk(app.urls[page], seconds, cookie, timeout),
    }


def _nice(pid: int | None) -> int | None:
    if pid is None or not Path(f"/proc/{pid}/stat").exists():
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        return subprocess.run(  # noqa: S603
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=bench.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _dirty() -> bool | None:
    """Whether ComCEP's own code (comcep/, templates/, config.py) differs from the commit."""
    try:
        return bool(
            subprocess.run(  # noqa: S603
                ["git", "status", "--porcelain", "comcep", "templates", "config.py"],  # noqa: S607
                cwd=bench.ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        return None


def comcep_env(target: bench.Target) -> dict[str, str]:
    """The environment of run.py's load test (production configuration), limits off: one
    member's searches are capped per minute (SEARCH_RATE_LIMIT), so wrk would measure 429
    answers, and the other forum limits none. No other page the harness loads has a limit."""
    return {
        "COMCEP_ENV": "production",
        "COMCEP_SECRET_KEY": "bench-load-test-secret",
        "COMCEP_DATABASE_URL": target.url,
        "COMCEP_INSTANCE_PATH": str(target.instance),
        "COMCEP_JOBS": "inline",
        "COMCEP_RATELIMIT_STORAGE_URL": "memory://",
        "COMCEP_RATELIMIT_ENABLED": "0",
    }


def summarise(apps: list[App], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds, per page and app, and each app's ratio to its hello world."""
    summary: dict[str, Any] = {}
    hello = {
        app.stack: statistics.median(
            r["requests_per_s"] for r in runs if r["app"] == app.key and r["page"] == "hello"
        )
        for app in apps
        if "hello" in app.urls and any(r["app"] == app.key and r["page"] == "hello" for r in runs)
    }
    for page in PAGES:
        for app in apps:
            mine = [r for r in runs if r["app"] == app.key and r["page"] == page]
            if not mine:
                continue
            rps = statistics.median(r["requests_per_s"] for r in mine)
            entry = {
                "app": app.key,
                "label": app.label,
                "rounds": len(mine),
                "requests_per_s": [r["requests_per_s"] for r in mine],
                "median_requests_per_s": round(rps, 1),
                "median_p50_ms": _median(r["p50_ms"] for r in mine),
                "median_p99_ms": _median(r["p99_ms"] for r in mine),
                "errors": sum(r["errors"] for r in mine),
                "timeouts": sum(r.get("timeouts", 0) for r in mine),
                "load_1m": [r["load_1m"] for r in mine],
            }
            if page != "hello" and hello.get(app.stack):
                entry["share_of_own_hello"] = round(rps / hello[app.stack], 4)
            summary.setdefault(page, []).append(entry)
    return summary


def _median(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def measure(args: argparse.Namespace) -> dict[str, Any]:
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if "postgresql" in databases and not bench.postgres_available():
        print("PostgreSQL ne répond pas : ComCEP sur SQLite seulement.")
        databases.remove("postgresql")
    other = App(
        key="other",
        label=args.other_name,
        stack="other",
        urls={"topic": args.other_topic_url, "index": args.other_index_url},
        cookie=args.other_cookie,
        marker=args.other_marker,
        posts_pattern=args.other_posts_pattern,
        categories_pattern=args.other_categories_pattern,
        results_pattern=args.other_results_pattern,
        unmarked=("search",) if args.other_search_unmarked else (),
        pidfile=args.other_pidfile,
    )
    if args.other_search_url:  # searched on both sides, or on neither
        other.urls["search"] = args.other_search_url
    other_hello = None
    if args.other_hello_url:
        other_hello = App(
            key="other-hello",
            label=f"{args.other_hello_name}",
            stack="other",
            urls={"hello": args.other_hello_url},
            pidfile=args.other_hello_pidfile,
        )
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    commit = _git_commit()  # the code the servers start with
    load_before = [round(x, 2) for x in os.getloadavg()]
    apps: list[App] = []
    generation: dict[str, Any] = {}
    with ExitStack() as stack:
        for database in databases:
            target = bench.Target(database, args.size)
            meta = bench.prepare(target, False)
            generation[database] = {
                "url": target.url.split("@")[-1],
                "report": meta.get("report"),
                "generated_at": meta.get("generated_at"),
            }
            port, process = stack.enter_context(
                bench.gunicorn("comcep:create_app()", comcep_env(target))
            )
            pair = gen.BENCH_ACCOUNTS["pair"]
            cookie = bench._login_cookie(port, pair["email"], gen.BENCH_PASSWORD)
            topic = meta["report"]["bench_topic_id"]
            urls = {
                "topic": f"http://127.0.0.1:{port}/t/{topic}",
                "index": f"http://127.0.0.1:{port}/",
            }
            if "search" in other.urls:
                query = urlencode({"q": SEARCH_WORD})
                urls["search"] = f"http://127.0.0.1:{port}/recherche?{query}"
            apps.append(
                App(
                    key=f"comcep-{database}",
                    label=f"ComCEP ({'SQLite' if database == 'sqlite' else 'PostgreSQL'})",
                    stack="comcep",
                    urls=urls,
                    cookie=cookie,
                    marker=pair["name"],
                    posts_pattern=COMCEP_POSTS,
                    categories_pattern=COMCEP_CATEGORIES,
                    results_pattern=COMCEP_RESULTS,
                    master_pid=process.pid,
                )
            )
        apps.append(other)
        port, process = stack.enter_context(bench.gunicorn("bench.hello:app", {}))
        flask_hello = App(
            key="flask-hello",
            label="hello world (Flask)",
            stack="comcep",
            urls={"hello": f"http://127.0.0.1:{port}/"},
            master_pid=process.pid,
        )
        apps.append(flask_hello)
        if other_hello is not None:
            apps.append(other_hello)

        def verify(moment: str) -> None:
            for app in apps:
                for page in app.urls:
                    result = check(app, page)
                    result["moment"] = moment
                    app.checks.append(result)
                    if not result["ok"]:
                        raise SystemExit(f"{app.label} {page}: {', '.join(result['problems'])}")

        verify("before")
        for app in apps:  # warm-up: imports, template compilation, caches, connections
            for page in app.urls:
                run_wrk(app.urls[page], args.warmup_seconds, app.cookie, args.timeout)
        runs: list[dict[str, Any]] = []
        for number in range(1, args.rounds + 1):
            order = apps if number % 2 else list(reversed(apps))
            for page in PAGES:
                for app in order:
                    if page not in app.urls:
                        continue
                    run = wrk(app, page, args.seconds, args.timeout)
                    run["round"] = number
                    runs.append(run)
                    print(
                        f"[{args.size}] round {number} {page:5} {app.label:28} "
                        f"{run['requests_per_s']:8.1f} req/s  p50 {run['p50_ms']} ms  "
                        f"p99 {run['p99_ms']} ms  errors {run['errors']}  load {run['load_1m']}"
                    )
            verify(f"after round {number}")
        app_info = {}
        for app in apps:
            pid = app.pid()
            workers = bench._workers(pid) if pid else []
            app_info[app.key] = {
                "label": app.label,
                "stack": app.stack,
                "urls": app.urls,
                "nice": _nice(pid),
                "workers": len(workers),
                "peak_rss_mb": [bench._peak_rss_mb(w) for w in workers],
                "checks": app.checks,
            }
    return {
        "size": args.size,
        "measured_at": started_at,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "rounds": args.rounds,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup_seconds,
        "wrk": f"wrk -t2 -c8 -d{args.seconds}s --timeout {args.timeout}s --latency "
        "[-H 'Cookie: …'] URL",
        "gunicorn": "--workers 2 --worker-class sync",
        "nice": os.nice(0),
        "comcep": {
            "commit": commit,
            "uncommitted_changes": _dirty(),
            "python": platform.python_version(),
            "flask": _version("flask"),
            "sqlalchemy": _version("sqlalchemy"),
            "gunicorn": _version("gunicorn"),
            "generation": generation,
        },
        "other": {"name": args.other_name, "notes": args.other_notes},
        "apps": app_info,
        "summary": summarise(apps, runs),
        "runs": runs,
    }


def _rps(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _errors(row: dict[str, Any]) -> str:
    if row.get("timeouts"):
        return f"{row['errors']} ({row['timeouts']} timeouts)"
    return str(row["errors"])


def write_markdown(data: dict[str, Any]) -> None:
    lines = [
        "# ComCEP side by side with another forum",
        "",
        "Written by `bench/compare.py` (how the other forum was installed, loaded and started: "
        "`bench/compare/README.md`). Same machine, same session: gunicorn with 2 sync workers "
        "for every app, `wrk -t2 -c8`, the apps taking turns page by page and round by round "
        "(the order reversed every other round). A logged-in member (the benchmark « pair ») "
        "views the pages. Figures are medians over the rounds; « of hello » is the app's "
        "requests/s divided by the hello-world app of its own stack in the same session.",
        "",
        f"Machine: {data['machine']['cpu']} ({data['machine']['cores']} cores, shared with "
        "other jobs: see the load averages).",
        "",
    ]
    for size in sorted(data["sizes"], key=int):
        entry = data["sizes"][size]
        comcep = entry["comcep"]
        dirty = " with uncommitted changes" if comcep.get("uncommitted_changes") else ""
        lines += [
            f"## {bench._fmt_size(int(size))} posts — {entry['other']['name']}",
            "",
            f"Measured {entry['measured_at']}, {entry['rounds']} rounds of {entry['seconds']} s "
            f"per page and app, nice {entry['nice']}; load average before "
            f"{entry['load_average_before']}, after {entry['load_average_after']}. ComCEP "
            f"{comcep['commit']}{dirty} "
            f"(Python {comcep['python']}, Flask {comcep['flask']}, "
            f"SQLAlchemy {comcep['sqlalchemy']}, gunicorn {comcep['gunicorn']}).",
        ]
        if entry["other"].get("notes"):
            lines += ["", entry["other"]["notes"]]
        lines += [
            "",
            "| page | app | requests/s (median) | per round | of hello | p50 ms | p99 ms "
            "| errors | load 1 min |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for page in PAGES:
            for row in entry["summary"].get(page, []):
                share = row.get("share_of_own_hello")
                lines.append(
                    f"| {page} | {row['label']} | {_rps(row['median_requests_per_s'])} | "
                    + " / ".join(_rps(v) for v in row["requests_per_s"])
                    + f" | {f'{share:.1%}' if share is not None else '—'} | "
                    f"{row['median_p50_ms']} | {row['median_p99_ms']} | {_errors(row)} | "
                    + " / ".join(f"{v:.1f}" for v in row["load_1m"])
                    + " |"
                )
        lines.append("")
        for page in ("topic", "index", "search"):
            rows = {row["app"]: row for row in entry["summary"].get(page, [])}
            other = rows.get("other")
            if not other or not other["median_requests_per_s"]:
                continue
            base = other["median_requests_per_s"]
            ratios = []
            for key, row in rows.items():
                if not key.startswith("comcep-"):
                    continue
                paired = " / ".join(
                    f"×{mine / theirs:.1f}"
                    for mine, theirs in zip(
                        row["requests_per_s"], other["requests_per_s"], strict=False
                    )
                    if theirs
                )
                ratios.append(
                    f"{row['label']} ×{row['median_requests_per_s'] / base:.1f} "
                    f"(round by round: {paired})"
                )
            lines.append(
                f"- {PAGE_LABELS[page]}: requests/s of ComCEP over {other['label']}'s, "
                f"medians: {', '.join(ratios)}."
            )
        lines += [
            "",
            "| app | peak RSS per worker (MB) | topic page (bytes) | posts shown | "
            "index (bytes) | categories listed | search (bytes) | results shown | nice |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for info in entry["apps"].values():
            first = {c["page"]: c for c in info["checks"] if c["moment"] == "before"}
            topic, index = first.get("topic", {}), first.get("index", {})
            search = first.get("search", {})
            lines.append(
                f"| {info['label']} | {info['peak_rss_mb']} | {topic.get('bytes', '—')} | "
                f"{topic.get('posts', '—')} | {index.get('bytes', '—')} | "
                f"{index.get('categories', '—')} | {search.get('bytes', '—')} | "
                f"{search.get('results', '—')} | {info['nice']} |"
            )
        lines.append("")
        lines.append("URLs: " + "; ".join(f"{k}: {v['urls']}" for k, v in entry["apps"].items()))
        lines.append("")
    (RESULTS / "compare.md").write_text("\n".join(lines))


def _switched_on(value: str | None) -> bool:
    """An environment switch: « 1 », « true », « yes », « oui », « on » (any case); « 0 »,
    « false » or nothing leave it off."""
    return (value or "").strip().lower() in {"1", "true", "yes", "oui", "on"}


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(description="ComCEP et un autre forum, côte à côte.")
    parser.add_argument("--size", type=int, default=int(env("COMPARE_SIZE", "100000")))
    parser.add_argument("--databases", default=env("COMPARE_DATABASES", "sqlite,postgresql"))
    parser.add_argument("--rounds", type=int, default=int(env("COMPARE_ROUNDS", "3")))
    parser.add_argument("--seconds", type=int, default=int(env("COMPARE_SECONDS", "20")))
    parser.add_argument("--warmup-seconds", type=int, default=5)
    parser.add_argument("--timeout", type=int, default=10, help="wrk --timeout, in seconds")
    parser.add_argument("--other-name", default=env("COMPARE_OTHER_NAME", "other forum"))
    parser.add_argument("--other-notes", default=env("COMPARE_OTHER_NOTES", ""))
    parser.add_argument("--other-topic-url", default=env("COMPARE_OTHER_TOPIC_URL"))
    parser.add_argument("--other-index-url", default=env("COMPARE_OTHER_INDEX_URL"))
    parser.add_argument("--other-hello-url", default=env("COMPARE_OTHER_HELLO_URL"))
    parser.add_argument("--other-hello-name", default=env("COMPARE_OTHER_HELLO_NAME", "hello"))
    parser.add_argument("--other-cookie", default=env("COMPARE_OTHER_COOKIE"))
    parser.add_argument(
        "--other-marker",
        default=env("COMPARE_OTHER_MARKER"),
        help="text that only a logged-in page contains (the member's name)",
    )
    parser.add_argument("--other-posts-pattern", default=env("COMPARE_OTHER_POSTS_PATTERN"))
    parser.add_argument(
        "--other-categories-pattern", default=env("COMPARE_OTHER_CATEGORIES_PATTERN")
    )
    parser.add_argument(
        "--other-search-url",
        default=env("COMPARE_OTHER_SEARCH_URL"),
        help=f"the other forum's results for « {SEARCH_WORD} » (without it, no search is measured)",
    )
    parser.add_argument(
        "--other-results-pattern",
        default=env("COMPARE_OTHER_RESULTS_PATTERN"),
        help="a regular expression matching once per result in that answer",
    )
    parser.add_argument(
        "--other-search-unmarked",
        action="store_true",
        default=_switched_on(env("COMPARE_OTHER_SEARCH_UNMARKED")),
        help="the search answer is JSON that names no member: do not look for the marker there",
    )
    parser.add_argument("--other-pidfile", default=env("COMPARE_OTHER_PIDFILE"))
    parser.add_argument("--other-hello-pidfile", default=env("COMPARE_OTHER_HELLO_PIDFILE"))
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite compare.md from compare.json"
    )
    args = parser.parse_args(argv)
    path = RESULTS / "compare.json"
    data = json.loads(path.read_text()) if path.exists() else {"sizes": {}}
    if not args.report_only:
        missing = [
            name
            for name in ("other_topic_url", "other_index_url", "other_cookie")
            if not getattr(args, name)
        ]
        if missing:
            parser.error("missing: " + ", ".join("--" + m.replace("_", "-") for m in missing))
        if shutil.which("wrk") is None:
            parser.error("wrk is not installed (apt-get install -y wrk)")
        data["sizes"][str(args.size)] = measure(args)
        data["machine"] = bench.machine()
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    write_markdown(data)
    print(f"Résultats : {RESULTS / 'compare.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
