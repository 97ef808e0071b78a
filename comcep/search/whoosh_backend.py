"""The embedded search backend: a Whoosh index in a local directory, French-aware.

Several gunicorn processes (and threads) may share one index directory: writers take Whoosh's
file lock with retries, readers keep one searcher per thread and refresh it when another
process has committed. Reader queries are built here from `parse_query_text` clauses, never
by Whoosh's query parser, so field syntax, wildcards and ranges typed by a reader are plain
words. Visibility and the other filters are part of the query itself (`Require`, which filters
without changing scores), so hits and `total` only ever cover what the reader may see.

Why not `searcher.search(filter=...)`: Whoosh turns a filter query into a Python set of every
matching document before searching, about 0.6 s per query on 100,000 posts when a reader sees
half the rubriques; inside the query, the filter is only probed for the documents that match
the words (a few milliseconds).
"""

from __future__ import annotations

import html
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index
from whoosh.analysis import Analyzer
from whoosh.columns import VarBytesColumn
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.highlight import ContextFragmenter, Formatter, WholeFragmenter, get_text, highlight
from whoosh.query import And, AndNot, DateRange, Or, Phrase, Query, Require, Term
from whoosh.searching import Hit, Searcher
from whoosh.writing import CLEAR

from comcep.search.analyzer import french_analyzer
from comcep.search.backend import (
    MAX_PER_PAGE,
    MESSAGE_EMPTY,
    MESSAGE_ONLY_EXCLUSIONS,
    SORT_DATE,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchQueryError,
    SearchResults,
    as_utc,
    day_bounds,
    fingerprint,
    parse_query_text,
)

logger = logging.getLogger(__name__)

#: Bump when the schema or the analyzer changes: the new version starts as an empty index
#: beside the old one, and `comcep search rebuild` fills it (`check` reports the gap).
SCHEMA_VERSION = 1
INDEX_NAME = f"comcep_v{SCHEMA_VERSION}"

TITLE_BOOST = 3.0
SNIPPET_CHARS = 300
_FRAGMENT_CHARS = 110  # Whoosh counts word characters only; two fragments stay under ~300
_FRAGMENT_CONTEXT = 40
_ELLIPSIS = "…"


def build_schema() -> Schema:
    """The index layout; ids are ID fields (one exact term each: cheap filters)."""
    analyzer = french_analyzer()
    return Schema(
        post_id=ID(stored=True, unique=True, sortable=True),
        topic_id=ID(stored=True),
        category_id=ID(),
        theme_id=ID(),
        author_id=ID(),
        # Indexed for a topic's first post only, so a title match returns the topic once.
        title=TEXT(analyzer=analyzer, field_boost=TITLE_BOOST),
        topic_title=STORED(),  # shown for every post
        body=TEXT(analyzer=analyzer, stored=True),
        created=DATETIME(sortable=True),
        hidden=BOOLEAN(),
        tags=KEYWORD(lowercase=True, scorable=False),
        fp=COLUMN(VarBytesColumn()),
    )


class _MarkFormatter(Formatter):
    """Escape everything and wrap matched words in <mark>; ellipses where text was cut."""

    between = f" {_ELLIPSIS} "

    def _text(self, text: str) -> str:
        return html.escape(text)

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{html.escape(get_text(text, token, replace))}</mark>"

    def format(self, fragments: list[Any], replace: bool = False) -> str:
        if not fragments:
            return ""
        first, last = fragments[0], fragments[-1]
        # Keep leading or trailing punctuation rather than cut before a final full stop.
        if not any(char.isalnum() for char in first.text[: first.startchar]):
            first.startchar = 0
        if not any(char.isalnum() for char in last.text[last.endchar :]):
            last.endchar = len(last.text.rstrip())
        out = super().format(fragments, replace=replace)
        if first.startchar > 0:
            out = f"{_ELLIPSIS} {out}"
        if last.endchar < len(last.text):
            out = f"{out} {_ELLIPSIS}"
        return out


