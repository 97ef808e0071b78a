"""Fixtures for the moderation tests: one application context per request (as a server
runs them) and an empty search index."""

from __future__ import annotations

import pytest
from flask import Flask

from comcep.search import indexing


@pytest.fixture(autouse=True)
def _request_scoped_clients(request_scoped_clients: None) -> None:
    """Every client of these tests runs each request in a context of its own."""


@pytest.fixture(autouse=True)
def _empty_search_index(app: Flask) -> None:
    with app.app_context():
        indexing.get_backend().clear()
