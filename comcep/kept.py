"""Rendered fragments kept per app, under exactly the values they were rendered from.

A fragment's macro depends on its arguments alone (no request, no viewer), so the same
arguments give the same bytes for every reader: keeping them needs no invalidation, only a
bounded LRU (`POST_ARTICLES_KEPT`). One LRU per app and kind, since two apps may build
different URLs; the URL root and the template are part of the key (a template reloaded in
development is a new object, hence new keys).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app


def per_app(name: str, render: Callable[..., Any]) -> Callable[..., Any]:
    """This app's LRU of `render`, created on first use."""
    kept = current_app.extensions.get(name)
    if kept is None:
        kept = functools.lru_cache(maxsize=current_app.config["POST_ARTICLES_KEPT"])(render)
        kept = current_app.extensions.setdefault(name, kept)
    return kept
