"""An e-mail that could not be sent (the SMTP server away) is built again when it is sent
later: the wall, the member's state and their choices of that moment apply, never the text
written before the outage (review B)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from flask import Flask
from sqlalchemy import update

from comcep import outbox
from comcep.extensions import db, utcnow
from comcep.members.models import Member
from comcep.moderation import services as moderation
from comcep.notifications import services as notifications
from comcep.outbox import OutboxEvent
from tests.factories import category, make_topic
from tests.mailserver import Mailbox, free_port, smtp_mailbox, text_of
from tests.notifications.support import post_reply, send_delayed_emails, set_frequency
from tests.notifications.support import text_of as page_text

CANARY = "CANARI8R5B"


@pytest.fixture
def smtp_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAIL_URL", f"smtp://127.0.0.1:{free_port()}")


@pytest.fixture
def smtp_back(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Mailbox]]:
    """The server answering again, once the test says so."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(smtp_mailbox(app, monkeypatch))


def _retry_now() -> None:
    db.session.execute(update(OutboxEvent).values(available_at=utcnow()))
    db.session.commit()
    outbox.process()


def _all_mail(mailbox: Mailbox, address: str) -> str:
    return "\n".join(str(m["Subject"]) + "\n" + text_of(m) for m in mailbox.to(address))


def test_an_e_mail_held_by_an_outage_leaves_out_a_topic_moved_behind_the_wall(
    members, client_for, smtp_down, smtp_back
) -> None:
    hors_pair = members["hors_pair"]
    moved = make_topic(hors_pair, slug="echanges", title=f"Sujet {CANARY} bientôt déplacé")
    post_reply(client_for(members["pair"]), moved.id, f"Réponse {CANARY} à déplacer.")
    send_delayed_emails()  # delivery failed: nothing was recorded as sent
    response = client_for(members["animation"]).post(
        f"/t/{moved.id}/deplacer",
        data={"category": str(category("premier-entretien").id), "confirm_widening": "y"},
    )
    assert response.status_code == 302, page_text(response)
    mailbox = smtp_back()
    _retry_now()
    assert CANARY not in _all_mail(mailbox, hors_pair.email)


def _reply_held_by_the_outage(members, client_for) -> Member:  # noqa: ANN001
    """A reply to the pair's topic, whose e-mail to the pair failed: the pair is returned."""
    pair = members["pair"]
    topic = make_topic(pair, title="Un sujet")
    post_reply(client_for(members["other_pair"]), topic.id, f"Réponse {CANARY}.")
    send_delayed_emails()
    return pair


def test_an_e_mail_held_by_an_outage_is_sent_as_built_when_the_server_is_back(
    members, client_for, smtp_down, smtp_back
) -> None:
    pair = _reply_held_by_the_outage(members, client_for)
    mailbox = smtp_back()
    _retry_now()
    assert CANARY in _all_mail(mailbox, pair.email)
    _retry_now()  # nothing left to send, nothing sent twice
    assert len(mailbox.to(pair.email)) == 1


def test_an_e_mail_held_by_an_outage_is_not_sent_to_a_member_suspended_since(
    members, client_for, smtp_down, smtp_back
) -> None:
    pair = _reply_held_by_the_outage(members, client_for)
    moderation.suspend_member(
        members["animation"], db.session.get(Member, pair.id), 30, "Manquements répétés"
    )
    db.session.commit()
    mailbox = smtp_back()
    _retry_now()
    assert mailbox.to(pair.email) == []


def test_an_e_mail_held_by_an_outage_is_not_sent_after_the_member_chose_jamais(
    members, client_for, smtp_down, smtp_back
) -> None:
    pair = _reply_held_by_the_outage(members, client_for)
    response = client_for(pair).post("/compte/notifications", data={"frequency": "never"})
    assert response.status_code == 302
    mailbox = smtp_back()
    _retry_now()
    assert [str(m["Subject"]) for m in mailbox.to(pair.email)] == []


def test_a_digest_not_sent_for_an_outage_is_built_again_at_the_next_run(
    members, client_for, smtp_down, smtp_back
) -> None:
    pair = members["pair"]
    set_frequency(pair, "daily")
    topic = make_topic(pair, title=f"Sujet {CANARY}")
    post_reply(client_for(members["other_pair"]), topic.id, "Une réponse du jour.")
    assert notifications.send_digests() == 0  # the server is away: nothing taken
    db.session.expire_all()
    assert db.session.get(Member, pair.id).last_digest_at is None
    mailbox = smtp_back()
    assert notifications.send_digests() == 1
    assert CANARY in _all_mail(mailbox, pair.email)
    assert notifications.send_digests() == 0  # taken: not sent twice
