"""Generate a realistic ComCEP forum for the benchmark, bulk-inserted through SQLAlchemy Core.

    python bench/generate.py --posts 100000 --database-url sqlite:////tmp/comcep-bench/b.sqlite3

The target database is migrated first (`comcep db upgrade`: networks, regions, the default
tree of rubriques), then filled with members of every kind, topics of 1 to 200 posts (a
lognormal long tail, plus one topic of exactly 200 posts), ten years of dates, read marks,
« Merci » on a quarter of the posts, reports, a few hidden and edited posts; `comcep search
rebuild` then builds the index.

Everything is computed in memory first (post ids follow time, as in a real forum), so every
denormalised column is written exact: Topic.post_count, last_number, last_post_*, first_reply_*, and
Category.topic_count, post_count, last_post_id. Post bodies are assembled from pre-rendered
sentences: Markdown is rendered a few thousand times, not once per post, and
`render_markdown(body_source) == body_html` holds for every post.

Every generated member has the password BENCH_PASSWORD, hashed once with
`pbkdf2:sha256:1000` (cheap on purpose: the load test logs in through /connexion).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

if __package__ in (None, ""):  # run as a script: make `bench.vocabulary` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import vocabulary as V  # noqa: E402

BENCH_PASSWORD = "banc-essai-comcep"  # noqa: S105 - public, documented, bench data only
PASSWORD_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - cheap on purpose (see README)

#: Fixed accounts the benchmark logs in with (looked up by e-mail).
BENCH_ACCOUNTS: dict[str, dict[str, Any]] = {
    "pair": {
        "email": "banc.pair@francetravail.example",
        "name": "Banc Pair",
        "statut": "pair",
        "network": "france-travail",
        "roles": "",
    },
    "hors_pair": {
        "email": "banc.horspair@carif-oref.example",
        "name": "Banc Hors Pair",
        "statut": "hors_pair",
        "network": "carif-oref",
        "roles": "",
    },
    "animation": {
        "email": "banc.animation@comcep.example",
        "name": "Banc Animatrice",
        "statut": "pair",
        "network": "cap-emploi",
        "roles": "animation",
    },
    "comite": {
        "email": "banc.comite@dgefp.example",
        "name": "Banc Comité",
        "statut": "hors_pair",
        "network": "dgefp",
        "roles": "comite",
    },
    "admin": {
        "email": "banc.admin@comcep.example",
        "name": "Banc Admin",
        "statut": "hors_pair",
        "network": "uodc",
        "roles": "admin",
    },
    "pilot_pair": {
        "email": "banc.pilote@missionslocales.example",
        "name": "Banc Pilote",
        "statut": "pair",
        "network": "missions-locales",
        "roles": "",
        "pilot": True,
    },
}

BENCH_TOPIC_SIZE = 200
BENCH_TOPIC_RUBRIQUE = "premier-entretien"
YEARS = 10

# Share of topics per rubrique (slug); unknown leaves get DEFAULT_WEIGHT.
CATEGORY_WEIGHTS = {
    "accueil": 0.5,
    "vos-questions": 4,
    "accueil-du-beneficiaire": 10,
    "premier-entretien": 14,
    "apres-le-premier-entretien": 10,
    "monter-un-dossier": 12,
    "suivi-du-parcours": 8,
    "comment-je-me-professionnalise": 5,
    "liens-utiles": 3,
    "je-partage-mes-outils": 5,
    "vos-attentes": 1.5,
    "trucs-et-astuces": 1.5,
    "evenements-et-rencontres": 3,
    "outils-et-structures": 2,
    "la-comcep-on-en-parle": 1,
    "petites-annonces": 2,
    "divers": 3,
    "echanges": 10,
    "propositions-d-outils": 4,
    "coin-des-animateurs": 1,
    "consultations": 1.5,
}
DEFAULT_WEIGHT = 2.0

# Topic sizes: lognormal (median e^1.6 ≈ 5 posts, mean ≈ 9), capped at 200.
SIZE_MU, SIZE_SIGMA, SIZE_MAX = 1.6, 1.1, 200
# Gaps between replies: lognormal, median 5 hours, a long tail of weeks.
GAP_MU, GAP_SIGMA = math.log(5 * 3600), 1.7

READS_PER_POST = 0.6  # topic_reads rows per post
REPORTED_PER_POST = 1 / 1000
HIDDEN_PER_POST = 1 / 2000
EDITED_PER_POST = 1 / 70
THANKED_PER_POST = 0.25  # posts with at least one « Merci »
THANKS_PER_THANKED = (1, 1, 1, 1, 2, 2, 3, 5, 8)  # drawn, before the author is left out
BATCH = 5000


@dataclass
class GenerationReport:
    posts: int = 0
    topics: int = 0
    members: int = 0
    reads: int = 0
    reports: int = 0
    hidden_posts: int = 0
    edited_posts: int = 0
    thanks: int = 0
    bench_topic_id: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Member:
    id: int
    email: str
    name: str
    statut: str
    network_id: int
    network_code: str
    region_id: int
    organisation: str
    roles: str = ""
    pilot: bool = False
    state: str = "active"
    weight: float = 1.0
    first_post: float | None = None

    @property
    def is_staff(self) -> bool:
        return bool({"animation", "admin"} & set(self.roles.split()))


@dataclass
class _Topic:
    index: int
    category_id: int
    kind: str  # pairs | open | staff | group
    created: float
    size: int
    author_id: int
    title: str
    id: int = 0
    is_pinned: bool = False
    is_announcement: bool = False
    is_locked: bool = False
    post_count: int = 0
    last_post_id: int | None = None
    last_post_number: int = 0
    last_post_at: float = 0.0
    last_poster_id: int | None = None


TABLES = (
    "networks",
    "regions",
    "groups",
    "categories",
    "members",
    "member_groups",
    "topics",
    "posts",
    "post_revisions",
    "post_thanks",
    "topic_reads",
    "reports",
    "moderation_log",
    "member_category_stats",
)


def _tables(conn: sa.Connection) -> dict[str, sa.Table]:
    """The tables as the database has them (reflected), whatever the models say today:
    the generator inserts into what `comcep db upgrade` created."""
    metadata = sa.MetaData()
    metadata.reflect(conn, only=list(TABLES))
    return dict(metadata.tables)


def _model_defaults(table: sa.Table) -> dict[str, Any]:
    """Scalar Python-side defaults of the model's columns that the database table has."""
    import comcep.forum.models
    import comcep.members.models
    import comcep.moderation.models  # noqa: F401 - registers the tables
    from comcep.extensions import db

    model = db.metadata.tables.get(table.name)
    if model is None:
        return {}
    return {
        column.name: column.default.arg
        for column in model.columns
        if column.name in table.c and column.default is not None and column.default.is_scalar
    }


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch in ".-")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class TextBank:
    """Sentences and blocks rendered once (in batches); posts are assembled from them."""

    def __init__(self, rng: random.Random, sentences: int, blocks: int) -> None:
        from comcep.rendering import render_markdown

        self.rng = rng
        pool = sorted({self._sentence() for _ in range(sentences * 2)})
        rng.shuffle(pool)
        pool = pool[:sentences]
        # One paragraph per sentence: the rendered document has one line per paragraph.
        lines = render_markdown("\n\n".join(pool)).split("\n")[: len(pool)]
        self.sentences = [(src, line[3:-4]) for src, line in zip(pool, lines, strict=True)]
        self.blocks: list[tuple[str, str]] = []
        for _ in range(blocks):
            source = self._block()
            self.blocks.append((source, render_markdown(source)))
        self.greetings = [s for s in V.OPENINGS if s]
        self.closings = [s for s in V.CLOSINGS if s]
        for source, html in self.sentences[:20]:  # composition must equal rendering
            assert render_markdown(source) == f"<p>{html}</p>\n", source

    def _sentence(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.55:
            parts = [
                r.choice(V.OPENINGS),
                r.choice(V.SUBJECTS),
                r.choice(V.VERBS),
                r.choice(V.OBJECTS),
                r.choice(V.CIRCUMSTANCES),
            ]
            text = " ".join(p for p in parts if p)
            if r.random() < 0.15:
                word = r.choice(V.OBJECTS)
                text = text.replace(word, f"**{word}**", 1)
            text = text[0].upper() + text[1:] + "."
        elif kind < 0.75:
            text = r.choice(V.ADVICE)
        elif kind < 0.9:
            text = r.choice(V.QUESTIONS)
            if r.random() < 0.5:
                text = (
                    f"{r.choice(V.TITLE_OPENINGS)} {r.choice(V.TITLE_OBJECTS)} "
                    f"{r.choice(V.TITLE_AUDIENCES)} ? {text}".replace("  ", " ")
                )
        else:
            label, url = r.choice(V.LINKS)
            text = f"Voir aussi [{label}]({url}) pour {r.choice(V.OBJECTS)}."
        return text.replace(" ,", ",").replace("  ", " ")

    def _block(self) -> str:
        r = self.rng
        if r.random() < 0.6:
            items = r.sample(V.LIST_ITEMS, r.randint(2, 5))
            intro = r.choice(["Les étapes que je suis :", "Ma check-list :", "En résumé :"])
            return intro + "\n\n" + "\n".join(f"- {item}" for item in items)
        quoted = r.choice(V.ADVICE)
        return f"> {quoted}\n\n{r.choice(V.QUESTIONS)}"

    def body(self) -> tuple[str, str]:
        """A post of one to five paragraphs: (Markdown source, its rendered HTML)."""
        r = self.rng
        sources: list[str] = []
        htmls: list[str] = []
        for _ in range(r.choice((1, 1, 2, 2, 2, 3, 3, 4, 5))):
            if r.random() < 0.08:
                source, html = r.choice(self.blocks)
                sources.append(source)
                htmls.append(html)
                continue
            picked = [r.choice(self.sentences) for _ in range(r.choice((1, 2, 2, 3)))]
            sources.append(" ".join(s for s, _ in picked))
            htmls.append("<p>" + " ".join(h for _, h in picked) + "</p>\n")
        return "\n\n".join(sources), "".join(htmls)

    def title(self) -> str:
        r = self.rng
        title = f"{r.choice(V.TITLE_OPENINGS)} {r.choice(V.TITLE_OBJECTS)}"
        audience = r.choice(V.TITLE_AUDIENCES)
        if audience:
            title += f" {audience}"
        return title + (" ?" if r.random() < 0.6 else "")


class _Pool:
    """Members who may post somewhere, drawn by activity (a few members write a lot)."""

    def __init__(self, members: list[_Member]) -> None:
        self.ids = [m.id for m in members]
        total = 0.0
        self.cum: list[float] = []
        for m in members:
            total += m.weight
            self.cum.append(total)

    def draw(self, rng: random.Random, k: int) -> list[int]:
        return rng.choices(self.ids, cum_weights=self.cum, k=k)


def _leaf_kinds(categories: list[Any]) -> dict[int, tuple[str, str]]:
    """Leaf rubriques (no children) → (slug, visibility class: pairs|open|staff|group)."""
    by_id = {c.id: c for c in categories}
    parents = {c.parent_id for c in categories if c.parent_id}
    leaves = {}
    for c in categories:
        if c.id in parents:
            continue
        chain = [c] + ([by_id[c.parent_id]] if c.parent_id else [])
        if any(x.staff_only for x in chain):
            kind = "staff"
        elif any(x.group_id for x in chain):
            kind = "group"
        elif all(x.open_to_hors_pairs for x in chain):
            kind = "open"
        else:
            kind = "pairs"
        leaves[c.id] = (c.slug, kind)
    return leaves


def _plan_members(
    rng: random.Random, count: int, networks: dict[str, tuple[int, str]], region_ids: list[int]
) -> list[_Member]:
    pair_codes = [c for c, (_, kind) in networks.items() if kind == "pair"]
    hors_codes = [c for c, (_, kind) in networks.items() if kind == "hors_pair"]
    members: list[_Member] = []
    used: set[str] = set()

    def add(statut: str, code: str, **kw: Any) -> _Member:
        first, last = rng.choice(V.FIRST_NAMES), rng.choice(V.LAST_NAMES)
        domain, org = V.ORGANISATIONS.get(code, (f"{code}.example", "{city}"))
        email = kw.pop("email", None) or f"{_ascii(first)}.{_ascii(last)}@{domain}"
        if email in used:
            local, _, dom = email.partition("@")
            email = f"{local}.{len(members) + 1}@{dom}"
        used.add(email)
        member = _Member(
            id=len(members) + 1,
            email=email,
            name=kw.pop("name", None) or f"{first} {last}",
            statut=statut,
            network_id=networks[code][0],
            network_code=code,
            region_id=rng.choice(region_ids),
            organisation=org.format(city=rng.choice(V.CITIES)),
            **kw,
        )
        members.append(member)
        return member

    for spec in BENCH_ACCOUNTS.values():
        add(
            spec["statut"],
            spec["network"],
            email=spec["email"],
            name=spec["name"],
            roles=spec["roles"],
            pilot=spec.get("pilot", False),
        )
    for _ in range(2):
        add("pair", rng.choice(pair_codes), roles="animation")
    for code in pair_codes:
        add("pair", code, roles="validation")
    while len(members) < count:
        roll = rng.random()
        if roll < 0.12:
            add("hors_pair", rng.choice(hors_codes))
        else:
            add("pair", rng.choice(pair_codes), pilot=rng.random() < 0.06)
        last = members[-1]
        state_roll = rng.random()
        if state_roll < 0.02:
            last.state = "pending"
        elif state_roll < 0.025:
            last.state = "suspended"
    # Activity: Zipf-like over a random ranking; staff write a lot, the bench pair moderately.
    ranks = list(range(1, len(members) + 1))
    rng.shuffle(ranks)
    for member, rank in zip(members, ranks, strict=True):
        member.weight = 1.0 / rank**0.9
        if member.is_staff:
            member.weight = max(member.weight, 0.2)
        if member.state == "pending":
            member.weight = 0.0
    members[0].weight = 0.05
    return members


def plan_and_insert(
    conn: sa.Connection,
    posts: int,
    *,
    seed: int = 2026,
    end: datetime | None = None,
    log: Callable[[str], None] = print,
) -> GenerationReport:
    """Plan the whole forum in memory, then insert it on `conn` (the caller commits)."""
    if posts < 1:
        raise ValueError("posts must be at least 1")
    t = _tables(conn)
    report = GenerationReport()
    clock = time.perf_counter()
    phase_start = clock

    def phase(name: str) -> None:
        nonlocal phase_start
        now = time.perf_counter()
        report.seconds[name] = round(now - phase_start, 2)
        log(f"  {name}: {now - phase_start:.1f} s")
        phase_start = now

    for name in ("members", "topics", "posts"):
        if conn.scalar(sa.select(sa.func.count()).select_from(t[name])):
            raise RuntimeError(f"La table {name} n'est pas vide : générez dans une base neuve.")
    rng = random.Random(seed)
    end_dt = (end or datetime.now(UTC) - timedelta(hours=1)).astimezone(UTC)
    end_ts = end_dt.timestamp()
    start_ts = (end_dt - timedelta(days=365 * YEARS + 2)).timestamp()
    span = end_ts - start_ts

    nets = {
        r.code: (r.id, r.kind)
        for r in conn.execute(
            sa.select(t["networks"].c.id, t["networks"].c.code, t["networks"].c.kind)
        )
    }
    region_ids = [r.id for r in conn.execute(sa.select(t["regions"].c.id))]
    group_ids = {
        r.name: r.id for r in conn.execute(sa.select(t["groups"].c.id, t["groups"].c.name))
    }
    cc = t["categories"].c
    categories = list(
        conn.execute(
            sa.select(
                cc.id,
                cc.parent_id,
                cc.slug,
                cc.open_to_hors_pairs,
                cc.staff_only,
                cc.group_id,
                cc.staff_topics_only,
            ).order_by(cc.id)
        )
    )
    staff_topic_categories = {x.id for x in categories if x.staff_topics_only}
    leaves = _leaf_kinds(categories)
    if not leaves:
        raise RuntimeError("Aucune rubrique : lancez d'abord « comcep db upgrade ».")

    # --- members ----------------------------------------------------------------------
    n_members = min(max(posts // 80, 40), 15000)
    members = _plan_members(rng, n_members, nets, region_ids)
    posting = [m for m in members if m.state != "pending"]
    staff = [m for m in posting if m.is_staff]
    pairs = [m for m in posting if m.statut == "pair" and not m.is_staff]
    pilots = [m for m in pairs if m.pilot]
    hors = [m for m in posting if m.statut == "hors_pair" and not m.is_staff]
    for m in hors:
        m.weight *= 2  # partners are a minority but active where they may write
    pools = {
        "pairs": _Pool(pairs + staff),
        "open": _Pool(pairs + hors + staff),
        "staff": _Pool(staff),
        "group": _Pool(pilots + staff),
    }
    staff_pool = pools["staff"]

    # --- topics -----------------------------------------------------------------------
    text = TextBank(rng, sentences=min(3000, max(150, posts // 4)), blocks=60)
    leaf_ids = sorted(leaves)
    leaf_cum: list[float] = []
    acc = 0.0
    for cid in leaf_ids:
        acc += CATEGORY_WEIGHTS.get(leaves[cid][0], DEFAULT_WEIGHT)
        leaf_cum.append(acc)
    bench_cat = next(
        (cid for cid in leaf_ids if leaves[cid][0] == BENCH_TOPIC_RUBRIQUE),
        next(cid for cid in leaf_ids if leaves[cid][1] == "pairs"),
    )
    sizes = [min(BENCH_TOPIC_SIZE, posts)]
    remaining = posts - sizes[0]
    while remaining > 0:
        size = min(SIZE_MAX, max(1, int(rng.lognormvariate(SIZE_MU, SIZE_SIGMA))), remaining)
        sizes.append(size)
        remaining -= size
    topics: list[_Topic] = []
    for index, size in enumerate(sizes):
        cid = bench_cat if index == 0 else leaf_ids[bisect.bisect(leaf_cum, rng.random() * acc)]
        slug, kind = leaves[cid]
        author_pool = staff_pool if cid in staff_topic_categories else pools[kind]
        created = start_ts + span * math.sqrt(rng.random()) * 0.995  # the community grows
        if index == 0:  # the benchmark topic: started a year ago, still active
            created = end_ts - 365 * 86400
        topics.append(
            _Topic(index, cid, kind, created, size, author_pool.draw(rng, 1)[0], text.title())
        )
    order = sorted(range(len(topics)), key=lambda i: topics[i].created)
    for new_id, i in enumerate(order, start=1):
        topics[i].id = new_id
    report.bench_topic_id = topics[0].id

    # --- posts: times, numbers, authors; ids follow time ---------------------------------
    p_time: list[float] = []
    p_topic: list[int] = []
    p_author: list[int] = []
    for topic in topics:
        n = topic.size
        times = [topic.created]
        gaps = [rng.lognormvariate(GAP_MU, GAP_SIGMA) for _ in range(n - 1)]
        total = sum(gaps)
        room = end_ts - topic.created
        if topic.index == 0:
            scale = room * 0.999 / total if total else 1.0  # spread over its whole year
        else:
            scale = min(1.0, room * 0.98 / total) if total else 1.0
        now = topic.created
        for gap in gaps:
            now += gap * scale
            times.append(now)
        p_time.extend(times)
        p_topic.extend([topic.index] * n)
        p_author.append(topic.author_id)
        p_author.extend(pools[topic.kind].draw(rng, n - 1))
    # Numbers in time order within each topic; the generation order already is.
    p_number: list[int] = []
    for topic in topics:
        p_number.extend(range(1, topic.size + 1))
    post_order = sorted(range(posts), key=p_time.__getitem__)
    post_id = [0] * posts
    for new_id, i in enumerate(post_order, start=1):
        post_id[i] = new_id
    for i, author in enumerate(p_author):
        m = members[author - 1]
        if m.first_post is None or p_time[i] < m.first_post:
            m.first_post = p_time[i]
    phase("plan")

    # --- moderation: reports, hidden and edited posts ----------------------------------
    reply_positions = [i for i in range(posts) if p_number[i] > 1]
    animators = [m for m in staff if "animation" in m.roles] or staff
    hidden: dict[int, tuple[str, int | None, float]] = {}  # position → reason, by, at
    report_rows: list[dict[str, Any]] = []
    log_rows: list[dict[str, Any]] = []
    reasons = list(_report_reasons())
    n_reported = min(len(reply_positions), max(1, round(posts * REPORTED_PER_POST)))
    for pos in rng.sample(reply_positions, n_reported):
        topic = topics[p_topic[pos]]
        if topic.kind == "staff":
            continue
        reporters = {
            x
            for x in pools[topic.kind].draw(rng, rng.choice((1, 1, 1, 2, 3)))
            if x != p_author[pos]
        }
        at = min(end_ts - 60, p_time[pos] + rng.uniform(600, 5 * 86400))
        is_open = end_ts - at < 20 * 86400
        resolution = "" if is_open else ("hidden" if rng.random() < 0.35 else "kept")
        actor = rng.choice(animators)
        resolved_at = min(end_ts - 30, at + rng.uniform(3600, 3 * 86400))
        ids = []
        for reporter in sorted(reporters):
            report_rows.append(
                {
                    "id": len(report_rows) + 1,
                    "post_id": post_id[pos],
                    "reporter_id": reporter,
                    "reason": rng.choice(reasons),
                    "comment": rng.choice(V.REPORT_COMMENTS),
                    "created_at": _utc(at),
                    "status": "open" if is_open else "closed",
                    "resolution": resolution,
                    "resolved_by_id": None if is_open else actor.id,
                    "resolved_at": None if is_open else _utc(resolved_at),
                }
            )
            ids.append(len(report_rows))
        if not ids or is_open:
            continue
        reason = rng.choice(V.HIDE_REASONS) if resolution == "hidden" else ""
        log_rows.append(
            _log_row(
                len(log_rows) + 1,
                actor.id,
                f"report_{resolution}",
                post_id[pos],
                topic.id,
                reason,
                {"reports": ids},
                resolved_at,
            )
        )
        if resolution == "hidden":
            hidden[pos] = (reason, actor.id, resolved_at)
            log_rows.append(
                _log_row(
                    len(log_rows) + 1,
                    actor.id,
                    "hide_post",
                    post_id[pos],
                    topic.id,
                    reason,
                    None,
                    resolved_at,
                )
            )
    for pos in rng.sample(
        reply_positions, min(len(reply_positions), round(posts * HIDDEN_PER_POST))
    ):
        if pos in hidden:
            continue
        actor = rng.choice(animators)
        at = min(end_ts - 30, p_time[pos] + rng.uniform(600, 2 * 86400))
        reason = rng.choice(V.HIDE_REASONS)
        hidden[pos] = (reason, actor.id, at)
        log_rows.append(
            _log_row(
                len(log_rows) + 1,
                actor.id,
                "hide_post",
                post_id[pos],
                topics[p_topic[pos]].id,
                reason,
                None,
                at,
            )
        )
    edited = set(rng.sample(range(posts), min(posts, round(posts * EDITED_PER_POST))))
    # « Merci »: a quarter of the visible posts, by readers of their rubrique (a generator of
    # its own, so that the rest of the forum stays what earlier versions drew).
    thanks_rng = random.Random(seed + 1)
    thanks: dict[int, set[int]] = {}
    for i in range(posts):
        if i in hidden or thanks_rng.random() >= THANKED_PER_POST:
            continue
        pool = pools[topics[p_topic[i]].kind]
        givers = set(pool.draw(thanks_rng, thanks_rng.choice(THANKS_PER_THANKED))) - {p_author[i]}
        if givers:
            thanks[i] = givers
    report.thanks = sum(len(givers) for givers in thanks.values())
    report.reports = len(report_rows)
    report.hidden_posts = len(hidden)
    report.edited_posts = len(edited)

    # --- denormalised counters, exactly as refresh_topic_stats would compute them --------
    for i in range(posts):
        if i in hidden:
            continue
        topic = topics[p_topic[i]]
        topic.post_count += 1
        if p_number[i] > topic.last_post_number:
            topic.last_post_number = p_number[i]
            topic.last_post_id = post_id[i]
            topic.last_post_at = p_time[i]
            topic.last_poster_id = p_author[i]
    cat_stats: dict[int, list[int]] = {cid: [0, 0, 0] for cid in leaf_ids}
    for topic in topics:
        stats = cat_stats[topic.category_id]
        stats[0] += 1
        stats[1] += topic.post_count
        stats[2] = max(stats[2], topic.last_post_id or 0)
    # A few pinned topics (the oldest of each busy rubrique), an announcement, locked ones.
    first_of: dict[int, _Topic] = {}
    for topic in sorted(topics, key=lambda x: x.id):
        first_of.setdefault(topic.category_id, topic)
        if topic.created < end_ts - 365 * 86400 and rng.random() < 0.003 and topic.index:
            topic.is_locked = True
    for cid, topic in first_of.items():
        if cat_stats[cid][0] >= 10 and topic.index:
            topic.is_pinned = True
            topic.is_announcement = leaves[cid][0] == "accueil"

    # --- insert -----------------------------------------------------------------------
    from comcep.members.models import fold_name

    pw_hash = _password_hash()
    member_rows = []
    for m in members:
        joined = (m.first_post or (start_ts + span * rng.random())) - rng.uniform(3600, 30 * 86400)
        joined_dt = _utc(max(start_ts - 30 * 86400, joined))
        pending = m.state == "pending"
        member_rows.append(
            {
                "id": m.id,
                "email": m.email,
                "password_hash": pw_hash,
                "display_name": m.name,
                "name_key": fold_name(m.name),
                "statut": m.statut,
                "network_id": m.network_id,
                "organisation": m.organisation,
                "region_id": m.region_id,
                "roles": m.roles,
                "validation_network_id": m.network_id if "validation" in m.roles else None,
                "state": m.state,
                "motivation": "Je souhaite échanger avec mes pairs." if pending else "",
                "created_at": joined_dt,
                "email_confirmed_at": joined_dt,
                "marked_read_at": _utc(end_ts - rng.uniform(0, 700 * 86400))
                if m.id > len(BENCH_ACCOUNTS) and rng.random() < 0.1
                else None,
                "registration_status": "awaiting" if pending else "approved",
                "suspended_until": _utc(end_ts + 30 * 86400) if m.state == "suspended" else None,
                "moderation_reason": "Propos répétés hors charte."
                if m.state == "suspended"
                else "",
            }
        )
    _insert(conn, t["members"], member_rows)
    pilot_group = group_ids.get("Groupe pilote")
    if pilot_group:
        _insert(
            conn,
            t["member_groups"],
            [{"member_id": m.id, "group_id": pilot_group} for m in members if m.pilot],
        )
    report.members = len(members)
    # The comité's admissions and departures per month, as the app keeps them on each flush.
    from comcep.analytics.member_months import recount

    recount(conn)
    phase("members")

    topic_rows = []
    for topic in sorted(topics, key=lambda x: x.id):
        topic_rows.append(
            {
                "id": topic.id,
                "category_id": topic.category_id,
                "author_id": topic.author_id,
                "title": topic.title,
                "slug": _slugify(topic.title),
                "created_at": _utc(topic.created),
                "is_pinned": topic.is_pinned,
                "is_announcement": topic.is_announcement,
                "is_locked": topic.is_locked,
                "is_hidden": False,
                "post_count": topic.post_count,
                "last_number": topic.size,
                "last_post_id": None,  # set once the posts exist (foreign key)
                "last_post_number": topic.last_post_number,
                "last_post_at": _utc(topic.last_post_at),
                "last_poster_id": topic.last_poster_id,
            }
        )
    _insert(conn, t["topics"], topic_rows)
    report.topics = len(topics)
    phase("topics")

    revisions: list[dict[str, Any]] = []

    def post_rows() -> Iterator[dict[str, Any]]:
        for new_id, i in enumerate(post_order, start=1):
            source, html = text.body()
            created = _utc(p_time[i])
            row = {
                "id": new_id,
                "topic_id": topics[p_topic[i]].id,
                "number": p_number[i],
                "author_id": p_author[i],
                "body_source": source,
                "body_html": html,
                "created_at": created,
                "edited_at": None,
                "edited_by_id": None,
                "revision_count": 0,
                "is_hidden": False,
                "is_pending": False,
                "hidden_reason": "",
                "hidden_by_id": None,
                "hidden_at": None,
                "thanks_count": len(thanks.get(i, ())),
            }
            if i in edited:
                at = _utc(min(end_ts - 10, p_time[i] + rng.uniform(120, 2 * 86400)))
                row.update(edited_at=at, edited_by_id=p_author[i], revision_count=1)
                revisions.append(
                    {
                        "id": len(revisions) + 1,
                        "post_id": new_id,
                        "editor_id": p_author[i],
                        "created_at": at,
                        "title": None,
                        "body_source": text.body()[0],
                    }
                )
            if i in hidden:
                reason, by, at_ts = hidden[i]
                row.update(
                    is_hidden=True, hidden_reason=reason, hidden_by_id=by, hidden_at=_utc(at_ts)
                )
            yield row

    _insert(conn, t["posts"], post_rows(), progress=log, total=posts)
    report.posts = posts
    _insert(conn, t["post_revisions"], revisions)

    def thanks_rows() -> Iterator[dict[str, Any]]:
        for i, givers in thanks.items():
            for member_id in sorted(givers):
                at = min(end_ts - 5, p_time[i] + thanks_rng.uniform(60, 7 * 86400))
                yield {"post_id": post_id[i], "member_id": member_id, "created_at": _utc(at)}

    _insert(conn, t["post_thanks"], thanks_rows())
    phase("posts")

    conn.execute(
        t["topics"]
        .update()
        .where(t["topics"].c.last_post_number > 0)
        .values(
            last_post_id=sa.select(t["posts"].c.id)
            .where(
                t["posts"].c.topic_id == t["topics"].c.id,
                t["posts"].c.number == t["topics"].c.last_post_number,
            )
            .scalar_subquery()
        )
    )
    cat_update = (
        t["categories"]
        .update()
        .where(t["categories"].c.id == sa.bindparam("b_id"))
        .values(
            topic_count=sa.bindparam("b_topics"),
            post_count=sa.bindparam("b_posts"),
            last_post_id=sa.bindparam("b_last"),
        )
    )
    conn.execute(
        cat_update,
        [
            {"b_id": cid, "b_topics": s[0], "b_posts": s[1], "b_last": s[2] or None}
            for cid, s in cat_stats.items()
        ],
    )
    # Per member and rubrique counts, by the app's own definition (one INSERT … SELECT).
    from comcep.forum.services import (
        MEMBER_STATS_COLUMNS,
        first_reply_update,
        member_stats_rows,
    )

    conn.execute(
        t["member_category_stats"].insert().from_select(MEMBER_STATS_COLUMNS, member_stats_rows())
    )
    if conn.dialect.name == "postgresql":  # without statistics, PostgreSQL would scan the
        conn.exec_driver_sql("ANALYZE posts, topics, members")  # posts once per topic
    conn.execute(first_reply_update())  # each topic's first reply, by the app's definition
    phase("counters")

    report.reads = _insert(conn, t["topic_reads"], _read_rows(rng, members, topics, posts))
    _insert(conn, t["reports"], report_rows)
    _insert(conn, t["moderation_log"], log_rows)
    phase("reads_reports")

    if conn.dialect.name == "postgresql":
        for name in ("members", "topics", "posts", "post_revisions", "reports", "moderation_log"):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                )
            )
    report.seconds["total"] = round(time.perf_counter() - clock, 2)
    return report


def _report_reasons() -> list[str]:
    from comcep.moderation.models import REPORT_REASONS

    return list(REPORT_REASONS)


def _slugify(title: str) -> str:
    from comcep.rendering import slugify

    return slugify(title)


def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(BENCH_PASSWORD, method=PASSWORD_METHOD)


def _log_row(
    row_id: int,
    actor: int,
    action: str,
    post: int,
    topic: int,
    reason: str,
    details: dict | None,
    at: float,
) -> dict[str, Any]:
    return {
        "id": row_id,
        "actor_id": actor,
        "action": action,
        "target_type": "post",
        "target_id": post,
        "topic_id": topic,
        "reason": reason,
        "details": json.dumps(details, ensure_ascii=False) if details else "",
        "created_at": _utc(at),
    }


def _read_rows(
    rng: random.Random, members: list[_Member], topics: list[_Topic], posts: int
) -> Iterator[dict[str, Any]]:
    """Read marks: active members read topics they may see, most of them to the end."""
    by_id = sorted(topics, key=lambda x: x.id)
    visible = {
        "pair": [x for x in by_id if x.kind in ("pairs", "open")],
        "pilot": [x for x in by_id if x.kind in ("pairs", "open", "group")],
        "hors_pair": [x for x in by_id if x.kind == "open"],
        "staff": by_id,
    }
    readers = [m for m in members if m.state == "active"]
    total_weight = sum(math.sqrt(m.weight) for m in readers) or 1.0
    budget = posts * READS_PER_POST
    for m in readers:
        kind = "staff" if m.is_staff else "pilot" if m.pilot else m.statut
        pool = visible[kind]
        share = budget * math.sqrt(m.weight) / total_weight
        if m.id == 1:  # the benchmark pair has read half of what it sees
            share = len(pool) / 2
        k = min(len(pool), int(share))
        for topic in sorted(rng.sample(pool, k), key=lambda x: x.id):
            full = rng.random() < 0.75 or topic.size == 1
            number = topic.size if full else rng.randint(1, topic.size - 1)
            seen = topic.last_post_at if full else topic.created
            yield {
                "member_id": m.id,
                "topic_id": topic.id,
                "last_read_number": number,
                "updated_at": _utc(seen + rng.uniform(60, 3 * 86400)),
            }


def _insert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Any,
    *,
    progress: Callable[[str], None] | None = None,
    total: int = 0,
) -> int:
    """executemany in batches; returns the number of rows. Columns a row leaves out get the
    model's default (a column added by a later migration, for instance)."""
    statement = table.insert()
    batch: list[dict[str, Any]] = []
    count = 0
    step = max(total // 10, BATCH)
    defaults: dict[str, Any] | None = None
    for row in rows:
        if defaults is None:
            defaults = {k: v for k, v in _model_defaults(table).items() if k not in row}
        if defaults:
            row.update(defaults)
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(statement, batch)
            count += len(batch)
            batch = []
            if progress and count % step < BATCH:
                progress(f"    {table.name}: {count:,}/{total:,}".replace(",", " "))
    if batch:
        conn.execute(statement, batch)
        count += len(batch)
    return count


# --- the command ----------------------------------------------------------------------


def reset_database(url: str) -> None:
    """Start from nothing: delete the SQLite file, or drop and create the PG database."""
    from sqlalchemy.engine import make_url

    from config import normalise_database_url

    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def upgrade_database(url: str, instance_path: str) -> None:
    """`comcep db upgrade` on the target database (the default tree, networks, regions)."""
    env = {**os.environ, "COMCEP_DATABASE_URL": url, "COMCEP_INSTANCE_PATH": instance_path}
    subprocess.run([_comcep(), "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603


def keep_search_postings(instance_path: str) -> int:
    """Write the kept postings (`comcep/search/whoosh_kept.py`) of a Whoosh index built
    before them, as the first commit after an upgrade would: a reused forum's first
    searches then read what a new one's do. How many segments got their file."""
    from whoosh import index

    from comcep.search import whoosh_kept
    from comcep.search.whoosh_backend import INDEX_NAME, WhooshBackend

    index_dir = Path(instance_path) / "search-index"
    if not index_dir.is_dir() or not index.exists_in(index_dir, indexname=INDEX_NAME):
        return 0
    backend = WhooshBackend(index_dir)
    try:
        leaves = [leaf for leaf, _ in backend._searcher().reader().leaf_readers()]
        limits = {"min_docs": whoosh_kept.MIN_DOCS, "min_postings": whoosh_kept.MIN_POSTINGS}
        return whoosh_kept.write_all(index_dir, leaves, **limits)
    finally:
        backend.close()


def rebuild_search(url: str, instance_path: str) -> float:
    """`comcep search rebuild` (with its progress bar); returns the seconds it took."""
    env = {**os.environ, "COMCEP_DATABASE_URL": url, "COMCEP_INSTANCE_PATH": instance_path}
    started = time.perf_counter()
    subprocess.run([_comcep(), "search", "rebuild"], env=env, check=True)  # noqa: S603
    seconds = time.perf_counter() - started
    settle(url)
    return seconds


def settle(url: str) -> None:
    """PostgreSQL: VACUUM ANALYZE once the search rebuild has written every post's vector.
    The rebuild updates each row: until a vacuum, the table holds a dead version of every
    post, and the benchmark measured that instead of a settled forum where autovacuum is
    off (posts at 1 M: 2.4 GB, 996 000 dead rows, none of its pages all-visible)."""
    from config import normalise_database_url

    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(normalise_database_url(url))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


def _comcep() -> str:
    return str(Path(sys.executable).parent / "comcep")


def generate(
    url: str, posts: int, *, seed: int = 2026, log: Callable[[str], None] = print
) -> GenerationReport:
    """Fill an already migrated database in one transaction (SQLite: WAL, synchronous OFF)."""
    from config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-400000")
                conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
            else:
                conn.exec_driver_sql("SET synchronous_commit = off")
            conn.commit()
            with conn.begin():
                report = plan_and_insert(conn, posts, seed=seed, log=log)
            started = time.perf_counter()
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("ANALYZE")
            conn.commit()
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        report.seconds["analyze"] = round(time.perf_counter() - started, 2)
        log(f"  analyze: {report.seconds['analyze']:.1f} s")
    finally:
        engine.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Générer un forum ComCEP réaliste.")
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--instance-path", help="dossier de l'index de recherche")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reset", action="store_true", help="vider la base d'abord")
    parser.add_argument("--no-search", action="store_true", help="ne pas construire l'index")
    args = parser.parse_args(argv)
    instance = args.instance_path or str(Path("/tmp/comcep-bench") / f"instance-{args.posts}")  # noqa: S108
    Path(instance).mkdir(parents=True, exist_ok=True)
    if args.reset:
        reset_database(args.database_url)
    started = time.perf_counter()
    upgrade_database(args.database_url, instance)
    print(f"Migration : {time.perf_counter() - started:.1f} s")
    print(f"Génération de {args.posts} messages…")
    report = generate(args.database_url, args.posts, seed=args.seed)
    print(
        f"Génération : {report.seconds['total'] + report.seconds['analyze']:.1f} s "
        f"({report.members} membres, {report.topics} sujets, {report.reads} lectures, "
        f"{report.thanks} remerciements, {report.reports} signalements, "
        f"{report.hidden_posts} messages masqués ; "
        f"sujet de 200 messages : /t/{report.bench_topic_id})"
    )
    if not args.no_search:
        seconds = rebuild_search(args.database_url, instance)
        report.seconds["search_rebuild"] = round(seconds, 2)
        print(f"Index de recherche : {seconds:.1f} s")
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
