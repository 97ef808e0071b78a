"""`whoosh_postings.best`: the top of a ranking, whose `limit`-th score is found among the
scores that reach a floor guessed from a sample, is exactly the top found by sorting every
score (equal scores in document order), whatever the scores and where they sit."""

from __future__ import annotations

import numpy as np
import pytest

from comcep.search import whoosh_postings
from comcep.search.whoosh_postings import SAMPLE_STEP, best


def sorted_top(docs: np.ndarray, scores: np.ndarray, limit: int) -> list[int]:
    """Every document sorted: highest score first, equal scores by document number."""
    return [int(d) for _, d in sorted(zip(-scores, docs, strict=True))[:limit]]


def _cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    n = 40 * SAMPLE_STEP
    few_values = rng.integers(0, 12, n).astype(np.float64)  # ties everywhere
    spread = rng.random(n)
    best_on_sampled = np.zeros(n)
    best_on_sampled[::SAMPLE_STEP][:3] = [5.0, 4.0, 3.0]  # the floor guessed is too high
    best_off_sampled = rng.random(n) * 0.1
    best_off_sampled[1::SAMPLE_STEP] += 10  # the sample sees none of the best
    all_equal = np.full(n, 2.5)
    ascending = np.sort(spread)
    return [
        ("ties", few_values),
        ("spread", spread),
        ("best on the sampled places", best_on_sampled),
        ("best off the sampled places", best_off_sampled),
        ("all equal", all_equal),
        ("ascending", ascending),
        ("descending", ascending[::-1].copy()),
        ("few", spread[: SAMPLE_STEP // 2]),
    ]


@pytest.mark.parametrize(("name", "scores"), _cases(), ids=[name for name, _ in _cases()])
@pytest.mark.parametrize("limit", [1, 2, 20, 100, 257])
def test_best_is_the_top_of_every_score_sorted(name: str, scores: np.ndarray, limit: int) -> None:
    docs = np.arange(len(scores), dtype=np.int64) * 3 + 5  # ascending, not positions
    assert best(docs, scores, limit) == sorted_top(docs, scores, limit)


def test_the_floor_spares_partitioning_every_score(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the scores that reach the floor are partitioned, and the sample: not all."""
    sizes: list[int] = []
    partition = np.partition

    def counted(array: np.ndarray, kth: int) -> np.ndarray:
        sizes.append(len(array))
        return partition(array, kth)

    monkeypatch.setattr(whoosh_postings.np, "partition", counted)
    scores = np.random.default_rng(3).random(100 * SAMPLE_STEP)
    docs = np.arange(len(scores), dtype=np.int64)
    assert best(docs, scores, 20) == sorted_top(docs, scores, 20)
    assert sizes
    assert max(sizes) < len(scores) // 4, sizes
