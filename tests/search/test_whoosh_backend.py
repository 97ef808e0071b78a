"""The Whoosh backend against the `SearchBackend` contract, without the database."""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import random
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import collectors
from whoosh.query import Phrase, Term
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from comcep.search import whoosh_backend, whoosh_kept, whoosh_postings
from comcep.search.backend import (
    MESSAGE_EMPTY,
    MESSAGE_ONLY_EXCLUSIONS,
    MESSAGE_TOO_LONG,
    SearchDocument,
    SearchQuery,
    SearchQueryError,
    SearchResults,
    fingerprint,
)
from comcep.search.whoosh_backend import WhooshBackend

VISIBLE = frozenset({1})
FRENCH_MESSAGES = {MESSAGE_EMPTY, MESSAGE_ONLY_EXCLUSIONS, MESSAGE_TOO_LONG}
BASE_TIME = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def make_doc(post_id: int, **overrides: Any) -> SearchDocument:
    """A visible opening post in rubrique 1 (thème 10), unless told otherwise."""
    values: dict[str, Any] = {
        "post_id": post_id,
        "topic_id": post_id,
        "category_id": 1,
        "theme_id": 10,
        "author_id": 100,
        "title": f"Sujet {post_id}",
        "body": "Un message sans rapport.",
        "created_at": BASE_TIME + timedelta(hours=post_id),
        "is_hidden": False,
        "is_first_post": True,
        "tags": (),
    }
    values.update(overrides)
    return SearchDocument(**values)


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replace tests/conftest.py's autouse database fixture: no app or database here."""


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[WhooshBackend]:
    engine = WhooshBackend(tmp_path / "index")
    yield engine
    engine.close()


def search(backend: WhooshBackend, text: str, **kwargs: Any) -> SearchResults:
    kwargs.setdefault("category_ids", VISIBLE)
    return backend.search(SearchQuery(text=text, **kwargs))


def ids(results: SearchResults) -> list[int]:
    return [hit.post_id for hit in results.hits]


def strip_tags(fragment: str) -> str:
    return re.sub(r"<[^>]+>", "", fragment)


# French matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "searched"),
    [
        ("Le premier entretien s'est bien passé.", "entretiens"),
        ("Trois entretiens la semaine dernière.", "entretien"),
        ("Nos conseillères se forment.", "conseillère"),
        ("Une conseillère m'a appelé.", "conseillères"),
        ("Les conseillers du réseau.", "conseiller"),
        ("Retour à l'emploi.", "emplois"),
        ("Une salariée en CDI.", "salarié"),
    ],
    ids=[
        "plural-finds-singular",
        "singular-finds-plural",
        "feminine-plural",
        "feminine-singular",
        "conseiller-conseillers",
        "emploi-emplois",
        "feminine-participle",
    ],
)
def test_plural_and_feminine_forms_find_each_other(
    backend: WhooshBackend, written: str, searched: str
) -> None:
    backend.upsert([make_doc(1, body=written)])
    assert ids(search(backend, searched)) == [1]


def test_plural_finds_singular(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Le premier entretien.")])
    assert ids(search(backend, "entretiens")) == [1]


@pytest.mark.parametrize(
    ("written", "searched"),
    [
        ("Une évolution professionnelle.", "evolution"),
        ("Une evolution professionnelle.", "évolution"),
        ("La filière et la carrière.", "filiere carriere"),
        ("Un cœur de métier.", "coeur metier"),
        ("Une e\u0301volution saisie en forme décomposée.", "évolution"),
        ("Un ﬁnancement copié d'un PDF.", "financement"),
    ],
    ids=["unaccented-query", "accented-query", "grave-accents", "ligature", "nfd", "fi-ligature"],
)
def test_accents_are_folded_both_ways(backend: WhooshBackend, written: str, searched: str) -> None:
    backend.upsert([make_doc(1, body=written)])
    assert ids(search(backend, searched)) == [1]


def test_uppercase_query_finds_lowercase_text(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Un projet de reconversion.")])
    assert ids(search(backend, "RECONVERSION")) == [1]


def test_stop_words_are_ignored(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Bilan de compétences")])
    assert ids(search(backend, "le bilan des compétences")) == [1]


def test_a_query_of_stop_words_only_gets_a_french_message(backend: WhooshBackend) -> None:
    with pytest.raises(SearchQueryError) as caught:
        search(backend, "le la les de des du et ou")
    assert caught.value.message == MESSAGE_EMPTY


def test_all_words_are_required(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, body="Financement du bilan de compétences"),
            make_doc(2, body="Financement d'une formation"),
        ]
    )
    assert ids(search(backend, "financement bilan")) == [1]


def test_words_may_match_across_title_and_body(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, title="Financement CPF", body="Et la VAE ?")])
    assert ids(search(backend, "cpf vae")) == [1]


# Phrases and exclusions ---------------------------------------------------------------------


def test_exact_phrase_matches_only_adjacent_words(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, body="Avant le premier entretien individuel."),
            make_doc(2, body="Un entretien, le premier de la série."),
        ]
    )
    assert ids(search(backend, '"premier entretien"')) == [1]
    assert sorted(ids(search(backend, "premier entretien"))) == [1, 2]


def test_a_phrase_s_documents_are_kept_per_segment(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phrase is checked once per segment (segments never change); a new segment, an
    edit or a deletion shows at once."""
    backend.upsert([make_doc(1, body="Le premier entretien."), make_doc(2, body="Premier.")])
    computed = []
    real = whoosh_postings.leaf_phrase_docs

    def counting(keys: Any) -> Any:
        computed.append(len(keys))
        return real(keys)

    monkeypatch.setattr(whoosh_backend, "leaf_phrase_docs", counting)
    assert ids(search(backend, '"premier entretien"')) == [1]
    assert ids(search(backend, '"premier entretien"', page=1, per_page=1)) == [1]
    assert computed == [2]  # the body's segment, once (no title holds both words)
    backend.upsert([make_doc(3, body="Un premier entretien de plus.")])  # a new segment
    assert sorted(ids(search(backend, '"premier entretien"'))) == [1, 3]
    assert computed == [2, 2]
    backend.upsert([make_doc(1, body="Le second entretien.")])  # an edit: old version deleted
    backend.delete([3])
    assert ids(search(backend, '"premier entretien"')) == []
    backend.upsert([make_doc(4, body="Premier entretien.")])
    assert ids(search(backend, '"premier entretien"')) == [4]


def test_a_filter_s_documents_are_kept_per_segment(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The visible rubriques and the hidden posts are read once per segment: a commit (a new
    post) only builds its new segment's part, and the parts joined end to end still say
    which documents are allowed, whatever was added, edited, moved or hidden since."""
    backend.upsert(
        [
            make_doc(1, body="Un cas de reconversion."),
            make_doc(2, body="Un cas secret.", category_id=2),
            make_doc(3, body="Un cas masqué.", is_hidden=True),
        ]
    )
    built: list[tuple[str, str, Any]] = []
    real = backend._leaf_mask

    def counting(leaf: Any, field: str, btexts: Any) -> Any:
        built.append((leaf.segment().segment_id(), field, btexts))
        return real(leaf, field, btexts)

    monkeypatch.setattr(backend, "_leaf_mask", counting)
    assert ids(search(backend, "cas")) == [1]
    first = [segment for segment, _, _ in built]
    assert sorted(field for _, field, _ in built) == ["category_id", "hidden"]
    backend.upsert([make_doc(4, body="Encore un cas.")])  # a new segment, the first kept
    assert sorted(ids(search(backend, "cas"))) == [1, 4]
    live = {leaf.segment().segment_id() for leaf, _ in backend._searcher().reader().leaf_readers()}
    if first[0] in live:  # Whoosh did not merge the two segments: the first is not read again
        assert [segment for segment, _, _ in built[2:]] == [max(live - {first[0]})] * 2
    backend.upsert([make_doc(2, body="Un cas secret.", category_id=1)])  # moved where seen
    backend.upsert([make_doc(1, body="Un cas de reconversion.", is_hidden=True)])  # hidden
    assert sorted(ids(search(backend, "cas"))) == [2, 4]
    assert sorted(ids(search(backend, "cas", include_hidden=True))) == [1, 2, 3, 4]
    assert ids(search(backend, "cas", category_ids=frozenset({2}))) == []
    assert len(built) == len(set(built))  # no segment's part of a filter was built twice


def test_filters_by_many_authors_never_evict_a_word_s_postings(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(n, body="Un cas.", author_id=n) for n in range(1, 41)])
    assert search(backend, "cas").total == 40
    kept = list(backend._postings)
    for author in range(1, 41):
        assert ids(search(backend, "cas", author_id=author)) == [author]
    assert list(backend._postings) == kept
    assert len(list(backend._filters)) >= 40


