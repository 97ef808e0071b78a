"""Matching and scoring on Whoosh posting lists read a block at a time, with numpy.

Whoosh's matchers walk postings one document at a time in Python: reading the ids of a common
word (30,000 postings at 100,000 posts) took about 40 ms, and ranking an AND of two common
words scored every shared document through a tree of matchers (about 400 ms). Here:

- a posting list is read from memory a block at a time, its delta-coded ids gathered and
  summed once with numpy, and kept per segment (segments never change);
- sets of documents are boolean masks over the index's document numbers;
- only the matching documents are scored, with the formula and parameters of Whoosh's own
  BM25F scorer, vectorised (each `+ - * /` of numpy's float64 is the correctly rounded IEEE
  operation Python's floats do, so the scores are bit for bit Whoosh's), and summed in the
  order Whoosh's matcher tree sums them. Tests compare the ranking with a full Whoosh scoring.

The block layout read here is whoosh-reloaded's W3 codec (`W3LeafMatcher`); postings of any
other kind (terms inlined in the term index, other codecs) go through the generic matcher API.
"""

from __future__ import annotations

import ctypes
import struct
import sys
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from io import BytesIO
from itertools import accumulate, chain, repeat
from pickle import load, loads
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader, _lenfield
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader
from whoosh.scoring import BM25FScorer
from whoosh.searching import Searcher
from whoosh.system import _INT_SIZE
from whoosh.util import make_binary_tree
from whoosh.util.numeric import byte_to_length

#: glibc's `mallopt` parameters (malloc.h) and the values `keep_freed_memory` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20  # glibc's largest (HEAP_MAX_SIZE / 2 on 64-bit)
_TRIM_THRESHOLD = 128 << 20
_malloc_tuned = False


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks of up to 32 MB in the heap instead of giving them back.

    A search at a million posts allocates and frees arrays of 1 to 10 MB (masks, candidates,
    scores). glibc gives such blocks back to the system when freed (`mmap` above its
    threshold, heap trimming above 128 kB), so the next search takes a page fault for every
    4 kB of them again: a one-word search took 30 ms instead of 11. The peak memory does not
    change; the process keeps it instead of faulting it back in (tests/search read this with
    `mallinfo2`). Once per process; a no-op elsewhere than glibc. Returns whether it applied.
    """
    global _malloc_tuned  # noqa: PLW0603 - a process-wide setting, made once
    if _malloc_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    applied = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1
    applied = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and applied
    _malloc_tuned = applied
    return applied


#: Field length byte (as Whoosh stores it) → the length Whoosh scores with.
_LENGTHS = np.array([byte_to_length(byte) or 0 for byte in range(256)], dtype=np.float64)

Mask = np.ndarray  # bool, one entry per document number of a reader
Docs = np.ndarray  # int64 document numbers, ascending


#: Where a block's pickled (ids, weights, values) tuple starts its values (protocol 2 pickles
#: each encoded position list as `_codecs.encode(text, "latin1")`).
_VALUES_START = b"(c_codecs\nencode\n"
_TUPLE2_STOP = b"\x86."
_INFLATE_STEP = 2048  # ids and weights of a 128-posting block: about 1.5 kB
_READ_CHUNK = 1 << 20  # bytes of postings read at a time (`_term_blocks`)
_BLOCK_LENGTH = struct.Struct("!i")  # Whoosh's `write_int`


def _block_ids_weights(data: bytes, compressed: bool) -> tuple[Any, Any]:
    """A block's delta-coded ids and its weights, without its values, from the block's data
    (after its info tuple).

    A block is one pickled, compressed tuple (ids, weights, values); its values (a bytes
    object of positions per posting, three quarters of the block) made most of the cost of
    reading a word's documents for the first time. The block is inflated only until its
    values start, and the pickle is cut there and closed as a pair; anything unexpected (no
    values, another layout, lengths that disagree) reads the whole block.
    """
    inflate = zlib.decompressobj() if compressed else None
    head = inflate.decompress(data, _INFLATE_STEP) if inflate else data
    cut = head.find(_VALUES_START)
    while cut < 0 and inflate and inflate.unconsumed_tail:
        head += inflate.decompress(inflate.unconsumed_tail, _INFLATE_STEP)
        cut = head.find(_VALUES_START, max(0, len(head) - _INFLATE_STEP - len(_VALUES_START)))
    if cut > 0:
        try:
            ids, weights = loads(head[:cut] + _TUPLE2_STOP)  # noqa: S301 - the index's own bytes
        except Exception:  # noqa: BLE001, S110 - not the expected layout: read it all
            pass
        else:
            if weights is None or isinstance(weights, float) or len(weights) == len(ids):
                return ids, weights
    if inflate:
        head += inflate.decompress(inflate.unconsumed_tail) + inflate.flush()
    whole = loads(head)  # noqa: S301 - the index's own bytes
    return whole[0], whole[1]


def _term_blocks(matcher: W3LeafMatcher) -> Iterator[tuple[Any, Any, int]]:
    """Each block of the matcher's term: its delta-coded ids, its weights and its last id.

    A term's blocks follow each other in the postings file (W3's `_goto` follows them by
    their lengths), so they are read a megabyte at a time and cut apart in memory: reading
    each block's length, info tuple and data through the file object was a third of the
    cost of a word's first search. The layout is the one `W3LeafMatcher._goto` reads: a
    signed big-endian length (negative for the last block), the pickled info tuple (count,
    last id, max weight, compression, min and max length bytes), then the data."""
    postfile = matcher._postfile
    position = matcher._baseoffset
    buffer, start = b"", position  # file bytes from `start`

    def have(count: int) -> int:
        """Make `buffer` hold `count` bytes from `position`; their offset in it."""
        nonlocal buffer, start
        offset = position - start
        if offset + count > len(buffer):
            tail = buffer[offset:]
            more = postfile.get(position + len(tail), max(_READ_CHUNK, count - len(tail)))
            buffer, start, offset = tail + more, position, 0
            if len(buffer) < count:
                raise ValueError("postings cut short")
        return offset

    while True:
        offset = have(_INT_SIZE)
        (length,) = _BLOCK_LENGTH.unpack_from(buffer, offset)
        offset = have(_INT_SIZE + abs(length))
        block = BytesIO(buffer[offset + _INT_SIZE : offset + _INT_SIZE + abs(length)])
        info = load(block)  # noqa: S301 - the index's own bytes
        ids, weights = _block_ids_weights(block.read(), bool(info[3]))
        yield ids, weights, info[1]
        if length < 0:
            return
        position += _INT_SIZE + length


def leaf_postings(
    leaf: IndexReader, field: str, btext: bytes, *, values: bool = False
) -> tuple[np.ndarray, np.ndarray, list[bytes] | None]:
    """One term's postings in one segment: local ids (uint32, ascending, deleted documents
    included), weights (float32, as Whoosh stores them) and, when asked, the encoded values
    (positions)."""
    matcher = leaf.postings(field, btext)
    if isinstance(matcher, FilterMatcher):  # the segment's deletions: applied by the caller
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids and not values:
        return _w3_ids_weights(matcher)
    ids: array[int] = array("I")
    weights: array[float] = array("f")
    encoded: list[bytes] | None = [] if values else None
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        while True:
            if matcher._data is None:
                matcher._read_data()
            raw_ids, raw_weights = matcher._data[0], matcher._data[1]
            ids.extend(accumulate(raw_ids))
            _extend_weights(weights, raw_weights, len(raw_ids))
            matcher._read_values()
            encoded.extend(matcher._values)
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            if encoded is not None:
                encoded.append(matcher.value())
            matcher.next()
    return np.frombuffer(ids, dtype=np.uintc), np.frombuffer(weights, dtype=np.float32), encoded


def _extend_weights(weights: array[float], raw: Any, count: int) -> None:
    """A block's weights as W3 minifies them: None (all 1.0), one float (all the same), or
    one per posting."""
    if raw is None:
        weights.extend(repeat(1.0, count))
    elif isinstance(raw, float):
        weights.extend(repeat(raw, count))
    else:
        weights.extend(raw)


def _w3_ids_weights(matcher: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray, None]:
    """A W3 term's ids and weights, block by block (`_term_blocks`). The deltas of every
    block go into one array as they are (a C loop per block); each block's first delta is
    its first id, so it is made relative to the previous block's last id, and one cumulative
    sum gives every id."""
    deltas: array[int] = array("I")
    weights: array[float] = array("f")
    starts: list[int] = []
    lasts: list[int] = []
    for raw_ids, raw_weights, last in _term_blocks(matcher):
        starts.append(len(deltas))
        lasts.append(last)
        deltas.extend(raw_ids)
        _extend_weights(weights, raw_weights, len(raw_ids))
    steps = np.frombuffer(deltas, dtype=np.uintc).astype(np.int64)
    if len(starts) > 1:
        steps[np.array(starts[1:], dtype=np.int64)] -= np.array(lasts[:-1], dtype=np.int64)
    ids = np.cumsum(steps).astype(np.uintc)
    return ids, np.frombuffer(weights, dtype=np.float32), None


def leaf_positions(leaf: IndexReader, field: str, btext: bytes) -> np.ndarray:
    """Every (local document, position) of one term in one segment as one int64 key each,
    `document << POSITION_BITS | position`, ascending (deleted documents included)."""
    ids, _weights, values = leaf_postings(leaf, field, btext, values=True)
    values = values or []
    format_ = leaf.schema[field].format
    if type(format_) is Positions and not any(value.endswith(b".") for value in values):
        # Each value is a pickled list of position deltas without its STOP opcode (see
        # `Positions.encode`): between a MARK and a LIST opcode they unpickle in one call.
        stream = b"(" + b"".join(value[_INT_SIZE:] for value in values) + b"l."
        per_doc = loads(stream)  # noqa: S301 - the index's own bytes
        deltas = True
    else:
        per_doc = [list(format_.decode_positions(value)) for value in values]
        deltas = False
    counts = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    flat = np.fromiter(chain.from_iterable(per_doc), dtype=np.int64, count=int(counts.sum()))
    if deltas:  # running sums restarted at each document
        running = np.cumsum(flat)
        before = np.concatenate(([0], running))[np.cumsum(counts) - counts]
        flat = running - np.repeat(before, counts)
    return (np.repeat(ids.astype(np.int64), counts) << POSITION_BITS) | flat


def leaf_phrase_docs(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Local documents (int64, ascending, deleted ones included) where the words whose
    (document, position) keys in one segment are `keys` (`leaf_positions`, in the phrase's
    order) stand adjacent, in order.

    The phrase starts at key k when k + i is a key of its i-th word for every i. Its rarest
    word anchors the candidates; each other word, rarest first, keeps the candidates it
    completes, looked up in its whole list (no per-word document mask or filtered copy)."""
    by_rarity = sorted(range(len(keys)), key=lambda i: len(keys[i]))
    anchor = by_rarity[0]
    found = keys[anchor]
    starts = found[(found & POSITION_MASK) >= anchor] - anchor
    for i in by_rarity[1:]:
        starts = _present(keys[i], starts + i) - i
    return np.unique(starts >> POSITION_BITS)


