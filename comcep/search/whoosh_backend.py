"""The embedded search backend: a Whoosh index in a local directory, French-aware.

Several gunicorn processes (and threads) may share one index directory: writers take Whoosh's
file lock with retries, readers keep one searcher per thread and refresh it when another
process has committed. Reader queries are built here from `parse_query_text` clauses, never
by Whoosh's query parser, so field syntax, wildcards and ranges typed by a reader are plain
words.

Visibility and the other filters are an allow-set of document numbers (a boolean mask): a
document outside it is never matched, scored, highlighted or counted. The mask is built from
the filter terms' postings, cached per index segment (segments never change, so a commit only
costs reading its new small segment) and per filter combination for the current index
generation. The reader's words and phrases are matched against it by set algebra on posting
lists, and only the matches are scored (`whoosh_postings`): the total is exact and the order is
Whoosh's BM25F ranking of every match. What a search reads is kept for the index generation
(`IndexView`): each word's joined live postings, the masks of the posts holding a word, a
phrase or a clause, and for a common clause asked again, its score at every document number
(ranking it is then one gather). Just after a commit, those scores bound the clause's new ones
(`ScoreBound`): only the documents that may still reach the page are scored, and the order is
still that of every match scored. A word never searched yet is ranked the same way from the
best documents each big segment keeps of it on disk (`whoosh_kept`). Why not Whoosh's own
search, measured on 100,000 posts:

- `searcher.search(filter=<query>)` rebuilds the allow-set by walking the filter query for
  every search: about 0.6 s per query;
- the filter inside the query (`Require`, `AndNot`) is wrong in whoosh-reloaded 2.7.5:
  `RequireMatcher.skip_to_quality` trips an assertion, and `AndNotMatcher` never checks the
  first positive document of a segment against the excluded ones (`_find_first`), which let
  a document of a hidden rubrique into a count. Exclusions typed by the reader (`-mot`) are
  therefore subtracted from the allow-set too;
- a `TopCollector` "replaces" matchers on the fly and skips low-scoring blocks, which
  silently drops documents from its `total`; with the allow-set given to a `FilterCollector`
  it still walked every posting in Python: 90 ms for a common word, 400 ms for two, 800 ms
  for a phrase, against about 10, 12 and 27 ms with the first version of this module.

Tests compare totals and hits with a brute-force count, and the ranking with a full scoring
by Whoosh.
"""

from __future__ import annotations

import html
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.columns import VarBytesColumn
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.highlight import Formatter, get_text
from whoosh.query import And, DateRange, Or, Phrase, Query, Term
from whoosh.reading import EmptyReader, IndexReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length
from whoosh.writing import CLEAR

from comcep.search import whoosh_kept
from comcep.search.analyzer import FrenchAnalyzer, french_analyzer
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
from comcep.search.snippets import highlight_context, highlight_whole
from comcep.search.whoosh_postings import (
    ArrayCache,
    IndexView,
    KeptTop,
    Mask,
    QueryPostings,
    add_in_tree_order,
    best,
    keep_freed_memory,
    leaf_phrase_docs,
    leaf_positions,
    leaf_postings,
    newest,
    stored_length_bytes,
)

logger = logging.getLogger(__name__)


class _NotWritten(Exception):  # noqa: N818 - a signal, not an error
    """A segment's file of best documents is not there yet: nothing to cache."""


class SearchIndexError(RuntimeError):
    """The index was written but does not hold what it was given."""


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


def _doc_field_length(self: W3PerDocReader, docnum: int, fieldname: str, default: Any = 0) -> Any:
    """`W3PerDocReader.doc_field_length` on the segment's length bytes read once: writing a
    segment asks it once per posting (a seek and a one-byte read each, a quarter of a
    rebuild's time). Same results, including None for a document without the field."""
    if docnum > self._doccount:
        raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
    lengths = stored_length_bytes(self, fieldname)
    if lengths is None:
        return default
    length_byte = lengths[docnum] if docnum < len(lengths) else 0
    if length_byte:
        return byte_to_length(length_byte)
    return None


