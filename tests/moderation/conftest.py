"""Fixtures for the moderation tests: one application context per request (as a server
runs them) and an empty search index."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_login import FlaskLoginClient

from comcep.search import indexing


class RequestScopedClient(FlaskLoginClient):
    """Each request in an application context (hence a database session and a `g`) of its
    own: the shared fixtures keep one context, which would carry the user and stale rows
    from one request to the next."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _request_scoped_clients(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "test_client_class", RequestScopedClient)


@pytest.fixture(autouse=True)
def _empty_search_index(app: Flask) -> None:
    with app.app_context():
        indexing.get_backend().clear()