SegmentArrays = Callable[[IndexReader, str, bytes], tuple[np.ndarray, np.ndarray]]
SegmentPhrase = Callable[[IndexReader, str, tuple[bytes, ...]], np.ndarray]
#: A term's best documents kept for one segment (`whoosh_kept.KeptPostings.top`): their
#: numbers in the segment, ascending; a floor that every other document of the segment holding
#: the term scores no more than; BM25F's (idf, average field length, B, K1) they were scored with.
KeptTop = tuple[np.ndarray, float, tuple[float, float, float, float]]
SegmentTop = Callable[[IndexReader, str, bytes], "KeptTop | None"]

#: Positions are below 2 ** POSITION_BITS in any document: (document, position) is one key.
POSITION_BITS = 32
POSITION_MASK = (1 << POSITION_BITS) - 1

#: Default bound of an index view's caches: lists and masks (`cached`), dense scores (`dense`).
TERMS_CACHE_BYTES = 64 << 20

#: Clauses matching at least one document in DENSE_SHARE get dense scores (`QueryPostings.dense`).
DENSE_SHARE = 8

#: How many keys an index view counts the asks of (`IndexView.ask`).
ASKED_LIMIT = 10_000

#: Kinds of arrays a view takes over from the generation before (`IndexView._take_over`).
CARRIED = frozenset({"term", "mask", "phrase"})

#: About how many documents of highest score a `ScoreBound` keeps.
BOUND_DOCS = 4096

#: How much wider than exact a `ScoreBound`'s factors are taken: far more than the rounding
#: of the few float operations of a score (about 1e-16 each).
BOUND_MARGIN = 1e-9

#: `QueryPostings.kept_best` scores a segment's documents holding a word whose best documents
#: it has not kept only when they are fewer than this.
KEPT_CANDIDATES = 16_384

#: How many queries' best documents an index view keeps (`IndexView.top`), about 64 kB each.
TOPS_KEPT = 64

#: Per (field, word) of a clause: BM25F's (idf, average field length, B, K1) in a generation.
Params = dict[tuple[str, str], tuple[float, float, float, float]]

#: Documents by descending score then ascending number, their scores, and a floor that every
#: other document scores less than (`ScoreBound.top`).
Top = tuple[np.ndarray, np.ndarray, float]