WHOOSH_DOC_FIELD_LENGTH = W3PerDocReader.doc_field_length  # the definition, for tests
W3PerDocReader._cached_reader = _cached_lengths_reader
W3PerDocReader.doc_field_length = _doc_field_length

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
#: Default budget of decoded postings and positions kept per process (see `_segment_arrays`):
#: 8 bytes a posting (id and weight) or a position (document and position).
POSTINGS_CACHE_BYTES = 64 * 1024 * 1024
#: Budget of the filters' per-segment parts (`_term_mask`), apart from the postings so that a
#: run of searches by author never evicts a word's postings: a byte a document, so 1 MB for
#: a segment of a million posts (the few sets of visible rubriques and hidden posts stay).
FILTER_CACHE_BYTES = 16 * 1024 * 1024


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


def _close_searchers(searchers: dict[int, Searcher]) -> None:
    """Close and forget every searcher of the dict (it stays the same dict)."""
    for searcher in list(searchers.values()):
        searcher.close()
    searchers.clear()


def _parts(clause: Query) -> list[tuple[str, list[str]]]:
    """A clause's (field, words) parts: a word or a phrase in each searched field."""
    parts = []
    for part in clause.subqueries if isinstance(clause, Or) else [clause]:
        if isinstance(part, Term):
            parts.append((part.fieldname, [part.text]))
        else:
            parts.append((part.fieldname, list(part.words)))
    return parts


def _naive_utc(value: datetime | None) -> datetime | None:
    """Whoosh's DATETIME only handles naive values; ours are always UTC."""
    return None if value is None else as_utc(value).replace(tzinfo=None)


def _reopened(ix: index.FileIndex, old: Searcher) -> Searcher:
    """A searcher of the index's latest generation that keeps `old`'s readers of the segments
    both generations hold; `old` must not be used afterwards (its other readers are closed).

    Opening a segment reads its term index's hash tables: about 3 ms at a million posts, for
    every search after each commit, although a commit only adds a small segment (and merges
    small ones). A segment's files never change; only its deletions do, and they live in
    the segment object of the new TOC, which the kept reader is given (its per-document
    reader reads them there). Not Whoosh's `reader(reuse=...)`: it adds the old generation's
    segments back to the new ones (see `WhooshBackend._searcher`)."""
    for attempt in range(10):  # a commit may remove the TOC just read, as `ix.reader` knows
        try:
            toc = ix._read_toc()
            break
        except OSError:
            if attempt == 9:
                raise
            time.sleep(0.05)
    kept = {
        leaf.segment().segment_id(): leaf
        for leaf, _offset in old.reader().leaf_readers()
        if isinstance(leaf, SegmentReader) and isinstance(leaf._perdoc, W3PerDocReader)
    }
    readers: list[IndexReader] = []
    try:
        for segment in toc.segments:
            leaf = kept.pop(segment.segment_id(), None)
            if leaf is None:
                leaf = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
            else:
                leaf._segment = leaf._perdoc._segment = segment  # its deletions now
                leaf.__dict__.pop("deleted_docs_set", None)  # Whoosh's cached set of them
                leaf._gen = toc.generation
            readers.append(leaf)
    except Exception:
        for leaf in chain(readers, kept.values()):
            leaf.close()
        raise
    for leaf in kept.values():  # merged away or emptied
        leaf.close()
    if not readers:
        reader: IndexReader = EmptyReader(toc.schema)
    elif len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, fromindex=ix)


