"""French text analysis for Whoosh: one chain used at index and query time alike.

Order matters: lowercase, then fold accents, then drop stop words, then normalise inflections,
then stem. Folding before stemming makes accents irrelevant (« évolution » and « evolution » get
the same stem, which Snowball alone would not give); the stop list is folded the same way, so
« où » and « ou » both go. Snowball French misses some plurals and feminines that matter here
(« conseiller » / « conseillers », « emploi » / « emplois », « salarié » / « salariée »), so
three regular-expression substitutions strip those endings before stemming.
"""

from __future__ import annotations

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    SubstitutionFilter,
)
from whoosh.support.charset import accent_map

#: Words, with combining accents (text pasted in decomposed form) kept inside the word.
WORD_PATTERN = r"[\w\u0300-\u036f]+(?:\.?[\w\u0300-\u036f]+)*"

#: accent_map leaves ligatures and combining accents alone; « cœur » must match « coeur »,
#: and text pasted from a PDF (« ﬁnancement ») must match what people type.
FOLDING_MAP: dict[int, str] = {
    **accent_map,
    **dict.fromkeys(range(0x300, 0x370), ""),
    ord("œ"): "oe",
    ord("æ"): "ae",
    ord("ﬀ"): "ff",
    ord("ﬁ"): "fi",
    ord("ﬂ"): "fl",
    ord("ﬃ"): "ffi",
    ord("ﬄ"): "ffl",
}

#: (pattern, replacement) applied in order to folded words before Snowball: plural -s
#: (« emplois », « conseillers »; not -ss, not short words like « mois »), then feminine -ee
#: (« salariee ») and -ere (« conseillere »), on words long enough to be safe.
INFLECTION_RULES: tuple[tuple[str, str], ...] = (
    (r"(?<=\w{3}[^s])s$", ""),
    (r"(?<=\w{5})ee$", "e"),
    (r"(?<=\w{4})ere$", "er"),
)

# Function words only. Kept out on purpose: « pas », « sans », « non », « plus », « moins »
# (they carry the meaning of a case: « pas éligible », « sans diplôme ») and short nouns.
_STOP_WORDS = """
    a à ai aie aient aies ait as au aux avaient avais avait avec avez aviez avions avoir avons
    ayant c ça car ce ceci cela celle celles celui ces cet cette ceux d dans de des donc dont du
    elle elles en es est et étaient étais était étant été êtes étiez étions être eu eux fut
    ici il ils j je l la là le les leur leurs lui m ma mais me même mêmes mes moi mon n ne ni
    nos notre nous on ont ou où par pour qu quand que quel quelle quelles quels qui quoi s sa
    se sera serait seront ses si soi soit sommes son sont suis sur t ta te tes toi ton tous
    tout toute toutes très tu un une vos votre vous y
"""
FRENCH_STOP_WORDS: frozenset[str] = frozenset(
    word.translate(FOLDING_MAP) for word in _STOP_WORDS.split()
)


def french_analyzer() -> Analyzer:
    """Build the analyzer for French forum text (tokens keep their character offsets).

    The instance is pickled into the index's schema, so it only uses Whoosh's own classes:
    the index stays readable whatever happens to this module.
    """
    chain = (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(FOLDING_MAP)
        | StopFilter(stoplist=FRENCH_STOP_WORDS, minsize=2)
    )
    for pattern, replacement in INFLECTION_RULES:
        chain = chain | SubstitutionFilter(pattern, replacement)
    return chain | StemFilter(lang="fr", cachesize=50_000)


def analyze(text: str, analyzer: Analyzer | None = None) -> list[str]:
    """Return the index terms of a text, e.g. to turn a query word into search terms."""
    analyzer = analyzer or french_analyzer()
    return [token.text for token in analyzer(text, mode="query")]
