"""The comité's report: periods, the anonymised tables, and their JSON and CSV forms.

The same functions feed the page, its CSV downloads and `comcep analytics report`, so the three
always agree. Every figure goes through `anonymise` before it leaves this module.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from comcep.analytics import member_months, queries, rollups
from comcep.analytics.anonymise import (
    MASKED,
    SMALL,
    THRESHOLD,
    Cell,
    complementary,
    count_cell,
    is_small,
    member_cell,
    rounded,
    share,
)
from comcep.analytics.queries import Tally

PARIS = ZoneInfo(queries.TIMEZONE)

PRESETS = {
    "trimestre": "Dernier trimestre complet",
    "annee": "Cette année",
    "lancement": "Depuis le lancement",
    "dates": "Dates choisies",
}
DEFAULT_PRESET = "trimestre"


# --- Periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar dates in Europe/Paris, both included: [first 00:00, last + 1 day 00:00)."""

    first: date
    last: date
    preset: str = "dates"

    @property
    def start(self) -> datetime:
        """The first instant of the period, in UTC."""
        return datetime.combine(self.first, time(0), tzinfo=PARIS).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period (excluded), in UTC."""
        following = self.last + timedelta(days=1)
        return datetime.combine(following, time(0), tzinfo=PARIS).astimezone(UTC)

    @property
    def months(self) -> list[str]:
        """Every Paris month the period touches, 'YYYY-MM', in order."""
        year, month = self.first.year, self.first.month
        months = []
        while (year, month) <= (self.last.year, self.last.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    @property
    def label(self) -> str:
        return f"du {_date_fr(self.first)} au {_date_fr(self.last)}"

    @property
    def query_args(self) -> dict[str, str]:
        """Explicit dates, so that a link (a CSV download) keeps meaning the same period."""
        return {"du": self.first.isoformat(), "au": self.last.isoformat()}

    def as_json(self) -> dict[str, str]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "timezone": "Europe/Paris",
        }


def _date_fr(value: date) -> str:
    text = format_date(value, "d MMMM yyyy", locale="fr_FR")
    return "1er" + text[1:] if value.day == 1 else text


def month_label(month: str) -> str:
    """'2025-01' → « janv. 2025 »."""
    year, number = (int(part) for part in month.split("-"))
    return format_date(date(year, number, 1), "MMM yyyy", locale="fr_FR")


def paris_today() -> date:
    return datetime.now(PARIS).date()


def last_quarter(today: date) -> Period:
    """The last complete calendar quarter before `today`."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last = quarter_start - timedelta(days=1)
    first = date(last.year, 3 * ((last.month - 1) // 3) + 1, 1)
    return Period(first, last, "trimestre")


def preset_period(preset: str, today: date) -> Period:
    """The period a preset means on `today` (`lancement` asks the database when it began)."""
    if preset == "annee":
        return Period(date(today.year, 1, 1), today, "annee")
    if preset == "lancement":
        started = queries.first_activity()
        first = started.astimezone(PARIS).date() if started else today
        return Period(min(first, today), today, "lancement")
    return last_quarter(today)


# --- Tables ----------------------------------------------------------------------------


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else rounded(seconds / 3600)


# Bounds a reader knows of a hidden cell (anonymise.complementary): a « < 5 » thème or
# rubrique may have any number of topics and at least one message (few openers or writers,
# not few items); a masked one has at least 5 writers, hence at least 5 messages. With a floor under
# masked messages and none over « < 5 » topics, masking every row always suffices: the total
# is never withheld here.
CONTENT_BOUNDS = ((0, None), (1, None))
CONTENT_MASKED_FLOOR = (0, THRESHOLD)


def theme_tables(
    period: Period,
    tallies: rollups.Tallies | None = None,
    categories: list[queries.CategoryInfo] | None = None,
) -> tuple[list[dict], list[dict], dict]:
    """The 2016 table « Thématiques du forum », live: thèmes, rubriques and totals.

    Shares are of all topics (messages) of the period; a rubrique's share is of the same
    total, so a thème's share is the sum of its rubriques'. The total row (and the thème's
    row, for its rubriques) is published, so suppression is complementary (see `anonymise`):
    a masked thème masks its rubriques too, which would add up to it.
    """
    categories = categories if categories is not None else queries.category_tree()
    tallies = tallies or rollups.tallies(period.start, period.end)
    counts = tallies.content_counts({c.id: c.parent_id or c.id for c in categories})
    total_topics = sum(t.count for t in counts.topics.values())
    total_messages = counts.total_messages.count
    children: dict[int, list[queries.CategoryInfo]] = defaultdict(list)
    for category in categories:
        if category.parent_id is not None:
            children[category.parent_id].append(category)

    def row(topics: int, messages: int, mark: str | None) -> dict[str, Any]:
        hidden = mark is not None
        return {
            "topics": mark if hidden else topics,
            "topics_pct": share(topics, total_topics, hidden=hidden),
            "messages": mark if hidden else messages,
            "messages_pct": share(messages, total_messages, hidden=hidden),
        }

    # (name, topics, messages, small) per thème, and per thème its rubriques' rows; and
    # whether every hors pair reads the row's content (`_marks`)
    theme_rows: list[tuple[str, int, int, bool]] = []
    theme_read: list[bool] = []
    rubrique_rows: list[list[tuple[str, int, int, bool]]] = []
    rubrique_read: list[list[bool]] = []
    for theme in (c for c in categories if c.parent_id is None):
        kids = children[theme.id]
        openers = counts.theme_topics.get(theme.id, Tally())
        writers = counts.theme_messages.get(theme.id, Tally())
        theme_rows.append((theme.name, openers.count, writers.count, _few_behind(openers, writers)))
        theme_read.append(theme.open_to_all and all(k.open_to_all for k in kids))
        direct_topics = counts.topics.get(theme.id, Tally())
        direct = counts.messages.get(theme.id, Tally())
        rows = [
            (k, counts.topics.get(k.id, Tally()), counts.messages.get(k.id, Tally())) for k in kids
        ]
        if not kids or direct_topics.count or direct.count:
            rows.insert(0, (theme, direct_topics, direct))
        rubrique_rows.append([(c.name, t.count, m.count, _few_behind(t, m)) for c, t, m in rows])
        rubrique_read.append([c.open_to_all for c, _t, _m in rows])
    totals_small = _few_behind(counts.total_topics, counts.total_messages)
    theme_marks = _marks(theme_rows, published=not totals_small, read=theme_read)
    themes, rubriques = [], []
    for (name, topics, messages, _small), mark, rows, read in zip(
        theme_rows, theme_marks, rubrique_rows, rubrique_read, strict=True
    ):
        themes.append({"theme": name, **row(topics, messages, mark)})
        if mark == MASKED:  # its rubriques would add up to it
            marks = [SMALL if small else MASKED if t or m else None for _n, t, m, small in rows]
        else:
            marks = _marks(rows, published=mark is None, read=read)
        for (rubrique, t, m, _small), rubrique_mark in zip(rows, marks, strict=True):
            rubriques.append({"theme": name, "rubrique": rubrique, **row(t, m, rubrique_mark)})
    totals = {
        "topics": SMALL if totals_small else total_topics,
        "messages": SMALL if totals_small else total_messages,
    }
    return themes, rubriques, totals


def _few_behind(topics: Tally, messages: Tally) -> bool:
    """A thème's or a rubrique's row reads « < 5 » when its topics were opened by fewer than
    5 distinct members, or its messages written by fewer than 5: a topic count describes its
    openers (one member's topic answered by five others is still one member's topic)."""
    return is_small(topics.count, topics.people) or is_small(
        topics.count + messages.count, messages.people
    )


def _marks(
    rows: list[tuple[str, int, int, bool]], *, published: bool, read: list[bool]
) -> list[str | None]:
    """« < 5 », « masqué » or nothing for each (name, topics, messages, small) row, with
    complementary suppression when the rows' total is published.

    A row that every hors pair reads (`read`: « Échanges hors pairs ») is no secret to the
    comité, hors pairs mostly, who count its topics and messages themselves: they take it
    off the total like a row shown, so it neither needs nor gives protection (masked to
    protect a « < 5 » row, it gave that row back); its « < 5 » still reads so."""
    small = [r[3] for r in rows]
    masked = [False] * len(rows)
    if published:
        secret = [i for i in range(len(rows)) if not read[i]]
        protection = complementary(
            [(rows[i][1], rows[i][2]) for i in secret],
            [small[i] for i in secret],
            small_bounds=CONTENT_BOUNDS,
            masked_floor=CONTENT_MASKED_FLOOR,
        )
        for i, m in zip(secret, protection.masked, strict=True):
            masked[i] = m
    return [SMALL if s else MASKED if m else None for s, m in zip(small, masked, strict=True)]


MEMBER_BOUNDS = ((1, THRESHOLD - 1),)  # a « < 5 » member count is 1…4
COUNT_BOUNDS = ((1, None),)  # a « < 5 » count of items is at least 1
AT_LEAST_FIVE = (THRESHOLD,)  # a masked cell describes 5 members or more, hence 5 items or more


def network_table(networks: list[queries.NetworkCount]) -> list[dict]:
    """Members of each network (pairs) and organisation (hors pairs) at the period's end;
    shares are within the kind.

    The shares (and the growth table's last month-end count) give each kind's total away, so
    suppression is complementary within a kind; when that cannot protect a « < 5 » count,
    the kind's shares are all withheld (`_network_marks`; the growth table masks its total).
    A network closed since is listed while it has members.
    """
    networks = [n for n in networks if n.listed]
    totals: dict[str, int] = defaultdict(int)
    for network in networks:
        totals[network.kind] += network.members
    marks, withheld = _network_marks(networks)
    return [
        {
            "network": n.code,
            "name": n.name,
            "kind": n.kind,
            "members": mark or n.members,
            "members_pct": share(
                n.members, totals[n.kind], hidden=mark is not None or n.kind in withheld
            ),
        }
        for n, mark in zip(networks, marks, strict=True)
    ]


def _network_marks(networks: list[queries.NetworkCount]) -> tuple[list[str | None], set[str]]:
    """« < 5 », « masqué » or nothing per network, and the kinds whose total is withheld."""
    marks: list[str | None] = [None] * len(networks)
    withheld = set()
    for kind in {n.kind for n in networks}:
        indexes = [i for i, n in enumerate(networks) if n.kind == kind]
        small = [is_small(networks[i].members, networks[i].members) for i in indexes]
        protection = complementary(
            [(networks[i].members,) for i in indexes],
            small,
            small_bounds=MEMBER_BOUNDS,
            masked_floor=AT_LEAST_FIVE,
        )
        if protection.withhold_total:
            withheld.add(kind)
        for i, s, m in zip(indexes, small, protection.masked, strict=True):
            marks[i] = SMALL if s else MASKED if m else None
    return marks, withheld


def _column_marks(tallies: list[Tally], read: list[bool] | None = None) -> list[Cell]:
    """A column of counts whose sum is published elsewhere (the period's totals), with
    complementary suppression.

    Known limit: that total lives in the thèmes table, so it cannot be withheld from here.
    When even masking every other cell leaves a « < 5 » count with one possible value (a
    tiny period, e.g. one month of 1 message beside one of 5 messages by 5 members), the cells
    stay masked but the total still gives the small one away.

    A cell the comité counts by reading the forum (`read`: the activity of an organisation of
    hors pairs, who write only where every hors pair reads) is taken off the total like a
    cell shown, as in `_marks`.
    """
    small = [is_small(t.count, t.people) for t in tallies]
    secret = [i for i in range(len(tallies)) if not (read and read[i])]
    protection = complementary(
        [(tallies[i].count,) for i in secret],
        [small[i] for i in secret],
        small_bounds=COUNT_BOUNDS,
        masked_floor=AT_LEAST_FIVE,
    )
    masked = [False] * len(tallies)
    for i, m in zip(secret, protection.masked, strict=True):
        masked[i] = m
    return [
        SMALL if s else MASKED if m else t.count
        for t, s, m in zip(tallies, small, masked, strict=True)
    ]


def growth_table(
    period: Period,
    networks: list[queries.NetworkCount] | None = None,
    tallies: rollups.Tallies | None = None,
) -> list[dict]:
    """Per Paris month: members at the month's end (cumulative) by statut, and the messages
    posted during the month. The last month ends with the period.

    The messages add up to the period's total: suppression is complementary among months.
    A month-end count is a kind's total, the one the networks table of a period ending then
    gives away by its shares: it reads « masqué » when that table would withhold it, in
    every period that shows the month (so that a longer period does not print what a shorter
    one withheld).
    """
    changes: dict[tuple[str, str], int] = defaultdict(int)
    network_changes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in member_months.network_growth(period.start, period.end):
        changes[(row.statut, row.month)] += row.joined - row.left
        network_changes[row.month][row.network_id] += row.joined - row.left
    tallies = tallies or rollups.tallies(period.start, period.end)
    messages = tallies.messages_by_month()
    if networks is None:
        networks = member_months.members_by_network(period.end)
    running = {s: changes[(s, queries.BEFORE)] for s in ("pair", "hors_pair")}
    members = defaultdict(int, network_changes[queries.BEFORE])
    months = period.months
    message_cells = _column_marks([messages.get(month, Tally()) for month in months])
    withheld_for: dict[tuple[int, ...], set[str]] = {}  # most months change few counts
    table = []
    for n, (month, message_cell) in enumerate(zip(months, message_cells, strict=True)):
        for statut in running:
            running[statut] += changes[(statut, month)]
        for network_id, change in network_changes[month].items():
            members[network_id] += change
        if n == len(months) - 1:  # the period's end
            counts = tuple(net.members for net in networks)
        else:
            counts = tuple(members[net.id] for net in networks)
        if counts not in withheld_for:
            month_end = [replace(net, members=c) for net, c in zip(networks, counts, strict=True)]
            withheld_for[counts] = _network_marks(month_end)[1]
        withheld = withheld_for[counts]
        cells = {}
        for statut, key in (("pair", "pairs"), ("hors_pair", "hors_pairs")):
            cell = member_cell(running[statut])
            cells[key] = MASKED if statut in withheld and isinstance(cell, int) else cell
        table.append({"month": month, **cells, "messages": message_cell})
    return table


def responsiveness_figures(
    period: Period, r: queries.Responsiveness | None = None
) -> dict[str, Any]:
    """Median hours to the first reply, % answered within 48 h, % unanswered and % of first
    replies from another network, for the topics opened in the period.

    With the number of topics printed, a share gives away the two counts it divides the
    topics into (unanswered and answered ones; answered within 48 h and the others; first
    replies from another network and from the same one, whose total is the answered topics):
    it reads « < 5 » when one of them was asked by fewer than 5 members, or, made of answered
    topics, first answered by fewer than 5 (`queries.PARTS`). The median describes the
    answered topics likewise."""
    if r is None:
        r = _topic_figures(period)[0]
    few_askers = is_small(r.topics, r.askers)
    few = few_askers or is_small(r.answered, r.repliers)

    def hidden(*parts: str) -> bool:
        """A figure about these parts of the topics (`queries.PARTS`) is « < 5 » when one
        of them is small: an answered part by its first repliers too."""
        if few:
            return True
        for name in parts:
            part = r.parts[name]
            answered = name not in ("unanswered", "late")
            if is_small(part.topics, part.askers) or (
                answered and is_small(part.topics, part.repliers)
            ):
                return True
        return False

    return {
        "topics": count_cell(r.topics, r.askers),
        "median_first_reply_hours": (SMALL if hidden("answered") else _hours(r.median_seconds)),
        "answered_within_48h_pct": (
            SMALL if hidden("within", "late", "late_answered") else share(r.within_48h, r.topics)
        ),
        "unanswered_pct": (
            SMALL
            if few_askers or hidden("unanswered", "answered")
            else share(r.topics - r.answered, r.topics)
        ),
        # its base is the answered topics (every member has a network): it gives the
        # answered and unanswered counts away as well
        "cross_network_first_reply_pct": (
            SMALL
            if few_askers or hidden("cross", "same", "unanswered", "answered")
            else share(r.cross_network, r.cross_network_base)
        ),
    }


def _topic_figures(period: Period) -> tuple[queries.Responsiveness, queries.Solutions]:
    figures = rollups.tallies(period.start, period.end)
    return figures.topic_figures(_accepting(queries.category_tree()))


def solution_figures(period: Period, s: queries.Solutions | None = None) -> dict[str, Any]:
    """Share of topics solved and median hours to the solution, for the topics opened in the
    period in rubriques that accept solutions; suppressed like the responsiveness figures
    (fewer than 5 askers, or solutions written by fewer than 5 members, and each part the share
    divides the topics into, solved and not, asked by 5 members or more).

    The number of topics is not given: it adds up the rubriques that accept solutions, a
    partial sum of the thèmes table that would give a « < 5 » thème away by difference."""
    if s is None:
        s = _topic_figures(period)[1]
    few = (
        is_small(s.topics, s.askers)
        or is_small(s.solved, s.solvers)
        or is_small(s.solved, s.solved_askers)
        or is_small(s.topics - s.solved, s.unsolved_askers)
    )
    return {
        "solved_pct": SMALL if few else share(s.solved, s.topics),
        "median_hours_to_solution": SMALL if few else _hours(s.median_seconds),
    }


def tag_table(period: Period, tallies: rollups.Tallies | None = None) -> list[dict]:
    """Topics and messages of the period by mot-clé, counted like the thèmes; a row whose
    topics and messages come from fewer than 5 distinct members reads « < 5 » as a whole.
    A topic carries up to 5 mots-clés, so the rows overlap: no total, no shares."""
    table = []
    tallies = tallies or rollups.tallies(period.start, period.end)
    for tag in tallies.tag_counts():
        hidden = is_small(tag.topics, tag.openers) or is_small(
            tag.topics + tag.messages, tag.people
        )
        table.append(
            {
                "tag": tag.slug,
                "name": tag.name,
                "retired": tag.retired,
                "topics": SMALL if hidden else tag.topics,
                "messages": SMALL if hidden else tag.messages,
            }
        )
    return table


def activity_table(
    period: Period,
    networks: list[queries.NetworkCount],
    tallies: rollups.Tallies | None = None,
) -> list[dict]:
    """Topics opened and replies given in the period by each network's members.

    The columns add up to (about) the period's topics and replies, so suppression is
    complementary within each column."""
    tallies = tallies or rollups.tallies(period.start, period.end)
    activity = tallies.activity_by_network()
    empty = queries.NetworkActivity(Tally(), Tally())
    # a network closed since is listed while its members have figures in the period: its
    # row left out, the others would no longer add up to the totals, and the difference
    # would be its figure
    networks = [
        n
        for n in networks
        if n.active
        or activity.get(n.id, empty).topics.count
        or activity.get(n.id, empty).replies.count
    ]
    found = [activity.get(network.id, empty) for network in networks]
    read = [network.kind == "hors_pair" for network in networks]
    topics = _column_marks([f.topics for f in found], read)
    replies = _column_marks([f.replies for f in found], read)
    return [
        {
            "network": network.code,
            "name": network.name,
            "kind": network.kind,
            "topics": topic_cell,
            "replies": reply_cell,
        }
        for network, topic_cell, reply_cell in zip(networks, topics, replies, strict=True)
    ]


# --- The whole report, and its exports --------------------------------------------------


def _accepting(categories: list[queries.CategoryInfo]) -> frozenset[int]:
    """The rubriques whose topics count for the solutions' figures (as they are now)."""
    return frozenset(c.id for c in categories if c.accepts_solutions)


def build_report(period: Period) -> dict[str, Any]:
    """Every table of the page, in the JSON shape of `comcep analytics report` (SPEC §10)."""
    tallies = rollups.tallies(period.start, period.end)
    categories = queries.category_tree()
    themes, rubriques, totals = theme_tables(period, tallies, categories)
    networks = member_months.members_by_network(period.end)
    replies, solved = tallies.topic_figures(_accepting(categories))
    return {
        "period": period.as_json(),
        "totals": totals,
        "themes": themes,
        "rubriques": rubriques,
        "members_by_network": network_table(networks),
        "growth": growth_table(period, networks, tallies),
        "responsiveness": responsiveness_figures(period, replies),
        "activity_by_network": activity_table(period, networks, tallies),
        "solutions": solution_figures(period, solved),
        "tags": tag_table(period, tallies),
    }


# table name → (report key, columns); the columns are the JSON keys, in order
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "themes": ("themes", ("theme", "topics", "topics_pct", "messages", "messages_pct")),
    "rubriques": (
        "rubriques",
        ("theme", "rubrique", "topics", "topics_pct", "messages", "messages_pct"),
    ),
    "networks": ("members_by_network", ("network", "name", "kind", "members", "members_pct")),
    "growth": ("growth", ("month", "pairs", "hors_pairs", "messages")),
    "responsiveness": (
        "responsiveness",
        (
            "topics",
            "median_first_reply_hours",
            "answered_within_48h_pct",
            "unanswered_pct",
            "cross_network_first_reply_pct",
        ),
    ),
    "activity": ("activity_by_network", ("network", "name", "kind", "topics", "replies")),
    "solutions": ("solutions", ("solved_pct", "median_hours_to_solution")),
    "tags": ("tags", ("tag", "name", "retired", "topics", "messages")),
}


def build_table(period: Period, table: str) -> list[dict]:
    """One table of the report, computing only what it needs (for a CSV download)."""
    if table in ("themes", "rubriques"):
        themes, rubriques, _totals = theme_tables(period)
        return themes if table == "themes" else rubriques
    if table == "growth":
        return growth_table(period)
    if table in ("responsiveness", "solutions"):
        figures = _topic_figures(period)
        if table == "responsiveness":
            return [responsiveness_figures(period, figures[0])]
        return [solution_figures(period, figures[1])]
    if table == "tags":
        return tag_table(period)
    networks = member_months.members_by_network(period.end)
    if table == "activity":
        return activity_table(period, networks)
    return network_table(networks)


def table_rows(report: dict[str, Any], table: str) -> list[dict]:
    rows = report[TABLES[table][0]]
    return rows if isinstance(rows, list) else [rows]


# The columns in words, for the comité's spreadsheet (the `,` CSV keeps the code names of
# SPEC §10, for programs).
FRENCH_COLUMNS = {
    "theme": "Thème",
    "rubrique": "Rubrique",
    "topics": "Sujets",
    "topics_pct": "% des sujets",
    "messages": "Messages",
    "messages_pct": "% des messages",
    "network": "Code du réseau",
    "name": "Nom",
    "kind": "Statut",
    "members": "Membres",
    "members_pct": "% des membres",
    "month": "Mois",
    "pairs": "Pairs",
    "hors_pairs": "Hors pairs",
    "median_first_reply_hours": "Délai médian de première réponse (heures)",
    "answered_within_48h_pct": "% répondus en 48 h",
    "unanswered_pct": "% sans réponse",
    "cross_network_first_reply_pct": "% de premières réponses d'un autre réseau",
    "replies": "Réponses",
    "solved_pct": "% résolus",
    "median_hours_to_solution": "Délai médian de résolution (heures)",
    "tag": "Code du mot-clé",
    "retired": "Retiré",
}
FRENCH_KINDS = {"pair": "pair", "hors_pair": "hors pair"}


def to_csv(rows: list[dict], table: str, *, semicolon: bool = False, bom: bool = False) -> str:
    """CSV text: `,`, decimal points and the code names of SPEC §10, or, for French
    spreadsheets, `;`, decimal commas and the columns and statuts in words; suppressed
    cells read « < 5 », undefined ones are empty; a BOM makes Excel read UTF-8; no text
    cell starts a formula."""
    columns = TABLES[table][1]
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=";" if semicolon else ",", lineterminator="\r\n")
    writer.writerow([FRENCH_COLUMNS[c] for c in columns] if semicolon else columns)
    for row in rows:
        writer.writerow(
            [_csv_value(_cell(row, column, semicolon), semicolon) for column in columns]
        )
    return out.getvalue()


def _cell(row: dict, column: str, french: bool) -> object:
    """A row's value for the CSV: in words for a French spreadsheet (a statut, yes or no)."""
    value = row[column]
    if not french:
        return value
    if isinstance(value, bool):
        return "oui" if value else "non"
    return FRENCH_KINDS.get(value, value) if column == "kind" else value


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, « CSV injection »).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: object, decimal_comma: bool) -> str:
    """Numbers stay numbers (a negative one too); text that a spreadsheet would run as a
    formula (a mot-clé, a rubrique or a network named by staff) gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.1f}"
        return text.replace(".", ",") if decimal_comma else text
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
