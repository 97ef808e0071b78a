"""A real SMTP server on loopback (aiosmtpd) that keeps what the app sends, for the tests.

Each test module that needs it declares a small fixture:

    @pytest.fixture
    def mailbox(app, monkeypatch):
        with smtp_mailbox(app, monkeypatch) as box:
            yield box
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

LINK = re.compile(r"https?://[^\s<>\"']+")


def free_port() -> int:
    """A loopback port nobody listens on right now (aiosmtpd 1.4 cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that parses and keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: ANN001, N802
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to `address`, oldest first."""
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def only(self, address: str, subject_part: str = "") -> EmailMessage:
        """The single message to `address` whose subject contains `subject_part`."""
        found = [m for m in self.to(address) if subject_part in str(m["Subject"])]
        subjects = [str(m["Subject"]) for m in self.to(address)]
        assert len(found) == 1, f"expected one message {subject_part!r}, got {subjects}"
        return found[0]

    def clear(self) -> None:
        self.messages.clear()


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None, "the message has no text part"
    return body.get_content()


def links_in(message: EmailMessage) -> list[str]:
    return LINK.findall(text_of(message))


def link_path(message: EmailMessage, prefix: str) -> str:
    """The path of the one link of the message whose path starts with `prefix`; the app builds
    absolute links for the test client's host, `localhost`."""
    paths = []
    for url in links_in(message):
        parts = urlsplit(url)
        assert parts.hostname == "localhost", url
        if parts.path.startswith(prefix):
            paths.append(parts.path)
    assert len(paths) == 1, f"expected one link under {prefix}, got {links_in(message)}"
    return paths[0]


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[Mailbox]:
    """Run an SMTP server on 127.0.0.1 (on `port`, or a free one) for the block's length."""
    mailbox = Mailbox()
    for _attempt in range(5):
        mailbox.port = port or free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
        try:
            controller.start()
        except OSError:  # the port was taken between the probe and the bind
            if port:
                raise
            continue
        break
    else:  # pragma: no cover - five races in a row
        raise RuntimeError("no free port for the SMTP server")
    try:
        yield mailbox
    finally:
        controller.stop()


@contextmanager
def smtp_mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A running SMTP server, and the app configured to send through it."""
    with smtp_server() as mailbox:
        monkeypatch.setitem(app.config, "MAIL_URL", f"smtp://127.0.0.1:{mailbox.port}")
        yield mailbox
