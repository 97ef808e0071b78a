"""Two processes on one Whoosh index (a server and `comcep search rebuild`, or two workers):
each one's kept postings and masks (`whoosh_postings`) must follow the other's writes,
clears and rebuilds, whatever their order."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from comcep.search.whoosh_backend import WhooshBackend
from tests.search.test_whoosh_backend import make_doc, search

WORDS = ("atelier", "entretien", "bilan", "emploi", "projet", "formation")


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replace tests/conftest.py's autouse database fixture: no app or database here."""


@pytest.mark.parametrize("seed", range(8))
def test_each_process_counts_what_the_other_wrote(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    server, other = WhooshBackend(tmp_path / "index"), WhooshBackend(tmp_path / "index")
    written: dict[int, str] = {}  # what the index should hold: post id → body
    try:
        for step in range(30):
            writer = rng.choice((server, other))
            action = rng.random()
            if action < 0.5:
                docs = []
                for post_id in rng.sample(range(1, 200), rng.randint(1, 30)):
                    written[post_id] = " ".join(rng.sample(WORDS, 2))
                    docs.append(make_doc(post_id, body=written[post_id]))
                writer.upsert(docs)
            elif action < 0.65 and written:
                gone = rng.sample(sorted(written), min(5, len(written)))
                writer.delete(gone)
                for post_id in gone:
                    del written[post_id]
            elif action < 0.72:
                writer.clear()
                written.clear()
            elif action < 0.8:
                writer.rebuild(iter([make_doc(i, body=b) for i, b in sorted(written.items())]))
            for word in rng.sample(WORDS, 2):
                expected = sum(word in body.split() for body in written.values())
                reader = rng.choice((server, other))
                assert search(reader, word).total == expected, (step, word)
    finally:
        server.close()
        other.close()
