"""Notifications from review B: who a notice names, told once, a grouped line that leads
somewhere readable, one digest whatever the number of workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from comcep import outbox
from comcep.extensions import db
from comcep.forum.models import Post
from comcep.moderation import services as moderation
from comcep.notifications.services import POST_KIND
from tests.factories import category, make_reply, make_topic
from tests.mailserver import Mailbox, smtp_mailbox, text_of
from tests.notifications.conftest import RequestScopedClient
from tests.notifications.support import (
    location,
    notifications_of,
    post_reply,
    send_delayed_emails,
    set_frequency,
)
from tests.notifications.support import text_of as page_text

CANARY = "CANARI8R5B"


@pytest.fixture(autouse=True)
def _scoped(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "test_client_class", RequestScopedClient)
    monkeypatch.setitem(app.config, "BASE_URL", "http://localhost")


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_mailbox(app, monkeypatch) as box:
        yield box


def _all_mail(mailbox: Mailbox, address: str) -> str:
    return "\n".join(str(m["Subject"]) + "\n" + text_of(m) for m in mailbox.to(address))


# --- A pair's name, given to a hors pair who may not see that member ----------------------


def test_relay_notice_does_not_name_a_pair_the_hors_pair_cannot_see(
    members, client_for, mailbox
) -> None:
    """SPEC §4: a hors pair sees only members who posted where it can read; the thanks
    notice already respects that (`tell_thanked`), the relay notice (bell and e-mail) names
    the animatrice, whose profile answers 404 to that hors pair."""
    hors_pair, animatrice = members["hors_pair"], members["animation"]
    hp = client_for(hors_pair)
    assert hp.get(f"/membres/{animatrice.id}").status_code == 404  # invisible to them
    exchange = make_topic(hors_pair, slug="echanges", title="Question des partenaires")
    response = client_for(animatrice).post(
        f"/t/{exchange.id}/relayer",
        data={"category": str(category("premier-entretien").id), "summary": "Résumé"},
    )
    assert response.status_code == 302
    send_delayed_emails()
    assert [n.kind for n in notifications_of(hors_pair)] == ["relay"]
    page = page_text(hp.get("/notifications"))
    assert "a relayé votre échange" in page
    assert animatrice.display_name not in page
    assert animatrice.display_name not in _all_mail(mailbox, hors_pair.email)


def test_hide_notice_does_not_name_a_pair_the_hors_pair_cannot_see(
    members, client_for, mailbox
) -> None:
    hors_pair, animatrice = members["hors_pair"], members["animation"]
    exchange = make_topic(hors_pair, slug="echanges", title="Question des partenaires")
    reply = make_reply(hors_pair, exchange, "Une précision personnelle.")
    moderation.hide_post(animatrice, reply, exchange, "Données personnelles")
    db.session.commit()
    send_delayed_emails()
    hp = client_for(hors_pair)
    assert hp.get(f"/membres/{animatrice.id}").status_code == 404
    assert [n.kind for n in notifications_of(hors_pair)] == ["post_hidden"]
    assert animatrice.display_name not in page_text(hp.get("/notifications"))
    assert animatrice.display_name not in _all_mail(mailbox, hors_pair.email)


# --- The outbox retrying a post's notifying -----------------------------------------------


def test_a_retried_notify_row_sends_no_second_email_nor_second_notification(
    members, client_for, mailbox
) -> None:
    """A worker that dies after `handle_new_posts` committed but before deleting its row
    leaves the row to be taken again once the lease is over (outbox docstring): the same
    post is then notified and e-mailed twice."""
    pair = members["pair"]
    topic = make_topic(pair, title="Un salarié veut changer de métier")
    mailbox.clear()
    post_id = post_reply(client_for(members["other_pair"]), topic.id, "As-tu pensé au CPF ?")
    send_delayed_emails()
    assert len(mailbox.to(pair.email)) == 1
    # The same row again, as the lease running out after a crash gives it back.
    outbox.enqueue(POST_KIND, [post_id])
    db.session.commit()
    outbox.process()
    send_delayed_emails()
    assert len(mailbox.to(pair.email)) == 1, "the same reply e-mailed twice"
    assert len([n for n in notifications_of(pair) if n.post_id == post_id]) == 1


# --- Opening a grouped line ---------------------------------------------------------------


def test_opening_a_grouped_line_never_leads_to_a_hidden_reply(members, client_for) -> None:
    """Two replies in my topic make one line; the first is hidden since: the line counts
    one message, but opening it redirects to the hidden post, which answers 404."""
    pair = members["pair"]
    topic = make_topic(pair, title="Un cas")
    first = make_reply(members["other_pair"], topic, "Première réponse, masquée ensuite.")
    second = make_reply(members["pilot_pair"], topic, "Deuxième réponse, visible.")
    moderation.hide_post(members["animation"], first, topic, "Hors sujet")
    db.session.commit()
    client = client_for(pair)
    page = page_text(client.get("/notifications"))
    assert "Première réponse" not in page
    line = [n for n in notifications_of(pair) if n.post_id == second.id][0]
    opened = client.get(f"/notifications/{line.id}")
    assert opened.status_code == 302
    target = location(opened)
    assert target == f"/p/{second.id}", target
    assert client.get(target).status_code in (200, 302)


# --- A thanks notice keeps a name the hors pair no longer may see ---------------------------


def test_a_thanks_notice_stops_naming_a_pair_who_is_no_longer_visible(members, client_for) -> None:
    hors_pair, pair = members["hors_pair"], members["pair"]
    exchange = make_topic(hors_pair, slug="echanges", title="Question des partenaires")
    theirs = make_reply(pair, exchange, "Une réponse d'une paire.")
    first = db.session.scalar(select(Post).where(Post.topic_id == exchange.id, Post.number == 1))
    response = client_for(pair).post(f"/p/{first.id}/merci", data={"action": "donner"})
    assert response.status_code in (200, 302, 303), response.status_code
    assert "thanks" in [n.kind for n in notifications_of(hors_pair)]
    moderation.hide_post(members["animation"], theirs, exchange, "Hors sujet")
    db.session.commit()
    hp = client_for(hors_pair)
    assert hp.get(f"/membres/{pair.id}").status_code == 404  # no longer visible to them
    page = page_text(hp.get("/notifications"))
    assert "vous remercie" in page  # the thanks line still shows (its post is visible)
    assert f"{pair.display_name}</strong> vous remercie" not in page


# --- Two workers sending the hourly digests at once ---------------------------------------


def test_two_workers_running_the_digests_at_once_send_one_digest(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    """Every `comcep worker` (several hosts, SPEC §9) runs `send_digests` each hour. The
    notifications are claimed by an UPDATE … RETURNING, but the due members and their unread
    private messages are not: a second worker reading the same member while the first is
    building its digest sends a second digest with the same private message."""
    import threading

    from comcep.notifications import services as notifications

    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises them)")
    pair, other = members["pair"], members["other_pair"]
    set_frequency(other, "daily")
    response = client_for(pair).post(
        "/messages/nouveau",
        data={"subject": "Un échange", "recipients": "Paire Deux", "body": f"Message {CANARY}."},
    )
    assert response.status_code == 302, page_text(response)
    mailbox.clear()

    real = notifications._private_message_items
    calls = {"n": 0}

    def second_worker() -> None:
        with app.app_context():
            notifications.send_digests()
            db.session.remove()

    threads: list[threading.Thread] = []

    def items(where):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 1:  # the first worker is building its digest: another starts
            threads.append(threading.Thread(target=second_worker))
            threads[0].start()
            threads[0].join(timeout=2)  # it reads the same member, and waits on its row
        return real(where)

    monkeypatch.setattr(notifications, "_private_message_items", items)
    notifications.send_digests()
    threads[0].join(timeout=30)
    assert not threads[0].is_alive()
    outbox.process()
    digests = [m for m in mailbox.to(other.email) if "résumé" in str(m["Subject"])]
    assert len(digests) == 1, [str(m["Subject"]) for m in digests]