class ScoreBound:
    """A clause's scores in an earlier generation, as bounds on its scores in this one.

    A commit changes neither the term frequencies nor the field lengths of the documents a
    generation shares with the one before; only BM25F's idf (per word) and average field
    length (per field) move. A part's score, idf × tf(K1+1) / (tf + K1(1−B) + K1·B·L/avgfl),
    is then multiplied by idf'/idf times a factor between 1 and avgfl'/avgfl, whatever tf
    and L; a clause's score, a sum of such parts, by a factor between the lowest and the
    highest of its parts' (`QueryPostings.factors`). The documents of highest earlier score
    are therefore the only ones that can reach the top now, apart from the documents added
    since (`QueryPostings.bounded_best`).

    Kept: the earlier dense scores until `top` is first asked, then only the documents
    whose earlier score reached a floor, by descending score; every other shared document
    scored less than `floor` (0.0: they all scored 0, so none of them holds the clause).
    """

    def __init__(
        self,
        scores: np.ndarray | None,
        docs: int,
        params: Params,
        top: tuple[np.ndarray, np.ndarray, float] | None = None,
    ) -> None:
        """`scores`: the dense scores of the generation `params` describe; `docs`: the
        documents this generation shares with it (the first ones)."""
        self.docs = docs
        self.params = params
        self._scores = scores
        self._top = top
        self.asked = False

    def top(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(documents, their earlier scores, floor), by descending score then ascending
        document: every other shared document scored less than the floor."""
        top = self._top
        if top is None:
            dense = self._scores
            if dense is None:  # made by another thread meanwhile (`_top` is set first)
                top = self._top
                assert top is not None
                return top
            scores = dense[: self.docs]
            positive = int(np.count_nonzero(scores))
            floor = 0.0
            if positive > BOUND_DOCS:
                floor = float(_limit_th_score(scores, BOUND_DOCS))
            docs = np.flatnonzero(scores >= floor) if floor else np.flatnonzero(scores)
            values = scores[docs]
            order = np.lexsort((docs, -values))
            top = self._top = (docs[order], values[order], floor)
            self._scores = None  # a few thousand entries kept instead of the dense array
        return top

    def within(self, docs: int) -> ScoreBound:
        """This bound for a generation that shares the first `docs` documents with this
        one's (the others are new, or were renumbered by a merge)."""
        docs = min(docs, self.docs)
        scores = self._scores  # read first: `top` sets `_top` before it drops `_scores`
        if scores is not None:
            return ScoreBound(scores, docs, self.params)
        top_docs, top_scores, floor = self.top()
        kept = top_docs < docs
        return ScoreBound(None, docs, self.params, (top_docs[kept], top_scores[kept], floor))


class ArrayCache:
    """Tuples of arrays kept under keys, least recently used first out, within a bound on
    their bytes (a single entry may exceed it), shared by threads: the arrays are made
    read-only when kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0  # bytes held
        self._lock = threading.Lock()
        self._entries: OrderedDict[Any, tuple[np.ndarray, ...]] = OrderedDict()

    def __iter__(self) -> Iterator[Any]:
        """The keys, least recently used first."""
        with self._lock:
            return iter(list(self._entries))

    def peek(self, key: Any) -> tuple[np.ndarray, ...] | None:
        """The arrays kept under `key` (now the most recently used), or None."""
        with self._lock:
            arrays = self._entries.get(key)
            if arrays is not None:
                self._entries.move_to_end(key)
            return arrays

    def get(
        self, key: Any, compute: Callable[[], tuple[np.ndarray, ...]]
    ) -> tuple[np.ndarray, ...]:
        """The arrays kept under `key`, else `compute()`'s, kept (computed outside the lock:
        two threads may both compute them, and the first kept wins)."""
        arrays = self.peek(key)
        if arrays is not None:
            return arrays
        arrays = compute()
        for shared in arrays:  # read by every thread: never written
            shared.flags.writeable = False
        with self._lock:
            if key not in self._entries:
                self._entries[key] = arrays
                self.size += sum(array.nbytes for array in arrays)
            while self.size > self.limit and len(self._entries) > 1:
                evicted = self._entries.popitem(last=False)[1]
                self.size -= sum(array.nbytes for array in evicted)
        return arrays

    def take(self, wanted: Callable[[Any], bool]) -> list[tuple[Any, tuple[np.ndarray, ...]]]:
        """Remove the entries whose keys are `wanted`, and return them, least recently used
        first."""
        with self._lock:
            taken = [(key, arrays) for key, arrays in self._entries.items() if wanted(key)]
            for key, arrays in taken:
                del self._entries[key]
                self.size -= sum(array.nbytes for array in arrays)
            return taken

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0


class IndexView:
    """Per-document arrays of one index generation: which documents are live, field lengths
    and the creation dates, each joined from per-segment arrays (kept by the backend in
    `segment_cache`, since a segment's columns never change).

    It holds no reader: each search reads what is missing through its own thread's reader
    of the same generation (Whoosh's readers are not shared between threads).
    """

    def __init__(
        self,
        reader: IndexReader,
        segment_cache: dict[tuple[str, str], Any],
        cache_bytes: int = TERMS_CACHE_BYTES,
        earlier: IndexView | None = None,
    ) -> None:
        """`earlier`: the view of the generation before, whose lists and masks this one
        takes over (`earlier_arrays`)."""
        self.generation = reader.generation()
        self.size = reader.doc_count_all()
        #: The segments, in order, as (segment id, documents with the deleted ones).
        self.layout = [
            (leaf.segment().segment_id(), leaf.doc_count_all()) for leaf, _ in reader.leaf_readers()
        ]
        #: The leading segments this generation shares with `earlier`, their documents, and
        #: those of them deleted since `earlier` (ascending).
        self.shared_segments = 0
        self.shared_docs = 0
        self.deleted_since: Docs = np.empty(0, np.int64)
        self._earlier: OrderedDict[Any, tuple[np.ndarray, ...]] = OrderedDict()
        self._earlier_size = 0
        self._segment_cache = segment_cache
        self._lock = threading.Lock()
        self._columns: dict[str, np.ndarray] = {}
        # Half for the lists a search reads (LRU), half for dense scores (admitted by asks).
        self._terms = ArrayCache(cache_bytes // 2)
        self._dense_limit = cache_bytes // 2
        self._dense: dict[tuple[Any, ...], np.ndarray] = {}
        self._dense_size = 0
        self._asks: dict[tuple[Any, ...], int] = {}
        #: Per dense key: BM25F's parameters its dense scores were built with.
        self._dense_params: dict[tuple[Any, ...], Params] = {}
        #: Per dense key: bounds from an earlier generation's dense scores (`ScoreBound`).
        self._bounds: dict[tuple[Any, ...], ScoreBound] = {}
        #: Per query of dense clauses: its best documents in this generation (`top`).
        self._tops: OrderedDict[tuple[Any, ...], Top] = OrderedDict()
        live = np.ones(self.size, dtype=bool)
        deleted = []
        for leaf, offset in reader.leaf_readers():
            if leaf.has_deletions():
                numbers = np.fromiter(leaf.deleted_docs_set, dtype=np.int64) + offset
                live[numbers] = False
                deleted.append(numbers)
        self.live: Mask = live
        self._deleted_parts = deleted
        self._deleted_count = sum(len(part) for part in deleted)
        self._deleted: Docs | None = None  # sorted when first needed (`without_deleted`)
        if earlier is not None:
            self._take_over(earlier)

    def _take_over(self, earlier: IndexView) -> None:
        """Take the earlier generation's lists and masks, if it shares leading segments.

        A commit adds a small segment (and may merge the small ones after the large): the
        leading segments keep their document numbers, and only their deletions may have
        grown. A word's list and mask then follow from the earlier ones, minus the documents
        deleted since, plus the new segments' part: at a million posts, building a common
        word's list and mask again from every segment cost about 2 ms for each of the
        title and the body, at the first search after every new post. Scores are not taken
        over: BM25F's idf and average length change with every commit."""
        for mine, theirs in zip(self.layout, earlier.layout, strict=False):
            if mine != theirs:
                break
            self.shared_segments += 1
            self.shared_docs += mine[1]
        if not self.shared_segments:
            return
        shared = self.shared_docs
        self.deleted_since = np.flatnonzero(earlier.live[:shared] & ~self.live[:shared])
        for key, arrays in earlier._terms.take(lambda key: key[0] in CARRIED):
            self._earlier[key] = arrays
            self._earlier_size += sum(array.nbytes for array in arrays)
        with earlier._lock:
            bounds = list(earlier._bounds.items())
        self._bounds = {key: bound.within(shared) for key, bound in bounds}

    def forget_scores(self) -> None:
        """Drop the dense scores (a generation gone: they cannot be taken over, and the
        lists it keeps for the next view should not come with up to half the cache). Each
        becomes a bound for the next generation (`ScoreBound`), as do the bounds asked in
        this one; the others go."""
        with self._lock:
            bounds = {key: bound for key, bound in self._bounds.items() if bound.asked}
            for key, array in self._dense.items():
                params = self._dense_params.get(key)
                if params is not None:
                    bounds[key] = ScoreBound(array, self.size, params)
            self._bounds = bounds
            self._tops.clear()
            self._dense.clear()
            self._dense_params.clear()
            self._dense_size = 0

    def top(self, key: tuple[Any, ...], build: Callable[[], Top]) -> Top:
        """The best documents of the query under `key` in this generation, built once (the
        TOPS_KEPT last asked are kept)."""
        with self._lock:
            kept = self._tops.get(key)
            if kept is not None:
                self._tops.move_to_end(key)
                return kept
        top = build()
        with self._lock:
            self._tops[key] = top
            while len(self._tops) > TOPS_KEPT:
                self._tops.popitem(last=False)
        return top

    def bound(self, key: tuple[Any, ...]) -> ScoreBound | None:
        """The bound on the scores of the clause under `key` (marked asked), if any."""
        with self._lock:
            bound = self._bounds.get(key)
        if bound is not None:
            bound.asked = True
        return bound

    def keep_params(self, key: tuple[Any, ...], params: Params) -> None:
        """Record the parameters the dense scores under `key` were built with."""
        with self._lock:
            if key in self._dense:
                self._dense_params[key] = params

    def earlier_arrays(self, key: tuple[Any, ...]) -> tuple[np.ndarray, ...] | None:
        """The earlier generation's arrays under `key` (a list or a mask, of the documents
        it had), given once: what is made of them is kept under `key` by `cached`."""
        with self._lock:
            arrays = self._earlier.pop(key, None)
            if arrays is not None:
                self._earlier_size -= sum(array.nbytes for array in arrays)
            return arrays

    def without_deleted(
        self, docs: Docs, values: np.ndarray, since_earlier: bool = False
    ) -> tuple[Docs, np.ndarray]:
        """`docs` (ascending) and their `values` without the deleted documents, or only
        without those deleted since the earlier generation. A post indexed again leaves a
        deleted document behind: a few of them are each looked for in the list (a binary
        search, and a copy only if one is there), instead of reading every entry's liveness
        (a pass over 300,000 entries for a common word at a million posts); many are not."""
        count = len(self.deleted_since) if since_earlier else self._deleted_count
        if not count or not len(docs):
            return docs, values
        if count * 10 >= len(docs):
            live = self.live[docs]
            return docs[live], values[live]
        gone = self.deleted_since if since_earlier else self._sorted_deleted()
        at = np.minimum(np.searchsorted(docs, gone), len(docs) - 1)
        at = at[docs[at] == gone]
        if not len(at):
            return docs, values
        return _without_entries(docs, at), _without_entries(values, at)

    def _sorted_deleted(self) -> Docs:
        deleted = self._deleted
        if deleted is None:  # two threads may both sort: the same array
            deleted = self._deleted = np.sort(np.concatenate(self._deleted_parts))
        return deleted

    def lengths(self, reader: IndexReader, field: str) -> np.ndarray:
        """Field length bytes (uint8) of every document; 0 where the field is empty."""
        return self._column(reader, f"len:{field}", lambda leaf: field_length_bytes(leaf, field))

    def created(self, reader: IndexReader) -> np.ndarray:
        """The sortable `created` value (int64) of every document."""
        return self._column(reader, "created", _created_values)

    def ask(self, key: tuple[Any, ...]) -> int:
        """Count one more ask for `key` in this generation; return how many there were."""
        with self._lock:
            if key not in self._asks and len(self._asks) >= ASKED_LIMIT:
                self._asks.clear()  # a flood of distinct queries: start counting again
            asks = self._asks[key] = self._asks.get(key, 0) + 1
            return asks

    def dense(
        self, key: tuple[Any, ...], nbytes: int, build: Callable[[], np.ndarray] | None = None
    ) -> np.ndarray | None:
        """The dense scores kept under `key`; else, given `build`, new ones if the view
        admits them (kept, and returned), or None.

        Dense scores get half of the cache, apart from the lists a search reads, so that a
        flood of rare words never evicts them. An array is admitted beside the others, or in
        place of arrays asked fewer times in this generation (then dropped), never of arrays
        asked as often: words searched in turn, each as often, keep the arrays they have
        instead of evicting each other's and rebuilding them at a loss."""
        with self._lock:
            kept = self._dense.get(key)
            if kept is not None or build is None:
                return kept
            asks = self._asks.get(key, 0)
            others = sorted(
                (self._asks.get(other, 0), array.nbytes, other)
                for other, array in self._dense.items()
            )
            used, dropped = self._dense_size, []
            for other_asks, size, other in others:  # the least asked first
                if used + nbytes <= self._dense_limit or other_asks >= asks:
                    break
                dropped.append(other)
                used -= size
            if used + nbytes > self._dense_limit:
                return None
            for other in dropped:
                self._dense_size -= self._dense.pop(other).nbytes
        array = build()
        array.flags.writeable = False  # read by every thread
        with self._lock:
            if key not in self._dense and self._dense_size + array.nbytes <= self._dense_limit:
                self._dense[key] = array  # (unless another thread's took the room meanwhile)
                self._dense_size += array.nbytes
        return array

    def cached(
        self, key: tuple[Any, ...], compute: Callable[[], tuple[np.ndarray, ...]]
    ) -> tuple[np.ndarray, ...]:
        """Arrays of this generation computed once (`compute()`) and kept under `key`, in an
        LRU cache bounded by bytes (half the view's): a term's joined live postings and
        weights, the masks of the documents holding a word, a phrase, a clause.

        A common word's postings at a million posts are 300,000 entries in each segment's
        arrays; joining them and dropping deleted documents again for every search cost
        about 1 ms a word and field, and its mask as much. They only change when the
        generation does, and then a new view is built.
        """
        arrays = self._terms.get(key, compute)
        if self._earlier:  # the earlier arrays not taken yet give way to this generation's
            with self._lock:
                while self._earlier and self._terms.size + self._earlier_size > self._terms.limit:
                    dropped = self._earlier.popitem(last=False)[1]
                    self._earlier_size -= sum(array.nbytes for array in dropped)
        return arrays

    def _column(
        self, reader: IndexReader, name: str, read: Callable[[IndexReader], np.ndarray]
    ) -> np.ndarray:
        assert reader.generation() == self.generation, "a reader of another generation"
        with self._lock:
            joined = self._columns.get(name)
            if joined is None:
                parts = []
                for leaf, _offset in reader.leaf_readers():
                    key = (leaf.segment().segment_id(), name)
                    part = self._segment_cache.get(key)
                    if part is None:
                        part = self._segment_cache[key] = read(leaf)
                    parts.append(part)
                joined = self._columns[name] = np.concatenate(parts) if parts else np.empty(0)
            return joined


def field_length_bytes(leaf: IndexReader, field: str) -> np.ndarray:
    lengths = np.zeros(leaf.doc_count_all(), dtype=np.uint8)
    raw = stored_length_bytes(leaf._perdoc, field)
    if raw is not None:
        lengths[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)[: len(lengths)]
    return lengths


def stored_length_bytes(perdoc: W3PerDocReader, field: str) -> bytes | None:
    """A segment's field lengths as Whoosh stores them, one byte per document (None: the
    field has no lengths), read in one piece once per reader: Whoosh reads the byte of one
    document at a time, a seek and a read each."""
    cache = perdoc.__dict__.setdefault("_comcep_length_bytes", {})
    if field not in cache:
        column = perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if column is None:
            cache[field] = None
        elif getattr(column, "_typecode", None) == "B" and hasattr(column, "_dbfile"):
            cache[field] = bytes(column._dbfile.get(column._basepos, column._count))
        else:
            cache[field] = bytes(column.load())
    return cache[field]


def _created_values(leaf: IndexReader) -> np.ndarray:
    doccount = leaf.doc_count_all()
    if not leaf.has_column("created"):
        return np.zeros(doccount, dtype=np.int64)
    column = leaf.column_reader("created", translate=False)
    return np.fromiter((column[docnum] for docnum in range(doccount)), np.int64, doccount)


class QueryPostings:
    """The postings one search reads, each read once, as global document numbers."""

    def __init__(
        self,
        searcher: Searcher,
        view: IndexView,
        segment_postings: SegmentArrays,
        segment_phrase: SegmentPhrase,
        segment_top: SegmentTop | None = None,
    ) -> None:
        """`segment_postings(leaf, field, btext)`: a term's arrays in one segment, as
        `leaf_postings` reads them; `segment_phrase(leaf, field, btexts)`: the documents of
        one segment holding a phrase, as `leaf_phrase_docs` finds them; `segment_top(leaf,
        field, btext)`: a term's best documents kept for one segment, if any (the backend
        caches all three)."""
        self.searcher = searcher
        self.reader = searcher.reader()
        self.view = view
        self._leaves = list(self.reader.leaf_readers())
        self._segment_postings = segment_postings
        self._segment_phrase = segment_phrase
        self._segment_top = segment_top
        self._terms: dict[tuple[str, str], tuple[Docs, np.ndarray]] = {}
        self._scorers: dict[tuple[str, str], Any] = {}

    def scorer(self, field: str, word: str) -> Any:
        """Whoosh's scorer of the word in the field for this generation (once a search)."""
        key = (field, word)
        scorer = self._scorers.get(key)
        if scorer is None:
            scorer = self._scorers[key] = self.searcher.weighting.scorer(self.searcher, field, word)
        return scorer

    def term(self, field: str, word: str) -> tuple[Docs, np.ndarray]:
        """Live documents holding the word in the field, and its weight in each."""
        key = (field, word)
        if key not in self._terms:  # once a search, even if the view's cache evicts it
            self._terms[key] = self.view.cached(  # type: ignore[assignment]
                ("term", field, word), lambda: self._live(field, word)
            )
        return self._terms[key]

    def dense(self, parts: tuple[tuple[str, tuple[str, ...]], ...]) -> np.ndarray | None:
        """A clause's score at every document number: the sum of its (field, words) parts'
        scores as Whoosh's matcher tree adds them, a part being a word or a phrase (its
        words' scores, where the phrase stands), 0.0 where a part does not match (and x + 0.0
        is exactly x). None when the parts match fewer than 1 document in DENSE_SHARE.

        A ranking then picks its candidates' scores in one gather: a word searched in the
        titles and the bodies is one array, instead of lists of scores placed among the
        candidates and added (at a million posts, about 0.6 ms per list and 0.2 per sum).
        The array weighs 8 bytes a document, at most 4 times its parts' sparse lists: it is
        built for a clause asked again in the generation, if the view admits it
        (`IndexView.dense`)."""
        if len(parts) > 2:
            raise ValueError("a clause has one part per field searched: title and body")
        key = ("dense", parts)
        asks = self.view.ask(key)
        kept = self.view.dense(key, 8 * self.view.size)
        if kept is not None:  # without touching the sparse lists: the cache may let them go
            return kept
        if asks < 2:
            # Building costs more than one sparse ranking (about 2 ms more for a common word
            # at a million posts): only a clause asked again in this generation gets one.
            return None
        matches = sum(
            len(self.term(field, words[0])[0])
            if len(words) == 1
            else int(np.count_nonzero(self.phrase(field, words)))
            for field, words in parts
        )
        if matches * DENSE_SHARE < self.view.size:
            return None

        def build() -> np.ndarray:
            sparse = [
                self.scores(field, words, self.holding(field, words)) for field, words in parts
            ]
            # At most two parts (one per field searched), added in one array as Whoosh's
            # tree adds two: a + b where both hold, a + 0.0 or 0.0 + b elsewhere.
            dense = np.zeros(self.view.size)
            for number, (docs, scores) in enumerate(sparse):
                if number:
                    dense[docs] += scores
                else:
                    dense[docs] = scores
            return dense

        dense = self.view.dense(key, 8 * self.view.size, build)
        if dense is not None:
            params = self.params(parts)
            if params is not None:
                self.view.keep_params(key, params)
        return dense

    def params(self, parts: tuple[tuple[str, tuple[str, ...]], ...]) -> Params | None:
        """BM25F's parameters of each (field, word) of the parts that any document holds
        (the others score nothing), or None when the weighting is not BM25F."""
        params: Params = {}
        for field, words in parts:
            for word in words:
                if (field, self.reader.schema[field].to_bytes(word)) not in self.reader:
                    continue
                scorer = self.scorer(field, word)
                if type(scorer) is not BM25FScorer:
                    return None
                params[(field, word)] = (scorer.idf, scorer.avgfl, scorer.B, scorer.K1)
        return params

    def factors(self, bound: ScoreBound) -> tuple[float, float] | None:
        """The lowest and highest factors between a clause's earlier scores (`bound`) and
        its scores now, widened by BOUND_MARGIN; None if they cannot be told."""
        low = high = 1.0
        for (field, word), params in bound.params.items():
            if (field, self.reader.schema[field].to_bytes(word)) not in self.reader:
                continue  # no document holds it now: it scores nothing, then as now
            factors = _factor_range(self.scorer(field, word), params)
            if factors is None:
                return None
            low, high = min(low, factors[0]), max(high, factors[1])
        return low * (1 - BOUND_MARGIN), high * (1 + BOUND_MARGIN)

    def dense_best(
        self,
        specs: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...],
        dense: Sequence[np.ndarray],
        matched: Mask,
        limit: int,
    ) -> list[int] | None:
        """The `limit` matched documents of highest score, as `best` ranks them, from the
        query's best documents in this generation (`IndexView.top`), when every clause has
        dense scores and the query was asked with them before; None otherwise, or when too
        few of those documents are matched (a hors pair's rubrique, a filter): then every
        match is scored.

        Ranking a common word from its dense scores still went through all its matches (at
        a million posts, 300 000 of them: 1.5 ms a search). The query's summed scores,
        where every clause holds, are ranked once per generation; every other document
        scores less than their floor, so a page whose `limit` documents are among them is
        theirs, in their order."""
        key = ("top", specs)
        if self.view.ask(key) < 2:
            # Ranking them costs two to five rankings of every match (3 ms for a common
            # word at a million posts, 8 for two): only a query asked again with its dense
            # scores gets them, as a clause gets dense scores (`dense`).
            return None

        def build() -> Top:
            total = dense[0] if len(dense) == 1 else add_in_tree_order(list(dense))
            if len(specs) > 1:  # the documents holding every clause (one: a positive score)
                held = self.holding_any(specs[0])
                for spec in specs[1:]:
                    held = held & self.holding_any(spec)
                total = np.where(held, total, 0.0)
            return ScoreBound(total, len(total), {}).top()

        docs, _scores, floor = self.view.top(key, build)
        if not floor > 0:
            return None  # every positive score is among them, or scores may be negative
        chosen = docs[matched[docs]]
        if len(chosen) < limit:
            return None
        return chosen[:limit].tolist()

    def bounded_best(
        self, parts: tuple[tuple[str, tuple[str, ...]], ...], matched: Mask, limit: int
    ) -> list[int] | None:
        """The `limit` matched documents of highest clause score, as `best` ranks them, from
        the documents of highest earlier score and those added since only (`ScoreBound`);
        None when no bound settles it: then every match is scored.

        Just after a new post, a common word's scores cannot be kept (its idf and the
        average length moved), and scoring its 300,000 matches at a million posts cost
        about 5 ms. With T the `limit`-th highest earlier score among the matches times the
        lowest factor, at least `limit` matches score T or more now; a shared document whose
        earlier score times the highest factor is below T scores less, and cannot be among
        them. The others (a few, and the documents added since) are scored exactly."""
        bound = self.view.bound(("dense", parts))
        if bound is None:
            return None
        factors = self.factors(bound)
        if factors is None:
            return None
        low, high = factors
        top_docs, top_scores, floor = bound.top()
        held = matched[top_docs]
        scores_held = top_scores[held]
        if len(scores_held) < limit:
            return None  # too few of them match (a hors pair's rubrique): score all
        threshold = scores_held[limit - 1] * low
        cut = threshold / high
        if cut < floor:
            return None  # documents below the floor might reach the top
        reach = int(np.searchsorted(-top_scores, -cut, side="right"))
        shared = bound.docs
        added = np.flatnonzero(matched[shared:]) + shared
        if len(added) > BOUND_DOCS:
            return None  # a merge renumbered many documents: score all
        kept = top_docs[:reach][held[:reach]]
        docs = np.sort(np.concatenate((kept, added)))
        return best(docs, self.scores_at(parts, docs), limit)

    def kept_best(
        self,
        specs: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...],
        matched: Mask,
        limit: int,
    ) -> list[int] | None:
        """The `limit` matched documents of highest score, as `best` ranks them, from the
        best documents each segment keeps of each word (`whoosh_kept`); None when no segment
        keeps any, when too few of them are matched, or when their floors do not settle the
        page: then every match is scored.

        The first search of a common word scored all its matches (300,000 at a million
        posts: 4 ms of scoring and ranking). A segment keeps a word's documents of highest
        score under its own statistics; every other document of the segment holding the
        word scored at most a floor then, and at most the floor times the highest factor
        (`ScoreBound`) now. A document kept by no segment for any of the query's words
        therefore scores at most the sum of those bounds in its segment; if the `limit`-th
        highest score among the kept documents, scored exactly, is above that sum in every
        segment, the page is among them. A segment keeping nothing for a word adds all its
        documents holding it (a small segment, a rarer word)."""
        if self._segment_top is None:
            return None
        candidates: list[Docs] = []
        bounds = np.zeros(len(self._leaves))
        kept_any = False
        for parts in specs:
            for field, words in parts:
                for word in words:  # a word twice in a query adds its score twice
                    btext = self.reader.schema[field].to_bytes(word)
                    for number, (leaf, offset) in enumerate(self._leaves):
                        if (field, btext) not in leaf:
                            continue  # it scores nothing there
                        kept = self._segment_top(leaf, field, btext)
                        if kept is None:
                            docs = self.term(field, word)[0]
                            start, end = np.searchsorted(
                                docs, (offset, offset + leaf.doc_count_all())
                            )
                            if end - start > KEPT_CANDIDATES:
                                return None
                            candidates.append(docs[start:end])
                            continue
                        top, floor, params = kept
                        factors = _factor_range(self.scorer(field, word), params)
                        if factors is None:
                            return None
                        kept_any = True
                        bounds[number] += floor * factors[1] * (1 + BOUND_MARGIN)
                        candidates.append(top + offset)
        if not kept_any:
            return None  # every match would be a candidate: the usual scoring is quicker
        docs = np.concatenate(candidates)
        docs = docs[matched[docs]]
        docs.sort()  # then each once: a few thousand, where np.unique hashes them first
        docs = docs[np.concatenate(([True], docs[1:] != docs[:-1]))] if len(docs) else docs
        if len(docs) < limit:
            return None  # too few of them match (a hors pair's rubrique, a filter)
        scores = add_in_tree_order([self.scores_at(parts, docs) for parts in specs])
        threshold = scores.min() if len(scores) == limit else _limit_th_score(scores, limit)
        if not threshold > bounds.max():
            return None  # a document kept by no segment might reach the page
        return best(docs, scores, limit)

    def scores_at(self, parts: tuple[tuple[str, tuple[str, ...]], ...], docs: Docs) -> np.ndarray:
        """The clause's score of each of `docs` (ascending, each matching the clause): the
        floats `_ranked` gives them when it scores every match (`scores`), from binary
        searches in the words' lists instead of a pass over them."""
        part_scores = []
        for field, words in parts:
            within = docs[self.holding(field, words)[docs]]
            scores = np.zeros(len(docs))  # x + 0.0 is exactly x
            if len(within):
                length_bytes = self.view.lengths(self.reader, field)[within]
                per_word = []
                for word in words:
                    term_docs, term_weights = self.term(field, word)
                    tf = term_weights[np.searchsorted(term_docs, within)].astype(np.float64)
                    per_word.append(term_scores(self.scorer(field, word), tf, length_bytes))
                held = add_in_tree_order(per_word)
                if len(within) == len(docs):
                    scores = held
                else:
                    scores[np.searchsorted(docs, within)] = held
            part_scores.append(scores)
        return add_in_tree_order(part_scores)

    def _live(self, field: str, word: str) -> tuple[Docs, np.ndarray]:
        """The term's live documents and weights, from its segments' postings (from the
        earlier generation's list for the segments it shares with this one)."""
        earlier = self.view.earlier_arrays(("term", field, word))
        start = 0 if earlier is None else self.view.shared_segments
        all_docs, all_weights = self._joined(field, word, self._segment_postings, start)
        docs, weights = self.view.without_deleted(all_docs, all_weights)
        if earlier is None:
            return docs, weights
        # The earlier list, cut where the shared segments end, minus the few documents
        # deleted since.
        cut = int(np.searchsorted(earlier[0], self.view.shared_docs))
        kept_docs, kept_weights = self.view.without_deleted(
            earlier[0][:cut], earlier[1][:cut], since_earlier=True
        )
        if not len(docs):
            return kept_docs, kept_weights
        return np.concatenate((kept_docs, docs)), np.concatenate((kept_weights, weights))

    def _joined(
        self, field: str, word: str, read: SegmentArrays, start: int = 0
    ) -> tuple[Docs, np.ndarray]:
        """A term's per-segment arrays (`read`) joined, ids made global document numbers,
        from the `start`-th segment on."""
        btext = self.reader.schema[field].to_bytes(word)
        arrays = [
            (read(leaf, field, btext), offset)
            for leaf, offset in self._leaves[start:]
            if (field, btext) in leaf
        ]
        if not arrays:
            return np.empty(0, np.int64), np.empty(0)
        # Written once into their place: joining the parts after making them global copied
        # a common word's 300,000 ids twice.
        size = sum(len(leaf_docs) for (leaf_docs, _), _ in arrays)
        docs = np.empty(size, np.int64)
        values = np.empty(size, np.result_type(*(leaf_values for (_, leaf_values), _ in arrays)))
        end = 0
        for (leaf_docs, leaf_values), offset in arrays:
            begin, end = end, end + len(leaf_docs)
            np.add(leaf_docs, offset, out=docs[begin:end], dtype=np.int64)
            values[begin:end] = leaf_values
        return docs, values

    def mask(self, field: str, word: str) -> Mask:
        """The live documents holding the word in the field (shared: never write it)."""

        def build() -> tuple[Mask]:
            found, start = self._earlier_mask(("mask", field, word))
            docs = self.term(field, word)[0]
            found[docs[np.searchsorted(docs, start) :]] = True
            return (found,)

        return self.view.cached(("mask", field, word), build)[0]

    def _earlier_mask(self, key: tuple[Any, ...]) -> tuple[Mask, int]:
        """A new mask holding the earlier generation's under `key` for the documents of the
        segments both share, minus those deleted since; and the first document left to
        mark (0 without an earlier mask)."""
        found = np.zeros(self.view.size, dtype=bool)
        earlier = self.view.earlier_arrays(key)
        if earlier is None:
            return found, 0
        shared = self.view.shared_docs
        np.logical_and(earlier[0][:shared], self.view.live[:shared], out=found[:shared])
        return found, shared

    def holding(self, field: str, words: Sequence[str]) -> Mask:
        """The live documents holding the word, or the phrase (adjacent, in order; shared:
        never write it)."""
        return self.mask(field, words[0]) if len(words) == 1 else self.phrase(field, words)

    def holding_any(self, parts: tuple[tuple[str, tuple[str, ...]], ...]) -> Mask:
        """The live documents holding any of these (field, words) parts: a clause's word in
        the title or the body (shared: never write it; kept by the view)."""
        if len(parts) == 1:
            return self.holding(*parts[0])

        def build() -> tuple[Mask]:
            found = np.zeros(self.view.size, dtype=bool)
            for field, words in parts:
                found |= self.holding(field, words)
            return (found,)

        return self.view.cached(("any", parts), build)[0]

    def phrase(self, field: str, words: Sequence[str]) -> Mask:
        """The live documents holding the phrase in the field (shared: never write it).

        Its documents are found per segment, in all of it: segments never change, so the
        backend keeps them, as it keeps posting lists, and a new generation only looks for
        the phrase in its new segments; the view keeps the joined mask for its generation."""
        btexts = tuple(self.reader.schema[field].to_bytes(word) for word in words)

        def build() -> tuple[Mask]:
            found, start = self._earlier_mask(("phrase", field, btexts))
            for leaf, offset in self._leaves:
                if offset >= start and all((field, btext) in leaf for btext in btexts):
                    found[self._segment_phrase(leaf, field, btexts) + offset] = True
            return (found & self.view.live,)

        return self.view.cached(("phrase", field, btexts), build)[0]

    def scores(self, field: str, words: Sequence[str], where: Mask) -> tuple[Docs, np.ndarray]:
        """The documents of `where`, ascending (each holds the word or phrase), and Whoosh's
        score of it in each. A term's documents ascend, so its weights for those documents
        are the ones its documents pick in `where`: one lookup per entry instead of a binary
        search per document. Only they are scored: a hors pair sees a few of a word's."""
        docs, per_word = None, []
        for word in words:
            term_docs, term_weights = self.term(field, word)
            picked = where[term_docs]
            if docs is None:
                docs = term_docs[picked]
                length_bytes = self.view.lengths(self.reader, field)[docs]
            if not len(docs):  # nothing to score (Whoosh's scorer refuses an absent term)
                return docs, np.empty(0)
            tf = term_weights[picked].astype(np.float64)
            per_word.append(term_scores(self.scorer(field, word), tf, length_bytes))
        return docs, add_in_tree_order(per_word)


