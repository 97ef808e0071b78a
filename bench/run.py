"""`make bench`: time ComCEP's pages on generated forums, then load it with wrk.

For each size (SIZES=10000,100000,1000000) and database (SQLite always, PostgreSQL when it
answers on 127.0.0.1:5432), the forum is generated once (bench/generate.py, kept under
BENCH_DIR=/tmp/comcep-bench and reused while the generator version is the same), then every
page is requested in-process through Flask's test client, logged in as members of each kind:
warm-up, then BENCH_REQUESTS requests; the median and p95 of the server time and the number
of SQL statements (SQLAlchemy `before_cursor_execute`) are recorded, with the slowest
statement of each page and its plan. Results: bench/results/<db>-<size>.json, gathered into
bench/results/latest.json and latest.md.

The load test (when `wrk` is installed) runs gunicorn with 2 sync workers on a free
127.0.0.1 port against the largest generated SQLite forum up to 100 k posts, logs in through
/connexion, and measures 30 s of wrk on the topic page, on the index and on a hello-world
Flask app served the same way, in three interleaved rounds (medians are reported); peak RSS
per worker comes from /proc/<pid>/status (VmHWM).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate as gen  # noqa: E402
from bench import vocabulary as vocab  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DIR = Path(os.environ.get("BENCH_DIR", "/tmp/comcep-bench"))  # noqa: S108
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
GENERATOR_VERSION = 4  # bump when bench/generate.py changes what it writes
QUERY_BUDGET = 10
# A page gets BENCH_REQUESTS requests, or fewer (never under MIN_REQUESTS) once it has run
# for PAGE_SECONDS: the JSON records how many were made.
PAGE_SECONDS = float(os.environ.get("BENCH_PAGE_SECONDS", 30))
MIN_REQUESTS = 5
#: Searches a process makes before « a new word each time, after N other searches ».
WARMING = 300
REPLY_TEXT = (
    "Merci pour ce retour : nous avons eu le même cas en agence et le bilan de compétences "
    "a débloqué la situation. Je vous tiens au courant de la suite."
)


# --- databases -------------------------------------------------------------------------


@dataclass
class Target:
    database: str  # sqlite | postgresql
    size: int

    @property
    def name(self) -> str:
        return f"{self.database}-{self.size}"

    @property
    def instance(self) -> Path:
        return BENCH_DIR / self.name

    @property
    def url(self) -> str:
        if self.database == "sqlite":
            return f"sqlite:///{BENCH_DIR / f'{self.name}.sqlite3'}"
        return f"{PG_URL}/comcep_bench_{self.size}"

    @property
    def meta_path(self) -> Path:
        return self.instance / "meta.json"


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - anything means "no PostgreSQL here"
        return False


def prepare(target: Target, regenerate: bool, search: bool = True) -> dict[str, Any]:
    """Generate the forum and its search index unless a complete one is already there."""
    meta: dict[str, Any] = {}
    if target.meta_path.exists() and not regenerate:
        meta = json.loads(target.meta_path.read_text())
        if meta.get("version") == GENERATOR_VERSION and meta.get("posts") == target.size:
            gen.upgrade_database(target.url, str(target.instance))  # new migrations, if any
            if meta.get("search_index_complete") and not meta.get("settled"):
                print(f"[{target.name}] VACUUM ANALYZE après la reconstruction de l'index…")
                gen.settle(target.url)  # a forum generated before `settle` existed
                meta["settled"] = True
                target.meta_path.write_text(json.dumps(meta, indent=2))
            if gen.keep_search_postings(str(target.instance)):
                print(f"[{target.name}] listes de l'index gardées à plat (whoosh_kept)")
            print(f"[{target.name}] forum déjà généré, réutilisé")
            return meta
    shutil.rmtree(target.instance, ignore_errors=True)
    target.instance.mkdir(parents=True)
    print(f"[{target.name}] génération de {target.size} messages…")
    gen.reset_database(target.url)
    started = time.perf_counter()
    gen.upgrade_database(target.url, str(target.instance))
    migrate = time.perf_counter() - started
    report = gen.generate(target.url, target.size)
    meta = {
        "version": GENERATOR_VERSION,
        "posts": target.size,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "report": report.as_dict(),
        "search_index_complete": False,
        "seconds": {
            "migrate": round(migrate, 1),
            "generate": round(report.seconds["total"] + report.seconds["analyze"], 1),
            "search_rebuild": None,
        },
    }
    target.meta_path.write_text(json.dumps(meta, indent=2))  # a killed rebuild keeps the forum
    if not search:
        return meta
    seconds = gen.rebuild_search(target.url, str(target.instance))  # then settled
    meta["search_index_complete"] = True
    meta["settled"] = True
    meta["seconds"]["search_rebuild"] = round(seconds, 1)
    target.meta_path.write_text(json.dumps(meta, indent=2))
    return meta


# --- in-process page timings --------------------------------------------------------------


@dataclass
class StatementLog:
    """Every SQL statement of the requests being measured, with its duration."""

    count: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    _started: float = 0.0

    outbox_count: int = 0  # of `count`, those run by `outbox.process` (inline jobs)
    outbox_depth: int = 0

    def before(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.count += 1
        self.outbox_count += self.outbox_depth > 0
        self.params[statement] = parameters
        self._started = time.perf_counter()

    def after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed = (time.perf_counter() - self._started) * 1000
        self.timings.setdefault(statement, []).append(elapsed)


@dataclass
class Page:
    name: str
    who: str
    url: str
    method: str = "GET"
    data: dict[str, str] | None = None
    expect: int = 200
    #: URLs requested once each, in turn, without warm-up (instead of `url` again and again).
    once_each: tuple[str, ...] = ()
    #: Run before each request, untimed and uncounted (a write the page must then follow).
    before_each: Callable[[], None] | None = None
    #: Run once before the page's first request, untimed and uncounted.
    before_all: Callable[[], None] | None = None

    @property
    def writes(self) -> bool:
        """Whether the page adds posts (the reply): see `measure_interleaved`."""
        return self.method == "POST"


def _fresh_words(count: int) -> list[str]:
    """Words of the generated bodies that no other search page uses, in a fixed order."""
    used = ["reconversion", "bilan", "compétences", "projet", "transition", "professionnelle"]
    words = {
        word.strip(".,;:!?()«»\"'").lower()
        for sentence in vocab.OBJECTS + vocab.CIRCUMSTANCES + vocab.SUBJECTS
        for word in sentence.split()
    }
    from comcep.search.analyzer import analyze

    used_stems = {stem for word in used for stem in analyze(word)}
    by_stem: dict[str, str] = {}  # one word per stem: « conseiller » and « conseillère » are one
    for word in sorted(words):
        stems = analyze(word)
        if len(word) >= 7 and word.isalpha() and len(stems) == 1 and stems[0] not in used_stems:
            by_stem.setdefault(stems[0], word)
    fresh = sorted(by_stem.values())
    return random.Random(2026).sample(fresh, min(count, len(fresh)))


def _warming_queries(count: int) -> list[str]:
    """Distinct two-word queries of body words that no measured search uses (neither the
    fixed ones nor the fresh words): they fill a process's search caches as a worker's
    stream of searches does, without making a measured word any less new."""
    from comcep.search.analyzer import analyze

    measured = ["reconversion", "bilan", "compétences", "projet", "transition"]
    measured += ["professionnelle", *_fresh_words(1_000)]
    taken = {stem for word in measured for stem in analyze(word)}
    words = sorted(
        {
            word.strip(".,;:!?()«»\"'").lower()
            for sentence in vocab.OBJECTS + vocab.CIRCUMSTANCES + vocab.SUBJECTS
            for word in sentence.split()
        }
    )
    kept = [
        word
        for word in words
        if word.isalpha()
        and len(word) >= 4
        and len(stems := analyze(word)) == 1
        and stems[0] not in taken
    ]
    pairs = [f"{a} {b}" for i, a in enumerate(kept) for b in kept[i + 1 :]]
    return random.Random(2027).sample(pairs, min(count, len(pairs)))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure_target(
    target: Target,
    meta: dict[str, Any],
    warmup: int,
    requests: int,
    part: int = 0,
    parts: int = 1,
    writes: bool | None = None,
) -> dict:
    """Every page's samples in this process: `requests` timed requests each (process `part` of
    `parts` measuring this size, which share the fresh words and the time allowed a page).
    `writes`: only the pages that add posts (True), only the others (False), or all."""
    from flask_login import FlaskLoginClient
    from sqlalchemy import event, false, func, or_, select

    from comcep import create_app, outbox
    from comcep.analytics import report, rollups
    from comcep.extensions import db
    from comcep.forum.models import Category, Post, Topic
    from comcep.members.models import Member
    from comcep.search import indexing
    from config import Config

    app = create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=_normalise(target.url),
        INSTANCE_PATH=str(target.instance),
        SEARCH_INDEX_PATH=str(target.instance / "search-index"),
        SECRET_KEY="bench-not-secret",  # noqa: S106 - in-process benchmark only
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
        JOBS="inline",
    )
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        accounts = {
            kind: db.session.scalar(select(Member).where(Member.email == spec["email"]))
            for kind, spec in gen.BENCH_ACCOUNTS.items()
        }
        rubrique = db.session.scalar(
            select(Category).where(Category.slug == gen.BENCH_TOPIC_RUBRIQUE)
        )
        big_topic = meta.get("report", {}).get("bench_topic_id") or db.session.scalar(
            select(Topic.id).where(Topic.last_number == 200).order_by(Topic.id).limit(1)
        )
        reply_topic = db.session.scalar(
            select(Topic.id)
            .where(Topic.category_id == rubrique.id, Topic.id != big_topic)
            .where(Topic.is_locked.is_(False), Topic.is_hidden.is_(False))
            .order_by(Topic.id)
            .limit(1)
        )
        reply_post = db.session.scalar(select(Post.id).where(Post.topic_id == reply_topic).limit(1))
        top_poster = db.session.execute(
            select(Post.author_id, func.count(Post.id).label("n"))
            .group_by(Post.author_id)
            .order_by(func.count(Post.id).desc())
            .limit(1)
        ).first()
        has_analyses = any(rule.rule == "/analyses" for rule in app.url_map.iter_rules())
        engine = db.engine
        # The posts a report since launch counts from the posts (the days not yet settled),
        # and among them the replies earlier bench runs posted: a run on a forum already
        # measured today times a larger live part than a fresh forum has.
        today = report.paris_today()  # the day the page's presets count from
        since_launch = report.preset_period("lancement", today)  # the dates the page asks
        spans = rollups.live_spans(since_launch.start, since_launch.end)
        live = select(func.count(Post.id)).where(
            or_(false(), *((Post.created_at >= s.start) & (Post.created_at < s.end) for s in spans))
        )
        live_posts = {
            "since": min(s.start for s in spans).isoformat(timespec="minutes") if spans else None,
            "posts": db.session.scalar(live),
            "bench_replies": db.session.scalar(
                live.where(
                    Post.author_id == accounts["pair"].id,
                    Post.body_source.startswith(REPLY_TEXT, autoescape=True),
                )
            ),
        }
    last_page = max(1, math.ceil(rubrique.topic_count / app.config["TOPICS_PER_PAGE"]))
    topic_pages = math.ceil(200 / app.config["POSTS_PER_PAGE"])
    quarter = report.last_quarter(today)
    pages = [
        Page("index", "pair", "/"),
        Page("index", "hors_pair", "/"),
        Page("index", "animation", "/"),
        Page("rubrique, page 1", "pair", f"/r/{rubrique.slug}"),
        Page(f"rubrique, last page ({last_page})", "pair", f"/r/{rubrique.slug}?page={last_page}"),
        Page("topic 200 posts, page 1", "pair", f"/t/{big_topic}"),
        Page(f"topic 200 posts, page {topic_pages}", "pair", f"/t/{big_topic}?page={topic_pages}"),
        Page("non lus", "pair", "/non-lus"),
        Page("actifs", "pair", "/actifs"),
        Page("actifs", "hors_pair", "/actifs"),
        Page("profile (top poster)", "pair", f"/membres/{top_poster.author_id}"),
    ]
    searches = [
        ("search: one word", {"q": "reconversion"}),
        ("search: two words", {"q": "bilan compétences"}),
        ("search: phrase", {"q": '"projet de transition professionnelle"'}),
    ]
    if not meta.get("search_index_complete", True):
        searches = []  # `comcep search rebuild` did not finish: no search figures
        print(f"[{target.name}] index de recherche incomplet : recherche non mesurée")
    for who, slug in (("pair", gen.BENCH_TOPIC_RUBRIQUE), ("hors_pair", "echanges")):
        if not searches:
            break
        for label, args in searches:
            pages.append(Page(label, who, "/recherche?" + urlencode(args)))
        args = {"q": "reconversion", "rubrique": slug}
        pages.append(Page("search: word + rubrique", who, "/recherche?" + urlencode(args)))
    if searches:
        # Each word searched once: the first search of a word decodes its posting lists
        # (later ones find them in the process's cache). Each process measuring this size
        # takes its share of the same words, so that no word is searched twice.
        words = _fresh_words(requests * parts)[part::parts]
        fresh = tuple("/recherche?" + urlencode({"q": word}) for word in words)
        pages.append(Page("search: a new word each time", "pair", fresh[0], once_each=fresh))

        def new_post_indexed() -> None:
            # What a new post does to the index (the reply's own indexing, through the
            # outbox): a Whoosh commit, so the search caches of the last generation go.
            with app.app_context():
                indexing.enqueue_posts([reply_post])
                db.session.commit()
                outbox.process()

        pages.append(
            Page(
                "search: one word, just after a new post",
                "pair",
                "/recherche?" + urlencode({"q": "reconversion"}),
                before_each=new_post_indexed,
            )
        )
        # The same measure in a worker that has served many searches: a young process
        # keeps each new word's arrays in caches still filling, in memory touched for the
        # first time (at 1 M posts, some words took 2 000 to 4 700 page faults, 8 to 19 MB),
        # and this row tells that youth apart from the size of the forum. Its words are
        # another process's share: new to this one, and to its caches.
        if parts > 1:
            others = _fresh_words(requests * parts)[(part + 1) % parts :: parts]
            warming = tuple(
                "/recherche?" + urlencode({"q": query}) for query in _warming_queries(WARMING)
            )

            def warm_caches() -> None:
                for url in warming:
                    _request(clients["pair"], Page("", "pair", url))

            pages.append(
                Page(
                    f"search: a new word each time, after {WARMING} other searches",
                    "pair",
                    "/recherche?" + urlencode({"q": others[0]}),
                    once_each=tuple("/recherche?" + urlencode({"q": w}) for w in others),
                    before_all=warm_caches,
                )
            )
    if has_analyses:
        for label, (first, last) in (
            ("analyses: last quarter", (quarter.first, quarter.last)),
            ("analyses: since launch", (since_launch.first, since_launch.last)),
        ):
            args = {"du": first.isoformat(), "au": last.isoformat()}
            pages.append(Page(label, "comite", "/analyses?" + urlencode(args)))
    reply_label = "reply (POST, with outbox)"
    if searches == []:
        reply_label += " [empty search index]"
    pages.append(
        Page(
            reply_label,
            "pair",
            f"/t/{reply_topic}/repondre",
            "POST",
            {"body": REPLY_TEXT, "submit": "1"},
            expect=302,
        )
    )
    if writes is not None:
        pages = [page for page in pages if page.writes == writes]
    clients = {kind: app.test_client(user=member) for kind, member in accounts.items()}

    hello_before = hello_in_process_us()
    process = outbox.process
    page_seconds = PAGE_SECONDS / parts
    min_requests = max(1, math.ceil(MIN_REQUESTS / parts))
    results = []
    for page in pages:
        client = clients[page.who]
        if page.before_all:
            page.before_all()
        warm_started = time.perf_counter()
        for _ in range(0 if page.once_each else warmup):
            if page.before_each:
                page.before_each()
            _request(client, page)
            if time.perf_counter() - warm_started > page_seconds / 4:
                break  # a slow page (analyses at 1 M posts) is warm after one or two
        log = StatementLog()
        outbox.process = _counted_process(log, process)
        event.listen(engine, "before_cursor_execute", log.before)
        event.listen(engine, "after_cursor_execute", log.after)
        times, cpu, counts, outbox_counts, statuses, faults = [], [], [], [], [], []
        try:
            page_started = time.perf_counter()
            for done in range(len(page.once_each) or requests):
                if done >= min_requests and time.perf_counter() - page_started > page_seconds:
                    break  # enough samples of a slow page: keep the run under an hour
                if page.before_each:
                    page.before_each()
                before, before_outbox = log.count, log.outbox_count
                faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                started, cpu_started = time.perf_counter(), time.process_time()
                status = _request(client, page, done)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before)
                counts.append(log.count - before)
                outbox_counts.append(log.outbox_count - before_outbox)
                statuses.append(status)
        finally:
            outbox.process = process
            event.remove(engine, "before_cursor_execute", log.before)
            event.remove(engine, "after_cursor_execute", log.after)
        slowest = max(log.timings.items(), key=lambda kv: statistics.mean(kv[1]), default=None)
        results.append(
            {
                "page": page.name,
                "as": page.who,
                "url": page.url,
                "method": page.method,
                "expect": page.expect,
                "times_ms": times,
                "cpu_ms": cpu,
                "queries": counts,
                "outbox_queries": outbox_counts,
                "status": statuses,
                "page_faults": faults,
                "statements_ms": log.timings,
                "plans": {}
                if slowest is None
                else {slowest[0]: _explain(engine, slowest[0], log.params.get(slowest[0]))},
            }
        )
        inline = f" (outbox : {statistics.median(outbox_counts):.0f})" if any(outbox_counts) else ""
        wrong = sorted(set(statuses) - {page.expect})
        inline += f"  !! statut {wrong}" if wrong else ""
        print(
            f"[{target.name} {part + 1}/{parts}] {page.name} ({page.who}): "
            f"{statistics.median(times):.2f} ms médiane, {statistics.median(counts):.0f} "
            f"requêtes{inline}"
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if not has_analyses:
        print(f"[{target.name}] /analyses n'existe pas encore : non mesuré")
    return {
        "database": target.database,
        "size": target.size,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "hello_us": [hello_before, hello_in_process_us()],
        "warmup": warmup,
        "analyses_route": has_analyses,
        "search_index_complete": meta.get("search_index_complete", True),
        "generation": meta,
        "live_posts": live_posts,
        "writes": writes,
        "pages": results,
    }


def merge_parts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One size's figures from the processes that measured it (`measure_target`'s samples):
    each page's median and p95 are those of all its samples together, and the median of each
    process is kept beside them, since on a shared machine one process ran the same code twice
    as slow as another started a minute later. A page is matched by its name and account
    across the processes, which may each measure only some of the pages."""
    first = parts[0]
    measured: dict[tuple[str, str], list[dict]] = {}
    for part in parts:
        for page in part["pages"]:
            measured.setdefault((page["page"], page["as"]), []).append(page)
    pages = []
    for mine in measured.values():
        page = mine[0]
        times = [t for p in mine for t in p["times_ms"]]
        cpu = [t for p in mine for t in p["cpu_ms"]]
        counts = [c for p in mine for c in p["queries"]]
        outbox_counts = [c for p in mine for c in p["outbox_queries"]]
        statuses = {s for p in mine for s in p["status"]}
        durations: dict[str, list[float]] = {}
        plans: dict[str, list[str]] = {}
        for p in mine:
            for statement, taken in p["statements_ms"].items():
                durations.setdefault(statement, []).extend(taken)
            plans.update(p["plans"])
        entry = {
            "page": page["page"],
            "as": page["as"],
            "url": page["url"],
            "method": page["method"],
            "requests": len(times),
            "processes": len(mine),
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(percentile(times, 0.95), 2),
            "min_ms": round(min(times), 2),
            "process_medians_ms": [round(statistics.median(p["times_ms"]), 2) for p in mine],
            "cpu_median_ms": round(statistics.median(cpu), 2),
            "cpu_p95_ms": round(percentile(cpu, 0.95), 2),
            "queries": int(statistics.median(counts)),
            "queries_min": min(counts),
            "queries_max": max(counts),
            "outbox_queries": int(statistics.median(outbox_counts)),
            # Minor page faults of the process during a request (memory touched for the
            # first time): where present, the median and the highest.
            **(
                {"page_faults": [int(statistics.median(faults)), max(faults)]}
                if (faults := [f for p in mine for f in p.get("page_faults", [])])
                else {}
            ),
            "status": sorted(statuses),
            "ok": statuses == {page["expect"]},
        }
        slowest = max(durations.items(), key=lambda kv: statistics.mean(kv[1]), default=None)
        if slowest is not None:
            statement, taken = slowest
            entry["slowest_statement"] = {
                "sql": " ".join(statement.split())[:1200],
                "mean_ms": round(statistics.mean(taken), 2),
                "per_request": round(len(taken) / len(times), 2),
                "plan": plans.get(statement, []),
            }
        pages.append(entry)
    return {
        **{key: first[key] for key in ("database", "size", "warmup", "analyses_route")},
        "measured_at": parts[-1]["measured_at"],
        "load_average": parts[-1]["load_average"],
        "processes": max((len(mine) for mine in measured.values()), default=len(parts)),
        "hello_us": [min(p["hello_us"][0] for p in parts), min(p["hello_us"][1] for p in parts)],
        "hello_us_processes": [p["hello_us"] for p in parts],
        "search_index_complete": first["search_index_complete"],
        "generation": first["generation"],
        "live_posts": [p["live_posts"] for p in parts if "live_posts" in p and not p.get("writes")],
        "pages": pages,
    }