def test_typographic_quotes_make_a_phrase(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, body="Le premier entretien."),
            make_doc(2, body="Un entretien, le premier."),
        ]
    )
    assert ids(search(backend, "«\u00a0premier entretien\u00a0»")) == [1]


def test_minus_word_excludes(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, body="Bilan de compétences financé par le CPF"),
            make_doc(2, body="Bilan de compétences financé par l'employeur"),
        ]
    )
    assert ids(search(backend, "bilan -cpf")) == [2]


def test_minus_phrase_excludes_only_the_phrase(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, body="Projet de transition professionnelle"),
            make_doc(2, body="Transition vers un projet professionnel"),
        ]
    )
    assert ids(search(backend, 'projet -"transition professionnelle"')) == [2]


def test_only_exclusions_get_a_french_message(backend: WhooshBackend) -> None:
    with pytest.raises(SearchQueryError) as caught:
        search(backend, "-cpf -vae")
    assert caught.value.message == MESSAGE_ONLY_EXCLUSIONS


# Titles and ranking -------------------------------------------------------------------------


def test_a_title_match_ranks_before_body_matches(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, title="Questions diverses", body="Le financement, encore le financement."),
            make_doc(2, title="Le financement de la VAE", body="Quelles pistes ?"),
            make_doc(3, title="Autre sujet", body="Un mot sur le financement des formations."),
        ]
    )
    assert ids(search(backend, "financement"))[0] == 2


def test_a_title_match_returns_the_opening_post_once(backend: WhooshBackend) -> None:
    topic = dict(topic_id=7, title="Accompagner une reconversion")
    backend.upsert(
        [make_doc(70, **topic, body="Bonjour à toutes.")]
        + [make_doc(71 + n, **topic, body="Merci.", is_first_post=False) for n in range(3)]
    )
    results = search(backend, "reconversion")
    assert ids(results) == [70]
    assert results.total == 1


def test_a_reply_shows_its_topic_title(backend: WhooshBackend) -> None:
    backend.upsert(
        [make_doc(2, topic_id=1, title="Le CPF", body="Voir le site.", is_first_post=False)]
    )
    [hit] = search(backend, "site").hits
    assert hit.topic_id == 1
    assert hit.title_html == "Le CPF"


def test_titles_only_ignores_bodies(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, title="Handicap et emploi", body="Rien."),
            make_doc(2, title="Autre chose", body="Question sur le handicap."),
        ]
    )
    assert ids(search(backend, "handicap", titles_only=True)) == [1]


# Visibility ---------------------------------------------------------------------------------


def test_other_rubriques_are_never_returned_nor_counted(backend: WhooshBackend) -> None:
    backend.upsert(
        [make_doc(n, body="Réunion des pairs", category_id=1) for n in range(1, 31)]
        + [make_doc(n, body="Réunion des pairs", category_id=2) for n in range(31, 61)]
    )
    results = search(backend, "réunion", category_ids=frozenset({1}), per_page=10)
    assert results.total == 30
    assert results.pages == 3
    for page in (1, 2, 3):
        page_ids = ids(search(backend, "réunion", category_ids=frozenset({1}), page=page))
        assert all(post_id <= 30 for post_id in page_ids)


def test_no_visible_rubrique_means_no_result(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Réunion")])
    results = search(backend, "réunion", category_ids=frozenset())
    assert (results.hits, results.total, results.pages) == ([], 0, 0)


def test_filtering_on_an_invisible_rubrique_gives_nothing(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Réunion", category_id=2)])
    assert search(backend, "réunion", category_id=2).total == 0


def test_field_syntax_never_reaches_a_field(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, title="foo", body="Rien."),
            make_doc(2, body="Secret", category_id=2),
        ]
    )
    assert search(backend, "title:foo").total == 0
    assert search(backend, "category_id:2 secret").total == 0
    assert search(backend, "hidden:true OR secret").total == 0


