"""Kept postings (`whoosh_kept`): a big segment's common terms written once as plain arrays,
read in place of Whoosh's blocks, and never trusted beyond what they can prove."""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from comcep.search import whoosh_kept
from comcep.search.backend import SearchQuery
from comcep.search.whoosh_backend import WhooshBackend
from comcep.search.whoosh_postings import (
    field_length_bytes,
    leaf_postings,
    term_scores,
)
from tests.search.test_whoosh_backend import answers, make_doc

VOCABULARY = ["entretien", "bilan", "projet", "salarié", "rupture", "formation", "mobilité"]


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replace tests/conftest.py's autouse database fixture: no app or database here."""


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[WhooshBackend]:
    engine = WhooshBackend(tmp_path / "index", kept_min_docs=100, kept_min_postings=8)
    yield engine
    engine.close()


def _docs(first: int, count: int, seed: int = 3) -> list:
    rng = random.Random(seed + first)
    return [
        make_doc(
            post_id,
            title=" ".join(rng.choices(VOCABULARY, k=2)),
            body=" ".join(rng.choices(VOCABULARY, k=rng.randint(1, 30))),
            category_id=post_id % 3 + 1,
            author_id=100 + post_id % 2,
            is_hidden=post_id % 17 == 0,
        )
        for post_id in range(first, first + count)
    ]


