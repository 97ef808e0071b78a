"""The fused highlighting gives Whoosh's `highlight()` output, character for character, with
the fragmenters and the formatter the search pages use."""

from __future__ import annotations

import random

import pytest
from whoosh.highlight import DEFAULT_CHARLIMIT, ContextFragmenter, WholeFragmenter, highlight

from bench import vocabulary as words
from comcep.search.analyzer import FrenchAnalyzer
from comcep.search.snippets import highlight_context, highlight_whole
from comcep.search.whoosh_backend import _FRAGMENT_CHARS, _FRAGMENT_CONTEXT, _MarkFormatter
from tests.search.test_analyzer import EDGE_CASES

ANALYZER = FrenchAnalyzer()


def _cases() -> list[tuple[str, frozenset[str]]]:
    """Texts with sets of searched terms: some of their own words (first, last, several, a
    stop word's form), words they do not hold, and no word at all."""
    rng = random.Random(2026)
    pool = [
        *words.OPENINGS,
        *words.SUBJECTS,
        *words.VERBS,
        *words.CIRCUMSTANCES,
        *words.QUESTIONS,
        *words.ADVICE,
        *words.LIST_ITEMS,
    ]
    texts = [*EDGE_CASES, *(" ".join(rng.sample(pool, rng.randint(1, 14))) for _ in range(150))]
    # Longer than Whoosh's 32 768-character limit, with a match on each side of it.
    long_text = " ".join(rng.choice(pool) for _ in range(1500)) + " reconversion finale"
    assert len(long_text) > DEFAULT_CHARLIMIT + 1000
    texts += [long_text, "<p>Bonjour & <b>bilan</b></p>\n\n> citation « VAE »\n- item\n" * 3]
    cases = []
    for text in texts:
        own = [token.text for token in ANALYZER(text, removestops=False)]
        cases.append((text, frozenset()))
        cases.append((text, frozenset({"inexistant"})))
        if own:
            cases.append((text, frozenset({own[0]})))
            cases.append((text, frozenset({own[-1]})))
            cases.append((text, frozenset(rng.sample(own, min(3, len(own))))))
            cases.append((text, frozenset(own)))
    cases.append(("de la et au aux", frozenset({"de", "la"})))  # stop words' own forms
    cases.append((long_text, frozenset({"reconversion", "final"})))
    return cases


CASES = _cases()


@pytest.mark.parametrize("surround", [_FRAGMENT_CONTEXT, 0, 5])
@pytest.mark.parametrize("maxchars", [_FRAGMENT_CHARS, 20, 400])
def test_a_snippet_is_whooshs_highlight(maxchars: int, surround: int) -> None:
    for top in (1, 2):
        for text, terms in CASES:
            expected = highlight(
                text,
                terms,
                ANALYZER,
                ContextFragmenter(maxchars=maxchars, surround=surround),
                _MarkFormatter(),
                top=top,
            )
            got = highlight_context(
                text, terms, ANALYZER, _MarkFormatter(), maxchars, surround, top
            )
            assert got == expected, (text[:80], sorted(terms), maxchars, surround, top)


def test_a_highlighted_title_is_whooshs_highlight() -> None:
    for text, terms in CASES:
        expected = highlight(text, terms, ANALYZER, WholeFragmenter(), _MarkFormatter(), top=1)
        assert highlight_whole(text, terms, ANALYZER, _MarkFormatter()) == expected, text[:80]


def test_the_cases_do_mark_words() -> None:
    """The comparison is not only between empty strings."""
    marked = [
        highlight_context(text, terms, ANALYZER, _MarkFormatter(), _FRAGMENT_CHARS, 40, 2)
        for text, terms in CASES
    ]
    assert sum("<mark>" in html for html in marked) > len(CASES) / 2
    assert any("…" in html for html in marked)


def test_a_word_is_marked_in_any_inflection_or_accent() -> None:
    terms = frozenset(token.text for token in ANALYZER("conseiller évolution", mode="query"))
    html = highlight_whole("Les Conseillères et l'EVOLUTION", terms, ANALYZER, _MarkFormatter())
    assert html == "Les <mark>Conseillères</mark> et l&#x27;<mark>EVOLUTION</mark>"
