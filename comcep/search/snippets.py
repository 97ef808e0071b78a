"""Highlighted titles and snippets of search hits: Whoosh's `highlight()`, fused into one pass.

Whoosh highlights by running the whole text through the analyzer's generator, a
`set_matched_filter` generator and a fragmenter that copies each matched token: about 3 µs a
word, 20 hits × (title + body) a page, which was half of a search page on a small forum. This
finds the words once with the analyzer's own per-word cache (`FrenchAnalyzer.token_text`) and
runs the same fragmenters' rules (`ContextFragmenter`, `WholeFragmenter`) on plain lists; the
fragments are then scored, chosen and formatted by Whoosh's own functions. The output is the
same string as Whoosh's, character for character (`tests/search/test_snippets.py` compares
them on generated texts and edge cases).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import deque
from itertools import accumulate, compress, repeat
from operator import is_not

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


Words = tuple[list[int], list[int], list[str | None]]


def _words(text: str, terms: frozenset[str], analyzer: FrenchAnalyzer) -> Words:
    """Every word before Whoosh's character limit as three lists: starts, ends, and its term
    if it is a searched term (else None), as `highlight()` sees the analyzer's tokens with
    stop words kept.

    Built without a Python step per word: `split` on the word pattern gives gaps and words
    in turn, their running lengths give every offset, and the terms come from mapping the
    analyzer's cached `token_text` over the words (with the fragmenter's jumps, a page of
    20 hits is highlighted in 1.43 ms instead of 1.85 on the bench forum's posts)."""
    pieces = _splitter(analyzer).split(text)  # gap, word, gap, word, …, gap
    offsets = list(accumulate(map(len, pieces)))
    words = pieces[1::2]
    starts = offsets[0:-1:2]  # each word starts where the gap before it ends
    ends = offsets[1::2]
    if ends and ends[-1] > DEFAULT_CHARLIMIT:
        kept = bisect_right(ends, DEFAULT_CHARLIMIT)
        del words[kept:], starts[kept:], ends[kept:]
    searched = {term: term for term in terms}.get
    return starts, ends, list(map(searched, map(analyzer.token_text, words)))


_SPLITTERS: dict[str, re.Pattern[str]] = {}


def _splitter(analyzer: FrenchAnalyzer) -> re.Pattern[str]:
    """The analyzer's word pattern as one capturing group, for `re.split`."""
    pattern = analyzer.word_pattern.pattern
    splitter = _SPLITTERS.get(pattern)
    if splitter is None:
        splitter = _SPLITTERS[pattern] = re.compile(f"({pattern})", analyzer.word_pattern.flags)
    return splitter


def _context_fragments(text: str, words: Words, maxchars: int, surround: int) -> list[Fragment]:
    """`ContextFragmenter(maxchars, surround).fragment_tokens`, rule for rule, jumping over
    the words that lie outside every fragment.

    Between fragments (`countdown < 0`), a word that is no match only slides the window of
    the last `surround` characters (`firsts`) where the next fragment may start: so the loop
    jumps to the next match and sets that window as the words in between would have left
    it (those starting at most `surround` characters before the last of them ends)."""
    starts, ends, terms = words
    count = len(starts)
    hits = list(compress(range(count), map(is_not, terms, repeat(None))))
    next_hit = 0  # index in `hits` of the first match at or after `index`
    fragments = []
    first = None
    firsts: deque[int] = deque()
    countdown = -1
    matches: list[_Match] = []
    endchar = None
    currentlen = 0
    index = 0
    while index < count:
        startchar, endchar, term = starts[index], ends[index], terms[index]
        length = endchar - startchar
        if countdown < 0 and term is None:
            while next_hit < len(hits) and hits[next_hit] < index:
                next_hit += 1
            if next_hit == len(hits):
                break  # no match left: nothing is pending (`matches` empties as countdown < 0)
            # `firsts` is empty here: countdown < 0 only before the first match or right
            # after a fragment, and both leave it empty.
            upto = hits[next_hit]
            edge = ends[upto - 1] - surround
            firsts = deque(starts[bisect_left(starts, edge, index, upto) : upto])
            index = upto
            continue
        if currentlen + length > maxchars:
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
        index += 1
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
    starts, ends, found = _words(text, terms, analyzer)
    matches = [
        _Match(term, start, end)
        for start, end, term in zip(starts, ends, found, strict=True)
        if term is not None
    ]
    return formatter(text, top_fragments([Fragment(text, matches)], 1, _SCORER, FIRST))