def _hear(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Capture the module's warnings, even after a test ran Alembic, whose `fileConfig`
    disables the loggers that existed before it."""
    monkeypatch.setattr(whoosh_kept.logger, "disabled", False)
    caplog.set_level(logging.WARNING, logger=whoosh_kept.__name__)


def _leaves(engine: WhooshBackend) -> list[IndexReader]:
    return [leaf for leaf, _ in engine._searcher().reader().leaf_readers()]


def _files(engine: WhooshBackend) -> set[str]:
    return {path.name for path in engine.index_dir.glob(f"*{whoosh_kept.SUFFIX}")}


def _ids_tables(engine: WhooshBackend) -> list[tuple[str, str]]:
    """The segments whose ids file's table the engine has read."""
    return [key for key in engine._kept._tables if key[1] == whoosh_kept.SUFFIX]


def _found(engine: WhooshBackend, text: str) -> list[int]:
    query = SearchQuery(text=text, category_ids=frozenset({1, 2}), per_page=50)
    return [hit.post_id for hit in engine.search(query).hits]


def test_kept_arrays_are_the_decoded_blocks_of_every_common_term(backend: WhooshBackend) -> None:
    """After each commit, every segment of 100 documents or more has its file, and each term
    of 8 postings or more in it reads back as `leaf_postings` decodes it: the same ids and
    weights, of the same types. Small segments have none; rare terms are left out."""
    backend.upsert(_docs(1, 250))
    backend.upsert(_docs(251, 20))  # a small segment beside the big one
    backend.delete([5, 6])  # deletions live beside the segment: its arrays stay valid
    leaves = _leaves(backend)
    big = [leaf for leaf in leaves if leaf.doc_count_all() >= 100]
    assert big
    assert len(big) < len(leaves)
    assert _files(backend) == {whoosh_kept.path_for(backend.index_dir, leaf).name for leaf in big}
    kept = whoosh_kept.KeptPostings(backend.index_dir, min_docs=100)
    read = left = 0
    for leaf in leaves:
        for field in whoosh_kept.FIELDS:
            for btext, info in leaf.iter_field(field):
                arrays = kept.read(leaf, field, btext)
                if leaf.doc_count_all() < 100 or info.doc_frequency() < 8:
                    assert arrays is None, (field, btext)
                    left += 1
                    continue
                ids, weights = leaf_postings(leaf, field, btext)[:2]
                assert arrays is not None, (field, btext)
                assert arrays[0].dtype == ids.dtype
                assert arrays[1].dtype == weights.dtype
                assert arrays[0].tolist() == ids.tolist(), (field, btext)
                assert arrays[1].tolist() == weights.tolist(), (field, btext)
                read += 1
    assert read > 10
    assert left > 10


@pytest.mark.parametrize(
    ("ids", "weights"),
    [
        ([0, 1, 70_000, 70_001], [1.0, 2.0, 255.0, 0.0]),  # a step past 65 535: uint32 ids
        ([3, 65_538, 131_073], [1.5, 300.0, 2.0]),  # weights not small whole numbers
        ([65_535, 65_536], [1.0, 1.0]),  # the first id is a step from 0
    ],
)
def test_arrays_round_trip_through_each_encoding(ids: list[int], weights: list[float]) -> None:
    id_array = np.array(ids, dtype=np.uintc)
    weight_array = np.array(weights, dtype=np.float32)
    ids_code, id_bytes = whoosh_kept._encode_ids(id_array)
    weights_code, weight_bytes = whoosh_kept._encode_weights(weight_array)
    decoded = whoosh_kept._decode(id_bytes + weight_bytes, len(ids), ids_code, weights_code)
    assert decoded is not None
    assert decoded[0].dtype == np.uintc
    assert decoded[0].tolist() == ids
    assert decoded[1].dtype == np.float32
    assert decoded[1].tolist() == weights
    assert ids_code == ("u2" if max(np.diff(ids, prepend=0)) <= 0xFFFF else "u4")


def test_files_go_with_their_segments(backend: WhooshBackend) -> None:
    """Whoosh deletes a segment's file with the segment (a merge, a rebuild, a clear)."""
    backend.upsert(_docs(1, 150))
    first = _files(backend)
    assert len(first) == 1
    backend.rebuild(_docs(1, 300, seed=9))
    after_rebuild = _files(backend)
    assert len(after_rebuild) == 1
    assert after_rebuild != first
    backend.clear()
    backend.upsert(_docs(1, 3))  # the next commit cleans what the clear left
    assert _files(backend) == set()
    assert not list(backend.index_dir.glob("*.tmp"))


def _damaged(
    data: bytes, damage: str, magic: bytes, spot: Callable[[list[Any]], tuple[int, int]]
) -> bytes:
    """A kept file of a 200-document segment, damaged as `damage` says (« none »: whole);
    « ids past the end » writes 60 000 where `spot(entry)` says, for every term: (offset,
    width of the id there)."""
    if damage == "garbage":
        return b"\x00" * len(data)
    if damage == "cut short":
        return data[: len(data) // 2]
    if damage == "another segment":
        return data.replace(b'"docs": 200', b'"docs": 201')
    if damage != "ids past the end":
        return data
    table_at = data.rindex(b'{"docs"')
    head = data[table_at : -len(magic) - 8]
    body = bytearray(data[:table_at])
    for terms in json.loads(head)["terms"].values():
        for entry in terms.values():
            at, width = spot(entry)
            body[at : at + width] = (60_000).to_bytes(width, "little")
    return bytes(body) + data[table_at:]


@pytest.mark.parametrize(
    "damage",
    ["garbage", "cut short", "another segment", "ids past the end"],
)
def test_a_damaged_file_is_never_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """Whatever is wrong with a file, searches find what the blocks hold, and say so in the
    log; a search never fails because of it."""
    reference = WhooshBackend(tmp_path / "plain", kept_min_docs=10**9)
    reference.upsert(_docs(1, 200))
    expected = {word: _found(reference, word) for word in VOCABULARY}
    reference.close()

    engine = WhooshBackend(tmp_path / "kept", kept_min_docs=100, kept_min_postings=8)
    engine.upsert(_docs(1, 200))
    (path,) = engine.index_dir.glob(f"*{whoosh_kept.SUFFIX}")

    def first_step(entry: list[Any]) -> tuple[int, int]:
        offset, _count, ids_code, _weights = entry
        assert ids_code == "u2"
        return offset, 2  # every term's first step pushed far past 200

    path.write_bytes(_damaged(path.read_bytes(), damage, whoosh_kept._MAGIC, first_step))
    _hear(caplog, monkeypatch)
    assert {word: _found(engine, word) for word in VOCABULARY} == expected
    assert "Kept postings" in caplog.text or "kept postings" in caplog.text
    engine.close()


def test_a_missing_file_means_the_blocks(backend: WhooshBackend) -> None:
    """A file not written yet (another process's commit, an index from before) or removed:
    the blocks are read, and a file written later is used from then on."""
    backend.upsert(_docs(1, 150))
    expected = {word: _found(backend, word) for word in VOCABULARY}
    (path,) = backend.index_dir.glob(f"*{whoosh_kept.SUFFIX}")
    path.unlink()
    fresh = WhooshBackend(backend.index_dir, kept_min_docs=100, kept_min_postings=8)
    assert {word: _found(fresh, word) for word in VOCABULARY} == expected
    assert not _ids_tables(fresh)
    assert whoosh_kept.write_all(backend.index_dir, _leaves(fresh), min_docs=100) == 1
    fresh._postings.clear()
    fresh._index_view = None  # and the joined lists this generation's view keeps
    assert {word: _found(fresh, word) for word in VOCABULARY} == expected
    assert _ids_tables(fresh)  # read from the file now
    fresh.close()


def test_a_file_that_cannot_be_written_never_fails_the_commit(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(whoosh_kept.os, "link", full_disk)
    _hear(caplog, monkeypatch)
    backend.upsert(_docs(1, 150))
    assert _files(backend) == set()
    assert not list(backend.index_dir.glob("*.tmp"))
    assert "No space left" in caplog.text
    assert _found(backend, "bilan")  # committed, and searched from the blocks


def test_two_writers_of_one_file_keep_the_first(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes finishing the same file: the second link fails, its file is dropped,
    and the first stays whole."""
    backend.upsert(_docs(1, 150))
    (path,) = backend.index_dir.glob(f"*{whoosh_kept.SUFFIX}")
    first = path.read_bytes()
    path.unlink()
    real_link = os.link

    def raced(source: str, target: str) -> None:
        Path(target).write_bytes(first)  # the other writer links its file first
        real_link(source, target)

    monkeypatch.setattr(whoosh_kept.os, "link", raced)
    assert whoosh_kept.write_all(backend.index_dir, _leaves(backend), min_docs=100) == 0
    assert path.read_bytes() == first
    assert not list(backend.index_dir.glob("*.tmp"))


def test_kept_best_documents_are_each_common_word_s_highest_scores(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each big segment keeps, for every word of TOP_POSTINGS postings or more in the title
    or the body, the documents scoring above the TOP_DOCS-th highest score, under the
    segment's own BM25F statistics; that score is the floor (ties stay out); the parameters
    kept are the scorer's. Rarer words, other fields and small segments keep none."""
    monkeypatch.setattr(whoosh_kept, "TOP_POSTINGS", 30)
    monkeypatch.setattr(whoosh_kept, "TOP_DOCS", 12)
    backend.upsert(_docs(1, 250))
    backend.upsert(_docs(251, 20))  # a small segment beside the big one
    kept = whoosh_kept.KeptPostings(backend.index_dir, min_docs=100)
    checked = left = 0
    for leaf in _leaves(backend):
        searcher = Searcher(leaf, closereader=False)
        for field in whoosh_kept.FIELDS:
            for btext, info in leaf.iter_field(field):
                top = kept.top(leaf, field, btext)
                big = leaf.doc_count_all() >= 100 and info.doc_frequency() >= 30
                if not big or field not in ("title", "body"):
                    assert top is None, (field, btext)
                    left += 1
                    continue
                assert top is not None, (field, btext)
                docs, floor, params = top
                ids, weights = leaf_postings(leaf, field, btext)[:2]
                scorer = searcher.weighting.scorer(searcher, field, btext.decode())
                scores = term_scores(
                    scorer, weights.astype(np.float64), field_length_bytes(leaf, field)[ids]
                )
                assert floor == sorted(scores)[-12]
                assert docs.tolist() == ids[scores > floor].tolist()
                assert params == (scorer.idf, scorer.avgfl, scorer.B, scorer.K1)
                checked += 1
    assert checked >= 8
    assert left > 10


@pytest.mark.parametrize(
    "damage", ["none", "garbage", "cut short", "another segment", "ids past the end"]
)
def test_damaged_best_documents_are_never_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """Whatever is wrong with the file of best documents, searches rank every match as
    without it, and say so in the log; whole, it ranks them (`kept_best`)."""
    monkeypatch.setattr(whoosh_kept, "TOP_POSTINGS", 30)
    monkeypatch.setattr(whoosh_kept, "TOP_DOCS", 100)
    reference = WhooshBackend(tmp_path / "plain", kept_min_docs=10**9)
    reference.upsert(_docs(1, 200))
    expected = {word: _found(reference, word) for word in VOCABULARY}
    reference.close()

    calls = answers(monkeypatch, "kept_best")
    engine = WhooshBackend(tmp_path / "kept", kept_min_docs=100, kept_min_postings=8)
    engine.upsert(_docs(1, 200))
    (path,) = engine.index_dir.glob(f"*{whoosh_kept.TOP_SUFFIX}")

    def last_document(entry: list[Any]) -> tuple[int, int]:
        offset, count, *_numbers = entry
        return offset + 4 * (count - 1), 4  # every word's last best document past 200

    path.write_bytes(_damaged(path.read_bytes(), damage, whoosh_kept._TOP_MAGIC, last_document))
    _hear(caplog, monkeypatch)
    assert {word: _found(engine, word) for word in VOCABULARY} == expected
    if damage == "none":
        assert any(answered for answered, _ in calls)
        assert not caplog.text
    else:
        assert not any(answered for answered, _ in calls)
        assert "Kept" in caplog.text or "kept postings" in caplog.text
    engine.close()


def test_best_documents_written_after_a_search_are_used_from_then_on(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's merge is searched before its writer wrote the file: every match
    is scored, nothing is remembered of the missing file, and once it is written the next
    search ranks from it."""
    monkeypatch.setattr(whoosh_kept, "TOP_POSTINGS", 30)
    monkeypatch.setattr(whoosh_kept, "TOP_DOCS", 100)
    calls = answers(monkeypatch, "kept_best")
    backend.upsert(_docs(1, 200))
    expected = _found(backend, "bilan")
    assert [answered for answered, _ in calls] == [True]
    (path,) = backend.index_dir.glob(f"*{whoosh_kept.TOP_SUFFIX}")
    path.unlink()
    fresh = WhooshBackend(backend.index_dir, kept_min_docs=100, kept_min_postings=8)
    assert _found(fresh, "bilan") == expected
    assert [answered for answered, _ in calls] == [True, False]
    limits = {"min_docs": 100, "min_postings": 8}  # the backend's, as its writer gives them
    assert whoosh_kept.write_all(backend.index_dir, _leaves(fresh), **limits) == 1
    assert _found(fresh, "bilan") == expected
    assert [answered for answered, _ in calls] == [True, False, True]
    fresh.close()
