"""The header of every member's page, rendered once for what it shows and then kept.

The empty layout of a member's page cost about a quarter of a topic page, most of it the
header: fifteen links, the counters, the current page marked. What it shows is a few values
(the page's endpoint, the member's id and name, their staff links, the counters), passed to
the macro `_header.html` as its arguments; it is kept under exactly those values and the URL
root (`comcep.kept`), so a member gets a kept header only where it holds their own name and
counters. The one value that changes from request to request, the CSRF token of the logout
form, is not kept: the header is kept in two halves and the token spliced in between.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_wtf.csrf import generate_csrf
from jinja2 import Template
from markupsafe import Markup, escape

from comcep.kept import per_app

TEMPLATE = "_header.html"
# Passed as markup, so it stays raw: any value of a member's (a name) is escaped by Jinja and
# can never read as this comment.
_SLOT = Markup("<!--csrf-->")


def site_header(*values: Any) -> Markup:
    """The header for `values` (the macro's arguments but the token), with this request's
    CSRF token."""
    template = current_app.jinja_env.get_template(TEMPLATE)
    before, after = per_app("comcep.kept.site_header", _halves)(
        template, request.script_root, values
    )
    token = str(escape(generate_csrf()))
    return Markup(before + token + after)  # noqa: S704 - rendered by Jinja, token escaped


def _halves(template: Template, _script_root: str, values: tuple[Any, ...]) -> tuple[str, str]:
    html = str(template.module.site_header(*values, _SLOT))  # type: ignore[attr-defined]
    before, slot, after = html.partition(str(_SLOT))
    if not slot or str(_SLOT) in after:
        raise RuntimeError("_header.html must show its CSRF token exactly once")
    return before, after


def init_app(app: Flask) -> None:
    app.add_template_global(site_header)
