"""A big segment's common terms, their ids and weights written once as plain arrays, and
their best documents.

Decoding a term's postings from Whoosh's blocks (a zlib stream and a pickle per block of 128)
costs about 0.23 µs a posting: the first search of a word at a million posts (about 200,000
postings in the body field) spent some 40 ms there, most of its time. A segment never
changes, so after a commit the writer writes, next to each segment of at least
`MIN_DOCS` documents that has none, one file holding the ids and weights of its terms of
at least `MIN_POSTINGS` postings; a first search then reads a term with one `read` and
`np.frombuffer`. Smaller segments and rarer terms decode fast from the blocks, as before.

- The file is named after its segment (`<segment id>.ids`), so Whoosh deletes it with the
  segment when a merge or a rebuild drops it (`whoosh.index.clean_files`).
- It is written under a temporary name and linked into place, never replaced: a reader sees
  a whole file or none, and the table of terms it keeps in memory always describes the file
  it reads from.
- A file that is missing, of another format or another segment, cut short, or whose ids
  run past its segment's end is left aside, and the reader decodes the blocks: the file
  only ever saves time. (Like Whoosh's own files, it carries no checksum.)
- The arrays are what `leaf_postings` decodes (tests compare them for every term): ids as
  uint16 steps when every step fits, else uint32; weights as uint8 when every weight is a
  small whole number (term frequencies), else float32. About 3 bytes a posting.

A second file (`<segment id>.top`) keeps, for each term of at least `TOP_POSTINGS` postings in
the title or the body, its documents of highest BM25F score in the segment (`TOP_DOCS` at
most) and a floor that every other document of the segment holding the term scores no more
than, as scored with the segment's own statistics. Only BM25F's idf and average field length
differ from a search's, and they bound how far a score moves
(`whoosh_postings.QueryPostings.kept_best`): the first search of a common word then scores a
few thousand documents instead of every match. It is written, kept and distrusted as the
first file is; an index from before it gets it at its next commit.
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.reading import IndexReader
from whoosh.scoring import BM25FScorer
from whoosh.searching import Searcher

from comcep.search.whoosh_postings import (
    KeptTop,
    field_length_bytes,
    leaf_postings,
    term_scores,
)

logger = logging.getLogger(__name__)

#: Segments of fewer documents are left to the blocks (a term decodes there in under 1 ms).
MIN_DOCS = 20_000
#: Terms of fewer postings in a segment are left to the blocks (a few blocks each).
MIN_POSTINGS = 1_024
#: The fields whose postings are read whole: the searched words, and the filters' values.
FIELDS = ("title", "body", "category_id", "theme_id", "hidden", "author_id", "tags")
#: The fields whose terms get their best documents kept (the searched ones).
TOP_FIELDS = ("title", "body")
#: How many of a term's documents of highest score are kept, at most (fewer when several
#: tie for the last place: the floor is then their score, and none of them is kept).
TOP_DOCS = 1_024
#: Terms of fewer postings in a segment are scored whole (a few thousand documents). A
#: term's best documents take at most 4 bytes each of half its postings, its kept arrays
#: 3 bytes each of all: the file of best documents is at most two thirds of the other.
TOP_POSTINGS = 2 * TOP_DOCS
SUFFIX = ".ids"
TOP_SUFFIX = ".top"
_MAGIC = b"COMCEP-KEPT-POSTINGS-1\n"
_TOP_MAGIC = b"COMCEP-KEPT-TOPS-1\n"
_TRAILER = struct.Struct("<Q")  # the table's length, then the magic again, end the file
_STEPS, _IDS = "u2", "u4"  # ids as uint16 steps from the previous id, or as uint32
_SMALL, _FLOATS = "u1", "f4"  # weights as uint8 whole numbers, or as float32


def _encode_ids(ids: np.ndarray) -> tuple[str, bytes]:
    steps = np.diff(ids.astype(np.int64), prepend=0)
    if len(steps) and steps.min() >= 0 and steps.max() <= 0xFFFF:
        return _STEPS, steps.astype("<u2").tobytes()
    return _IDS, ids.astype("<u4").tobytes()


def _encode_weights(weights: np.ndarray) -> tuple[str, bytes]:
    if len(weights) and weights.min() >= 0 and weights.max() <= 0xFF:
        small = weights.astype(np.uint8)
        if np.array_equal(small, weights):
            return _SMALL, small.tobytes()
    return _FLOATS, weights.astype("<f4").tobytes()


def _decode(
    data: bytes, count: int, ids_code: str, weights_code: str
) -> tuple[np.ndarray, np.ndarray] | None:
    id_bytes = count * (2 if ids_code == _STEPS else 4)
    if ids_code not in (_STEPS, _IDS) or weights_code not in (_SMALL, _FLOATS):
        return None
    if len(data) != id_bytes + count * (1 if weights_code == _SMALL else 4):
        return None
    raw = np.frombuffer(data, dtype=f"<{ids_code}", count=count)
    ids = np.cumsum(raw, dtype=np.uintc) if ids_code == _STEPS else raw.astype(np.uintc)
    weights = np.frombuffer(data, dtype=f"<{weights_code}", offset=id_bytes).astype(np.float32)
    return ids, weights


def path_for(index_dir: Path, leaf: IndexReader, suffix: str = SUFFIX) -> Path:
    return index_dir / leaf.segment().make_filename(suffix)


def lacks_file(index_dir: Path, segment: Any, min_docs: int = MIN_DOCS) -> bool:
    """Whether this segment (as the index's table of contents lists it) is big enough for
    its files and lacks one of them."""
    return segment.doc_count_all() >= min_docs and any(
        not (index_dir / segment.make_filename(suffix)).exists() for suffix in (SUFFIX, TOP_SUFFIX)
    )


class _KeptFile:
    """One file being written under a temporary name: the magic, arrays, then their table,
    its length and the magic again; linked into place whole (`finish`)."""

    def __init__(self, final: Path, magic: bytes) -> None:
        self.final = final
        self.magic = magic
        self.temporary = final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        self.table: dict[str, dict[str, list[Any]]] = {}
        self._out = self.temporary.open("wb")
        self._out.write(magic)
        self._offset = len(magic)

    def add(self, field: str, btext: bytes, chunks: Iterable[bytes], entry: list[Any]) -> None:
        """One term's arrays, and its table entry: their offset, then `entry`."""
        self.table.setdefault(field, {})[btext.hex()] = [self._offset, *entry]
        for chunk in chunks:
            self._out.write(chunk)
            self._offset += len(chunk)

    def finish(self, docs: int) -> bool:
        """Link the file into place; False if another writer's is already there."""
        head = json.dumps({"docs": docs, "terms": self.table}).encode()
        self._out.write(head)
        self._out.write(_TRAILER.pack(len(head)))
        self._out.write(self.magic)
        self._out.close()
        try:
            os.link(self.temporary, self.final)
        except FileExistsError:
            return False  # another writer's file: the same arrays
        return True

    def drop(self) -> None:
        self._out.close()
        self.temporary.unlink(missing_ok=True)


def _best_documents(
    searcher: Searcher,
    lengths: np.ndarray,
    field: str,
    btext: bytes,
    ids: np.ndarray,
    weights: np.ndarray,
) -> tuple[np.ndarray, list[Any]] | None:
    """The term's documents of highest BM25F score in the segment (`searcher` reads it
    alone: its idf and average length are the segment's), and their table entry (count,
    floor, idf, average length, B, K1); None unless the weighting is BM25F."""
    scorer = searcher.weighting.scorer(searcher, field, searcher.schema[field].from_bytes(btext))
    if type(scorer) is not BM25FScorer:
        return None
    scores = term_scores(scorer, weights.astype(np.float64), lengths[ids])
    floor = 0.0
    if len(scores) > TOP_DOCS:  # the TOP_DOCS-th highest: whoever ties with it stays out
        floor = float(np.partition(scores, len(scores) - TOP_DOCS)[len(scores) - TOP_DOCS])
    top = ids[scores > floor]
    return top, [len(top), floor, scorer.idf, scorer.avgfl, scorer.B, scorer.K1]


def write(
    index_dir: Path,
    leaf: IndexReader,
    *,
    min_docs: int = MIN_DOCS,
    min_postings: int = MIN_POSTINGS,
) -> bool:
    """Write the segment's files it lacks if it is big enough; whether one was written.

    Two writers may race: each writes its own temporary files and the first link wins."""
    if leaf.doc_count_all() < min_docs:
        return False
    lacking = [
        (suffix, magic)
        for suffix, magic in ((SUFFIX, _MAGIC), (TOP_SUFFIX, _TOP_MAGIC))
        if not path_for(index_dir, leaf, suffix).exists()
    ]
    if not lacking:
        return False
    files: dict[str, _KeptFile] = {}
    written = False
    try:
        for suffix, magic in lacking:
            files[suffix] = _KeptFile(path_for(index_dir, leaf, suffix), magic)
        ids_file, top_file = files.get(SUFFIX), files.get(TOP_SUFFIX)
        searcher = Searcher(leaf, closereader=False)
        for field in FIELDS:
            tops = top_file is not None and field in TOP_FIELDS
            if field not in leaf.schema or not (ids_file or tops):
                continue
            least = min_postings if ids_file else max(min_postings, TOP_POSTINGS)
            lengths = field_length_bytes(leaf, field) if tops else None
            for btext, info in leaf.iter_field(field):
                if info.doc_frequency() < least:
                    continue
                ids, weights = leaf_postings(leaf, field, btext)[:2]
                if ids_file is not None:
                    ids_code, id_bytes = _encode_ids(ids)
                    weights_code, weight_bytes = _encode_weights(weights)
                    entry = [len(ids), ids_code, weights_code]
                    ids_file.add(field, btext, (id_bytes, weight_bytes), entry)
                if top_file is not None and lengths is not None and len(ids) >= TOP_POSTINGS:
                    best = _best_documents(searcher, lengths, field, btext, ids, weights)
                    if best is not None:
                        top_file.add(field, btext, (best[0].astype("<u4").tobytes(),), best[1])
        for kept in files.values():
            written = kept.finish(leaf.doc_count_all()) or written
    except OSError as error:  # a full disk, a segment merged away meanwhile: blocks it is
        logger.warning("Postings of segment %s not kept: %s", leaf.segment().segment_id(), error)
    finally:
        for kept in files.values():
            kept.drop()
    return written


def write_all(index_dir: Path, leaves: Iterable[IndexReader], **limits: int) -> int:
    """Write the files of every big segment lacking them (after a commit); for how many
    segments."""
    return sum(write(index_dir, leaf, **limits) for leaf in leaves)


def _ids_size(entry: list[Any]) -> int:
    _offset, count, ids_code, weights_code = entry
    return int(count) * ((2 if ids_code == _STEPS else 4) + (1 if weights_code == _SMALL else 4))


def _top_size(entry: list[Any]) -> int:
    _offset, count, _floor, _idf, _avgfl, _b, _k1 = entry
    return int(count) * 4


def _top_fits(ids: np.ndarray, docs: int, numbers: list[Any]) -> bool:
    """Ids ascending within the segment; floor, idf and average length positive numbers."""
    if not all(isinstance(number, int | float) and math.isfinite(number) for number in numbers):
        return False
    floor, idf, avgfl, _b, _k1 = numbers
    if floor < 0 or idf <= 0 or avgfl <= 0:
        return False
    return not len(ids) or (int(ids[-1]) < docs and bool(np.all(ids[1:] > ids[:-1])))


class KeptPostings:
    """Reads terms from the segments' files; each file's table is read once per process."""

    def __init__(self, index_dir: Path, min_docs: int = MIN_DOCS) -> None:
        self.index_dir = index_dir
        self.min_docs = min_docs
        #: By (segment id, suffix): each field's terms (hex) and their entries.
        self._tables: dict[tuple[str, str], dict[str, dict[str, list[Any]]]] = {}

    def forget_except(self, live: set[str]) -> None:
        """Drop the tables of segments merged away."""
        self._tables = {key: table for key, table in self._tables.items() if key[0] in live}

    def read(
        self, leaf: IndexReader, field: str, btext: bytes
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The term's ids and weights from the segment's file, or None: read the blocks."""
        if leaf.doc_count_all() < self.min_docs or field not in FIELDS:
            return None
        found = self._lookup(leaf, SUFFIX, _MAGIC, field, btext, _ids_size)
        if found is None:
            return None
        (_offset, count, ids_code, weights_code), data = found
        arrays = _decode(data, count, ids_code, weights_code)
        if arrays is None or (count and int(arrays[0][-1]) >= leaf.doc_count_all()):
            logger.warning(
                "Kept postings %s do not fit their segment", path_for(self.index_dir, leaf).name
            )
            return None
        return arrays

    def top(self, leaf: IndexReader, field: str, btext: bytes) -> KeptTop | None:
        """The term's best documents in the segment (ascending), the floor every other one
        holding it scores no more than, and the BM25F parameters (idf, average field length,
        B, K1) they were scored with; None: not kept, every match is scored."""
        if leaf.doc_count_all() < self.min_docs or field not in TOP_FIELDS:
            return None
        found = self._lookup(leaf, TOP_SUFFIX, _TOP_MAGIC, field, btext, _top_size)
        if found is None:
            return None
        (_offset, count, *numbers), data = found
        ids = np.frombuffer(data, dtype="<u4").astype(np.int64)
        if len(ids) != count or not _top_fits(ids, leaf.doc_count_all(), numbers):
            path = path_for(self.index_dir, leaf, TOP_SUFFIX)
            logger.warning("Kept best documents %s do not fit their segment", path.name)
            return None
        floor, idf, avgfl, b, k1 = (float(number) for number in numbers)
        return ids, floor, (idf, avgfl, b, k1)

    def _lookup(
        self,
        leaf: IndexReader,
        suffix: str,
        magic: bytes,
        field: str,
        btext: bytes,
        size: Callable[[list[Any]], int],
    ) -> tuple[list[Any], bytes] | None:
        """The term's entry in the segment's file and the `size(entry)` bytes at its offset;
        None if the file or the term is not there, or the file cannot be read (logged)."""
        path = path_for(self.index_dir, leaf, suffix)
        key = (leaf.segment().segment_id(), suffix)
        try:
            with path.open("rb") as kept:
                table = self._tables.get(key)
                if table is None:
                    table = self._read_table(kept, leaf, magic)
                    if table is None:
                        logger.warning("Unreadable kept postings %s: blocks are read", path.name)
                        return None
                    self._tables[key] = table
                entry = table.get(field, {}).get(btext.hex())
                if entry is None:
                    return None
                length = size(entry)
                kept.seek(entry[0])
                data = kept.read(length)
        except FileNotFoundError:
            return None  # not written (yet): a small segment's writer, or an older index
        except (OSError, ValueError, TypeError) as error:
            logger.warning("Kept postings %s not read: %s", path.name, error)
            return None
        return entry, data

    @staticmethod
    def _read_table(
        kept: Any, leaf: IndexReader, magic: bytes
    ) -> dict[str, dict[str, list[Any]]] | None:
        size = kept.seek(0, os.SEEK_END)
        end = _TRAILER.size + len(magic)
        if size < len(magic) + end:
            return None
        kept.seek(size - end)
        tail = kept.read(end)
        (length,) = _TRAILER.unpack_from(tail)
        kept.seek(0)
        if tail[_TRAILER.size :] != magic or kept.read(len(magic)) != magic:
            return None
        if length > size - len(magic) - end:
            return None
        kept.seek(size - end - length)
        head = json.loads(kept.read(length))
        if not isinstance(head, dict) or head.get("docs") != leaf.doc_count_all():
            return None
        terms = head.get("terms")
        return terms if isinstance(terms, dict) else None
