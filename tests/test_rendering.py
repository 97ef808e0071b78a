"""Markdown → sanitised HTML (SPEC §9): what a member writes can never run in a reader's
browser, and ordinary formatting survives."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Topic
from comcep.rendering import plain_text, quote_markdown, render_markdown, sanitise_html, slugify

DANGEROUS_TAGS = {
    "script",
    "iframe",
    "style",
    "svg",
    "math",
    "object",
    "embed",
    "form",
    "input",
    "base",
    "meta",
    "link",
    "frame",
    "frameset",
    "details",
    "noscript",
    "template",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster"}
SAFE_SCHEMES = {"http", "https", "mailto"}


class _Tags(HTMLParser):
    """Every start tag with its attributes, values decoded once as a browser does."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def tags_of(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def _scheme(url: str) -> str | None:
    """The scheme a browser would see: it drops ASCII whitespace and controls first."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", cleaned)
    return match.group(1) if match else None


def assert_harmless(html: str) -> None:
    for tag, attrs in tags_of(html):
        assert tag not in DANGEROUS_TAGS, f"<{tag}> survived in {html!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"{name}= survived in {html!r}"
            assert name != "style", f"style= survived in {html!r}"
            if name in URL_ATTRIBUTES and value:
                scheme = _scheme(value)
                assert scheme is None or scheme in SAFE_SCHEMES, f"{value!r} in {html!r}"


# Each payload goes through the whole Markdown pipeline (what members type) …
MARKDOWN_PAYLOADS = [
    pytest.param("<script>alert(1)</script>", id="md-script"),
    pytest.param("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", id="md-script-src-upper"),
    pytest.param("<img src=x onerror=alert(1)>", id="md-img-onerror"),
    pytest.param('<a href="#" onclick="alert(1)">x</a>', id="md-onclick"),
    pytest.param("<svg onload=alert(1)>", id="md-svg-onload"),
    pytest.param("<iframe src=https://evil.example></iframe>", id="md-iframe"),
    pytest.param("<style>body{display:none}</style>", id="md-style"),
    pytest.param("[x](javascript:alert(1))", id="md-link-javascript"),
    pytest.param("[x](JaVaScRiPt:alert(1))", id="md-link-javascript-case"),
    pytest.param("[x](jav&#x09;ascript:alert(1))", id="md-link-tab-entity"),
    pytest.param("[x](&#106;avascript:alert(1))", id="md-link-decimal-entity"),
    pytest.param("[x](<javascript:alert(1)>)", id="md-link-angle"),
    pytest.param("[x]( javascript:alert(1) )", id="md-link-spaces"),
    pytest.param("[x](%6A%61vascript:alert(1))", id="md-link-percent"),
    pytest.param("[x][r]\n\n[r]: javascript:alert(1)", id="md-reference-link"),
    pytest.param("[x](vbscript:msgbox(1))", id="md-link-vbscript"),
    pytest.param("[x](data:text/html;base64,PHNjcmlwdD4=)", id="md-link-data"),
    pytest.param("![x](javascript:alert(1))", id="md-image-javascript"),
    pytest.param("![x](data:image/svg+xml;base64,PHN2Zz4=)", id="md-image-data-svg"),
    pytest.param("<javascript:alert(1)>", id="md-autolink-javascript"),
    pytest.param("<JAVASCRIPT:alert(1)>", id="md-autolink-javascript-upper"),
    pytest.param("<vbscript:msgbox(1)>", id="md-autolink-vbscript"),
    pytest.param("<data:text/html,<script>alert(1)</script>>", id="md-autolink-data"),
    pytest.param('[x](https://ok.example/"onclick="alert(1))', id="md-link-quote-break"),
    pytest.param('[x](https://ok.example "t" onclick=alert(1))', id="md-link-title-break"),
    pytest.param("`<script>alert(1)</script>`", id="md-code-span"),
    pytest.param("```html\n<script>alert(1)</script>\n```", id="md-code-block"),
    pytest.param("<!-- --><script>alert(1)</script>", id="md-comment-then-script"),
]

# … and each one straight into the sanitiser, which must hold even if raw HTML is let in.
HTML_PAYLOADS = [
    pytest.param("<script>alert(1)</script>", id="html-script"),
    pytest.param("<scr<script>ipt>alert(1)</script>", id="html-nested-script"),
    pytest.param("<img src=x onerror=alert(1)>", id="html-img-onerror"),
    pytest.param('<img src="javascript:alert(1)">', id="html-img-javascript"),
    pytest.param('<img src="data:image/svg+xml;base64,PHN2Zz4=">', id="html-img-data"),
    pytest.param('<a href="https://ok.example" onclick="alert(1)">x</a>', id="html-onclick"),
    pytest.param('<p onmouseover="alert(1)">x</p>', id="html-onmouseover"),
    pytest.param("<svg onload=alert(1)><circle/></svg>", id="html-svg-onload"),
    pytest.param('<iframe src="https://evil.example"></iframe>', id="html-iframe"),
    pytest.param("<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'>", id="html-srcdoc"),
    pytest.param("<style>body{display:none}</style><p>t</p>", id="html-style"),
    pytest.param('<p style="background:url(javascript:alert(1))">t</p>', id="html-style-attr"),
    pytest.param('<a href="javascript:alert(1)">x</a>', id="html-javascript"),
    pytest.param('<a href="JaVaScRiPt:alert(1)">x</a>', id="html-javascript-case"),
    pytest.param('<a href="jav&#x09;ascript:alert(1)">x</a>', id="html-javascript-tab-entity"),
    pytest.param('<a href="jav&#x0A;ascript:alert(1)">x</a>', id="html-javascript-newline"),
    pytest.param('<a href="java&Tab;script:alert(1)">x</a>', id="html-javascript-named-tab"),
    pytest.param('<a href="javascript&colon;alert(1)">x</a>', id="html-javascript-colon-entity"),
    pytest.param(
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
        id="html-javascript-all-entities",
    ),
    pytest.param('<a href="  javascript:alert(1)">x</a>', id="html-javascript-leading-spaces"),
    pytest.param('<a href="\x01javascript:alert(1)">x</a>', id="html-javascript-control"),
    pytest.param('<a href="vbscript:msgbox(1)">x</a>', id="html-vbscript"),
    pytest.param('<a href="VBScript:msgbox(1)">x</a>', id="html-vbscript-case"),
    pytest.param('<a href="data:text/html,<script>alert(1)</script>">x</a>', id="html-data"),
    pytest.param("<object data=x.swf></object><embed src=x.swf>", id="html-object-embed"),
    pytest.param('<form action="https://evil.example"><input name=a></form>', id="html-form"),
    pytest.param('<base href="https://evil.example/">', id="html-base"),
    pytest.param(
        '<meta http-equiv="refresh" content="0;url=https://evil.example">', id="html-meta"
    ),
    pytest.param("<details open ontoggle=alert(1)>", id="html-details-ontoggle"),
    pytest.param(
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", id="html-mxss-math"
    ),
    pytest.param(
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', id="html-mxss-noscript"
    ),
    pytest.param("<!--<script>alert(1)</script>-->", id="html-comment"),
]


@pytest.mark.parametrize("source", MARKDOWN_PAYLOADS)
def test_render_markdown_leaves_nothing_executable(source: str) -> None:
    html = render_markdown(source)
    assert_harmless(html)
    assert "<script" not in html.lower()


@pytest.mark.parametrize("html", HTML_PAYLOADS)
def test_sanitise_html_leaves_nothing_executable(html: str) -> None:
    cleaned = sanitise_html(html)
    assert_harmless(cleaned)
    assert "<script" not in cleaned.lower()
    assert_harmless(sanitise_html(cleaned))  # stable when cleaned twice


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("[lien](https://example.org/page)", id="markdown-link"),
        pytest.param("<https://example.org/page>", id="autolink"),
        pytest.param("Voir https://example.org/page pour le détail.", id="bare-url"),
    ],
)
def test_safe_https_links_are_kept_with_nofollow(source: str) -> None:
    html = render_markdown(source)
    links = [dict(attrs) for tag, attrs in tags_of(html) if tag == "a"]
    assert len(links) == 1
    assert links[0]["href"] == "https://example.org/page"
    assert links[0]["rel"].split()[0] == "nofollow"
    assert {"noopener", "noreferrer"} <= set(links[0]["rel"].split())


def test_another_sites_image_becomes_a_link_and_the_sites_own_shows() -> None:
    """Each reader's browser would fetch another site's image, telling it who reads the post
    and when (a tracking pixel): it becomes a link; a file joined to a post shows."""
    html = render_markdown("![une photo](https://pixel.example/p.gif?lecteur=1)")
    assert "<img" not in html
    assert '<a href="https://pixel.example/p.gif?lecteur=1"' in html
    assert "Image d'un autre site : une photo</a>" in html
    for source in ("![](http://pixel.example/a.png)", "![x](//pixel.example/a.png)"):
        assert "<img" not in render_markdown(source), source
    own = render_markdown("![grille](/pj/3/grille.png)")
    assert '<img src="/pj/3/grille.png" alt="grille">' in own


def test_the_pages_policy_loads_no_image_from_another_site(client) -> None:
    """What a post stored before (an <img> of another site) is refused by the browser."""
    policy = client.get("/connexion").headers["Content-Security-Policy"]
    img_src = next(d for d in policy.split(";") if d.strip().startswith("img-src"))
    assert img_src.split()[1:] == ["'self'", "data:"]


MEMBERS = {"karine roux": 7, "claire": 3, "marie de la tour": 9, "léa cœur": 4, "paire un": 5}
ASKED: list[set[str]] = []


def _lookup(names: set[str]) -> dict[str, int]:
    ASKED.append(names)
    return {name: MEMBERS[name.lower()] for name in names if name.lower() in MEMBERS}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "Merci @Karine Roux pour l'idée",
            '<p>Merci <a href="/membres/7" class="mention">@Karine Roux</a> pour l\'idée</p>',
        ),
        (
            "@Claire Dupont a dit",
            '<p><a href="/membres/3" class="mention">@Claire</a> Dupont a dit</p>',
        ),
        (
            "@Marie de La Tour en parle",
            '<p><a href="/membres/9" class="mention">@Marie de La Tour</a> en parle</p>',
        ),
        ("@Léa Cœur arrive", '<p><a href="/membres/4" class="mention">@Léa Cœur</a> arrive</p>'),
        ("ecrire@Karine Roux", "<p>ecrire@Karine Roux</p>"),  # inside a word: no mention
        (  # a web address: not cut in two, nor notifying a member
            "https://www.youtube.com/@Paire Un/videos",
            '<p><a href="https://www.youtube.com/@Paire" rel="nofollow noopener noreferrer ugc">'
            "https://www.youtube.com/@Paire</a> Un/videos</p>",
        ),
        ("@Inconnue Totale", "<p>@Inconnue Totale</p>"),  # nobody, or homonyms: text
        ("`@Karine Roux`", "<p><code>@Karine Roux</code></p>"),
        ("[voir @Claire](/t/1)", '<p><a href="/t/1">voir @Claire</a></p>'),  # no link in a link
    ],
    ids=[
        "two-words",
        "first-word",
        "four-words",
        "any-alphabet",
        "in-a-word",
        "web-address",
        "unknown",
        "code",
        "in-a-link",
    ],
)
def test_a_mention_of_a_member_links_to_their_profile(source: str, expected: str) -> None:
    assert render_markdown(source, _lookup).strip() == expected
    assert "mention" not in render_markdown(source)  # without a lookup: as typed


def test_the_names_of_a_text_are_looked_up_at_once() -> None:
    """One lookup for the whole text (one query), however many mentions it holds."""
    ASKED.clear()
    source = " ".join(
        f"@Nom{chr(97 + n % 26)}{chr(97 + n // 26)} Prenom Autre Mot" for n in range(200)
    )
    render_markdown(source, _lookup)
    assert len(ASKED) == 1
    assert len(ASKED[0]) == 800  # each mention's runs of one to four words


def test_only_a_mentions_link_keeps_a_class() -> None:
    """The sanitiser keeps `class` on a link only as a mention's: a post cannot dress up
    its links (raw HTML is text anyway)."""
    assert (
        sanitise_html('<a href="/x" class="mention">a</a>') == '<a href="/x" class="mention">a</a>'
    )
    assert sanitise_html('<a href="/x" class="button danger">a</a>') == '<a href="/x">a</a>'
    assert sanitise_html('<p class="mention">a</p>') == "<p>a</p>"


def test_mailto_links_are_kept() -> None:
    html = render_markdown("[écrire](mailto:animation@comcep.example)")
    assert '<a href="mailto:animation@comcep.example">écrire</a>' in html


def test_bold_italic_and_strikethrough_are_kept() -> None:
    html = render_markdown("Du **gras**, de l'*italique* et du ~~barré~~.")
    assert "<strong>gras</strong>" in html
    assert "<em>italique</em>" in html
    assert "<s>barré</s>" in html or "<del>barré</del>" in html


def test_lists_and_quotes_are_kept() -> None:
    html = render_markdown("- un\n- deux\n\n1. premier\n2. second\n\n> une citation")
    assert "<ul>\n<li>un</li>\n<li>deux</li>\n</ul>" in html
    assert "<ol>\n<li>premier</li>\n<li>second</li>\n</ol>" in html
    assert "<blockquote>\n<p>une citation</p>\n</blockquote>" in html


def test_tables_are_kept() -> None:
    html = render_markdown("| Dispositif | Financeur |\n|---|---|\n| VAE | CPF |")
    assert "<table>" in html
    assert "<th>Dispositif</th>" in html
    assert "<td>VAE</td>" in html


def test_code_blocks_are_kept_and_escaped() -> None:
    html = render_markdown("```\nif a < b:\n    print('ok')\n```")
    assert "<pre><code>" in html
    assert "if a &lt; b:" in html


def test_code_spans_keep_special_characters_once_escaped() -> None:
    html = render_markdown("Comparer `a < b && c > d` puis `R&D`.")
    assert "<code>a &lt; b &amp;&amp; c &gt; d</code>" in html
    assert "<code>R&amp;D</code>" in html


def test_raw_html_is_shown_as_text_not_interpreted() -> None:
    html = render_markdown("Tapez <b>ceci</b>")
    assert "&lt;b&gt;ceci&lt;/b&gt;" in html


def test_plain_text_drops_markup() -> None:
    assert plain_text("Du **gras** & des <balises>") == "Du gras & des <balises>"


def test_quote_markdown_names_the_author_and_quotes_every_line() -> None:
    quote = quote_markdown("Paire Un", "Ligne 1\n\nLigne 2\n", 42)
    head, quoted = quote.split("\n\n", 1)
    assert "**Paire Un**" in head
    assert head.endswith("a écrit :")
    assert quoted == "> Ligne 1\n>\n> Ligne 2\n\n"
    html = render_markdown(quote)
    assert "<strong>Paire Un</strong>" in html
    assert "<blockquote>" in html
    assert_harmless(html)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        pytest.param("Le premier entretien !", "le-premier-entretien", id="punctuation"),
        pytest.param(
            "Évolution professionnelle : où ?", "evolution-professionnelle-ou", id="accents"
        ),
        pytest.param("!!!", "sujet", id="nothing-left"),
        pytest.param("a" * 100, "a" * 80, id="too-long"),
    ],
)
def test_slugify_makes_ascii_hyphenated_slugs(text: str, slug: str) -> None:
    assert slugify(text) == slug


# --- over HTTP: stored HTML and escaped titles ----------------------------------------


@pytest.fixture(autouse=True)
def _request_scoped_clients(request_scoped_clients: None) -> None:
    """Every client of these tests runs each request in a context of its own."""


def test_posted_topic_page_never_contains_a_script_from_body_or_title(members, client_for) -> None:
    client = client_for(members["pair"])
    response = client.post(
        "/r/premier-entretien/nouveau-sujet",
        data={
            "title": "<script>alert('titre')</script> Un titre piégé",
            "body": "<script>alert('corps')</script>\n\n[x](javascript:alert(1)) "
            "<img src=x onerror=alert(1)>",
            "submit": "1",
        },
    )
    assert response.status_code == 302
    topic = db.session.scalar(select(Topic))
    assert topic.title == "<script>alert('titre')</script> Un titre piégé"  # stored as typed
    pages = [
        client.get(f"/t/{topic.id}/{topic.slug}"),
        client.get("/"),
        client.get("/r/premier-entretien"),
        client.get("/actifs"),
        client.get(f"/t/{topic.id}/repondre"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "onerror=alert" not in page.text.replace("onerror=alert(1)&gt;", "")
    topic_page = pages[0].text
    assert "&lt;script&gt;alert(&#39;titre&#39;)&lt;/script&gt; Un titre piégé" in topic_page
    assert "<script>alert('corps')</script>" in unescape(topic_page)  # shown as text
    body = topic_page.split('class="post__body">', 1)[1].split("</div>", 1)[0]
    assert_harmless(body)
    assert "javascript:" not in unescape(body).replace("[x](javascript:alert(1))", "")


def test_preview_never_contains_a_script(members, client_for) -> None:
    response = client_for(members["pair"]).post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Un titre", "body": "<script>alert(1)</script>", "preview": "1"},
    )
    assert response.status_code == 200
    assert "<script>alert" not in response.text


def test_a_quoted_authors_name_is_shown_as_typed_not_as_markdown() -> None:
    html = render_markdown(quote_markdown("Marie *la* [CEP]_2", "Bonjour", 7))
    assert '<a href="/p/7"><strong>Marie *la* [CEP]_2</strong></a> a écrit :' in html
    assert "<em>" not in html


def test_notifications_read_the_mentions_the_links_read() -> None:
    """A web address with « @ » names nobody; « @Léa Cœur » names Léa Cœur."""
    from comcep.notifications.services import mentioned_names

    assert mentioned_names("Voir https://www.youtube.com/@PaireUn/videos") == set()
    assert mentioned_names("Merci @Léa Cœur") == {"léa", "léa cœur"}