def _counted_process(log: StatementLog, process: Callable[..., int]) -> Callable[..., int]:
    """`outbox.process` counting its statements apart in `log`: a reply's inline jobs, which
    a production worker runs after the response."""

    def counted(*args: Any, **kwargs: Any) -> int:
        log.outbox_depth += 1
        try:
            return process(*args, **kwargs)
        finally:
            log.outbox_depth -= 1

    return counted


def hello_in_process_us(rounds: int = 5, requests: int = 1000) -> float:
    """The machine's speed when a size is measured: µs per request of the hello-world app
    through the same test client (best of `rounds`). The same code measured 2.5 times slower
    on another day's machine; this figure tells such a day from a regression."""
    from bench.hello import app as hello

    client = hello.test_client()
    best = math.inf
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            client.get("/").close()
        best = min(best, (time.perf_counter() - started) / requests)
    return round(best * 1e6, 1)


_SENT = itertools.count(1)


def _request(client: Any, page: Page, done: int = 0) -> int:
    url = page.once_each[done] if page.once_each else page.url
    data = page.data
    if data and "body" in data:
        # Each reply its own text: the same one sent again by its author is refused (the
        # forum takes it for a form sent twice), in this process and in the others.
        data = {**data, "body": f"{data['body']} ({os.getpid()}-{next(_SENT)})"}
    response = client.open(url, method=page.method, data=data)
    response.get_data()
    response.close()
    return response.status_code