def test_hidden_posts_are_excluded_unless_asked(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Cas masqué", is_hidden=True), make_doc(2, body="Cas")])
    assert ids(search(backend, "cas")) == [2]
    assert sorted(ids(search(backend, "cas", include_hidden=True))) == [1, 2]


def test_moving_a_post_changes_its_visibility(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Consultation", category_id=2)])
    assert search(backend, "consultation").total == 0
    backend.upsert([make_doc(1, body="Consultation", category_id=1)])
    assert ids(search(backend, "consultation")) == [1]


@pytest.mark.parametrize(
    ("cache_bytes", "kept_min_docs"),
    [(whoosh_backend.POSTINGS_CACHE_BYTES, 10**9), (400, 10**9), (400, 60)],
    ids=["cached", "evicted", "kept-arrays"],
)
def test_totals_and_hits_match_a_brute_force_count(
    tmp_path: Path, cache_bytes: int, kept_min_docs: int
) -> None:
    """Many segments, deletions, uneven scores, hidden posts, titles, phrases and exclusions:
    totals and hits must agree with plain set algebra, whether decoded postings stay cached
    or are evicted at once (a cache of 400 bytes: 50 postings), and whether the segments'
    postings are decoded from Whoosh's blocks or read from their kept arrays (`whoosh_kept`:
    segments of 60 documents or more, terms of 4 postings or more)."""
    backend = WhooshBackend(
        tmp_path / "index",
        cache_bytes=cache_bytes,
        kept_min_docs=kept_min_docs,
        kept_min_postings=4,
    )
    rng = random.Random(20240305)
    vocab = ["atelier", "bilan", "cpf", "vae", "emploi", "jeunes", "handicap", "projet"]
    words: dict[int, set[str]] = {}
    pairs: dict[int, set[str]] = {}  # adjacent words of the body: « a b » and « a b c »
    docs = []
    for post_id in range(1, 601):
        body, title = rng.choices(vocab, k=rng.randint(1, 25)), rng.choice(vocab)
        first = post_id % 4 == 1
        words[post_id] = set(body) | ({title} if first else set())
        pairs[post_id] = {f"{a} {b}" for a, b in itertools.pairwise(body)}
        pairs[post_id] |= {" ".join(body[i : i + 3]) for i in range(len(body) - 2)}
        docs.append(
            make_doc(
                post_id,
                title=title,
                body=" ".join(body),
                is_first_post=first,
                category_id=rng.randint(1, 6),
                is_hidden=rng.random() < 0.1,
            )
        )
    for start in range(0, len(docs), 20):  # many commits: segments and merges
        backend.upsert(docs[start : start + 20])
    for start in range(0, 600, 7):  # edits: the old versions stay, deleted, in their segments
        backend.upsert([docs[start]])
    backend.delete([13, 14])
    del words[13], words[14]
    docs = [doc for doc in docs if doc.post_id not in (13, 14)]
    queries = [(word, None) for word in vocab]
    queries += [(f"{a} {b}", None) for a, b in itertools.combinations(vocab, 2)]
    queries += [(a, b) for a, b in itertools.pairwise(vocab)]
    phrases = [f'"{a} {b}"' for a, b in itertools.permutations(vocab[:4], 2)]
    queries += [(phrase, None) for phrase in phrases] + [(phrases[0], "cpf")]
    # Three words: the rarest anchors the check, wherever it stands in the phrase.
    queries += [(f'"{a} {b} {c}"', None) for a, b, c in itertools.permutations(vocab[:5], 3)]
    queries += [(f'"{a} {a} {b}"', None) for a, b in itertools.permutations(vocab[:3], 2)]
    queries += [("bilan", f'"{a} {b}"') for a, b in itertools.pairwise(vocab)]

    def holds(post_id: int, clause: str) -> bool:
        if clause.startswith('"'):
            return clause.strip('"') in pairs[post_id]
        return clause in words[post_id]

    for visible in (frozenset({1, 2, 3}), frozenset({6})):
        for wanted, excluded in queries:
            text = wanted if excluded is None else f"{wanted} -{excluded}"
            clauses = [wanted] if wanted.startswith('"') else wanted.split()
            expected = {
                doc.post_id
                for doc in docs
                if doc.category_id in visible
                and not doc.is_hidden
                and all(holds(doc.post_id, clause) for clause in clauses)
                and not (excluded and holds(doc.post_id, excluded))
            }
            first_page = search(backend, text, category_ids=visible, per_page=5)
            assert first_page.total == len(expected), text
            found = [
                post_id
                for page in range(1, len(expected) // 100 + 2)
                for post_id in ids(
                    search(backend, text, category_ids=visible, page=page, per_page=100)
                )
            ]
            assert sorted(found) == sorted(expected), text
    kept = list(backend.index_dir.glob(f"*{whoosh_kept.SUFFIX}"))
    assert bool(kept) == (kept_min_docs < 600)
    assert bool(backend._kept._tables) == (kept_min_docs < 600)  # and searches read them
    backend.close()


@pytest.mark.parametrize("keys", [10, 1_000, 50_000])
@pytest.mark.parametrize("wanted", [1, 300, 40_000])
def test_present_agrees_with_a_set(keys: int, wanted: int) -> None:
    """Both ways of `_present` (binary searches, or one merge when many keys are wanted)."""
    rng = np.random.default_rng(keys * 7 + wanted)
    sorted_keys = np.unique(rng.integers(0, 3 * keys, keys, dtype=np.int64))
    asked = np.unique(rng.integers(-5, 3 * keys + 5, wanted, dtype=np.int64))
    expected = sorted(set(asked.tolist()) & set(sorted_keys.tolist()))
    assert whoosh_postings._present(sorted_keys, asked).tolist() == expected
    assert whoosh_postings._present(sorted_keys[:0], asked).tolist() == []
    assert whoosh_postings._present(sorted_keys, asked[:0]).tolist() == []


def test_each_score_is_the_float_whooshs_scorer_gives(backend: WhooshBackend) -> None:
    """The vectorised BM25F (its length part computed once per length byte) gives, for
    every length byte and weight, exactly the float of Whoosh's `_score`: equal scores
    then tie as Whoosh's do."""
    bodies = ["bilan " * (i % 9 + 1) + "atelier " * i for i in range(1, 40)]
    backend.upsert([make_doc(i, body=body) for i, body in enumerate(bodies, start=1)])
    searcher = backend._searcher()
    length_bytes = np.repeat(np.arange(256, dtype=np.uint8), 4)
    tf = np.tile(np.array([1.0, 2.0, 3.0, 17.0]), 256)
    for text in ("bilan", "atelier"):
        (word,) = [token.text for token in backend._query_analyzer()(text, mode="query")]
        scorer = searcher.weighting.scorer(searcher, "body", word)
        expected = [
            scorer._score(w, whoosh_postings._LENGTHS[b])
            for w, b in zip(tf.tolist(), length_bytes.tolist(), strict=True)
        ]
        assert whoosh_postings.term_scores(scorer, tf, length_bytes).tolist() == expected


def _whoosh_order(backend: WhooshBackend, query: SearchQuery) -> list[int]:
    """Post ids in the order of Whoosh's own query, filtered as the backend filters and
    scored for every match by Whoosh's TopCollector with no shortcut."""
    searcher = backend._searcher()
    fields = ("title", "body")
    text_query, _clauses, _terms, excluded = backend._text_query(query.text, fields)
    allowed = set(np.flatnonzero(backend._allowed_docs(searcher, query)).tolist())
    for words in excluded:
        for field in fields:
            unwanted = Term(field, words[0]) if len(words) == 1 else Phrase(field, words)
            allowed -= set(searcher.docs_for_query(unwanted))
    full = collectors.TopCollector(limit=searcher.doc_count_all(), usequality=False, replace=0)
    searcher.search_with_collector(text_query, collectors.FilterCollector(full, allow=allowed))
    return [int(searcher.stored_fields(hit.docnum)["post_id"]) for hit in full.results()]


def test_scores_kept_for_a_generation_follow_the_next_commit(backend: WhooshBackend) -> None:
    """A word's scores are kept with the index generation (BM25F's idf and average length
    change with every commit): after a commit, a search scores with the new ones."""
    rng = random.Random(11)
    vocab = ["bilan", "atelier", "rien", "rien"]

    def batch(first: int, count: int) -> list[SearchDocument]:
        return [
            make_doc(i, body=" ".join(rng.choices(vocab, k=rng.randint(1, 30))))
            for i in range(first, first + count)
        ]

    backend.upsert(batch(1, 60))
    query = SearchQuery(text="bilan atelier", category_ids=frozenset({1}), per_page=100)
    assert ids(backend.search(query)) == _whoosh_order(backend, query)
    cached = backend._index_view
    backend.upsert(batch(61, 40))  # longer and shorter bodies: every score moves
    backend.delete(range(1, 61, 3))
    assert ids(backend.search(query)) == _whoosh_order(backend, query)
    assert backend._index_view is not cached


def test_the_array_cache_stays_within_its_bytes() -> None:
    """Joined term lists (and decoded postings) are kept by bytes, least recently used first
    out, and shared read-only between searches."""
    cache = whoosh_postings.ArrayCache(3000)
    arrays = {name: (np.zeros(125, dtype=np.int64),) for name in "abcd"}  # 1 000 bytes each
    for name in "abc":
        assert cache.get((name,), lambda name=name: arrays[name]) is arrays[name]
    assert cache.get(("a",), lambda: pytest.fail("kept")) is arrays["a"]  # a is now recent
    cache.get(("d",), lambda: arrays["d"])
    assert list(cache) == [("c",), ("a",), ("d",)]
    assert cache.size == 3000
    assert not arrays["a"][0].flags.writeable
    cache.clear()
    assert list(cache) == []
    assert cache.size == 0


def test_a_view_counts_asks_and_admits_the_most_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dense scores have their own half of the view's cache: a clause's array is admitted
    beside the others, or in place of arrays asked fewer times, never of those asked as
    often (words searched in turn would evict each other's and rebuild them at a loss). The
    view counts the asks of a bounded number of keys."""
    monkeypatch.setattr(whoosh_postings, "ASKED_LIMIT", 4)
    view = whoosh_postings.IndexView.__new__(whoosh_postings.IndexView)
    view._lock, view._dense_limit = threading.Lock(), 3000
    view._dense, view._dense_size, view._asks = {}, 0, {}

    def build() -> np.ndarray:
        return np.zeros(125, dtype=np.int64)  # 1 000 bytes

    for name in ("a", "b", "c"):
        assert [view.ask(name) for _ in range(2)] == [1, 2]
        assert view.dense(name, 1000) is None  # not kept: nothing without `build`
        assert view.dense(name, 1000, build) is view.dense(name, 1000)
    view.ask("a")  # a: 3 asks, b and c: 2
    view.ask("d")
    assert view.ask("d") == 2
    assert view.dense("d", 1000, build) is None  # as often asked as b and c: not in
    assert view.ask("d") == 3
    kept = view.dense("d", 1000, build)  # more than b: b goes
    assert not kept.flags.writeable
    assert list(view._dense) == ["a", "c", "d"]
    assert view._dense_size == 3000
    view._asks["e"] = 99
    assert view.dense("e", 4000, build) is None  # more than the half: never
    assert view.ask("f") == 1  # a fifth key: the counts start again
    assert view._asks == {"f": 1}


@pytest.mark.parametrize(
    "dense_share", [0, whoosh_postings.DENSE_SHARE, 10**9], ids=["sparse", "mixed", "dense"]
)
def test_relevance_order_is_that_of_a_full_scoring(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch, dense_share: int
) -> None:
    """The backend matches on posting lists and scores the matches itself; its order and
    total must be those of Whoosh's own query, filtered the same way and scored for every
    match by Whoosh's TopCollector with no shortcut. Whether words are kept with dense
    scores or sparse ones (every word, none, or the common ones: « handicap » is in about 1
    body in 14, the titles' words in fewer, the other words in most)."""
    monkeypatch.setattr(whoosh_postings, "DENSE_SHARE", dense_share)
    rng = random.Random(7)
    vocab = ["atelier", "bilan", "cpf", "vae", "emploi", "jeunes"]
    docs = [
        make_doc(
            post_id,
            title=" ".join(rng.choices(vocab + ["rien"], k=rng.randint(1, 4))),
            body=" ".join(rng.choices(vocab + ["rien"] * 6, k=rng.randint(1, 60)))
            + (" handicap bilan" if rng.random() < 0.07 else ""),
            is_first_post=post_id % 5 == 1,
            category_id=rng.randint(1, 4),
        )
        for post_id in range(1, 1201)
    ]
    for start in range(0, len(docs), 300):
        backend.upsert(docs[start : start + 300])
    backend.delete(range(1, 1201, 37))  # deleted documents stay in their segments' postings
    visible = frozenset({1, 2, 3})
    texts = [*vocab, "bilan vae", '"cpf emploi"', "jeunes -atelier", '"vae bilan" -"cpf jeunes"']
    texts += ["handicap", "handicap vae", '"handicap bilan"', '"bilan handicap"']
    for text in texts:
        query = SearchQuery(text=text, category_ids=visible, per_page=20)
        expected = _whoosh_order(backend, query)
        assert expected or text == '"bilan handicap"', text
        for page in (1, 2, 3):
            results = backend.search(replace(query, page=page))
            assert results.total == len(expected), text
            assert ids(results) == expected[(page - 1) * 20 : page * 20], (text, page)


def test_field_lengths_read_in_one_piece_are_whooshs(backend: WhooshBackend) -> None:
    """The patched `doc_field_length` (used when a segment is written and by Whoosh's
    scorer) and the search's length arrays give what Whoosh's own reader gives."""
    rng = random.Random(3)
    docs = [
        make_doc(
            post_id,
            title="Titre " * rng.randint(1, 4),
            body=" ".join(["mot"] * rng.choice([1, 2, 7, 40, 300, 5000])),
            is_first_post=post_id % 3 == 1,
        )
        for post_id in range(1, 61)
    ]
    for start in range(0, len(docs), 20):
        backend.upsert(docs[start : start + 20])
    reader = backend._searcher().reader()
    view = backend._view(reader)
    checked = 0
    for leaf, offset in reader.leaf_readers():
        perdoc = leaf._perdoc
        for field in ("title", "body", "post_id", "created"):
            for docnum in range(leaf.doc_count_all()):
                expected = whoosh_backend.WHOOSH_DOC_FIELD_LENGTH(perdoc, docnum, field, 1)
                assert perdoc.doc_field_length(docnum, field, 1) == expected, (field, docnum)
                if field in ("title", "body"):
                    length_byte = int(view.lengths(reader, field)[offset + docnum])
                    assert (byte_to_length(length_byte) if length_byte else None) == expected
                checked += 1
    assert checked == 4 * 60


# Filters ------------------------------------------------------------------------------------


FILTER_DOCS = [
    make_doc(1, body="Atelier", category_id=1, theme_id=10, author_id=100, tags=("vae",)),
    make_doc(2, body="Atelier", category_id=3, theme_id=10, author_id=200, tags=("cpf", "vae")),
    make_doc(3, body="Atelier", category_id=4, theme_id=20, author_id=None, is_first_post=False),
    make_doc(4, body="Atelier", created_at=datetime(2024, 3, 5, 23, 30, tzinfo=UTC)),
    make_doc(5, body="Atelier", created_at=datetime(2024, 3, 7, 12, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"category_id": 3}, [2]),
        ({"theme_id": 20}, [3]),
        ({"author_id": 200}, [2]),
        ({"tag": "vae"}, [1, 2]),
        ({"tag": "CPF"}, [2]),
        ({"date_from": date(2024, 3, 6)}, [4, 5]),
        ({"date_to": date(2024, 3, 5)}, [1, 2, 3]),
        ({"date_from": date(2024, 3, 6), "date_to": date(2024, 3, 6)}, [4]),
        ({"date_from": date(2024, 3, 7), "date_to": date(2024, 3, 7)}, [5]),
        ({"date_from": date(2024, 3, 8), "date_to": date(2024, 3, 1)}, []),
        ({"theme_id": 10, "tag": "cpf"}, [2]),
    ],
    ids=[
        "rubrique",
        "theme",
        "author",
        "tag",
        "tag-case",
        "from-paris-day",
        "to-paris-day",
        "single-day",
        "other-day",
        "reversed-range",
        "combined",
    ],
)
def test_filters_narrow_the_results(
    backend: WhooshBackend, filters: dict[str, Any], expected: list[int]
) -> None:
    backend.upsert(FILTER_DOCS)
    results = search(backend, "atelier", category_ids=frozenset({1, 3, 4}), **filters)
    assert sorted(ids(results)) == expected
    assert results.total == len(expected)


# Sorting, pagination ------------------------------------------------------------------------


def test_sort_by_date_puts_newest_first(backend: WhooshBackend) -> None:
    backend.upsert(
        [
            make_doc(1, title="Formation", created_at=datetime(2024, 1, 1, tzinfo=UTC)),
            make_doc(2, body="formation", created_at=datetime(2024, 6, 1, tzinfo=UTC)),
            make_doc(3, body="formation", created_at=datetime(2024, 3, 1, tzinfo=UTC)),
        ]
    )
    assert ids(search(backend, "formation", sort="date")) == [2, 3, 1]
    assert ids(search(backend, "formation"))[0] == 1


def test_pagination_splits_results_and_keeps_the_total(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(n, body="Orientation") for n in range(1, 46)])
    pages = [search(backend, "orientation", sort="date", page=p, per_page=20) for p in (1, 2, 3)]
    assert [len(page.hits) for page in pages] == [20, 20, 5]
    assert {page.total for page in pages} == {45}
    assert pages[0].pages == 3
    assert sorted(post_id for page in pages for post_id in ids(page)) == list(range(1, 46))
    assert ids(pages[0])[:2] == [45, 44]


def test_a_page_past_the_end_is_empty(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(n, body="Orientation") for n in range(1, 4)])
    results = search(backend, "orientation", page=5)
    assert (results.hits, results.total, results.page) == ([], 3, 5)


# Highlighting -------------------------------------------------------------------------------


def test_snippet_escapes_html_and_marks_terms(backend: WhooshBackend) -> None:
    body = "<script>alert('x')</script> Un entretien & un <b>bilan</b>."
    backend.upsert([make_doc(1, title="<i>Entretien</i> & co", body=body)])
    [hit] = search(backend, "entretiens").hits
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html
    assert "<mark>entretien</mark>" in hit.snippet_html
    assert "&lt;b&gt;bilan&lt;/b&gt;" in hit.snippet_html
    assert hit.title_html == "&lt;i&gt;<mark>Entretien</mark>&lt;/i&gt; &amp; co"


def test_snippet_is_the_start_of_the_body_when_only_the_title_matches(
    backend: WhooshBackend,
) -> None:
    backend.upsert([make_doc(1, title="Handicap", body="<p>Bonjour</p> " + "mot " * 200)])
    [hit] = search(backend, "handicap").hits
    assert hit.snippet_html.startswith("&lt;p&gt;Bonjour&lt;/p&gt; mot")
    assert hit.snippet_html.endswith("…")
    assert len(hit.snippet_html) < 330
    assert hit.title_html == "<mark>Handicap</mark>"


def test_snippet_of_a_long_body_stays_short(backend: WhooshBackend) -> None:
    body = "Début. " + "Remplissage du texte. " * 200 + "Le point sur la VAE ici. " + "Fin. " * 200
    backend.upsert([make_doc(1, body=body)])
    [hit] = search(backend, "vae").hits
    assert "<mark>VAE</mark>" in hit.snippet_html
    assert len(strip_tags(hit.snippet_html)) <= 320


def test_only_wanted_words_are_marked(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Le CPF finance le bilan.", title="Sujet")])
    [hit] = search(backend, "bilan -vae").hits
    assert hit.snippet_html == "Le CPF finance le <mark>bilan</mark>."


# Malformed queries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '"entretien',
        'entretien "premier',
        '""',
        '" "',
        "-",
        "- -- ---",
        "title:foo",
        "post_id:1",
        "*",
        "entre*",
        "?",
        "AND OR NOT",
        "(entretien OR",
        "[a TO z]",
        "entretien^10",
        "entretien~2",
        "\\",
        "x" * 3000,
        "'; DROP TABLE posts; --",
        "entretien\x00\x07\x1b[31m",
        "\x00\x01",
        "le la les",
        "",
        "   ",
        "<script>alert(1)</script>",
        "%00%27",
        "🙂 entretien",
    ],
)
def test_malformed_queries_get_a_message_or_a_result(backend: WhooshBackend, text: str) -> None:
    backend.upsert([make_doc(1, title="Premier entretien", body="Le foo du premier entretien.")])
    message = None
    try:
        results = search(backend, text)
    except SearchQueryError as error:
        message = error.message
    else:
        assert results.total == len(results.hits)
    assert message is None or message in FRENCH_MESSAGES


def test_an_unbalanced_quote_reads_the_rest_as_words(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Un entretien, le premier.")])
    assert ids(search(backend, '"premier entretien')) == [1]


def test_a_query_over_500_characters_is_refused(backend: WhooshBackend) -> None:
    with pytest.raises(SearchQueryError) as caught:
        search(backend, "entretien " * 60)
    assert caught.value.message == MESSAGE_TOO_LONG


# Writes -------------------------------------------------------------------------------------


def test_index_directory_is_created_on_first_use(tmp_path: Path) -> None:
    engine = WhooshBackend(tmp_path / "deep" / "index")
    assert not (tmp_path / "deep").exists()
    try:
        assert engine.indexed_versions() == {}
    finally:
        engine.close()
    assert (tmp_path / "deep" / "index").is_dir()


def test_indexed_versions_returns_the_fingerprints(backend: WhooshBackend) -> None:
    docs = [make_doc(1), make_doc(2, tags=("cpf",), is_first_post=False)]
    backend.upsert(docs)
    assert backend.indexed_versions() == {doc.post_id: fingerprint(doc) for doc in docs}


def test_fingerprint_follows_what_matters_for_results() -> None:
    doc = make_doc(1)
    changes = [
        {"category_id": 2},
        {"theme_id": 11},
        {"topic_id": 9},
        {"is_hidden": True},
        {"title": "Autre titre"},
        {"body": "Autre texte"},
        {"tags": ("cpf",)},
        {"author_id": None},
    ]
    fingerprints = {fingerprint(replace(doc, **change)) for change in changes}
    assert len(fingerprints | {fingerprint(doc)}) == len(changes) + 1
    assert fingerprint(replace(doc, tags=("a", "b"))) == fingerprint(replace(doc, tags=("b", "a")))


def test_upsert_replaces_a_document(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Ancienne version")])
    edited = make_doc(1, body="Nouvelle rédaction")
    backend.upsert([edited])
    assert search(backend, "ancienne").total == 0
    assert ids(search(backend, "nouvelle")) == [1]
    assert backend.indexed_versions() == {1: fingerprint(edited)}


def test_the_last_version_in_a_batch_wins(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Brouillon"), make_doc(1, body="Définitif")])
    assert backend.indexed_versions() == {1: fingerprint(make_doc(1, body="Définitif"))}


def test_delete_removes_documents(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(1, body="Atelier"), make_doc(2, body="Atelier")])
    backend.delete([1, 99])
    assert ids(search(backend, "atelier")) == [2]
    assert set(backend.indexed_versions()) == {2}


def test_a_rebuild_in_two_processes_indexes_everything_once(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(9999, body="Ancien atelier")])  # replaced by the rebuild
    docs = [make_doc(n, body=f"Atelier numéro {n}") for n in range(1, 401)]
    assert backend.rebuild(iter(docs), procs=2) == 400
    assert search(backend, "atelier").total == 400
    assert set(backend.indexed_versions()) == set(range(1, 401))
    backend.upsert([make_doc(1, body="Bilan")])  # later writes replace as usual
    assert search(backend, "atelier").total == 399
    assert ids(search(backend, "bilan")) == [1]


def test_a_rebuild_that_loses_documents_says_so(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should `MpWriter` drop a sub-process's segment, the rebuild does not pass silently."""
    add_document = SegmentWriter.add_document

    def losing_post_2(self: SegmentWriter, **fields: Any) -> None:
        if fields["post_id"] != "2":
            add_document(self, **fields)

    monkeypatch.setattr(SegmentWriter, "add_document", losing_post_2)
    docs = [make_doc(n, body="Atelier") for n in (1, 2, 3)]
    with pytest.raises(whoosh_backend.SearchIndexError, match="2 messages au lieu de 3"):
        backend.rebuild(iter(docs))


def test_clear_empties_the_index(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(n, body="Atelier") for n in range(1, 6)])
    backend.clear()
    assert backend.indexed_versions() == {}
    assert search(backend, "atelier").total == 0
    backend.upsert([make_doc(9, body="Atelier")])
    assert ids(search(backend, "atelier")) == [9]


def test_another_process_sees_new_writes(tmp_path: Path) -> None:
    reader, writer = WhooshBackend(tmp_path), WhooshBackend(tmp_path)
    try:
        writer.upsert([make_doc(1, body="Atelier")])
        assert ids(search(reader, "atelier")) == [1]
        writer.upsert([make_doc(2, body="Atelier")])
        assert sorted(ids(search(reader, "atelier"))) == [1, 2]
        writer.clear()
        assert search(reader, "atelier").total == 0
    finally:
        reader.close()
        writer.close()


def test_a_long_lived_reader_never_counts_a_document_twice(tmp_path: Path) -> None:
    reader, writer = WhooshBackend(tmp_path), WhooshBackend(tmp_path)
    try:
        for post_id in range(1, 31):  # enough commits for Whoosh to merge segments
            writer.upsert([make_doc(post_id, body="Atelier")])
            assert search(reader, "atelier").total == post_id
    finally:
        reader.close()
        writer.close()


def _leaves(backend: WhooshBackend) -> dict[str, Any]:
    reader = backend._searcher().reader()
    return {leaf.segment().segment_id(): leaf for leaf, _ in reader.leaf_readers()}


def test_a_reader_keeps_its_unchanged_segments_and_sees_their_new_deletions(
    tmp_path: Path,
) -> None:
    """After another process's commit, a reader opens only the segments it lacked: it keeps
    its readers of the others, which must then see the documents deleted or replaced in
    them (each answer is compared with a reader opened afresh), and never a merged one."""
    reader, writer = WhooshBackend(tmp_path), WhooshBackend(tmp_path)
    try:
        writer.upsert([make_doc(n, body="Atelier") for n in range(1, 21)])
        assert search(reader, "atelier", per_page=50).total == 20
        first = _leaves(reader)
        writer.delete([3])  # a deletion in the one segment: no new segment
        found = sorted(ids(search(reader, "atelier", per_page=50)))
        assert found == sorted(set(range(1, 21)) - {3})
        assert all(_leaves(reader)[name] is leaf for name, leaf in first.items())
        rng = random.Random(11)
        for step in range(45):
            post_id = rng.randrange(1, 30)
            kept = _leaves(reader)
            if step % 3 == 0:
                writer.delete([post_id])
            else:  # a new version: the old one deleted where it was, the new one added
                body = "Atelier" if step % 3 == 1 else "Autre chose"
                writer.upsert([make_doc(post_id, body=body)])
            fresh = WhooshBackend(tmp_path)
            try:
                found = search(reader, "atelier", per_page=50)
                assert sorted(ids(found)) == sorted(ids(search(fresh, "atelier", per_page=50)))
                assert found.total == len(ids(found))
            finally:
                fresh.close()
            after = _leaves(reader)
            assert all(after[name] is leaf for name, leaf in kept.items() if name in after)
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("deleted", [1, 2, 64, 65, 110])
def test_a_few_deleted_documents_leave_a_word_s_list(tmp_path: Path, deleted: int) -> None:
    """Fewer deleted documents than a tenth of a word's list are each found in it and
    dropped (by copying the slices between them, or beyond 64 of them by a mask): totals
    and the ranking of what is left are those of the live documents."""
    backend = WhooshBackend(tmp_path)
    try:
        backend.upsert(
            [make_doc(n, body="Atelier " + "collectif " * (n % 7)) for n in range(1, 1201)]
        )
        gone = set(random.Random(deleted).sample(range(1, 1201), deleted))
        backend.delete(sorted(gone))
        live = [n for n in range(1, 1201) if n not in gone]
        found = search(backend, "atelier", per_page=50, page=3)
        assert found.total == len(live)
        assert not gone & set(ids(found))
        both = search(backend, "atelier collectif", per_page=50)
        assert both.total == sum(1 for n in live if n % 7)
        assert not gone & set(ids(both))
        assert backend._index_view is not None
        view = backend._index_view
        assert view._deleted_count == deleted  # one segment, its deletions kept
    finally:
        backend.close()


def test_lists_and_masks_taken_over_from_the_generation_before_are_the_ones_read_afresh(
    tmp_path: Path,
) -> None:
    """After a commit, a reader's view takes its words' lists and masks over from the
    generation before (`IndexView._take_over`): minus the documents deleted since, plus the
    new segments' part. Through additions, deletions, new versions and Whoosh's merges, its
    rankings and totals must be those of a reader opened afresh."""
    reader, writer = WhooshBackend(tmp_path), WhooshBackend(tmp_path)
    rng = random.Random(23)
    vocabulary = ["atelier", "collectif", "bilan", "projet", "entretien"]

    def doc(post_id: int) -> SearchDocument:
        return make_doc(
            post_id,
            title=" ".join(rng.choices(vocabulary, k=2)),
            body=" ".join(rng.choices(vocabulary, k=rng.randint(1, 12))),
        )

    queries = ["atelier", "bilan projet", '"atelier collectif"', "entretien -bilan"]
    taken = deletions = 0
    try:
        writer.upsert([doc(post_id) for post_id in range(1, 61)])
        for step in range(40):
            for text in queries:  # this generation's lists and masks, to be taken over
                search(reader, text)
            if step % 4 == 0:
                writer.delete(rng.sample(range(1, 80), 3))
            else:
                writer.upsert([doc(rng.randrange(1, 80)) for _ in range(rng.randint(1, 4))])
            fresh = WhooshBackend(tmp_path)
            try:
                for text in queries:
                    mine = search(reader, text, per_page=100)
                    theirs = search(fresh, text, per_page=100)
                    assert (ids(mine), mine.total) == (ids(theirs), theirs.total), text
                view, fresh_view = reader._index_view, fresh._index_view
                assert view is not None
                assert fresh_view is not None
                for key in view._terms:  # the lists and masks themselves, not only the pages
                    arrays, expected = view._terms.peek(key), fresh_view._terms.peek(key)
                    if key[0] in whoosh_postings.CARRIED and expected is not None:
                        assert arrays is not None
                        for array, wanted in zip(arrays, expected, strict=True):
                            assert np.array_equal(array, wanted), key
            finally:
                fresh.close()
            taken += view.shared_segments > 0
            deletions += len(view.deleted_since) > 0
        assert taken > 20
        assert deletions > 5
    finally:
        reader.close()
        writer.close()


def test_threads_search_while_another_thread_writes(backend: WhooshBackend) -> None:
    backend.upsert([make_doc(n, body="Atelier collectif") for n in range(1, 21)])
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(20):
                assert search(backend, "ateliers collectifs").total >= 20
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for post_id in range(21, 41):
        backend.upsert([make_doc(post_id, body="Atelier collectif")])
    for thread in readers:
        thread.join()
    assert errors == []
    assert search(backend, "atelier").total == 40


def _index_one_by_one(index_dir: str, first_id: int, count: int) -> None:
    """Child process body: one commit per post, as the outbox worker would do."""
    engine = WhooshBackend(index_dir)
    try:
        for post_id in range(first_id, first_id + count):
            engine.upsert([make_doc(post_id, body="Concurrence")])
    finally:
        engine.close()


def test_opening_never_recreates_an_index_another_process_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh's `create_in` deletes the index's files: a process that opens the index while
    another commits (its TOC gone for a moment) must open it again, never recreate it."""
    first = WhooshBackend(tmp_path)
    first.upsert([make_doc(1, body="Conservé")])
    first.close()
    monkeypatch.setattr(whoosh_backend.index, "exists_in", lambda *_a, **_k: False)
    real_open_dir = whoosh_backend.index.open_dir
    failures = iter([FileNotFoundError("_comcep_v1_1.toc"), whoosh_backend.index.EmptyIndexError()])

    def open_dir_racing_a_commit(*args: Any, **kwargs: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_open_dir(*args, **kwargs)

    monkeypatch.setattr(whoosh_backend.index, "open_dir", open_dir_racing_a_commit)
    second = WhooshBackend(tmp_path)
    try:
        assert search(second, "conservé").total == 1
        assert next(failures, None) is None  # both failures were met, and retried
    finally:
        second.close()


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_index_one_by_one, args=(str(tmp_path), first, 50))
        for first in (1, 1001)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0, 0]
    engine = WhooshBackend(tmp_path)
    try:
        assert len(engine.indexed_versions()) == 100
        assert search(engine, "concurrence").total == 100
    finally:
        engine.close()


_HEAP_PROBE = """
import ctypes, sys
import numpy as np
from comcep.search.whoosh_postings import keep_freed_memory

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
applied = keep_freed_memory() if sys.argv[1] == "tuned" else False
before = libc.mallinfo2()
block = np.ones(8 << 20, dtype=np.uint8)
during = libc.mallinfo2()
del block
after = libc.mallinfo2()
print(applied, during.hblkhd - before.hblkhd, after.fordblks - during.fordblks)
"""


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc only (mallinfo2)")
def test_freed_search_arrays_stay_in_the_heap() -> None:
    """With `keep_freed_memory`, an 8 MB array comes from the heap and its memory stays there
    once freed (the next search reuses it without page faults); glibc's default maps it
    separately and gives it back. Each case in a fresh process: the default adapts to what
    the process has already freed."""

    def probe(mode: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", _HEAP_PROBE, mode], capture_output=True, text=True, check=True
        )
        return done.stdout.split()

    # The heap's free bytes also move by a few hundred bytes with what the interpreter
    # allocates meanwhile (it varies with the hash seed): compare with a margin. They are
    # compared with the heap's while the array is held, not before: a free chunk at the
    # top of the heap before (its size varies with what was imported) becomes part of the
    # array, and was counted free already.
    applied, mapped, kept = probe("tuned")
    assert applied == "True"
    assert int(mapped) == 0
    assert int(kept) >= (8 << 20) - (64 << 10)
    applied, mapped, kept = probe("default")
    assert applied == "False"
    assert int(mapped) >= 8 << 20
    assert int(kept) < 1 << 20


def test_block_ids_and_weights_read_without_values_are_whooshs(backend: WhooshBackend) -> None:
    """Reading a term's blocks from memory (`_term_blocks`) and each block's ids and weights
    from its cut pickle gives what Whoosh's own reads give, for every block of every term,
    words of a few postings and words of several blocks alike; most blocks of text fields
    take the cut. `leaf_postings` then gives the ids and weights Whoosh's matcher walks."""
    rng = random.Random(5)
    vocabulary = ["entretien", "bilan", "projet", "salarié", "rupture", "formation", "été"]
    docs = [
        make_doc(
            post_id,
            title=" ".join(rng.choices(vocabulary, k=3)),
            body=" ".join(rng.choices(vocabulary, k=rng.randint(1, 60))),
            category_id=post_id % 4,
        )
        for post_id in range(1, 401)
    ]
    for start, end in ((0, 300), (300, 350), (350, 400)):  # words of 1 to 3 blocks a segment
        backend.upsert(docs[start:end])
    backend.delete([7, 8, 9])
    reader = backend._searcher().reader()
    blocks = cut = multi = 0
    for leaf, _offset in reader.leaf_readers():
        for field, btext in leaf.all_terms():
            if field not in ("title", "body", "category_id"):
                continue
            matcher = leaf.postings(field, btext)
            matcher = getattr(matcher, "child", matcher)  # deletions: not applied here
            if not isinstance(matcher, whoosh_postings.W3LeafMatcher):
                continue
            read = list(whoosh_postings._term_blocks(matcher))
            count = 0
            while True:
                matcher._read_data()
                ids, weights, last = read[count]
                assert (ids, weights) == tuple(matcher._data[:2]), (field, btext)
                assert last == matcher._maxid
                count += 1
                raw = matcher._postfile.get(
                    matcher._dataoffset, matcher._nextoffset - matcher._dataoffset
                )
                cut += whoosh_postings._VALUES_START in (
                    zlib.decompress(raw) if matcher._compression else raw
                )
                if matcher._lastblock:
                    break
                matcher._goto(matcher._nextoffset)
            assert count == len(read)
            blocks += count
            multi += count > 1
            walked = leaf.postings(field, btext)
            walked = getattr(walked, "child", walked)
            expected_ids, expected_weights = [], []
            while walked.is_active():
                expected_ids.append(walked.id())
                expected_weights.append(walked.weight())
                walked.next()
            ids, weights, _values = whoosh_postings.leaf_postings(leaf, field, btext)
            assert ids.tolist() == expected_ids, (field, btext)
            assert weights.tolist() == pytest.approx(expected_weights, rel=1e-6), (field, btext)
    assert blocks > 40
    assert multi > 5
    assert cut > blocks / 2


RANKED_WORDS = ["atelier", "collectif", "bilan", "projet", "entretien", "rien", "rien"]


def random_doc(rng: random.Random, post_id: int, categories: list[int]) -> SearchDocument:
    """A post of RANKED_WORDS drawn at random, or one time in five the same text (equal
    scores), in one of `categories`: rankings from kept scores are compared on them."""
    if rng.random() < 0.2:
        title, body = "Atelier", "bilan de projet"
    else:
        title = " ".join(rng.choices(RANKED_WORDS, k=rng.randint(1, 3)))
        body = " ".join(rng.choices(RANKED_WORDS, k=rng.randint(1, 40)))
    return make_doc(post_id, title=title, body=body, category_id=rng.choice(categories))


#: Searches whose pages a ranking shortcut must give as a full scoring does: one word, two,
#: a word twice (its score twice), a phrase with a word, an exclusion, a rubrique where few
#: posts are, titles only, later pages and a page beyond what a shortcut keeps.
RANKED_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("bilan", {}),
    ("atelier", {"per_page": 4}),
    ("projet", {"per_page": 3, "page": 3}),
    ("bilan projet", {}),
    ("bilan bilan", {}),
    ('"bilan de projet" atelier', {"per_page": 5}),
    ("entretien -atelier", {}),
    ("collectif bilan", {"category_ids": frozenset({2})}),
    ("bilan", {"titles_only": True}),
    ("atelier", {"per_page": 40, "page": 2}),
]


def answers(monkeypatch: pytest.MonkeyPatch, method: str) -> list[tuple[bool, int]]:
    """Each call of `QueryPostings.<method>` from now on: whether it answered (a page, not
    None), and the length of its first argument (the clauses, for `dense_best` and
    `kept_best`). Tests of a shortcut assert that it was taken, and declined."""
    calls: list[tuple[bool, int]] = []
    original = getattr(whoosh_postings.QueryPostings, method)

    def recorded(self: whoosh_postings.QueryPostings, *args: Any) -> list[int] | None:
        top = original(self, *args)
        calls.append((top is not None, len(args[0])))
        return top

    monkeypatch.setattr(whoosh_postings.QueryPostings, method, recorded)
    return calls


def assert_taken_and_declined(calls: list[tuple[bool, int]]) -> None:
    """A shortcut answered often, with several clauses too, and declined often."""
    used, declined, several = tally(calls)
    assert used > 20
    assert several > 6
    assert declined > 6


def tally(calls: list[tuple[bool, int]]) -> tuple[int, int, int]:
    """(answered, declined, answered with several clauses) among `calls` (`answers`)."""
    used = sum(answered for answered, _ in calls)
    several = sum(answered and clauses > 1 for answered, clauses in calls)
    return used, len(calls) - used, several


@pytest.mark.parametrize("bound_docs", [40, 4096])
def test_a_ranking_from_an_earlier_generation_s_bound_is_the_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bound_docs: int
) -> None:
    """Just after a commit, a clause searched in the generation before is ranked from that
    generation's scores (`ScoreBound`): only the documents of highest earlier score, and
    those added since, are scored. Through additions, deletions, new versions and merges,
    bounds kept over several generations, equal scores, filters and later pages, its pages
    and totals must be those of a reader opened afresh, which scores every match."""
    monkeypatch.setattr(whoosh_postings, "DENSE_SHARE", 10**9)  # every clause asked twice
    monkeypatch.setattr(whoosh_postings, "BOUND_DOCS", bound_docs)
    calls = answers(monkeypatch, "bounded_best")
    reader, writer = WhooshBackend(tmp_path), WhooshBackend(tmp_path)
    rng = random.Random(bound_docs)

    def doc(post_id: int) -> SearchDocument:
        return random_doc(rng, post_id, [1, 1, 2])

    queries = [
        ("bilan", {}),
        ("atelier", {"per_page": 4}),
        ("projet", {"per_page": 3, "page": 2}),
        ('"bilan de projet"', {}),
        ("entretien -atelier", {}),
        ("collectif", {"category_ids": frozenset({2})}),
        ("bilan", {"titles_only": True}),
    ]
    try:
        writer.upsert([doc(post_id) for post_id in range(1, 121)])
        for step in range(30):
            for text, options in queries:  # asked twice: dense scores, then a bound
                for _ in range(1 if step % 3 == 2 else 2):  # or only a bound, carried
                    search(reader, text, **options)
            if step % 5 == 0:
                writer.delete(rng.sample(range(1, 160), 6))
            elif step % 5 == 3:  # long bodies without the words: their idf and lengths rise
                filler = [make_doc(1000 + step * 10 + n, body="rien " * 150) for n in range(4)]
                writer.upsert(filler)
            else:
                writer.upsert([doc(rng.randrange(1, 160)) for _ in range(rng.randint(1, 5))])
            fresh = WhooshBackend(tmp_path)
            try:
                for text, options in queries:
                    mine, theirs = search(reader, text, **options), search(fresh, text, **options)
                    assert (ids(mine), mine.total) == (ids(theirs), theirs.total), (step, text)
            finally:
                fresh.close()
        assert tally(calls)[0] > 50
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("bound_docs", [12, 40])
def test_a_ranking_from_the_generation_s_best_documents_is_the_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bound_docs: int
) -> None:
    """A query whose clauses all have dense scores is ranked from its best documents of the
    generation (`QueryPostings.dense_best`): their floor, the documents holding every
    clause, equal scores, filters that leave too few of them and later pages must give the
    pages and totals of a reader opened afresh, which scores every match."""
    monkeypatch.setattr(whoosh_postings, "DENSE_SHARE", 10**9)  # every clause asked twice
    monkeypatch.setattr(whoosh_postings, "BOUND_DOCS", bound_docs)
    calls = answers(monkeypatch, "dense_best")
    reader, writer = WhooshBackend(tmp_path), WhooshBackend(tmp_path)
    rng = random.Random(bound_docs)

    def doc(post_id: int) -> SearchDocument:
        return random_doc(rng, post_id, [1, 1, 1, 2])

    try:
        writer.upsert([doc(post_id) for post_id in range(1, 301)])
        for step in range(6):
            fresh = WhooshBackend(tmp_path)
            try:
                for text, options in RANKED_QUERIES:
                    theirs = search(fresh, text, **options)
                    for _ in range(4):  # sparse, dense scores twice, the best documents
                        mine = search(reader, text, **options)
                        assert (ids(mine), mine.total) == (ids(theirs), theirs.total), (step, text)
            finally:
                fresh.close()
            writer.delete(rng.sample(range(1, 340), 8))
            writer.upsert([doc(rng.randrange(1, 340)) for _ in range(rng.randint(5, 20))])
        assert_taken_and_declined(calls)
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("top_docs", [40, 80])
def test_a_ranking_from_the_segments_kept_best_documents_is_the_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, top_docs: int
) -> None:
    """A query asked once in a generation is ranked from the best documents each segment
    keeps of its words (`QueryPostings.kept_best`). Through commits that move every idf and
    average length, small segments beside the big ones, merges, deletions, equal scores,
    several clauses, phrases, filters and later pages, its pages and totals must be those of
    a reader that keeps nothing and scores every match."""
    monkeypatch.setattr(whoosh_kept, "TOP_POSTINGS", 8)
    monkeypatch.setattr(whoosh_kept, "TOP_DOCS", top_docs)
    calls = answers(monkeypatch, "kept_best")
    limits = {"kept_min_docs": 60, "kept_min_postings": 4}
    reader, writer = WhooshBackend(tmp_path, **limits), WhooshBackend(tmp_path, **limits)
    plain = WhooshBackend(tmp_path, kept_min_docs=10**9)  # reads no kept file
    rng = random.Random(top_docs)

    def doc(post_id: int) -> SearchDocument:
        return random_doc(rng, post_id, [1, 1, 1, 2])

    try:
        writer.upsert([doc(post_id) for post_id in range(1, 201)])
        writer.upsert([doc(post_id) for post_id in range(201, 301)])  # a second big segment
        assert len(list(tmp_path.glob(f"*{whoosh_kept.TOP_SUFFIX}"))) == 2
        for step in range(8):
            for text, options in RANKED_QUERIES:
                mine, theirs = search(reader, text, **options), search(plain, text, **options)
                assert (ids(mine), mine.total) == (ids(theirs), theirs.total), (step, text)
            if step % 3 == 1:  # long bodies without the words: their idf and lengths rise
                filler = " ".join(["rien"] * 20 * step)  # long documents gain the most
                writer.upsert([make_doc(1000 + step * 100 + n, body=filler) for n in range(40)])
            else:
                writer.delete(rng.sample(range(1, 340), 8))
                writer.upsert([doc(rng.randrange(1, 340)) for _ in range(rng.randint(5, 20))])
        assert_taken_and_declined(calls)
    finally:
        reader.close()
        writer.close()
        plain.close()


