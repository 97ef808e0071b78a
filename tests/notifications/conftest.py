"""Fixtures for the notification tests: one application context per request (as a server
runs them), rate limits as configured, and a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_login import FlaskLoginClient

from comcep.extensions import limiter
from tests.mailserver import Mailbox, smtp_mailbox


class RequestScopedClient(FlaskLoginClient):
    """Each request in an application context (hence a database session and a `g`) of its
    own, so that nothing the test loaded leaks into the request, nor the other way."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _request_scoped_clients(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "test_client_class", RequestScopedClient)


@pytest.fixture(autouse=True)
def _rate_limits_as_configured(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limiter is module-level: an app built earlier in the run may have switched it on."""
    monkeypatch.setattr(limiter, "enabled", app.config["RATELIMIT_ENABLED"])


@pytest.fixture(autouse=True)
def _links_for_the_test_host(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """E-mails built outside a request (outbox, digests) link to the test client's host."""
    monkeypatch.setitem(app.config, "BASE_URL", "http://localhost")


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_mailbox(app, monkeypatch) as box:
        yield box
