"""Markdown → sanitised HTML, done once when a post is written; pages render the result.

bleach (whose 6.x line is final) is used in `sanitise_html` only, so that it can be
replaced in one place; tests/test_rendering.py guards that function against XSS.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from html import unescape
from typing import Any

import bleach
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """An image of the site itself (a file joined to a post) shows; another site's becomes
    a link: each reader's browser would fetch it, telling that site who reads the post and
    when (a « tracking pixel »). The page's CSP (`img-src`) refuses them too."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if src.startswith("/") and not src.startswith("//"):
        return self.image(tokens, idx, options, env)
    alt = self.renderInlineAsText(token.children or [], options, env)
    text = f"Image d'un autre site : {alt}" if alt else "Image d'un autre site"
    return f'<a href="{escapeHtml(src)}">{escapeHtml(text)}</a>'


_markdown.add_render_rule("image", _image)

# « @Prénom Nom »: one to four words of letters (any alphabet: « Cœur », « Nguyễn »),
# apostrophes and hyphens; not inside a word, nor in a web address (youtube.com/@chaine).
_WORD = r"(?:[^\W\d_]|['’-])+"
_MENTION = re.compile(rf"@({_WORD}(?: {_WORD}){{0,3}})")
_ADDRESS = re.compile(r"(?:https?://|www\.)\S*$", re.IGNORECASE)
MentionResolver = Callable[[set[str]], dict[str, int]]


def _starts_mention(text: str, pos: int) -> bool:
    """Whether the « @ » at `pos` may open a mention: not after a letter, a digit, « _ »
    or « @ » (an e-mail address), nor inside a web address."""
    if pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "_@"):
        return False
    start = max(text.rfind(" ", 0, pos), text.rfind("\n", 0, pos)) + 1
    return _ADDRESS.match(text, start, pos) is None


def mention_candidates(source: str) -> list[list[str]]:
    """The words after each « @ » that may open a mention (up to four): the names it may
    stand for are their runs from the first word (the notifications and the links read
    them alike)."""
    return [
        match.group(1).split(" ")
        for match in _MENTION.finditer(source)
        if _starts_mention(source, match.start())
    ]


def _mention(state: StateInline, silent: bool) -> bool:
    """An @mention of a member becomes a link to their profile when the caller resolved the
    name to one member (`env["mentions"]`: name → member id); the longest run of words that
    names someone. The profile still answers through the wall."""
    targets: dict[str, int] | None = state.env.get("mentions")
    pos = state.pos
    if not targets or state.src[pos] != "@" or state.linkLevel > 0:
        return False
    if not _starts_mention(state.src, pos):
        return False
    match = _MENTION.match(state.src, pos, state.posMax)
    if match is None:
        return False
    words = match.group(1).split(" ")
    for name in (" ".join(words[:n]) for n in range(len(words), 0, -1)):  # longest first
        member_id = targets.get(name)
        if member_id is not None:
            break
    else:
        return False
    if not silent:
        link = state.push("link_open", "a", 1)
        link.attrs = {"href": f"/membres/{int(member_id)}", "class": "mention"}
        text = state.push("text", "", 0)
        text.content = f"@{name}"
        state.push("link_close", "a", -1)
    state.pos += 1 + len(name)
    return True


_markdown.inline.ruler.before("emphasis", "mention", _mention)

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
        "img",
    }
)


ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "class"],
    "abbr": ["title"],
    "img": ["src", "alt", "title"],
    "th": ["align"],
    "td": ["align"],
    "ol": ["start"],
}
# `class` is kept only with these values: a mention's link, and nothing a post could use
# to dress up as the site's own buttons or notices.
ALLOWED_CLASSES = {"a": frozenset({"mention"})}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name == "class":
        return value in ALLOWED_CLASSES.get(tag, ())
    return name in ALLOWED_ATTRIBUTES.get(tag, ())


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allowed_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
)


def _harden_links(attrs: dict, new: bool = False) -> dict:
    href = attrs.get((None, "href"), "")
    if href.startswith(("http://", "https://")):
        attrs[(None, "rel")] = "nofollow noopener noreferrer ugc"
    return attrs


