"""Highlighted titles and snippets of search hits: Whoosh's `highlight()`, fused into one pass.

Whoosh highlights by running the whole text through the analyzer's generator, a
`set_matched_filter` generator and a fragmenter that copies each matched token: about 3 µs a
word, 20 hits × (title + body) a page, which was half of a search page on a small forum. This
walks the words once with the analyzer's own per-word cache (`FrenchAnalyzer.token_text`) and
runs the same fragmenters' rules (`ContextFragmenter`, `WholeFragmenter`) on plain tuples; the
fragments are then scored, chosen and formatted by Whoosh's own functions. The output is the
same string as Whoosh's, character for character (`tests/search/test_snippets.py` compares
them on generated texts and edge cases).
"""

from __future__ import annotations

from collections import deque

from whoosh.highlight import (
    DEFAULT_CHARLIMIT,
    FIRST,
    BasicFragmentScorer,
    Formatter,
    Fragment,
    mkfrag,
    top_fragments,
)

from comcep.search.analyzer import FrenchAnalyzer

_SCORER = BasicFragmentScorer()


class _Match:
    """What Whoosh's fragments, scorer and formatter read of a matched token."""

    __slots__ = ("boost", "endchar", "startchar", "text")

    def __init__(self, text: str, startchar: int, endchar: int) -> None:
        self.text = text
        self.startchar = startchar
        self.endchar = endchar
        self.boost = 1.0


def _words(
    text: str, terms: frozenset[str], analyzer: FrenchAnalyzer
) -> list[tuple[int, int, str | None]]:
    """Every word before Whoosh's character limit: (start, end, its term if it is a searched
    term, else None), as `highlight()` sees the analyzer's tokens with stop words kept."""
    token_text = analyzer.token_text
    words = []
    for match in analyzer.word_pattern.finditer(text):
        start, end = match.span()
        if end > DEFAULT_CHARLIMIT:
            break
        term = token_text(match.group())
        words.append((start, end, term if term in terms else None))
    return words


def _context_fragments(
    text: str, words: list[tuple[int, int, str | None]], maxchars: int, surround: int
) -> list[Fragment]:
    """`ContextFragmenter(maxchars, surround).fragment_tokens`, rule for rule."""
    fragments = []
    first = None
    firsts: deque[int] = deque()
    countdown = -1
    matches: list[_Match] = []
    endchar = None
    currentlen = 0
    for startchar, endchar, term in words:
        length = endchar - startchar
        if countdown < 0 and term is None:
            firsts.append(startchar)
            while firsts and endchar - firsts[0] > surround:
                firsts.popleft()
        elif currentlen + length > maxchars:
            countdown = 0
        elif term is not None:
            countdown = surround
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = startchar
                    countdown += surround
            matches.append(_Match(term, startchar, endchar))
        if countdown >= 0:
            currentlen += length
            countdown -= length
            if countdown <= 0:
                fragments.append(mkfrag(text, matches, startchar=first, endchar=endchar))
                matches = []
                firsts = deque()
                first = None
                currentlen = 0
    if matches:
        fragments.append(mkfrag(text, matches, startchar=first, endchar=endchar))
    return fragments


def highlight_context(
    text: str,
    terms: frozenset[str],
    analyzer: FrenchAnalyzer,
    formatter: Formatter,
    maxchars: int,
    surround: int,
    top: int,
) -> str:
    """`highlight(text, terms, analyzer, ContextFragmenter(maxchars, surround), formatter,
    top)`: the `top` best passages around the searched words, or "" when none is there."""
    words = _words(text, terms, analyzer)
    fragments = _context_fragments(text, words, maxchars, surround)
    return formatter(text, top_fragments(fragments, top, _SCORER, FIRST))


def highlight_whole(
    text: str, terms: frozenset[str], analyzer: FrenchAnalyzer, formatter: Formatter
) -> str:
    """`highlight(text, terms, analyzer, WholeFragmenter(), formatter, top=1)`: the whole
    text with the searched words marked, or "" when none is there."""
    matches = [
        _Match(term, start, end)
        for start, end, term in _words(text, terms, analyzer)
        if term is not None
    ]
    return formatter(text, top_fragments([Fragment(text, matches)], 1, _SCORER, FIRST))
