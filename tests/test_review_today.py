"""Faults a review found in the search by name, the bounded bell and the private
messages' e-mails, each replayed (its split after a merge is with the state machine's
faults, in tests/moderation/test_state_faults.py)."""

from __future__ import annotations

import pytest

from comcep.extensions import db
from tests.factories import make_topic

pytestmark = pytest.mark.usefixtures("request_scoped_clients")


@pytest.mark.parametrize("wanted", ["²", "³", "①", "1²"])
def test_author_filter_with_a_superscript_digit_is_a_message_not_a_500(
    members, client_for, wanted
) -> None:
    """« ² » is a digit to str.isdigit() but not to int(): a French message, not a 500."""
    response = client_for(members["pair"]).get(
        "/recherche", query_string={"q": "entretien", "auteur": wanted}
    )
    assert response.status_code in (200, 400)


def test_the_bell_counts_only_what_the_notifications_page_can_show(members, client_for) -> None:
    """The page shows the latest 200 notifications: an unread one older than 200 read ones
    must not light the bell with no line to open and clear it."""
    from tests.notifications.test_bounded import BELL, _badge, _tell

    pair = members["pair"]
    _tell(pair, make_topic(members["other_pair"], title="Ancienne mention"), 1)
    _tell(pair, make_topic(members["other_pair"], title="Récentes"), 200, read=True)
    client = client_for(pair)
    bell = _badge(BELL, client.get("/").text)
    pages = [client.get(f"/notifications?page={n}").text for n in range(1, 9)]
    shown_unread = sum(p.count("notification--unread") for p in pages)
    assert bell == "" or shown_unread >= 1, (bell, shown_unread)


def test_a_private_message_is_not_mailed_twice_when_the_smtp_fails_on_a_later_recipient(
    members, monkeypatch
) -> None:
    """Each recipient's e-mail is sent at once: when the delivery to the second fails, the
    retry e-mails the second only, not the first again."""
    from comcep import mail
    from comcep.messages import services as messages
    from tests.notifications.support import send_delayed_emails

    delivered: list[str] = []
    real = mail._deliver
    calls = {"n": 0}

    def flaky(email, message_id):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("SMTP away for a moment")
        real(email, message_id)
        delivered.append(email["To"])

    monkeypatch.setattr(mail, "_deliver", flaky)
    messages.start_conversation(
        members["pair"], [members["other_pair"], members["hors_pair"]], "À trois", "Bonjour."
    )
    db.session.commit()
    send_delayed_emails()  # first recipient mailed, second fails: rolled back, retried
    from sqlalchemy import update

    from comcep import outbox
    from comcep.extensions import utcnow
    from comcep.outbox import OutboxEvent

    db.session.execute(update(OutboxEvent).values(available_at=utcnow()))
    db.session.commit()
    outbox.process()
    assert sorted(delivered) == sorted({members["other_pair"].email, members["hors_pair"].email}), (
        delivered
    )
