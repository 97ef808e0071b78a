"""The embedded search backend: a Whoosh index in a local directory, French-aware.

Several gunicorn processes (and threads) may share one index directory: writers take Whoosh's
file lock with retries, readers keep one searcher per thread and refresh it when another
process has committed. Reader queries are built here from `parse_query_text` clauses, never
by Whoosh's query parser, so field syntax, wildcards and ranges typed by a reader are plain
words.

Visibility and the other filters are an allow-set of document numbers given to Whoosh's
`FilterCollector`: a document outside it is never collected, scored, highlighted or counted.
The set is built from the filter terms' postings, cached per index segment (segments never
change, so a commit only costs reading its new small segment) and per filter combination for
the current index generation. Why not the alternatives, measured on 100,000 posts with a
reader seeing 15 rubriques out of 30:

- `searcher.search(filter=<query>)` rebuilds that set by walking the filter query for every
  search: about 0.6 s per query.
- the filter inside the query (`Require`, `AndNot`) is wrong in whoosh-reloaded 2.7.5:
  `RequireMatcher.skip_to_quality` trips an assertion, and `AndNotMatcher` never checks the
  first positive document of a segment against the excluded ones (`_find_first`), which let
  a document of a hidden rubrique into a count. Exclusions typed by the reader (`-mot`) are
  therefore subtracted from the allow-set too, never given to `AndNot`;
- a `TopCollector` "replaces" matchers on the fly and skips low-scoring blocks, which
  silently drops documents from its `total`: the total is therefore never Whoosh's, but the
  size of (documents matching each clause, from posting lists) ∩ (the allow-set); the
  collector only ranks the page's documents among those, where skipping is what makes a
  common word cheap. Tests compare totals and hits with a brute-force count, and the
  ranking with a full scoring.
"""

from __future__ import annotations

import bisect
import heapq
import html
import logging
import os
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import collectors, index
from whoosh.analysis import Analyzer
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.columns import VarBytesColumn
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.highlight import ContextFragmenter, Formatter, WholeFragmenter, get_text, highlight
from whoosh.query import And, DateRange, Or, Phrase, Query, Term
from whoosh.reading import IndexReader
from whoosh.searching import Searcher
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


def _cached_lengths_reader(self: W3PerDocReader, fieldname: str, column: Any) -> Any:
    """whoosh-reloaded 2.7.5 caches a segment's field-length readers but not their absence:
    for every posting of a field without lengths (ids, dates, flags) it asks the file system
    again (`stat`), one call per posting when a segment is written. Segments never change
    once written, so the absence is cached too."""
    try:
        return self._readers[fieldname]
    except KeyError:
        pass
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    self._readers[fieldname] = reader
    return reader


W3PerDocReader._cached_reader = _cached_lengths_reader

#: Bump when the schema or the analyzer changes: the new version starts as an empty index
#: beside the old one, and `comcep search rebuild` fills it (`check` reports the gap).
SCHEMA_VERSION = 1
INDEX_NAME = f"comcep_v{SCHEMA_VERSION}"