#: Up to this many entries are dropped from a list by copying the slices between them.
_FEW_ENTRIES = 64


def _without_entries(array: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`array` without its entries at the ascending positions `at`. A few are dropped by
    copying the slices between them once: `np.delete` builds a mask of every entry first,
    and took 1 ms to drop a deleted post from a common word's 300,000 ids."""
    if len(at) > _FEW_ENTRIES:
        return np.delete(array, at)
    cuts = at.tolist()
    starts, ends = [0, *(cut + 1 for cut in cuts)], [*cuts, len(array)]
    return np.concatenate([array[a:b] for a, b in zip(starts, ends, strict=True)])


def _factor_range(
    scorer: Any, params: tuple[float, float, float, float]
) -> tuple[float, float] | None:
    """The lowest and highest factors between a word's scores under BM25F's `params` (idf,
    average field length, B, K1) and under `scorer`, whatever the term frequency and field
    length (see `ScoreBound`); None if they cannot be told."""
    idf, avgfl, b, k1 = params
    if type(scorer) is not BM25FScorer or (b, k1) != (scorer.B, scorer.K1):
        return None
    if not (idf > 0 and avgfl > 0 and scorer.idf > 0 and scorer.avgfl > 0):
        return None
    if not (0 <= b <= 1 and k1 >= 0):  # else tf + K1(1−B) may not be positive
        return None
    idf_factor, length_factor = scorer.idf / idf, scorer.avgfl / avgfl
    return idf_factor * min(1.0, length_factor), idf_factor * max(1.0, length_factor)


def term_scores(scorer: Any, tf: np.ndarray, length_bytes: np.ndarray) -> np.ndarray:
    """`scorer._score(weight, length)` for each pair; BM25F's formula vectorised as written in
    `whoosh.scoring.bm25` (same operations in the same order: the same floats). Its length
    part takes one of 256 values (a length is stored as a byte): it is computed for each of
    them, then picked per document, instead of four operations over every match (0.6 ms
    for a common word at 1 M posts)."""
    if type(scorer) is BM25FScorer:
        idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1  # noqa: N806
        by_length = K1 * ((1 - B) + B * _LENGTHS / avgfl)
        return idf * ((tf * (K1 + 1)) / (tf + by_length[length_bytes]))
    scores = map(scorer._score, tf.tolist(), _LENGTHS[length_bytes].tolist())
    return np.fromiter(scores, dtype=np.float64, count=len(tf))


def _present(sorted_keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The wanted keys (ascending, distinct) that are in `sorted_keys` (ascending,
    distinct), ascending. A few keys among many: a binary search each. As many as a tenth
    of them: one stable sort of both, which merges the two runs in one pass, then equal
    neighbours (binary searches miss the processor's cache at every step: 10 ms for 300,000
    keys in 350,000, against 3)."""
    if not len(sorted_keys) or not len(wanted):
        return wanted[:0]
    if len(wanted) * 10 >= len(sorted_keys):
        merged = np.concatenate((sorted_keys, wanted))
        merged.sort(kind="stable")
        return merged[:-1][merged[1:] == merged[:-1]]
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return wanted[sorted_keys[at] == wanted]


def add_in_tree_order(scores: Sequence[np.ndarray]) -> np.ndarray:
    """Element-wise sum of score arrays, as a balanced tree of Whoosh's binary matchers sums
    their children's scores (float addition is not associative: the order is kept)."""
    return make_binary_tree(np.add, list(scores))


#: `best` guesses a floor for the top scores from every SAMPLE_STEP-th score.
SAMPLE_STEP = 64


def best(docs: Docs, scores: np.ndarray, limit: int) -> list[int]:
    """The `limit` documents of highest score, equal scores in document order (Whoosh's
    TopCollector order)."""
    if len(docs) > limit:
        threshold = _limit_th_score(scores, limit)
        kept = scores >= threshold  # everything tied with the last place competes for it
        docs, scores = docs[kept], scores[kept]
    order = np.lexsort((docs, -scores))[:limit]
    return docs[order].tolist()


def _limit_th_score(scores: np.ndarray, limit: int) -> float:
    """The `limit`-th highest score (0 < limit < len(scores)).

    Partitioning every score cost 2.3 ms for the 322 000 matches of a common word at 1 M
    posts. A floor is guessed first: the score that only about 2 × `limit` scores should
    reach, judged from every SAMPLE_STEP-th one. If at least `limit` scores reach it, the
    `limit`-th highest is one of them, and only they are partitioned (0.1 ms); if fewer do
    (the best scores sat on the sampled places), every score is, as before: exact either way.
    """
    count = len(scores)
    sample = scores[::SAMPLE_STEP]
    rank = -(-2 * limit // SAMPLE_STEP) + 1  # the sample's rank-th highest is the floor
    if len(sample) > rank:
        floor = np.partition(sample, len(sample) - rank)[len(sample) - rank]
        above = scores[scores >= floor]
        if len(above) >= limit:
            scores, count = above, len(above)
    return np.partition(scores, count - limit)[count - limit]


def newest(docs: Docs, created: np.ndarray, limit: int) -> list[int]:
    """The `limit` most recent documents, newest first (equal dates: higher number first)."""
    order = np.lexsort((docs, created[docs]))[::-1][:limit]
    return docs[order].tolist()
