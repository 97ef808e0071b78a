"""`url_for` for templates, without rebuilding the same URL shape a hundred times a page.

A topic page builds about a hundred links (permalinks, quote, edit, report, pager…), and
Werkzeug's builder costs several microseconds each. For a given endpoint and the names and
kinds of its arguments, the URL always has the same shape: it is built once by Flask's own
`url_for` with sentinel values, then filled in by string formatting. Only values that every
Werkzeug converter and the query-string encoder leave unchanged take this path (non-negative
ints, and strings of unreserved characters); anything else — other values, `_anchor`,
`_external` and the other options, relative endpoints, no request — goes to Flask's
`url_for`. `tests/test_urls.py` checks both agree.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, has_request_context, request
from flask import url_for as flask_url_for
from werkzeug.routing import BuildError

_UNRESERVED = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")
_SENTINEL_INT = 738_291_650_000  # digits no route or default value contains
_SENTINEL_STR = "zqxsentinelzq"

_UNUSABLE = object()


def _kind(value: Any) -> str | None:
    if type(value) is int:
        return "i" if value >= 0 else None
    if type(value) is str:
        return "s" if _UNRESERVED.fullmatch(value) else None
    return None


class TemplateUrls:
    """The `url_for` of the Jinja environment of one app."""

    def __init__(self) -> None:
        self._shapes: dict[tuple[Any, ...], Any] = {}

    def __call__(self, endpoint: str, **values: Any) -> str:
        if endpoint[:1] == "." or not has_request_context():
            return flask_url_for(endpoint, **values)
        kinds = []
        for name, value in values.items():
            kind = _kind(value)
            if kind is None or name[:1] == "_":
                return flask_url_for(endpoint, **values)
            kinds.append(kind)
        key = (request.script_root, endpoint, tuple(values), tuple(kinds))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = self._learn(endpoint, list(values), kinds)
        if shape is _UNUSABLE:
            return flask_url_for(endpoint, **values)
        return shape.format(*values.values())

    @staticmethod
    def _learn(endpoint: str, names: list[str], kinds: list[str]) -> Any:
        """The URL with each value replaced by a `{n}` field, or _UNUSABLE."""
        sentinels = [
            _SENTINEL_INT + n if kind == "i" else f"{_SENTINEL_STR}{n}x"
            for n, kind in enumerate(kinds)
        ]
        try:
            url = flask_url_for(endpoint, **dict(zip(names, sentinels, strict=True)))
        except BuildError:
            return _UNUSABLE
        if "{" in url or "}" in url:
            return _UNUSABLE
        for n, sentinel in enumerate(sentinels):
            text = str(sentinel)
            if url.count(text) != 1:
                return _UNUSABLE
            url = url.replace(text, f"{{{n}}}")
        return url


def init_app(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = TemplateUrls()