TITLE_BOOST = 3.0
SNIPPET_CHARS = 300
_FRAGMENT_CHARS = 110  # Whoosh counts word characters only; two fragments stay under ~300
_FRAGMENT_CONTEXT = 40
_ELLIPSIS = "…"
_ALLOWED_CACHE_SIZE = 16  # filter combinations kept per index generation


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
        self._filter_lock = threading.Lock()
        self._filter_generation: int | None = None
        self._segment_docs: dict[tuple[str, str, bytes], array[int]] = {}
        self._allowed: OrderedDict[tuple[Any, ...], set[int]] = OrderedDict()

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

    def rebuild(self, docs: Iterable[SearchDocument]) -> int:
        """Replace the whole index with `docs` (one per post id, as `rebuild` streams them):
        one writer that only adds, and one commit that writes a single new segment. Per
        batch `upsert`s would look each id up to replace it and merge segments at every
        commit (about 300 posts/s; this is several times faster)."""
        writer = self._index().writer(timeout=self.lock_timeout, delay=self.lock_delay, limitmb=256)
        count = 0
        try:
            for doc in docs:
                writer.add_document(**self._fields(doc))
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        return count

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
        """Run a reader's query; filters restrict what Whoosh collects (see the module doc).

        The total is set algebra on posting lists (matching documents ∩ allowed), which
        needs no scoring; only the page's top documents are ranked: by date from the
        `created` column, or by relevance with Whoosh's block-quality skipping, which
        scores only the blocks that can still reach the page.
        """
        fields = ("title",) if query.titles_only else ("title", "body")
        text_query, clauses, terms, excluded = self._text_query(query.text, fields)
        page = max(1, query.page)
        per_page = min(max(1, query.per_page), MAX_PER_PAGE)
        empty = SearchResults(hits=[], total=0, page=page, per_page=per_page)
        if not query.category_ids:
            return empty
        searcher = self._searcher()
        allowed = self._allowed_docs(searcher, query)
        if excluded:
            allowed = allowed - self._excluded_docs(searcher, excluded, fields)
        candidates = self._matching_docs(searcher, clauses, allowed)
        if not candidates:
            return empty
        limit = page * per_page
        if query.sort == SORT_DATE:
            created = self._column_values(searcher, "created")
            top = heapq.nlargest(limit, candidates, key=lambda docnum: (created(docnum), docnum))
        else:
            inner = collectors.TopCollector(limit=limit)
            collector = collectors.FilterCollector(inner, allow=candidates)
            searcher.search_with_collector(text_query, collector)
            top = [hit.docnum for hit in collector.results()]
        start = (page - 1) * per_page
        hits = [self._hit(searcher, docnum, terms) for docnum in top[start : start + per_page]]
        return SearchResults(hits=hits, total=len(candidates), page=page, per_page=per_page)

    def _matching_docs(
        self, searcher: Searcher, clauses: list[Query], allowed: set[int]
    ) -> set[int]:
        """Allowed documents matching every clause (a word or a phrase, in any searched field)."""
        reader = searcher.reader()
        matched = allowed
        for clause in sorted(clauses, key=lambda q: not isinstance(q, Or | Term)):
            if not matched:
                break
            docs: set[int] = set()
            for part in clause.subqueries if isinstance(clause, Or) else [clause]:
                if isinstance(part, Term):
                    docs |= self._term_docs(reader, part.fieldname, [part.text], cache=False)
                else:  # a phrase: positions are checked by Whoosh
                    docs.update(searcher.docs_for_query(part))
            matched = matched & docs
        return matched

    @staticmethod
    def _column_values(searcher: Searcher, field: str) -> Any:
        """A function from a global document number to its value in a column."""
        readers = [
            (offset, leaf.column_reader(field)) for leaf, offset in searcher.reader().leaf_readers()
        ]
        offsets = [offset for offset, _ in readers]

        def value(docnum: int) -> Any:
            offset, column = readers[bisect.bisect_right(offsets, docnum) - 1]
            return column[docnum - offset]

        return value

    def _text_query(
        self, text: str, fields: Sequence[str]
    ) -> tuple[Query, list[Query], frozenset[str], list[list[str]]]:
        """Build the Whoosh query from the reader's clauses.

        Returns the query of wanted words and phrases, its clauses, the terms to mark in
        snippets, and the analysed excluded clauses (applied as a set, see the module
        docstring).

        :raises SearchQueryError: nothing searchable is left after analysis.
        """
        wanted: list[Query] = []
        excluded: list[list[str]] = []
        terms: set[str] = set()
        analyzer = self._query_analyzer()
        for clause in parse_query_text(text):
            words = [token.text for token in analyzer(clause.text, mode="query")]
            if not words:
                continue
            if clause.negated:
                excluded.append(words)
                continue
            if len(words) == 1:
                parts: list[Query] = [Term(field, words[0]) for field in fields]
            else:
                parts = [Phrase(field, words) for field in fields]
            wanted.append(parts[0] if len(parts) == 1 else Or(parts))
            terms.update(words)
        if not wanted:
            raise SearchQueryError(MESSAGE_ONLY_EXCLUSIONS if excluded else MESSAGE_EMPTY)
        query: Query = wanted[0] if len(wanted) == 1 else And(wanted)
        return query, wanted, frozenset(terms), excluded

    def _excluded_docs(
        self, searcher: Searcher, excluded: list[list[str]], fields: Sequence[str]
    ) -> set[int]:
        """Documents holding any excluded word or phrase in the searched fields."""
        reader = searcher.reader()
        docs: set[int] = set()
        for words in excluded:
            for field in fields:
                if len(words) == 1:
                    docs |= self._term_docs(reader, field, words, cache=False)
                else:
                    docs.update(searcher.docs_for_query(Phrase(field, words)))
        return docs

    def _allowed_docs(self, searcher: Searcher, query: SearchQuery) -> set[int]:
        """Document numbers the reader may see that pass their filters, for this searcher.

        Visible rubriques first, minus hidden posts unless asked, then the reader's own
        filters. Cached for the searcher's index generation; never mutate the result.
        """
        reader = searcher.reader()
        if reader.doc_count_all() == 0:
            return set()
        generation = reader.generation()
        key = (
            generation,
            query.category_ids,
            query.include_hidden,
            query.category_id,
            query.theme_id,
            query.author_id,
            query.date_from,
            query.date_to,
            query.tag.lower() if query.tag else None,
        )
        with self._filter_lock:
            if generation != self._filter_generation:
                self._forget_old_segments(reader, generation)
            allowed = self._allowed.get(key)
            if allowed is not None:
                self._allowed.move_to_end(key)
                return allowed
            allowed = self._term_docs(reader, "category_id", query.category_ids)
            if not query.include_hidden:
                allowed -= self._term_docs(reader, "hidden", [True])
            for field, value in (
                ("category_id", query.category_id),
                ("theme_id", query.theme_id),
                ("author_id", query.author_id),
                ("tags", query.tag.lower() if query.tag else None),
            ):
                if value is not None:
                    allowed &= self._term_docs(reader, field, [value])
            start, end = day_bounds(query.date_from, query.date_to)
            if start is not None or end is not None:
                dates = DateRange("created", _naive_utc(start), _naive_utc(end), endexcl=True)
                allowed &= set(searcher.docs_for_query(dates))
            self._allowed[key] = allowed
            if len(self._allowed) > _ALLOWED_CACHE_SIZE:
                self._allowed.popitem(last=False)
            return allowed

    def _forget_old_segments(self, reader: IndexReader, generation: int) -> None:
        """On a new index generation, drop cached sets and segments that were merged away."""
        live = {leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()}
        self._segment_docs = {
            key: docs for key, docs in self._segment_docs.items() if key[0] in live
        }
        self._allowed.clear()
        self._filter_generation = generation

    def _term_docs(
        self, reader: IndexReader, field: str, values: Iterable[Any], *, cache: bool = True
    ) -> set[int]:
        """Global document numbers holding any of these exact values, cached per segment.

        Deleted documents may be included: the allow-set only restricts what the text query
        matches, and deleted documents never match. Words typed by readers are not cached
        (`cache=False`): their number is unbounded.
        """
        fieldobj = reader.schema[field]
        btexts = [fieldobj.to_bytes(value if field == "hidden" else str(value)) for value in values]
        docs: set[int] = set()
        for leaf, offset in reader.leaf_readers():
            segment_id = leaf.segment().segment_id()
            for btext in btexts:
                key = (segment_id, field, btext)
                local = self._segment_docs.get(key)
                if local is None:
                    local = array("I")
                    if (field, btext) in leaf:
                        local.extend(leaf.postings(field, btext).all_ids())
                    if cache:
                        self._segment_docs[key] = local
                docs.update(map(offset.__add__, local))
        return docs

    def _hit(self, searcher: Searcher, docnum: int, terms: frozenset[str]) -> SearchHit:
        """Escape and highlight the topic title and a body snippet of one result."""
        stored = searcher.stored_fields(docnum)
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
