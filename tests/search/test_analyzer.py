"""The fused French analyzer yields exactly the tokens of the reference chain of Whoosh
filters, in every mode Whoosh calls it with."""

from __future__ import annotations

import itertools
import pickle
import random

import pytest

from bench import vocabulary as words
from comcep.search.analyzer import FrenchAnalyzer, analyze, reference_analyzer

EDGE_CASES = [
    "",
    "   ",
    "L'entretien d'évolution : où en êtes-vous ?",
    "Les CONSEILLERS et conseillères, salariés ou salariées, emplois.",
    "Évolution evolution ÉVOLUTION e\u0301volution",  # composed, plain, capitals, decomposed
    "cœur de métier, ﬁnancement, ex æquo, ﬀ ﬃ ﬄ",
    "version 1.5, 2.0.3, a.b.c, M. Dupont, 12h30, 3e, n°4",
    "a à y ou où de du la le les un une et est sont — je tu il nous vous ils",
    "pas éligible, sans diplôme, non, plus, moins",
    "mois, fils, bus, gaz, prix, cas, très, après, pendant",
    "https://www.mon-cep.org/un-chemin?x=1&y=2 courriel@exemple.fr",
    "Données_personnelles sous_titre __init__ 100%",
    "ÇA VA ? Ça va. ça va ! ÀÉÎÕÜ àéîõü",
    "emoji 🙂 et ✓ coché, «guillemets» “anglais”",
    "x y z aa bb cc ddd eeee fffff",
]


def _texts() -> list[str]:
    rng = random.Random(2026)
    pool = [
        *words.OPENINGS,
        *words.SUBJECTS,
        *words.VERBS,
        *words.CIRCUMSTANCES,
        *words.QUESTIONS,
        *words.ADVICE,
        *words.TITLE_OBJECTS,
        *words.LIST_ITEMS,
    ]
    built = [" ".join(rng.sample(pool, 6)) for _ in range(60)]
    return EDGE_CASES + built


def _tokens(analyzer, text: str, **kwargs) -> list[tuple]:
    return [
        (
            t.text,
            getattr(t, "pos", None),
            getattr(t, "startchar", None),
            getattr(t, "endchar", None),
            t.stopped,
            t.boost,
            getattr(t, "original", None),
        )
        for t in analyzer(text, **kwargs)
    ]


MODES = [
    dict(zip(("positions", "chars", "removestops", "no_morph", "keeporiginal"), flags, strict=True))
    for flags in itertools.product([False, True], repeat=5)
]


@pytest.mark.parametrize("kwargs", MODES, ids=lambda k: ",".join(n for n, v in k.items() if v))
def test_fused_analyzer_yields_the_reference_tokens(kwargs: dict) -> None:
    fused, reference = FrenchAnalyzer(), reference_analyzer()
    for text in _texts():
        for extra in ({}, {"mode": "index"}, {"mode": "query", "start_pos": 3, "start_char": 7}):
            expected = _tokens(reference, text, **kwargs, **extra)
            assert _tokens(fused, text, **kwargs, **extra) == expected, text


def test_untokenized_values_and_pickling() -> None:
    fused = pickle.loads(pickle.dumps(FrenchAnalyzer()))  # noqa: S301 - our own bytes
    reference = reference_analyzer()
    for text in ("Évolution", "les", "Conseillers"):
        kwargs = {"tokenize": False, "positions": True, "chars": True, "removestops": False}
        assert _tokens(fused, text, **kwargs) == _tokens(reference, text, **kwargs)
    assert fused == FrenchAnalyzer()
    assert analyze("Les entretiens d'évolution") == analyze("entretien evolution")
