"""XSS payloads, written for ComCEP's contexts: HTML text, attribute values (input values,
titles, hrefs), <title>, <textarea> (quotes and edits), Markdown rendered then sanitised, and
search snippets marked safe. Each one, if it ran, would call `__x(n)` (or `alert`, or set
`window.__xss`): the browser tests record any of these and fail.

`§` stands for the payload's number, so that a hit names its payload.
"""

from __future__ import annotations

_PAYLOADS: list[tuple[str, str]] = [
    # --- script tags
    ("script", "<script>__x(§)</script>"),
    ("script", "<SCRIPT>window.__xss=§</SCRIPT>"),
    ("script", "<script src=data:,__x(§)></script>"),
    ("script", "<scr<script>ipt>__x(§)</scr</script>ipt>"),
    ("script", "</title><script>__x(§)</script>"),
    ("script", "</textarea><script>__x(§)</script>"),
    ("script", "</script><script>__x(§)</script>"),
    ("script", '<script type="module">__x(§)</script>'),
    ("script", "<<script>__x(§);//<</script>"),
    ("script", '<noscript><p title="</noscript><script>__x(§)</script>">'),
    # --- event handlers
    ("handler", "<img src=x onerror=__x(§)>"),
    ("handler", '<img src="x" onerror="window.__xss=§">'),
    ("handler", "<img src=x:x onerror=alert(§)>"),
    ("handler", "<body onload=__x(§)>"),
    ("handler", "<details open ontoggle=__x(§)><summary>x</summary></details>"),
    ("handler", "<input autofocus onfocus=__x(§)>"),
    ("handler", "<video><source onerror=__x(§)></video>"),
    ("handler", "<audio src=x onerror=__x(§)>"),
    ("handler", '<iframe srcdoc="<script>parent.__x(§)</script>"></iframe>'),
    ("handler", "<marquee onstart=__x(§)>défile</marquee>"),
    ("handler", '<div onmouseover="__x(§)" class="post__body">survol</div>'),
    ("handler", '<a href="https://exemple.fr" onclick="__x(§)">clic</a>'),
    ("handler", "<object data=javascript:__x(§)></object>"),
    ("handler", "<embed src=javascript:__x(§)>"),
    # --- javascript:, data: and vbscript: URLs in HTML
    ("url", '<a href="javascript:__x(§)">lien</a>'),
    ("url", '<a href="JaVaScRiPt:__x(§)">lien</a>'),
    ("url", '<a href="jav&#x09;ascript:__x(§)">lien</a>'),
    ("url", '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:__x(§)">lien</a>'),
    ("url", '<a href=" javascript:__x(§)">lien</a>'),
    ("url", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">lien</a>'),
    ("url", '<a href="vbscript:msgbox(§)">lien</a>'),
    ("url", '<iframe src="javascript:parent.__x(§)"></iframe>'),
    ("url", '<form action="javascript:__x(§)"><button>envoyer</button></form>'),
    ("url", '<base href="javascript:__x(§)//">'),
    ("url", '<meta http-equiv="refresh" content="0;url=javascript:__x(§)">'),
    # --- SVG and MathML
    ("svg", "<svg onload=__x(§)>"),
    ("svg", "<svg><animate onbegin=__x(§) attributeName=x dur=1s>"),
    ("svg", "<svg><set onbegin=__x(§) attributeName=x to=1>"),
    ("svg", '<svg><a xlink:href="javascript:__x(§)"><text x="20" y="20">clic</text></a></svg>'),
    ("svg", "<svg><script>__x(§)</script></svg>"),
    (
        "svg",
        "<svg><use href=\"data:image/svg+xml,<svg id='u' xmlns='http://www.w3.org/2000/svg'>"
        "<image href='x' onerror='__x(§)'/></svg>#u\"/></svg>",
    ),
    ("svg", "<math><mtext><table><mglyph><style><img src=x onerror=__x(§)>"),
    # --- CSS
    ("css", '<div style="background:url(javascript:__x(§))">css</div>'),
    ("css", '<div style="width:expression(__x(§))">css</div>'),
    ("css", "<style>@import 'javascript:__x(§)';</style>"),
    ("css", '<style>*{background:url("javascript:__x(§)")}</style>'),
    ("css", '<link rel="stylesheet" href="javascript:__x(§)">'),
    ("css", '<p style="behavior:url(#default#time2)" onbegin="__x(§)">css</p>'),
    # --- encoded and malformed markup
    ("encoded", "&lt;script&gt;__x(§)&lt;/script&gt;"),
    ("encoded", "&#60;img src=x onerror=__x(§)&#62;"),
    ("encoded", "<img src=x onerror=&#95;&#95;x&#40;§&#41;>"),
    ("encoded", '<img """><script>__x(§)</script>">'),
    ("encoded", "<img src=x onerror=__x(§)//"),
    ("encoded", "<scr\x00ipt>__x(§)</scr\x00ipt>"),
    ("encoded", "<img src=x one\x00rror=__x(§)>"),
    ("encoded", "+ADw-script+AD4-__x(§)+ADw-/script+AD4-"),
    ("encoded", "<img src=`x`onerror=__x(§)>"),
    ("encoded", "<iMg sRc=x OnErRoR=__x(§)>"),
    ("encoded", "\\u003cscript\\u003e__x(§)\\u003c/script\\u003e"),
    ("encoded", "%3Cscript%3E__x(§)%3C%2Fscript%3E"),
    ("encoded", "<!--><img src=x onerror=__x(§)>-->"),
    ("encoded", '<a href="https://exemple.fr"<img src=x onerror=__x(§)>>lien</a>'),
    # --- Markdown links, images and their titles
    ("markdown", "[lien](javascript:__x(§))"),
    ("markdown", "[lien](JAVASCRIPT:__x(§))"),
    ("markdown", "[lien](<javascript:__x(§)>)"),
    ("markdown", "[lien](java&#x73;cript:__x(§))"),
    ("markdown", "[lien](javascript&colon;__x(§))"),
    ("markdown", "[lien](data:text/html;base64,PHNjcmlwdD5fX3goMSk8L3NjcmlwdD4=)"),
    ("markdown", "[lien](vbscript:msgbox(§))"),
    ("markdown", "![image](javascript:__x(§))"),
    ("markdown", '![image](x" onerror="__x(§))'),
    ("markdown", '![image](https://exemple.fr/x.png"onerror="__x(§))'),
    ("markdown", "[lien][ref§]\n\n[ref§]: javascript:__x(§)"),
    ("markdown", "<javascript:__x(§)>"),
    ("markdown", '[lien](https://exemple.fr "titre" onmouseover="__x(§)")'),
    ("markdown", '[lien](https://exemple.fr "<script>__x(§)</script>")'),
    ("markdown", "[<img src=x onerror=__x(§)>](https://exemple.fr)"),
    ("markdown", "`<script>__x(§)</script>`"),
    ("markdown", "```html\n</code></pre><script>__x(§)</script>\n```"),
    ("markdown", "[lien](javascript:__x(§)"),
    ("markdown", "| a |\n|---|\n| <img src=x onerror=__x(§)> |"),
    # --- breaking out of attribute values and strings
    ("attribute", '"><img src=x onerror=__x(§)>'),
    ("attribute", "'><img src=x onerror=__x(§)>"),
    ("attribute", "'-__x(§)-'"),
    ("attribute", '"-__x(§)-"'),
    ("attribute", '" autofocus onfocus="__x(§)'),
    ("attribute", "' autofocus onfocus='__x(§)"),
    ("attribute", '" onmouseover="__x(§)" x="'),
    ("attribute", '<img src=x onerror=__x(§) alt="'),
    ("attribute", "{{7*7}}${__x(§)}<img src=x onerror=__x(§)>"),
    ("attribute", "javascript:__x(§)"),
]

PAYLOADS: list[tuple[str, str]] = [
    (f"{n:02d}-{family}", text.replace("§", str(n)))
    for n, (family, text) in enumerate(_PAYLOADS, start=1)
]


def storable(text: str) -> str:
    """The payload as a database can hold it: PostgreSQL refuses NUL in text (HTML parsers
    turn it into U+FFFD anyway); NULs still go through the forms and the search box."""
    return text.replace("\x00", "")