def _explain(engine: Any, statement: str, params: Any) -> list[str]:
    """The plan of one SELECT, with the parameters it ran with."""
    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
        return []
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(prefix + statement, params or ()).all()
    except Exception as error:  # noqa: BLE001 - a plan is a nice-to-have
        return [f"(EXPLAIN a échoué : {error.__class__.__name__})"]
    if engine.dialect.name == "sqlite":
        return [f"{row[1]:>3} {row[3]}" for row in rows]
    return [row[0] for row in rows]


def _normalise(url: str) -> str:
    from config import normalise_database_url

    return normalise_database_url(url)


# --- load test: gunicorn + wrk ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], workers: int = 2) -> Iterator[tuple[int, Any]]:
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
        app_spec,
    ]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn ne répond pas")
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        return [int(pid) for pid in children.read_text().split()]
    return []


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _login_cookie(port: int, email: str, password: str) -> str:
    """Log in through the real /connexion form; return the Cookie header to send."""
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/connexion")
    response = conn.getresponse()
    page = response.read().decode()
    cookies = _cookies(response.getheaders())
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("jeton CSRF introuvable sur /connexion")
    body = urlencode({"email": email, "password": password, "csrf_token": token.group(1)})
    conn.request(
        "POST",
        "/connexion",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": _cookie_header(cookies),
        },
    )
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"connexion refusée ({response.status})")
    cookies.update(_cookies(response.getheaders()))
    # A browser follows the redirect and keeps what each page sets (the session gains its
    # CSRF token on the first page with a form): wrk replays one Cookie header, so take it
    # once it has settled, or every request would re-sign and re-send the session.
    location = urlsplit(response.getheader("Location", "/"))
    path = location.path or "/"
    for _ in range(3):
        conn.request("GET", path, headers={"Cookie": _cookie_header(cookies)})
        response = conn.getresponse()
        response.read()
        changed = _cookies(response.getheaders())
        if not changed:
            return _cookie_header(cookies)
        cookies.update(changed)
    raise RuntimeError(f"{path} redonne un cookie à chaque requête")


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            found[key.strip()] = rest.split(";", 1)[0]
    return found


