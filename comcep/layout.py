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

import time
from typing import Any

from flask import Flask, current_app, g, request, session
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
    token = str(escape(csrf_token()))
    return Markup(before + token + after)  # noqa: S704 - rendered by Jinja, token escaped


def csrf_token() -> str:
    """The session's CSRF token, as Flask-WTF's `generate_csrf` signs it, signed at most
    once a minute per session and process: signing it on every page cost 2.5 % of a topic
    page. The key is the session's own secret (and the app's key), so a token is only ever
    served to the session it was signed for. Tokens carry no time limit here, so one signed a
    minute ago validates as a new one; with a `WTF_CSRF_TIME_LIMIT`, each page signs its own.
    Flask-WTF keeps the request's token on `g`, where forms find the same one."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    token = g.get(field)
    if token is None:
        raw = session.get(field)
        secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        if not isinstance(raw, str) or not secret or config.get("WTF_CSRF_TIME_LIMIT"):
            return generate_csrf()  # a new session (Flask-WTF makes its secret), or a limit
        token = per_app("comcep.kept.csrf_token", _signed)(secret, raw, int(time.time()) // 60)
        setattr(g, field, token)
    return token


def _signed(_secret: Any, _raw: str, _minute: int) -> str:
    """Flask-WTF's token for this request's session (whose secret is `_raw`)."""
    return generate_csrf()


def _halves(template: Template, _script_root: str, values: tuple[Any, ...]) -> tuple[str, str]:
    html = str(template.module.site_header(*values, _SLOT))  # type: ignore[attr-defined]
    before, slot, after = html.partition(str(_SLOT))
    if not slot or str(_SLOT) in after:
        raise RuntimeError("_header.html must show its CSRF token exactly once")
    return before, after


def init_app(app: Flask) -> None:
    app.add_template_global(site_header)
    app.add_template_global(csrf_token)  # in place of Flask-WTF's, the same token