# No `skip_tags`: bleach 6 escapes entities twice inside skipped tags (`a < b` in a code
# block would show as `a &lt; b`); a URL in code becoming a link is the lesser harm.
_linker = bleach.Linker(callbacks=[_harden_links], parse_email=False)


def sanitise_html(html: str) -> str:
    """Keep only harmless markup: the one function that stands between users and XSS."""
    return _linker.linkify(_cleaner.clean(html))


def render_markdown(source: str, mentions: MentionResolver | None = None) -> str:
    """Render a post's Markdown to the HTML that is stored and shown as is; with `mentions`
    (names → the ids of the members they name, asked once for the whole text), @mentions
    of members link to their profiles."""
    names = {
        " ".join(words[:n])
        for words in (mention_candidates(source) if mentions is not None else [])
        for n in range(1, len(words) + 1)
    }
    targets = mentions(names) if names and mentions is not None else {}
    return sanitise_html(_markdown.render(source, {"mentions": targets}))


def plain_text(source: str) -> str:
    """The text of a post without markup, for search and short excerpts."""
    return html_to_text(render_markdown(source))


def slugify(text: str, max_length: int = 80) -> str:
    """ASCII, lower-case, hyphenated: « Le premier entretien ! » → le-premier-entretien."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "sujet"


def quote_markdown(author_name: str, source: str, post_id: int) -> str:
    """The Markdown a reply starts with when quoting a post (the link lets the quoted
    author be notified)."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in source.strip().splitlines())
    name = re.sub(r"([\\`*_\[\]<>#])", r"\\\1", author_name)  # a name is text, not Markdown
    return f"[**{name}**](/p/{post_id}){QUOTED_SUFFIX}\n\n{quoted}\n\n"


QUOTED_SUFFIX = " a écrit :"
#: In stored HTML, what only a post quoted by « Citer » has (a cheap test before the pattern).
QUOTE_MARK = f"</a>{QUOTED_SUFFIX}</p>"


def _quoted_block(depth: int) -> str:
    """A <blockquote> holding up to `depth` levels of others. No lookahead: a character
    that is not `<`, or a tag that is not (</)blockquote (the only allowed tag in « bl »),
    so that PostgreSQL's engine runs it in about 0.1 ms a quoting post."""
    inner = "[^<]|<[^b/]|</[^b]|</?b[^l]"
    if depth:
        inner += "|" + _quoted_block(depth - 1)
    return f"<blockquote>(?:{inner})*</blockquote>"


#: A post quoted by « Citer » (its attribution line, then its <blockquote>, up to three
#: quotes deep inside): the same pattern for Python's `re` and PostgreSQL's `regexp_replace`.
POST_QUOTE_PATTERN = (
    rf'<p><a href="/p/[0-9]+"><strong>[^<]*</strong>{QUOTE_MARK}\s*{_quoted_block(3)}'
)
_POST_QUOTE = re.compile(POST_QUOTE_PATTERN)


def searchable_text(html: str) -> str:
    """What the search index reads of a post: its text without the posts it quotes, so that
    a word of a post is found there, not again in every reply quoting it. A quotation typed
    with `>` (a law, an e-mail) stays: it is part of what the post brings."""
    if QUOTE_MARK in html:
        html = _POST_QUOTE.sub(" ", html)
    return html_to_text(html)


def html_to_text(html: str) -> str:
    """Plain text of stored (already sanitised) post HTML, for the search index."""
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", unescape(text)).strip()


_INLINE_TAG = re.compile(r"</?(?:a|b|code|del|em|i|mark|s|span|strong)\b[^>]*>")
_INNER_QUOTE = re.compile(r"<blockquote>(?:(?!<blockquote>).)*?</blockquote>", re.S)


def own_words(html: str, length: int = 80) -> str:
    """The first `length` characters of what a post says itself, as text: its quotes left
    out (innermost first), so that a list of posts to choose from shows each one's words,
    not the Markdown of the quote it starts with."""
    previous = None
    while previous != html:
        previous, html = html, _INNER_QUOTE.sub(" ", html)
    text = html_to_text(_INLINE_TAG.sub("", html))  # « **cette piste**. » stays one piece
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