class WhooshBackend:
    """`SearchBackend` on a Whoosh index stored in `index_dir` (created on first use)."""

    def __init__(
        self,
        index_dir: str | Path,
        *,
        lock_timeout: float = 10.0,
        lock_delay: float = 0.05,
        cache_bytes: int = POSTINGS_CACHE_BYTES,
        kept_min_docs: int = whoosh_kept.MIN_DOCS,
        kept_min_postings: int = whoosh_kept.MIN_POSTINGS,
    ) -> None:
        """`kept_min_docs`, `kept_min_postings`: which segments and terms get their postings
        written as plain arrays after a commit (`whoosh_kept`); tests lower them."""
        self.index_dir = Path(index_dir)
        self.cache_bytes = cache_bytes
        self._kept_limits = {"min_docs": kept_min_docs, "min_postings": kept_min_postings}
        self._kept = whoosh_kept.KeptPostings(self.index_dir, kept_min_docs)
        keep_freed_memory()
        self.lock_timeout = lock_timeout
        self.lock_delay = lock_delay
        self._schema = build_schema()  # its analyzer only runs under the write lock
        self._local = threading.local()  # per-thread query analyzer (see _query_analyzer)
        self._ix: index.Index | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._searchers: dict[int, Searcher] = {}
        # Searchers hold open files (segments are separate files, see `_writer`): a backend
        # dropped without `close()` (an app torn down) closes them when collected.
        self._finalizer = weakref.finalize(self, _close_searchers, self._searchers)
        self._filter_lock = threading.Lock()
        self._filter_generation: int | None = None
        self._segment_docs: dict[tuple[str, str, bytes], np.ndarray] = {}
        self._allowed: OrderedDict[tuple[Any, ...], Mask] = OrderedDict()
        self._segment_columns: dict[tuple[str, str], np.ndarray] = {}
        self._index_view: IndexView | None = None  # for `_filter_generation`
        self._earlier_view: IndexView | None = None  # the last one, until the next is built
        self._postings = ArrayCache(cache_bytes)
        self._filters = ArrayCache(FILTER_CACHE_BYTES)

    # -- index and searchers ------------------------------------------------------------

    def _index(self) -> index.Index:
        """Open (or create) the index once per process; a forked worker reopens its own."""
        ix, pid = self._ix, os.getpid()
        if ix is not None and self._pid == pid:
            return ix
        with self._lock:
            if self._ix is None or self._pid != pid:
                # Inherited from a parent process: not ours to close.
                self._finalizer.detach()
                self._searchers = {}
                self._finalizer = weakref.finalize(self, _close_searchers, self._searchers)
                self._ix = self._open_or_create()
                self._pid = pid
            return self._ix

    def _open_or_create(self) -> index.Index:
        """Open the index, or create it if no process has yet.

        Whoosh's `create_in` deletes every file of the index first: it must never run once
        another process has created it. Whether it exists is read from the directory (a TOC
        file is there from creation on: a commit writes its new TOC before removing the old
        one), not from `exists_in`, which is False for a moment when a commit removes the TOC
        it was reading.
        """
        self.index_dir.mkdir(parents=True, exist_ok=True)
        if not self._has_toc():
            storage = FileStorage(str(self.index_dir))
            creating = storage.lock(f"{INDEX_NAME}_CREATE")
            creating.acquire(blocking=True)
            try:  # another process may have created it while we waited
                if not self._has_toc():
                    logger.info("Creating search index %s in %s", INDEX_NAME, self.index_dir)
                    try:
                        return index.create_in(self.index_dir, self._schema, indexname=INDEX_NAME)
                    except (FileNotFoundError, index.EmptyIndexError):
                        pass  # created, then committed to by another process: open it
            finally:
                creating.release()
        return self._open_existing()

    def _has_toc(self) -> bool:
        prefix = f"_{INDEX_NAME}_"
        return any(
            name.startswith(prefix) and name.endswith(".toc") for name in os.listdir(self.index_dir)
        )

    def _open_existing(self, attempts: int = 20) -> index.Index:
        """`open_dir`, again when a concurrent commit removed the TOC it had just chosen."""
        for attempt in range(attempts - 1):
            try:
                return index.open_dir(self.index_dir, indexname=INDEX_NAME, schema=self._schema)
            except (FileNotFoundError, index.EmptyIndexError):
                time.sleep(0.01 * (attempt + 1))
        return index.open_dir(self.index_dir, indexname=INDEX_NAME, schema=self._schema)

    def _searcher(self) -> Searcher:
        """This thread's searcher, reopened if a writer (any process) committed since.

        Not `Searcher.refresh()`: in whoosh-reloaded 2.7.5 its reader reuse adds the old
        segments back to the new ones, so documents are counted twice after a merge; and it
        takes a segment's reader for the new generation's even when its deletions changed.
        `_reopened` keeps the readers of unchanged segments without either fault.
        """
        ix = self._index()
        key = threading.get_ident()
        searcher = self._searchers.get(key)
        if searcher is not None and not searcher.up_to_date():
            del self._searchers[key]  # closed, or kept in part by the new one
            searcher = self._searchers[key] = _reopened(ix, searcher)
        if searcher is None:
            searcher = self._searchers[key] = ix.searcher()
        return searcher

    def close(self) -> None:
        """Release open index files (tests, shutdown); the backend reopens them on demand."""
        with self._lock:
            _close_searchers(self._searchers)

    def _query_analyzer(self) -> FrenchAnalyzer:
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

        Segments are written as separate files (`compound=False`): whoosh-reloaded opens a
        file inside a compound segment by copying it into memory (`BufferFile` over a
        `BytesIO`), so every reader of a new generation, and every writer looking up the
        post it replaces, copied the whole index (1.4 s per reply at 1 M posts).

        :raises whoosh.index.LockError: the lock stayed taken; the outbox retries later.
        """
        return self._index().writer(
            timeout=self.lock_timeout, delay=self.lock_delay, compound=False
        )

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
        self._keep_postings()

    def rebuild(self, docs: Iterable[SearchDocument], procs: int = 1) -> int:
        """Replace the whole index with `docs` (one per post id, as `rebuild` streams them):
        writers that only add, and one commit. Per batch `upsert`s would look each id up to
        replace it and merge segments at every commit (about 300 posts/s; this is several
        times faster).

        With `procs` > 1, Whoosh's `MpWriter` analyses in that many processes while this
        one reads the database, and keeps one segment per process (merging them would cost
        what the processes saved); later commits merge as usual.

        :raises SearchIndexError: the index does not hold what was given (a sub-process of
            `MpWriter` lost its segment): `comcep search check` would say so too.
        """
        options: dict[str, Any] = {"limitmb": 256, "compound": False}  # see `_writer`
        if procs > 1:
            options.update(procs=procs, multisegment=True)
        writer = self._index().writer(timeout=self.lock_timeout, delay=self.lock_delay, **options)
        count = 0
        try:
            for doc in docs:
                writer.add_document(**self._fields(doc))
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        self._keep_postings()
        indexed = self._searcher().reader().doc_count()
        if indexed != count:
            raise SearchIndexError(
                f"L'index contient {indexed} messages au lieu de {count} : "
                "relancez « comcep search rebuild »."
            )
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
        self._keep_postings()

    def _keep_postings(self) -> None:
        """After a commit, write the files of every big segment lacking them (`whoosh_kept`:
        its common terms' arrays and best documents): once per segment, and again for none;
        a merge that made a big segment pays for them here, in the writer, instead of a
        reader's first search. Never fails the commit already made: without the files,
        searches read the blocks and score every match.

        The segments are first read from the index's table of contents (0.1 ms at 1 M
        posts): a searcher, which costs 4 ms to open there, is opened only when a file is
        missing, so a reply's commit does not pay for it."""
        try:
            if not any(
                whoosh_kept.lacks_file(self.index_dir, segment, self._kept_limits["min_docs"])
                for segment in self._index()._segments()
            ):
                return
            reader = self._searcher().reader()
            whoosh_kept.write_all(
                self.index_dir, (leaf for leaf, _ in reader.leaf_readers()), **self._kept_limits
            )
        except Exception:
            logger.exception("Kept postings not written: searches read the blocks")

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
        """Run a reader's query; filters restrict what is matched (see the module doc).

        The matches are set algebra on posting lists (allowed ∩ each clause's documents), so
        the total is exact; only the matches are ranked: by date from the `created` column,
        or by Whoosh's BM25F score of every match.
        """
        fields = ("title",) if query.titles_only else ("title", "body")
        _text_query, clauses, terms, excluded = self._text_query(query.text, fields)
        page = max(1, query.page)
        per_page = min(max(1, query.per_page), MAX_PER_PAGE)
        empty = SearchResults(hits=[], total=0, page=page, per_page=per_page)
        searcher = self._searcher()
        if not query.category_ids or searcher.reader().doc_count_all() == 0:
            return empty
        view = self._view(searcher.reader())
        postings = QueryPostings(
            searcher, view, self._segment_postings, self._segment_phrase, self._segment_top
        )
        allowed = self._allowed_docs(searcher, query)
        if excluded:
            allowed = allowed & ~self._excluded_docs(postings, excluded, fields)
        matched, parts = self._matching_docs(postings, clauses, allowed)
        total = int(np.count_nonzero(matched))
        if not total:
            return empty
        limit = page * per_page
        if query.sort == SORT_DATE:
            top = newest(np.flatnonzero(matched), view.created(searcher.reader()), limit)
        else:
            top = self._ranked(postings, parts, matched, limit)
        start = (page - 1) * per_page
        hits = [self._hit(searcher, docnum, terms) for docnum in top[start : start + per_page]]
        return SearchResults(hits=hits, total=total, page=page, per_page=per_page)

    @staticmethod
    def _matching_docs(
        postings: QueryPostings, clauses: list[Query], allowed: Mask
    ) -> tuple[Mask, list[list[tuple[str, list[str], Mask]]]]:
        """Allowed documents matching every clause (a word or a phrase, in any searched
        field), and for each clause its parts (field, words) with the documents holding each
        (all of them: the view keeps these masks, and the clause's, for its generation)."""
        matched = allowed
        parts: list[list[tuple[str, list[str], Mask]]] = []
        # Words before phrases, as the clauses have always been summed (see `_ranked`).
        for clause in sorted(clauses, key=lambda q: not isinstance(q, Or | Term)):
            spec = tuple((field, tuple(words)) for field, words in _parts(clause))
            parts.append(
                [(field, list(words), postings.holding(field, words)) for field, words in spec]
            )
            matched = matched & postings.holding_any(spec)
        return matched, parts

    @staticmethod
    def _ranked(
        postings: QueryPostings,
        parts: list[list[tuple[str, list[str], Mask]]],
        matched: Mask,
        limit: int,
    ) -> list[int]:
        """The `limit` best matches by Whoosh's score: per clause, the sum of its matching
        parts' scores (as Whoosh's Or), then the clauses' scores summed as Whoosh's And tree
        sums them; equal scores in document order, as Whoosh's TopCollector.

        A clause matching many documents picks its candidates' scores from its dense scores
        (`QueryPostings.dense`, kept for the index generation); a query whose clauses all
        have them is ranked from its best documents of the generation, if they hold the page
        (`QueryPostings.dense_best`); a single clause without them is ranked from its bound,
        if an earlier generation left one (`QueryPostings.bounded_best`); a query is ranked
        from the best documents the segments keep of its words, if they hold the page
        (`QueryPostings.kept_best`); the others score the documents that hold each part."""
        specs = [tuple((field, tuple(words)) for field, words, _ in p) for p in parts]
        dense_scores = [postings.dense(spec) for spec in specs]
        if len(specs) == 1 and dense_scores[0] is None:
            top = postings.bounded_best(specs[0], matched, limit)
            if top is not None:
                return top
        present = [dense for dense in dense_scores if dense is not None]
        if len(present) == len(specs):
            top = postings.dense_best(tuple(specs), present, matched, limit)
            if top is not None:
                return top
        top = postings.kept_best(tuple(specs), matched, limit)
        if top is not None:
            return top
        candidates = np.flatnonzero(matched)
        per_clause = []
        for clause_parts, dense in zip(parts, dense_scores, strict=True):
            if dense is not None:
                per_clause.append(dense[candidates])
                continue
            part_scores = []
            for field, words, found in clause_parts:
                docs, held = postings.scores(field, words, matched & found)
                if len(docs) == len(candidates):  # every candidate holds it
                    part_scores.append(held)
                    continue
                scores = np.zeros(len(candidates))  # x + 0.0 is exactly x
                scores[found[candidates]] = held
                part_scores.append(scores)
            # A word in the title and the body: two scores, added in either order alike.
            per_clause.append(add_in_tree_order(part_scores))
        return best(candidates, add_in_tree_order(per_clause), limit)

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

    @staticmethod
    def _excluded_docs(
        postings: QueryPostings, excluded: list[list[str]], fields: Sequence[str]
    ) -> Mask:
        """Documents holding any excluded word or phrase in the searched fields."""
        docs = np.zeros(postings.view.size, dtype=bool)
        for words in excluded:
            for field in fields:
                docs |= postings.holding(field, words)
        return docs

    def _allowed_docs(self, searcher: Searcher, query: SearchQuery) -> Mask:
        """Documents the reader may see that pass their filters, for this searcher.

        Visible rubriques first, minus hidden posts unless asked, then the reader's own
        filters. Cached for the searcher's index generation; never mutate the result.
        """
        reader = searcher.reader()
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
            allowed = self._term_mask(reader, "category_id", query.category_ids)
            if not query.include_hidden:
                allowed &= ~self._term_mask(reader, "hidden", [True])
            for field, value in (
                ("category_id", query.category_id),
                ("theme_id", query.theme_id),
                ("author_id", query.author_id),
                ("tags", query.tag.lower() if query.tag else None),
            ):
                if value is not None:
                    allowed &= self._term_mask(reader, field, [value])
            start, end = day_bounds(query.date_from, query.date_to)
            if start is not None or end is not None:
                dates = DateRange("created", _naive_utc(start), _naive_utc(end), endexcl=True)
                in_range = np.zeros_like(allowed)
                in_range[np.fromiter(searcher.docs_for_query(dates), dtype=np.int64)] = True
                allowed &= in_range
            self._allowed[key] = allowed
            if len(self._allowed) > _ALLOWED_CACHE_SIZE:
                self._allowed.popitem(last=False)
            return allowed

    def _segment_postings(
        self, leaf: IndexReader, field: str, btext: bytes
    ) -> tuple[np.ndarray, np.ndarray]:
        """A term's ids and weights in one segment (`leaf_postings`), cached."""
        return self._segment_arrays(  # type: ignore[return-value]
            leaf, ("postings", field, btext), lambda: self._read_postings(leaf, field, btext)
        )

    def _read_postings(
        self, leaf: IndexReader, field: str, btext: bytes
    ) -> tuple[np.ndarray, np.ndarray]:
        """A term's ids and weights in one segment: from the segment's kept arrays when it
        has them (`whoosh_kept`), else decoded from its blocks (`leaf_postings`)."""
        kept = self._kept.read(leaf, field, btext)
        return kept if kept is not None else leaf_postings(leaf, field, btext)[:2]

    def _segment_top(self, leaf: IndexReader, field: str, btext: bytes) -> KeptTop | None:
        """A term's best documents kept for one big segment (`whoosh_kept`), cached as its
        arrays are (none kept: two empty arrays). A segment whose file is not written yet (a
        merge another process committed a moment ago) caches nothing: asked again, its file
        is read once there."""
        if leaf.doc_count_all() < self._kept.min_docs or field not in whoosh_kept.TOP_FIELDS:
            return None

        def read() -> tuple[np.ndarray, np.ndarray]:
            if not whoosh_kept.path_for(self.index_dir, leaf, whoosh_kept.TOP_SUFFIX).exists():
                raise _NotWritten
            kept = self._kept.top(leaf, field, btext)
            if kept is None:
                return np.empty(0, np.int64), np.empty(0)
            top, floor, params = kept
            return top, np.array([floor, *params])

        try:
            top, numbers = self._segment_arrays(leaf, ("top", field, btext), read)
        except _NotWritten:
            return None
        if not len(numbers):
            return None
        floor, idf, avgfl, b, k1 = numbers.tolist()
        return top, floor, (idf, avgfl, b, k1)

    def _segment_positions(self, leaf: IndexReader, field: str, btext: bytes) -> np.ndarray:
        """A term's (document, position) keys in one segment (`leaf_positions`), cached."""
        return self._segment_arrays(
            leaf, ("positions", field, btext), lambda: (leaf_positions(leaf, field, btext),)
        )[0]

    def _segment_phrase(
        self, leaf: IndexReader, field: str, btexts: tuple[bytes, ...]
    ) -> np.ndarray:
        """The documents of one segment holding a phrase (`leaf_phrase_docs`), cached: a
        phrase of common words checks hundreds of thousands of positions at a million
        posts (about 10 ms), and a search is often run again, if only for its next page."""

        def read() -> tuple[np.ndarray]:
            keys = [self._segment_positions(leaf, field, btext) for btext in btexts]
            return (leaf_phrase_docs(keys),)

        return self._segment_arrays(leaf, ("phrase", field, btexts), read)[0]

    def _segment_arrays(
        self, leaf: IndexReader, what: tuple[Any, ...], read: Callable[[], tuple[np.ndarray, ...]]
    ) -> tuple[np.ndarray, ...]:
        """Arrays read from one segment (`read()`), kept in a bounded LRU cache under the
        segment and `what` (kind, field, term or phrase).

        Decoding a posting list costs about 0.7 µs per posting (30,000 for a common word
        at 100,000 posts), its positions more; segments never change, so a term read once
        is not decoded again while its segment lives. Deletions are applied by the reader,
        not cached.
        """
        return self._postings.get((leaf.segment().segment_id(), *what), read)

    def _view(self, reader: IndexReader) -> IndexView:
        """The per-document arrays of the reader's generation (built once per generation)."""
        generation = reader.generation()
        with self._filter_lock:
            if generation != self._filter_generation:
                self._forget_old_segments(reader, generation)
            if self._index_view is None:
                self._index_view = IndexView(
                    reader, self._segment_columns, self.cache_bytes, self._earlier_view
                )
                self._earlier_view = None
            return self._index_view

    def _forget_old_segments(self, reader: IndexReader, generation: int) -> None:
        """On a new index generation, drop cached sets and segments that were merged away."""
        live = {leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()}
        self._segment_docs = {
            key: docs for key, docs in self._segment_docs.items() if key[0] in live
        }
        self._kept.forget_except(live)
        self._segment_columns = {
            key: column for key, column in self._segment_columns.items() if key[0] in live
        }
        if self._index_view is not None:  # its lists and masks, for the next view to take
            self._index_view.forget_scores()
            self._earlier_view = self._index_view
        self._index_view = None
        self._allowed.clear()
        self._filter_generation = generation

    def _term_mask(self, reader: IndexReader, field: str, values: Iterable[Any]) -> Mask:
        """Documents holding any of these exact values (ids, flags): each segment's part is
        kept (a segment never changes), so a new index generation, after each new post, only
        builds the part of its new small segment and joins the others (at a million posts,
        setting every visible document anew took about 1.2 ms a filter).

        Deleted documents may be included: the allow-set only restricts what the text query
        matches, and deleted documents never match.
        """
        fieldobj = reader.schema[field]
        btexts = tuple(
            sorted(
                {fieldobj.to_bytes(value if field == "hidden" else str(value)) for value in values}
            )
        )
        parts = [
            self._filters.get(
                (leaf.segment().segment_id(), field, btexts),
                lambda leaf=leaf: (self._leaf_mask(leaf, field, btexts),),
            )[0]
            for leaf, _ in reader.leaf_readers()
        ]
        # A multi-segment reader numbers its segments' documents end to end (each offset is
        # the sum of the counts before it), so the parts joined in order are the whole.
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)

    def _leaf_mask(self, leaf: IndexReader, field: str, btexts: tuple[bytes, ...]) -> Mask:
        """One segment's documents holding any of these terms."""
        docs = np.zeros(leaf.doc_count_all(), dtype=bool)
        segment_id = leaf.segment().segment_id()
        for btext in btexts:
            key = (segment_id, field, btext)
            local = self._segment_docs.get(key)
            if local is None:
                local = np.empty(0, dtype=np.int64)
                if (field, btext) in leaf:
                    local = self._read_postings(leaf, field, btext)[0]
                self._segment_docs[key] = local
            docs[local] = True
        return docs

    def _hit(self, searcher: Searcher, docnum: int, terms: frozenset[str]) -> SearchHit:
        """Escape and highlight the topic title and a body snippet of one result."""
        stored = searcher.stored_fields(docnum)
        title = stored.get("topic_title", "")
        body = stored.get("body", "")
        analyzer = self._query_analyzer()
        formatter = _MarkFormatter()
        title_html = highlight_whole(title, terms, analyzer, formatter) or html.escape(title)
        snippet_html = highlight_context(
            body, terms, analyzer, formatter, _FRAGMENT_CHARS, _FRAGMENT_CONTEXT, top=2
        ) or _excerpt(body)
        return SearchHit(
            post_id=int(stored["post_id"]),
            topic_id=int(stored["topic_id"]),
            title_html=title_html,
            snippet_html=snippet_html,
        )
