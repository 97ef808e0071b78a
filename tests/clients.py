"""A test client that runs requests as a server does."""

from __future__ import annotations

from typing import Any

from flask_login import FlaskLoginClient


class RequestScopedClient(FlaskLoginClient):
    """Runs each request in an application context of its own, as a server does: a fresh
    `g` (current_user, the policy's viewer cache) and a fresh database session.

    The shared `client_for` reuses the test's application context, so `g` and the session
    survive from one request to the next: a second client would see the first one's user,
    and a page could lean on rows an earlier request loaded.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)