def test_kept_best_documents_give_way_once_the_lengths_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two short posts saying « bilan » once outscore 298 long ones saying it three times,
    as the big segment was scored when written; long posts added since raise the average
    length so far that the long ones now score higher. The floor, times its factor, no
    longer settles the page: every match is scored, and the long ones come first."""
    monkeypatch.setattr(whoosh_kept, "TOP_POSTINGS", 8)
    monkeypatch.setattr(whoosh_kept, "TOP_DOCS", 3)  # the two short posts, then the floor
    calls = answers(monkeypatch, "kept_best")
    engine = WhooshBackend(tmp_path, kept_min_docs=60, kept_min_postings=4)
    long_body = "bilan bilan bilan " + "rien " * 65
    try:
        engine.upsert(
            [make_doc(1, body="bilan"), make_doc(2, body="bilan")]
            + [make_doc(post_id, body=long_body) for post_id in range(3, 301)]
        )
        assert ids(search(engine, "bilan", per_page=2)) == [1, 2]
        assert [answered for answered, _ in calls] == [True]
        filler = "rien " * 2000
        engine.upsert([make_doc(1000 + n, body=filler) for n in range(50)])
        assert ids(search(engine, "bilan", per_page=2)) == [3, 4]
        assert [answered for answered, _ in calls] == [True, False]
    finally:
        engine.close()


def test_a_bound_keeps_its_best_documents_and_only_those_still_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bound keeps the documents whose earlier score reached a floor, by descending score
    then document (equal scores: all of them, so that every other document scored less);
    carried to a generation sharing fewer documents, it keeps only those."""
    monkeypatch.setattr(whoosh_postings, "BOUND_DOCS", 4)
    scores = np.array([0.0, 5.0, 1.0, 5.0, 3.0, 0.0, 2.0, 3.0, 4.0, 0.5])
    bound = whoosh_postings.ScoreBound(scores, len(scores), {})
    docs, values, floor = bound.top()
    assert (docs.tolist(), values.tolist(), floor) == ([1, 3, 8, 4, 7], [5, 5, 4, 3, 3], 3.0)
    docs, values, floor = bound.within(5).top()
    assert (docs.tolist(), values.tolist(), floor) == ([1, 3, 4], [5, 5, 3], 3.0)
    few = whoosh_postings.ScoreBound(scores, 4, {})  # no more positive scores than BOUND_DOCS
    assert few.top()[0].tolist() == [1, 3, 2]
    assert few.top()[2] == 0.0


