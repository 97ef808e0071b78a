"""A private message's e-mail held by an SMTP outage is built again when the server is
back (review W): what the moderation hid meanwhile, or a member suspended meanwhile, gets
nothing, as for the forum's notification e-mails (tests/notifications/test_smtp_outage.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from flask import Flask
from sqlalchemy import select, update

from comcep import outbox
from comcep.extensions import db, utcnow
from comcep.members.models import Member
from comcep.messages import services as messages
from comcep.messages.models import PrivateMessage
from comcep.moderation import services as moderation
from comcep.outbox import OutboxEvent
from tests.mailserver import Mailbox, free_port, smtp_mailbox, text_of
from tests.notifications.support import send_delayed_emails

CANARY = "CANARIPMW9"


@pytest.fixture
def smtp_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAIL_URL", f"smtp://127.0.0.1:{free_port()}")


@pytest.fixture
def smtp_back(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Mailbox]]:
    with ExitStack() as stack:
        yield lambda: stack.enter_context(smtp_mailbox(app, monkeypatch))


def _retry_now() -> None:
    """Every outbox row due now, applied as the worker does."""
    db.session.execute(update(OutboxEvent).values(available_at=utcnow()))
    db.session.commit()
    outbox.process()


def _held_message(members) -> PrivateMessage:  # noqa: ANN001
    """A message from the pair to the other pair, whose e-mail the outage held."""
    conversation = messages.start_conversation(
        members["pair"], [members["other_pair"]], "Un contact", f"Texte {CANARY} à masquer."
    )
    db.session.commit()
    send_delayed_emails()  # the SMTP server is away: the e-mail waits, as written
    return db.session.scalar(
        select(PrivateMessage).where(PrivateMessage.conversation_id == conversation.id)
    )


def test_a_private_message_hidden_by_the_moderation_during_an_outage_is_not_mailed(
    members, smtp_down, smtp_back
) -> None:
    """The e-mail is built at the retry, without the message hidden since."""
    message = _held_message(members)
    moderation.decide_message_reports(members["animation"], message, True, "Données perso")
    db.session.commit()
    mailbox = smtp_back()
    _retry_now()
    sent = "\n".join(text_of(m) for m in mailbox.to(members["other_pair"].email))
    assert CANARY not in sent


def test_a_private_message_held_by_an_outage_is_not_mailed_to_a_member_suspended_since(
    members, smtp_down, smtp_back
) -> None:
    """A member suspended during the outage is no longer mailed."""
    _held_message(members)
    recipient = db.session.get(Member, members["other_pair"].id)
    moderation.suspend_member(members["animation"], recipient, 30, "Manquements")
    db.session.commit()
    mailbox = smtp_back()
    _retry_now()
    assert mailbox.to(members["other_pair"].email) == []