def _wrk(url: str, seconds: int, cookie: str | None) -> dict[str, Any]:
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    return {
        "url": "/" + url.split("/", 3)[3],
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "latency": latency,
        "raw": output,
    }


def load_test(
    target: Target, meta: dict[str, Any], seconds: int, rounds: int = 3
) -> dict[str, Any]:
    """ComCEP's topic page and index, and hello world, each loaded by wrk for `seconds`, in
    `rounds` interleaved rounds (topic, index, hello, then again): on a shared machine the
    throughput of one 30 s run moved by 15 % from one run to the next, so each page is
    reported as the median of its rounds, and compared with the hello world of its own
    round."""
    env = {
        "COMCEP_ENV": "production",
        "COMCEP_SECRET_KEY": "bench-load-test-secret",
        "COMCEP_DATABASE_URL": target.url,
        "COMCEP_INSTANCE_PATH": str(target.instance),
        "COMCEP_JOBS": "inline",
        "COMCEP_RATELIMIT_STORAGE_URL": "memory://",
    }
    topic = meta["report"]["bench_topic_id"]
    result: dict[str, Any] = {
        "database": target.name,
        "seconds": seconds,
        "rounds": rounds,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "nice": os.nice(0),
        "runs": [],
    }
    with (
        gunicorn("comcep:create_app()", env) as (port, process),
        gunicorn("bench.hello:app", {}) as (hello_port, hello_process),
    ):
        cookie = _login_cookie(port, gen.BENCH_ACCOUNTS["pair"]["email"], gen.BENCH_PASSWORD)
        plan = [("comcep", port, f"/t/{topic}", cookie), ("comcep", port, "/", cookie)]
        plan.append(("hello", hello_port, "/", None))
        for number in range(1, rounds + 1):
            for app, app_port, path, app_cookie in plan:
                print(f"[charge] tour {number}/{rounds} : wrk {seconds} s sur {app} {path}…")
                run = _wrk(f"http://127.0.0.1:{app_port}{path}", seconds, app_cookie)
                result["runs"].append({"app": app, "round": number, **run})
        result["comcep_peak_rss_mb"] = [_peak_rss_mb(pid) for pid in _workers(process.pid)]
        result["hello_peak_rss_mb"] = [_peak_rss_mb(pid) for pid in _workers(hello_process.pid)]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["summary"] = load_summary(result["runs"])
    for row in result["summary"]:
        share = f", {row['share_of_hello']:.1%} de hello world" if row["share_of_hello"] else ""
        print(
            f"[charge] {row['app']} {row['url']}: {row['requests_per_s']} req/s (médiane de "
            f"{row['rounds']} tours){share}, {row['errors']} erreurs"
        )
    return result


