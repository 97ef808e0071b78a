"""The search interface every backend implements, so views never depend on one engine.

Views build a `SearchQuery` (with the reader's visible rubriques from the policy), call
`SearchBackend.search` and render `SearchResults`. The outbox worker feeds `SearchDocument`s to
`upsert` and post ids to `delete`; the CLI compares `indexed_versions()` with the database using
`fingerprint`. The user's query language (words, "phrases", -exclusions) is split here, once for
all backends; each backend only analyses the clauses with its own French configuration.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SORT_RELEVANCE = "relevance"
SORT_DATE = "date"
SORTS = (SORT_RELEVANCE, SORT_DATE)

MAX_QUERY_LENGTH = 500
MAX_PER_PAGE = 100

#: Whole-day date filters follow the readers' calendar, not UTC (a post at 00:30 in Paris on
#: 5 March belongs to 5 March).
SEARCH_TIMEZONE = ZoneInfo("Europe/Paris")

MESSAGE_TOO_LONG = (
    f"Votre recherche est trop longue\u00a0: {MAX_QUERY_LENGTH} caractères au maximum."
)
MESSAGE_EMPTY = (
    "Votre recherche est vide\u00a0: saisissez au moins un mot significatif "
    "(les mots très courants comme «\u00a0le\u00a0» ou «\u00a0de\u00a0» sont ignorés)."
)
MESSAGE_ONLY_EXCLUSIONS = (
    "Indiquez au moins un mot à rechercher\u00a0: une exclusion "
    "(«\u00a0-mot\u00a0») ne suffit pas à elle seule."
)


@dataclass(frozen=True)
class SearchDocument:
    """One post as the index sees it; built from the database, the source of truth."""

    post_id: int
    topic_id: int
    category_id: int
    theme_id: int
    author_id: int | None
    title: str  # the topic's title (indexed for the first post only, shown for every post)
    body: str  # plain text, not HTML
    created_at: datetime  # UTC aware
    is_hidden: bool
    is_first_post: bool
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """What a reader asked for, plus the visibility the policy grants them."""

    text: str
    category_ids: frozenset[int]  # visible rubriques: a required filter; empty = no result
    include_hidden: bool = False
    category_id: int | None = None
    theme_id: int | None = None
    author_id: int | None = None
    date_from: date | None = None  # inclusive, whole day in SEARCH_TIMEZONE
    date_to: date | None = None  # inclusive, whole day in SEARCH_TIMEZONE
    titles_only: bool = False
    tag: str | None = None
    sort: str = SORT_RELEVANCE  # or SORT_DATE (newest first)
    page: int = 1
    per_page: int = 20

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {self.sort!r}")


@dataclass(frozen=True)
class SearchHit:
    """One result, ready for a template: both strings are escaped HTML with <mark> tags."""

    post_id: int
    topic_id: int
    title_html: str
    snippet_html: str


@dataclass(frozen=True)
class SearchResults:
    """One page of hits; `total` counts only what the reader may see."""

    hits: list[SearchHit]
    total: int
    page: int
    per_page: int
    capped: bool = False  # `total` is a floor: more matched than the backend counts

    @property
    def pages(self) -> int:
        """Number of pages, 0 when nothing matched (as Flask-SQLAlchemy's pagination)."""
        return math.ceil(self.total / self.per_page) if self.per_page > 0 else 0


class SearchQueryError(ValueError):
    """A query the engine cannot run; `message` is French and shown to the reader as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SearchBackend(Protocol):
    """A full-text engine behind the forum's search page, CLI and outbox worker.

    Implementations must apply every filter of a `SearchQuery` inside the engine, before
    ranking, paging and counting (never by filtering a page afterwards), so that hits,
    snippets and `total` never reveal a post outside `category_ids`.
    """

    def upsert(self, docs: Iterable[SearchDocument]) -> None:
        """Add or replace documents, keyed by `post_id`, in one write.

        :param docs: the current state of each post; a post id given twice keeps the last.
        """

    def delete(self, post_ids: Iterable[int]) -> None:
        """Remove documents; unknown ids are ignored.

        :param post_ids: ids of posts that no longer exist.
        """

    def search(self, query: SearchQuery) -> SearchResults:
        """Run a reader's query.

        :param query: the text and filters; `category_ids` is mandatory visibility.
        :raises SearchQueryError: the text is empty after analysis, too long, or only
            exclusions; its `message` is meant for the reader.
        """

    def indexed_versions(self) -> dict[int, str]:
        """Map each indexed post id to the `fingerprint` it was indexed with.

        :returns: ``{post_id: fingerprint}`` for every document in the index.
        """

    def clear(self) -> None:
        """Empty the index (before a rebuild)."""


def as_utc(value: datetime) -> datetime:
    """Return an aware UTC datetime; naive values (SQLite) are taken as UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def fingerprint(doc: SearchDocument) -> str:
    """Digest of everything a document contributes to the index, to detect drift.

    The database side builds the same `SearchDocument` and calls this function, so any change
    that alters results (moved, hidden, edited, retitled, retagged) shows up in `check`.
    """
    payload = json.dumps(
        [
            doc.post_id,
            doc.topic_id,
            doc.category_id,
            doc.theme_id,
            doc.author_id,
            bool(doc.is_hidden),
            bool(doc.is_first_post),
            as_utc(doc.created_at).isoformat(timespec="seconds"),
            sorted({tag.lower() for tag in doc.tags}),
            doc.title,
            doc.body,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha1(payload.encode("utf-8"), usedforsecurity=False).hexdigest()


def day_bounds(
    date_from: date | None, date_to: date | None, tz: ZoneInfo = SEARCH_TIMEZONE
) -> tuple[datetime | None, datetime | None]:
    """Turn inclusive calendar days into a UTC ``[start, end)`` range; None = unbounded."""
    start = end = None
    if date_from is not None and date_from.year > 1:
        start = datetime.combine(date_from, time.min, tzinfo=tz).astimezone(UTC)
    if date_to is not None and date_to.year < 9999:
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


@dataclass(frozen=True)
class QueryClause:
    """One piece of the reader's query: a word or a quoted phrase, maybe excluded."""

    text: str
    phrase: bool = False
    negated: bool = False


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"'})


def parse_query_text(text: str) -> list[QueryClause]:
    """Split a reader's query into words, "phrases" and -exclusions.

    Nothing else has a meaning: field names, wildcards, boosts and operators are plain text
    for the analyser, so no one can reach another field or bypass a filter. An unbalanced
    quote is dropped and the rest read as words.

    :raises SearchQueryError: the text is longer than `MAX_QUERY_LENGTH`.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchQueryError(MESSAGE_TOO_LONG)
    text = _CONTROL_CHARS.sub(" ", text).translate(_QUOTES)
    clauses: list[QueryClause] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end == -1:  # unbalanced: the rest are plain words
                i += 1
                continue
            clauses.append(QueryClause(text[i + 1 : end], phrase=True, negated=negated))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != '"':
            j += 1
        clauses.append(QueryClause(text[i:j], phrase=False, negated=negated))
        i = j
    return clauses