def test_a_bound_s_factors_are_told_only_for_parameters_that_bound_a_score(
    backend: WhooshBackend,
) -> None:
    """In the generation that built them, earlier scores are the scores (factors 1, widened
    by the margin); with other B or K1, or a B above 1 (then tf + K1(1−B) may be 0 or less),
    no factor is told and every match is scored."""
    backend.upsert([make_doc(i, body="bilan " * i) for i in range(1, 30)])
    searcher = backend._searcher()
    view = backend._view(searcher.reader())
    postings = whoosh_postings.QueryPostings(
        searcher, view, backend._segment_postings, backend._segment_phrase
    )
    scorer = postings.scorer("body", "bilan")

    def factors(b: float, k1: float) -> tuple[float, float] | None:
        params = {("body", "bilan"): (scorer.idf, scorer.avgfl, b, k1)}
        return postings.factors(whoosh_postings.ScoreBound(None, 0, params))

    margin = whoosh_postings.BOUND_MARGIN
    assert factors(scorer.B, scorer.K1) == (1 - margin, 1 + margin)
    assert factors(scorer.B, scorer.K1 + 0.1) is None
    assert factors(0.5, scorer.K1) is None
    scorer.B = 1.5  # the scorer now, as a weighting with such a B would make it
    assert factors(1.5, scorer.K1) is None
