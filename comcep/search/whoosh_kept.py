"""A big segment's common terms, their ids and weights written once as plain arrays.

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
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.reading import IndexReader

from comcep.search.whoosh_postings import leaf_postings

logger = logging.getLogger(__name__)

#: Segments of fewer documents are left to the blocks (a term decodes there in under 1 ms).
MIN_DOCS = 20_000
#: Terms of fewer postings in a segment are left to the blocks (a few blocks each).
MIN_POSTINGS = 1_024
#: The fields whose postings are read whole: the searched words, and the filters' values.
FIELDS = ("title", "body", "category_id", "theme_id", "hidden", "author_id", "tags")
SUFFIX = ".ids"
_MAGIC = b"COMCEP-KEPT-POSTINGS-1\n"
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


def path_for(index_dir: Path, leaf: IndexReader) -> Path:
    return index_dir / leaf.segment().make_filename(SUFFIX)


def lacks_file(index_dir: Path, segment: Any, min_docs: int = MIN_DOCS) -> bool:
    """Whether this segment (as the index's table of contents lists it) is big enough for
    a file and has none yet."""
    return (
        segment.doc_count_all() >= min_docs
        and not (index_dir / segment.make_filename(SUFFIX)).exists()
    )


def write(
    index_dir: Path,
    leaf: IndexReader,
    *,
    min_docs: int = MIN_DOCS,
    min_postings: int = MIN_POSTINGS,
) -> bool:
    """Write the segment's file if it is big enough and has none; whether one was written.

    Two writers may race: each writes its own temporary file and the first link wins."""
    if not lacks_file(index_dir, leaf.segment(), min_docs):
        return False
    final = path_for(index_dir, leaf)
    table: dict[str, dict[str, list[Any]]] = {}
    temporary = final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with temporary.open("wb") as out:
            out.write(_MAGIC)
            offset = len(_MAGIC)
            for field in FIELDS:
                if field not in leaf.schema:
                    continue
                for btext, info in leaf.iter_field(field):
                    if info.doc_frequency() < min_postings:
                        continue
                    ids, weights = leaf_postings(leaf, field, btext)[:2]
                    ids_code, id_bytes = _encode_ids(ids)
                    weights_code, weight_bytes = _encode_weights(weights)
                    terms = table.setdefault(field, {})
                    terms[btext.hex()] = [offset, len(ids), ids_code, weights_code]
                    out.write(id_bytes)
                    out.write(weight_bytes)
                    offset += len(id_bytes) + len(weight_bytes)
            head = json.dumps({"docs": leaf.doc_count_all(), "terms": table}).encode()
            out.write(head)
            out.write(_TRAILER.pack(len(head)))
            out.write(_MAGIC)
        os.link(temporary, final)
    except FileExistsError:
        return False  # another writer's file: the same arrays
    except OSError as error:  # a full disk, a segment merged away meanwhile: blocks it is
        logger.warning("Postings of segment %s not kept: %s", final.name, error)
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def write_all(index_dir: Path, leaves: Iterable[IndexReader], **limits: int) -> int:
    """Write the file of every big segment lacking one (after a commit); how many."""
    return sum(write(index_dir, leaf, **limits) for leaf in leaves)


class KeptPostings:
    """Reads terms from the segments' files; each file's table is read once per process."""

    def __init__(self, index_dir: Path, min_docs: int = MIN_DOCS) -> None:
        self.index_dir = index_dir
        self.min_docs = min_docs
        self._tables: dict[str, dict[str, dict[str, list[Any]]]] = {}  # by segment id

    def forget_except(self, live: set[str]) -> None:
        """Drop the tables of segments merged away."""
        self._tables = {key: table for key, table in self._tables.items() if key in live}

    def read(
        self, leaf: IndexReader, field: str, btext: bytes
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The term's ids and weights from the segment's file, or None: read the blocks."""
        if leaf.doc_count_all() < self.min_docs or field not in FIELDS:
            return None
        segment_id = leaf.segment().segment_id()
        path = path_for(self.index_dir, leaf)
        try:
            with path.open("rb") as kept:
                table = self._tables.get(segment_id)
                if table is None:
                    table = self._read_table(kept, leaf)
                    if table is None:
                        logger.warning("Unreadable kept postings %s: blocks are read", path.name)
                        return None
                    self._tables[segment_id] = table
                entry = table.get(field, {}).get(btext.hex())
                if entry is None:
                    return None
                offset, count, ids_code, weights_code = entry
                kept.seek(offset)
                data = kept.read(count * (2 if ids_code == _STEPS else 4))
                data += kept.read(count * (1 if weights_code == _SMALL else 4))
        except FileNotFoundError:
            return None  # not written (yet): a small segment's writer, or an older index
        except (OSError, ValueError, TypeError) as error:
            logger.warning("Kept postings %s not read: %s", path.name, error)
            return None
        arrays = _decode(data, count, ids_code, weights_code)
        if arrays is None or (count and int(arrays[0][-1]) >= leaf.doc_count_all()):
            logger.warning("Kept postings %s do not fit their segment", path.name)
            return None
        return arrays

    @staticmethod
    def _read_table(kept: Any, leaf: IndexReader) -> dict[str, dict[str, list[Any]]] | None:
        size = kept.seek(0, os.SEEK_END)
        end = _TRAILER.size + len(_MAGIC)
        if size < len(_MAGIC) + end:
            return None
        kept.seek(size - end)
        tail = kept.read(end)
        (length,) = _TRAILER.unpack_from(tail)
        kept.seek(0)
        if tail[_TRAILER.size :] != _MAGIC or kept.read(len(_MAGIC)) != _MAGIC:
            return None
        if length > size - len(_MAGIC) - end:
            return None
        kept.seek(size - end - length)
        head = json.loads(kept.read(length))
        if not isinstance(head, dict) or head.get("docs") != leaf.doc_count_all():
            return None
        terms = head.get("terms")
        return terms if isinstance(terms, dict) else None
