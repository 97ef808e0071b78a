"""French text analysis for Whoosh: one chain used at index and query time alike.

Order matters: lowercase, then fold accents, then drop stop words, then normalise inflections,
then stem. Folding before stemming makes accents irrelevant (« évolution » and « evolution » get
the same stem, which Snowball alone would not give); the stop list is folded the same way, so
« où » and « ou » both go. Snowball French misses some plurals and feminines that matter here
(« conseiller » / « conseillers », « emploi » / « emplois », « salarié » / « salariée »), so
three regular-expression substitutions strip those endings before stemming.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    SubstitutionFilter,
    Token,
)
from whoosh.lang import stemmer_for_language
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


def french_analyzer() -> FrenchAnalyzer:
    """The analyzer for French forum text (tokens keep their character offsets)."""
    return FrenchAnalyzer()


def reference_analyzer() -> Analyzer:
    """The analysis as a chain of Whoosh's own filters: the definition `FrenchAnalyzer`
    follows token for token (tests compare them), and what it hands unusual calls to."""
    chain = (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(FOLDING_MAP)
        | StopFilter(stoplist=FRENCH_STOP_WORDS, minsize=2)
    )
    for pattern, replacement in INFLECTION_RULES:
        chain = chain | SubstitutionFilter(pattern, replacement)
    return chain | StemFilter(lang="fr", cachesize=50_000)


class FrenchAnalyzer(Analyzer):
    """`reference_analyzer()` fused into one loop over the words.

    Whoosh runs each token through eight generators (tokenizer, lowercase, folding, stop
    words, three substitutions, stemming) and caches stems in a pure-Python LFU cache;
    indexing spent most of its time there. This does the same steps in one pass with the
    same regular expressions, word list and Snowball stemmer, caches each word's
    substitutions and stem with `functools.lru_cache` (thread-safe), and yields the same
    tokens: same text, position (stop words removed and positions renumbered as Whoosh's
    StopFilter does), offsets and `stopped` flag. Indexes written by either read the same;
    the schema keeps this class by name (the backend passes its own schema when it opens an
    index).
    """

    def __init__(self) -> None:
        self._setup()

    def _setup(self) -> None:
        self._words = re.compile(WORD_PATTERN)
        self._rules = [(re.compile(pattern), repl) for pattern, repl in INFLECTION_RULES]
        stem = stemmer_for_language("fr")
        rules = self._rules

        @functools.lru_cache(maxsize=100_000)
        def morph(folded: str) -> tuple[str, str]:
            """A folded word after the inflection rules, and its stem."""
            for pattern, replacement in rules:
                folded = pattern.sub(replacement, folded)
            return folded, stem(folded)

        @functools.lru_cache(maxsize=100_000)
        def token_text(word: str) -> str:
            """A word's token text with stop words kept (highlighting): its stem, or for a
            stop word its folded form after the inflection rules, as `__call__` gives it."""
            folded = word.lower().translate(FOLDING_MAP)
            ruled, stemmed = morph(folded)
            return ruled if len(folded) < 2 or folded in FRENCH_STOP_WORDS else stemmed

        self._morph: Callable[[str], tuple[str, str]] = morph
        self.token_text: Callable[[str], str] = token_text
        self.word_pattern = self._words
        self._reference: Analyzer | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {}  # everything is rebuilt from the module's constants

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrenchAnalyzer)

    def __hash__(self) -> int:
        return hash(FrenchAnalyzer)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        no_morph: bool = False,
        **kwargs: Any,
    ) -> Iterator[Token]:
        if not tokenize:  # a whole value as one token: rare, left to the reference chain
            if self._reference is None:
                self._reference = reference_analyzer()
            yield from self._reference(
                value,
                positions=positions,
                chars=chars,
                keeporiginal=keeporiginal,
                removestops=removestops,
                start_pos=start_pos,
                start_char=start_char,
                tokenize=False,
                mode=mode,
                no_morph=no_morph,
                **kwargs,
            )
            return
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        stops, morph = FRENCH_STOP_WORDS, self._morph
        renumbered: int | None = None
        for index, match in enumerate(self._words.finditer(value)):
            original = match.group(0)
            text = original.lower().translate(FOLDING_MAP)
            stopped = len(text) < 2 or text in stops
            if stopped and removestops:
                continue
            token.boost = 1.0
            if keeporiginal:
                token.original = original
            if positions:
                pos = start_pos + index
                if not stopped:  # StopFilter(renumber=True): kept words follow each other
                    pos = pos if renumbered is None else renumbered + 1
                    renumbered = pos
                token.pos = pos
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            ruled, stemmed = morph(text)
            token.text = ruled if stopped or no_morph else stemmed
            token.stopped = stopped
            yield token


def analyze(text: str, analyzer: Analyzer | None = None) -> list[str]:
    """Return the index terms of a text, e.g. to turn a query word into search terms."""
    analyzer = analyzer or french_analyzer()
    return [token.text for token in analyzer(text, mode="query")]