def _excerpt(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Escaped beginning of a text, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return html.escape(text)
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return f"{html.escape(cut)} {_ELLIPSIS}"


def _naive_utc(value: datetime | None) -> datetime | None:
    """Whoosh's DATETIME only handles naive values; ours are always UTC."""
    return None if value is None else as_utc(value).replace(tzinfo=None)


class WhooshBackend:
    """`SearchBackend` on a Whoosh index stored in `index_dir` (created on first use)."""

    def __init__(
        self, index_dir: str | Path, *, lock_timeout: float = 10.0, lock_delay: float = 0.05
    ) -> None:
        self.index_dir = Path(index_dir)
        self.lock_timeout = lock_timeout
        self.lock_delay = lock_delay
        self._schema = build_schema()  # its analyzer only runs under the write lock
        self._local = threading.local()  # per-thread query analyzer (see _query_analyzer)
        self._ix: index.Index | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._searchers: dict[int, Searcher] = {}

    # -- index and searchers ------------------------------------------------------------

    def _index(self) -> index.Index:
        """Open (or create) the index once per process; a forked worker reopens its own."""
        ix, pid = self._ix, os.getpid()
        if ix is not None and self._pid == pid:
            return ix
        with self._lock:
            if self._ix is None or self._pid != pid:
                self._searchers = {}  # inherited from a parent process: not ours to close
                self._ix = self._open_or_create()
                self._pid = pid
            return self._ix

    def _open_or_create(self) -> index.Index:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        if not index.exists_in(self.index_dir, indexname=INDEX_NAME):
            storage = FileStorage(str(self.index_dir))
            creating = storage.lock(f"{INDEX_NAME}_CREATE")
            creating.acquire(blocking=True)
            try:  # another process may have created it while we waited
                if not index.exists_in(self.index_dir, indexname=INDEX_NAME):
                    logger.info("Creating search index %s in %s", INDEX_NAME, self.index_dir)
                    return index.create_in(self.index_dir, self._schema, indexname=INDEX_NAME)
            finally:
                creating.release()
        return index.open_dir(self.index_dir, indexname=INDEX_NAME, schema=self._schema)

    def _searcher(self) -> Searcher:
        """This thread's searcher, reopened if a writer (any process) committed since.

        Not `Searcher.refresh()`: in whoosh-reloaded 2.7.5 its reader reuse adds the old
        segments back to the new ones, so documents are counted twice after a merge.
        """
        ix = self._index()
        key = threading.get_ident()
        searcher = self._searchers.get(key)
        if searcher is not None and not searcher.up_to_date():
            searcher.close()
            searcher = None
        if searcher is None:
            searcher = self._searchers[key] = ix.searcher()
        return searcher

    def close(self) -> None:
        """Release open index files (tests, shutdown); the backend reopens them on demand."""
        with self._lock:
            searchers, self._searchers = self._searchers, {}
            for searcher in searchers.values():
                searcher.close()

    def _query_analyzer(self) -> Analyzer:
        """This thread's analyzer for queries and highlighting.

        Whoosh's stemming cache (`lfu_cache`) is not thread-safe: concurrent evictions can
        raise KeyError, so threads never share one analyzer.
        """
        analyzer = getattr(self._local, "analyzer", None)
        if analyzer is None:
            analyzer = self._local.analyzer = french_analyzer()
        return analyzer

    # -- writes --------------------------------------------------------------------------

    def _writer(self) -> Any:
        """A writer, waiting up to `lock_timeout` seconds for other writers to commit.

        :raises whoosh.index.LockError: the lock stayed taken; the outbox retries later.
        """
        return self._index().writer(timeout=self.lock_timeout, delay=self.lock_delay)

    def upsert(self, docs: Iterable[SearchDocument]) -> None:
        """Add or replace documents in one commit; the last version of a post id wins."""
        latest = {doc.post_id: doc for doc in docs}
        if not latest:
            return
        writer = self._writer()
        try:
            for doc in latest.values():
                writer.update_document(**self._fields(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def delete(self, post_ids: Iterable[int]) -> None:
        """Remove documents by post id in one commit."""
        ids = {str(post_id) for post_id in post_ids}
        if not ids:
            return
        writer = self._writer()
        try:
            for post_id in ids:
                writer.delete_by_term("post_id", post_id)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def clear(self) -> None:
        """Drop every document (a new generation, so other processes' searchers notice)."""
        self._writer().commit(mergetype=CLEAR)

    @staticmethod
    def _fields(doc: SearchDocument) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "post_id": str(doc.post_id),
            "topic_id": str(doc.topic_id),
            "category_id": str(doc.category_id),
            "theme_id": str(doc.theme_id),
            "topic_title": doc.title,
            "body": doc.body,
            "created": _naive_utc(doc.created_at),
            "hidden": bool(doc.is_hidden),
            "fp": fingerprint(doc).encode("ascii"),
        }
        if doc.is_first_post:
            fields["title"] = doc.title
        if doc.author_id is not None:
            fields["author_id"] = str(doc.author_id)
        if doc.tags:
            fields["tags"] = " ".join(tag.lower() for tag in doc.tags)
        return fields

    # -- reads ---------------------------------------------------------------------------

    def indexed_versions(self) -> dict[int, str]:
        """Read post ids and fingerprints from columns (no stored bodies are loaded)."""
        reader = self._searcher().reader()
        if not reader.has_column("fp"):  # an empty index has no columns at all
            return {}
        post_ids = reader.column_reader("post_id")
        fps = reader.column_reader("fp")
        return {
            int(post_ids[docnum]): fps[docnum].decode("ascii") for docnum in reader.all_doc_ids()
        }

    def search(self, query: SearchQuery) -> SearchResults:
        """Run a reader's query with every filter inside Whoosh (see `SearchBackend`)."""
        fields = ("title",) if query.titles_only else ("title", "body")
        text_query, terms = self._text_query(query.text, fields)
        page = max(1, query.page)
        per_page = min(max(1, query.per_page), MAX_PER_PAGE)
        if not query.category_ids:
            return SearchResults(hits=[], total=0, page=page, per_page=per_page)

        full_query: Query = Require(text_query, self._filter(query))
        if not query.include_hidden:
            full_query = AndNot(full_query, Term("hidden", True))  # few hidden posts: cheap
        sort: dict[str, Any] = {}
        if query.sort == SORT_DATE:
            sort = {"sortedby": "created", "reverse": True}
        # optimize=False: no block-quality skipping. The exact `total` visits every match
        # anyway, so one counting pass is cheaper, and whoosh-reloaded 2.7.5's
        # RequireMatcher.skip_to_quality trips an assertion (`a_id != b_id`).
        results = self._searcher().search(full_query, limit=page * per_page, optimize=False, **sort)
        start = (page - 1) * per_page
        hits = [self._hit(hit, terms) for hit in results[start : start + per_page]]
        return SearchResults(hits=hits, total=len(results), page=page, per_page=per_page)

    def _text_query(self, text: str, fields: Sequence[str]) -> tuple[Query, frozenset[str]]:
        """Build the Whoosh query from the reader's clauses; return it with the terms to mark.

        :raises SearchQueryError: nothing searchable is left after analysis.
        """
        wanted: list[Query] = []
        excluded: list[Query] = []
        terms: set[str] = set()
        analyzer = self._query_analyzer()
        for clause in parse_query_text(text):
            words = [token.text for token in analyzer(clause.text, mode="query")]
            if not words:
                continue
            if len(words) == 1:
                parts: list[Query] = [Term(field, words[0]) for field in fields]
            else:
                parts = [Phrase(field, words) for field in fields]
            clause_query = parts[0] if len(parts) == 1 else Or(parts)
            if clause.negated:
                excluded.append(clause_query)
            else:
                wanted.append(clause_query)
                terms.update(words)
        if not wanted:
            raise SearchQueryError(MESSAGE_ONLY_EXCLUSIONS if excluded else MESSAGE_EMPTY)
        query: Query = wanted[0] if len(wanted) == 1 else And(wanted)
        if excluded:
            query = AndNot(query, excluded[0] if len(excluded) == 1 else Or(excluded))
        return query, frozenset(terms)

    @staticmethod
    def _filter(query: SearchQuery) -> Query:
        """Visible rubriques first, then the reader's own filters (hidden posts: see search)."""
        visible = [Term("category_id", str(cat_id)) for cat_id in sorted(query.category_ids)]
        parts: list[Query] = [Or(visible)]
        if query.category_id is not None:
            parts.append(Term("category_id", str(query.category_id)))
        if query.theme_id is not None:
            parts.append(Term("theme_id", str(query.theme_id)))
        if query.author_id is not None:
            parts.append(Term("author_id", str(query.author_id)))
        start, end = day_bounds(query.date_from, query.date_to)
        if start is not None or end is not None:
            parts.append(DateRange("created", _naive_utc(start), _naive_utc(end), endexcl=True))
        if query.tag:
            parts.append(Term("tags", query.tag.lower()))
        return And(parts)

    def _hit(self, hit: Hit, terms: frozenset[str]) -> SearchHit:
        """Escape and highlight the topic title and a body snippet of one result."""
        stored = hit.fields()
        title = stored.get("topic_title", "")
        body = stored.get("body", "")
        analyzer = self._query_analyzer()
        formatter = _MarkFormatter()
        title_html = highlight(
            title, terms, analyzer, WholeFragmenter(), formatter, top=1
        ) or html.escape(title)
        snippet_html = highlight(
            body,
            terms,
            analyzer,
            ContextFragmenter(maxchars=_FRAGMENT_CHARS, surround=_FRAGMENT_CONTEXT),
            formatter,
            top=2,
        ) or _excerpt(body)
        return SearchHit(
            post_id=int(stored["post_id"]),
            topic_id=int(stored["topic_id"]),
            title_html=title_html,
            snippet_html=snippet_html,
        )