def load_summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per app and URL: the median requests/s of its rounds, the errors of all of them, and
    (ComCEP) the median of its share of the same round's hello world."""
    hello = {run.get("round", 1): run["requests_per_s"] for run in runs if run["app"] == "hello"}
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        rows.setdefault((run["app"], run["url"]), []).append(run)
    summary = []
    for (app, url), mine in rows.items():
        shares = [
            run["requests_per_s"] / hello[run.get("round", 1)]
            for run in mine
            if app != "hello" and hello.get(run.get("round", 1))
        ]
        summary.append(
            {
                "app": app,
                "url": url,
                "rounds": len(mine),
                "requests_per_s": round(statistics.median(r["requests_per_s"] for r in mine), 1),
                "errors": sum(r["non_2xx_3xx"] + r["socket_errors"] for r in mine),
                "share_of_hello": round(statistics.median(shares), 4) if shares else None,
            }
        )
    return summary


# --- report -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import sqlite3

    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1) if found else ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def _fmt_size(size: int) -> str:
    return f"{size // 1_000_000} M" if size >= 1_000_000 else f"{size // 1000} k"


def write_report(runs: list[dict], load: dict | None) -> None:
    """latest.json and latest.md from every per-run JSON in bench/results."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine(), "runs": runs, "load": load}
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    lines = [
        "# ComCEP benchmark — latest results",
        "",
        f"Machine: {data['machine']['cpu']} ({data['machine']['cores']} cores, shared), "
        f"Python {data['machine']['python']}, SQLite {data['machine']['sqlite']}. "
        "Server time measured in-process (Flask test client), in ms: median / p95, "
        "then the number of SQL statements per request (of which, in brackets, those of the "
        "outbox's jobs, run inline here and by a worker after the response in production).",
        "",
    ]
    for database in ("sqlite", "postgresql"):
        mine = sorted((r for r in runs if r["database"] == database), key=lambda r: r["size"])
        if not mine:
            continue
        sizes = [r["size"] for r in mine]
        lines += [f"## {database}", ""]
        lines.append("| page | as | " + " | ".join(_fmt_size(s) for s in sizes) + " | flags |")
        lines.append("|---|---|" + "---|" * len(sizes) + "---|")
        keys: list[tuple[str, str]] = []
        for run in mine:
            for page in run["pages"]:
                key = (
                    page["page"].split(" (")[0] if "last page" in page["page"] else page["page"],
                    page["as"],
                )
                if key not in keys:
                    keys.append(key)
        for key in keys:
            cells, flags, counts, medians = [], [], set(), []
            spreads: list[tuple[float, int]] = []  # per size: slowest process / fastest
            for run in mine:
                page = next((p for p in run["pages"] if _key(p) == key), None)
                if page is None:
                    cells.append("—")
                    continue
                inline = page.get("outbox_queries") or 0
                cells.append(
                    f"{page['median_ms']:.1f} / {page['p95_ms']:.1f} · {page['queries']} q"
                    + (f" ({inline} outbox)" if inline else "")
                )
                counts.add(page["queries"])
                medians.append(page["median_ms"])
                spread = page.get("process_medians_ms") or []
                if len(spread) > 1 and min(spread) > 0:
                    spreads.append((max(spread) / min(spread), run["size"]))
                if page["queries_min"] != page["queries_max"]:
                    flags.append(f"queries vary {page['queries_min']}–{page['queries_max']}")
                if page["queries"] > QUERY_BUDGET:
                    flags.append(f"> {QUERY_BUDGET} queries")
                if not page["ok"]:
                    flags.append(f"status {page['status']}")
            if len(counts) > 1:
                flags.append("query count grows")
            if len(medians) > 1 and medians[0] > 0 and medians[-1] / medians[0] > 1.5:
                flags.append(f"×{medians[-1] / medians[0]:.1f} time")
            worst = max(spreads, default=(0.0, 0))
            if worst[0] > 1.5:
                flags.append(f"processes differ up to ×{worst[0]:.1f} ({_fmt_size(worst[1])})")
            lines.append(
                f"| {key[0]} | {key[1]} | "
                + " | ".join(cells)
                + " | "
                + ", ".join(dict.fromkeys(flags))
                + " |"
            )
        lines.append("")
        speeds = [
            f"{_fmt_size(run['size'])} "
            + " · ".join(
                " → ".join(str(us) for us in pair)
                for pair in run.get("hello_us_processes") or [run["hello_us"]]
            )
            + f" µs ({run['measured_at'][:10]})"
            for run in mine
            if run.get("hello_us")
        ]
        processes = {run.get("processes", 1) for run in mine}
        if processes != {1}:
            lines += [
                f"Each size was measured by {'/'.join(map(str, sorted(processes)))} processes, "
                "in interleaved rounds over every size; a cell pools their samples, and "
                "« processes differ up to ×N (size) » flags a page whose medians in two "
                "processes differ by more than half, with the size where they differed most.",
                "",
            ]
        if speeds:
            lines += [
                "Machine speed while each size was measured: the in-process hello world, "
                "before → after its pages, in each process: " + ", ".join(speeds) + ".",
                "",
            ]
        live = [
            f"{_fmt_size(run['size'])} "
            + " · ".join(
                f"{count['posts']}"
                + (f" ({count['bench_replies']} bench replies)" if count["bench_replies"] else "")
                for count in run["live_posts"]
            )
            for run in mine
            if run.get("live_posts")
        ]
        if live:
            lines += [
                "Posts that « analyses: since launch » counted one by one (those of the days "
                "not yet settled) in each process, with the replies left by earlier runs: "
                + ", ".join(live)
                + ".",
                "",
            ]
    lines += [
        "## Generation",
        "",
        "| database | posts | topics | members | read marks | generate (s) | search rebuild (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in sorted(runs, key=lambda r: (r["database"], r["size"])):
        meta = run.get("generation") or {}
        report, seconds = meta.get("report", {}), meta.get("seconds", {})
        lines.append(
            f"| {run['database']} | {run['size']:,} | {report.get('topics', 0):,} | "
            f"{report.get('members', 0):,} | {report.get('reads', 0):,} | "
            f"{seconds.get('generate', '—')} | {seconds.get('search_rebuild', '—')} |".replace(
                ",", " "
            )
        )
    lines.append("")
    if load:
        rounds = load.get("rounds", 1)
        lines += [
            f"## Load: gunicorn, 2 sync workers, wrk -t2 -c8, {load['seconds']} s a run, "
            f"{rounds} interleaved round(s) ({load['database']})",
            "",
            f"Measured {load.get('measured_at', '?')}, nice {load.get('nice', '?')}, load average "
            f"before {load.get('load_average_before', '?')}: the workers share the 2 cores with "
            "wrk and with every other job on the machine (history: load-history.json). Each "
            "figure is the median of the rounds; a page's share of hello world is the median "
            "of its share in each round.",
            "",
            "| app | URL | requests/s | share of hello world | errors |",
            "|---|---|---|---|---|",
        ]
        for row in load.get("summary") or load_summary(load["runs"]):
            share = f"{row['share_of_hello']:.1%}" if row["share_of_hello"] else ""
            lines.append(
                f"| {row['app']} | {row['url']} | {row['requests_per_s']:.0f} | {share} | "
                f"{row['errors']} |"
            )
        lines += ["", "Every run:", "", "| round | app | URL | requests/s | p50 | p99 |"]
        lines.append("|---|---|---|---|---|---|")
        for run in load["runs"]:
            lines.append(
                f"| {run.get('round', 1)} | {run['app']} | {run['url']} | "
                f"{run['requests_per_s']:.0f} | {run['latency'].get('50', '')} | "
                f"{run['latency'].get('99', '')} |"
            )
        lines += [
            "",
            f"Peak RSS per worker (MB): ComCEP {load.get('comcep_peak_rss_mb')}, "
            f"hello world {load.get('hello_peak_rss_mb')}.",
            "",
        ]
    lines += ["## Slowest statement per page (largest size measured)", ""]
    for database in ("sqlite", "postgresql"):
        mine = sorted((r for r in runs if r["database"] == database), key=lambda r: r["size"])
        if not mine:
            continue
        for page in mine[-1]["pages"]:
            slow = page.get("slowest_statement")
            if not slow or slow["mean_ms"] < 2:
                continue
            lines += [
                f"### {database} {_fmt_size(mine[-1]['size'])} — {page['page']} ({page['as']}):"
                f" {slow['mean_ms']} ms",
                "",
                "```sql",
                slow["sql"],
                "```",
                "",
            ]
            if slow["plan"]:
                lines += ["```", *slow["plan"], "```", ""]
    (RESULTS / "latest.md").write_text("\n".join(lines))


def _key(page: dict) -> tuple[str, str]:
    name = page["page"].split(" (")[0] if "last page" in page["page"] else page["page"]
    return name, page["as"]


def _part(text: str) -> tuple[int, int]:
    """`2/3` (the second of three processes) as (1, 3)."""
    number, _, count = text.partition("/")
    if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
        raise argparse.ArgumentTypeError("attendu : N/K, 1 <= N <= K")
    return int(number) - 1, int(count)


def measure_interleaved(targets: list[Target], args: argparse.Namespace) -> dict[str, dict]:
    """Each target measured by `args.processes` fresh processes, in rounds that visit every
    target (in turn, then back): a slow minute on the shared machine then falls on every
    size alike instead of making one size look slower than it is. Each process makes its
    share of the requests; `merge_parts` pools the samples.

    The pages that add posts (the reply) come in a second series of rounds, once every
    process has measured the others: the replies are dated today, and a report since launch
    counts today's posts one by one, so replies made before it would be timed too (at 10 k
    posts, three processes' replies were 50 times the day's generated posts)."""
    processes = max(1, args.processes)
    requests = max(1, math.ceil(args.requests / processes))
    samples: dict[str, list[dict]] = {target.name: [] for target in targets}
    with tempfile.TemporaryDirectory(prefix="comcep-bench-") as folder:
        for phase in ("reads", "writes"):
            for part in range(processes):
                for target in targets if part % 2 == 0 else reversed(targets):
                    out = Path(folder) / f"{target.name}-{phase}-{part}.json"
                    command = [sys.executable, str(Path(__file__).resolve()), "--measure"]
                    command += [target.name, "--part", f"{part + 1}/{processes}"]
                    command += ["--phase", phase, "--out", str(out)]
                    command += ["--requests", str(requests), "--warmup", str(args.warmup)]
                    subprocess.run(command, check=True, cwd=ROOT)  # noqa: S603
                    samples[target.name].append(json.loads(out.read_text()))
    return {name: merge_parts(parts) for name, parts in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Banc d'essai ComCEP.")
    parser.add_argument("--sizes", default=os.environ.get("SIZES") or "10000,100000,1000000")
    parser.add_argument("--databases", default=os.environ.get("DATABASES") or "sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 40)))
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--no-load", action="store_true", help="sans gunicorn + wrk")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--load-seconds", type=int, default=30)
    parser.add_argument("--load-rounds", type=int, default=3, help="tours entrelacés")
    parser.add_argument("--report-only", action="store_true", help="refaire latest.md")
    parser.add_argument(
        "--skip-search-index", action="store_true", help="ne pas indexer un forum neuf"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("BENCH_PROCESSES", 3)),
        help="processus par taille, entrelacés (médiane de tous leurs échantillons)",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # a child: one size, one part
    parser.add_argument("--part", type=_part, default=(0, 1), help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("reads", "writes"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if "postgresql" in databases and not postgres_available():
        print("PostgreSQL ne répond pas sur 127.0.0.1:5432 : mesures SQLite seulement.")
        databases.remove("postgresql")
    RESULTS.mkdir(parents=True, exist_ok=True)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.measure:
        database, size = args.measure.split("-")
        target = Target(database, int(size))
        meta = json.loads(target.meta_path.read_text())
        part, parts = args.part
        writes = None if args.phase is None else args.phase == "writes"
        samples = measure_target(target, meta, args.warmup, args.requests, part, parts, writes)
        Path(args.out).write_text(json.dumps(samples, ensure_ascii=False))
        return 0
    if not (args.load_only or args.report_only):
        targets = [Target(database, size) for size in sizes for database in databases]
        for target in targets:
            prepare(target, args.regenerate, search=not args.skip_search_index)
        for target, run in measure_interleaved(targets, args).items():
            (RESULTS / f"{target}.json").write_text(json.dumps(run, indent=2, ensure_ascii=False))
    load = None
    load_path = RESULTS / "load.json"
    if not (args.no_load or args.report_only):
        if shutil.which("wrk") is None:
            print("wrk absent (apt-get install -y wrk) : test de charge ignoré.")
        else:
            candidates = [s for s in sorted(sizes) if s <= 100_000] or [10_000]
            target = Target("sqlite", candidates[-1])
            meta = prepare(target, False)
            load = load_test(target, meta, args.load_seconds, max(1, args.load_rounds))
            load_path.write_text(json.dumps(load, indent=2, ensure_ascii=False))
            history_path = RESULTS / "load-history.json"
            history = json.loads(history_path.read_text()) if history_path.exists() else []
            entry = {k: v for k, v in load.items() if k != "runs"}
            entry["runs"] = [{k: v for k, v in r.items() if k != "raw"} for r in load["runs"]]
            history_path.write_text(json.dumps([*history, entry], indent=2, ensure_ascii=False))
    if load is None and load_path.exists():
        load = json.loads(load_path.read_text())
    runs = [
        json.loads(path.read_text())
        for pattern in ("sqlite-*.json", "postgresql-*.json")
        for path in sorted(RESULTS.glob(pattern))
    ]
    write_report(runs, load)
    print(f"Résultats : {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
