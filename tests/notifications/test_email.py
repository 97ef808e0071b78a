"""Notification e-mails received by a real SMTP server on loopback (issue 7, deliverable 3):
immediate and grouped after a delay, digests, and the one-click unsubscribe."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event, select, update

from comcep import outbox
from comcep.extensions import db, utcnow
from comcep.members.models import Member
from comcep.messages.models import PrivateMessage
from comcep.notifications.models import Notification
from comcep.notifications.services import EMAIL_KIND
from comcep.outbox import OutboxEvent
from tests.factories import category, make_reply, make_topic
from tests.mailserver import link_path, text_of
from tests.notifications.support import (
    bell,
    location,
    notifications_of,
    pending_email_rows,
    post_reply,
    send_delayed_emails,
    set_frequency,
    set_topic_level,
)
from tests.notifications.support import text_of as page_text

IMMEDIATE = "Du nouveau sur la ComCEP"
DAILY = "Votre résumé du jour sur la ComCEP"
WEEKLY = "Votre résumé de la semaine sur la ComCEP"


def html_of(message) -> str:  # noqa: ANN001 - an EmailMessage
    part = message.get_body(("html",))
    assert part is not None, "the message has no HTML part"
    return part.get_content()


def unsubscribe_path(message) -> str:  # noqa: ANN001 - an EmailMessage
    header = str(message["List-Unsubscribe"]).strip()
    match = re.fullmatch(r"<(https?://[^>]+)>", header)
    assert match is not None, header
    parts = urlsplit(match.group(1))
    assert parts.hostname == "localhost"
    return parts.path


def frequency_of(member: Member) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Member.email_frequency).where(Member.id == member.id))


# --- Immediate e-mails -----------------------------------------------------------------


def test_a_reply_in_my_topic_is_emailed_to_me_with_its_text(members, client_for, mailbox) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Un salarié veut changer de métier")
    mailbox.clear()
    post_id = post_reply(
        client_for(members["other_pair"]), topic.id, "As-tu pensé au **projet de transition** ?"
    )

    message = mailbox.only(pair.email, IMMEDIATE)
    body = text_of(message)
    assert "Bonjour Paire Un," in body
    assert "Paire Deux a répondu à votre sujet : « Un salarié veut changer de métier »" in body
    assert "As-tu pensé au projet de transition ?" in body
    assert link_path(message, "/p/") == f"/p/{post_id}"
    assert "projet de transition" in html_of(message)
    assert mailbox.to(members["other_pair"].email) == []  # not about one's own post


def test_every_notification_email_carries_a_one_click_list_unsubscribe(
    members, client_for, mailbox
) -> None:
    pair = members["pair"]
    topic = make_topic(pair)
    post_reply(client_for(members["other_pair"]), topic.id, "Une réponse.")
    message = mailbox.only(pair.email, IMMEDIATE)
    path = unsubscribe_path(message)
    assert path.startswith("/notifications/desabonner/")
    assert str(message["List-Unsubscribe-Post"]).strip() == "List-Unsubscribe=One-Click"
    assert link_path(message, "/notifications/desabonner/") == path  # also in the text


def test_the_one_click_post_stops_further_emails_without_a_session_or_csrf(
    app, members, client_for, client, mailbox, monkeypatch
) -> None:
    pair = members["pair"]
    topic = make_topic(pair)
    post_reply(client_for(members["other_pair"]), topic.id, "Une première réponse.")
    path = unsubscribe_path(mailbox.only(pair.email, IMMEDIATE))

    page = client.get(path)
    assert page.status_code == 200
    assert "Me désabonner" in page_text(page)
    assert frequency_of(pair) == "immediate"  # a GET (a link scanner) changes nothing

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # as in production
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    assert done.status_code == 200
    assert "Vous ne recevrez plus d'e-mails de notification" in page_text(done)
    assert frequency_of(pair) == "never"

    mailbox.clear()
    post_reply(client_for(members["other_pair"]), topic.id, "Une seconde réponse.")
    assert len(notifications_of(pair)) == 2  # still told in the app
    assert mailbox.to(pair.email) == []


def test_a_forged_unsubscribe_token_changes_nothing(members, client, mailbox) -> None:
    pair = members["pair"]
    topic = make_topic(pair)
    make_reply(members["other_pair"], topic, "Une réponse.")
    path = unsubscribe_path(mailbox.only(pair.email, IMMEDIATE))
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/notifications/desabonner/{forged}").status_code == 404
    assert client.post("/notifications/desabonner/n-importe-quoi").status_code == 404
    assert frequency_of(pair) == "immediate"


def test_replies_arriving_within_the_delay_are_grouped_in_one_email(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Un cas à plusieurs voix")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    first = post_reply(client_for(members["other_pair"]), topic.id, "Premier avis : la VAE.")
    second = post_reply(client_for(members["pilot_pair"]), topic.id, "Second avis : le CPF.")
    assert mailbox.messages == []  # the delay has not run out
    assert pending_email_rows() >= 2

    send_delayed_emails()
    message = mailbox.only(pair.email, IMMEDIATE)
    body = text_of(message)
    assert body.index("Premier avis : la VAE.") < body.index("Second avis : le CPF.")
    assert body.count("« Un cas à plusieurs voix »") == 2
    assert {urlsplit(u).path for u in re.findall(r"https?://\S+/p/\d+", body)} == {
        f"/p/{first}",
        f"/p/{second}",
    }
    assert pending_email_rows() == 0
    assert len(mailbox.to(members["other_pair"].email)) == 1  # watching since replying

    send_delayed_emails()  # nothing is sent twice
    assert len(mailbox.to(pair.email)) == 1


def _make_first_row_due() -> None:
    """Let the oldest e-mail row's delay run out, not the others', and apply the outbox."""
    row = db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.kind == EMAIL_KIND).order_by(OutboxEvent.id)
    ).first()
    if row is not None:
        row.available_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    outbox.process()
    db.session.expire_all()


def test_the_first_row_due_sends_everything_of_the_window_once_and_a_later_post_alone(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Un fil animé")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    replies = [
        post_reply(client_for(members[key]), topic.id, f"Avis numéro {n}.")
        for n, key in enumerate(("other_pair", "pilot_pair", "other_pair"), start=1)
    ]
    assert mailbox.to(pair.email) == []
    _make_first_row_due()  # only the first reply's delay has run out
    body = text_of(mailbox.only(pair.email, IMMEDIATE))
    for n, post_id in enumerate(replies, start=1):
        assert body.count(f"Avis numéro {n}.") == 1
        assert len(re.findall(rf"/p/{post_id}\b", body)) == 1
    send_delayed_emails()  # the rows of the 2nd and 3rd replies: nothing left to send
    assert len(mailbox.to(pair.email)) == 1

    later = post_reply(client_for(members["pilot_pair"]), topic.id, "Avis tardif.")
    send_delayed_emails()
    messages = mailbox.to(pair.email)
    assert len(messages) == 2
    body = text_of(messages[-1])
    assert "Avis tardif." in body
    assert f"/p/{later}" in body
    assert "Avis numéro" not in body


def test_two_workers_sending_one_members_rows_at_once_never_send_a_post_twice(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Deux workers")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    post_reply(client_for(members["other_pair"]), topic.id, "Réponse unique.")
    raced = []

    def other_worker_first(conn, cursor, statement, *_args) -> None:  # noqa: ANN001
        # Just before this worker marks the notifications, another one claims and sends them.
        if raced or not statement.lstrip().upper().startswith("UPDATE NOTIFICATIONS"):
            return
        raced.append(True)
        with db.engine.begin() as other:
            other.execute(
                update(Notification)
                .where(Notification.member_id == pair.id, Notification.emailed_at.is_(None))
                .values(emailed_at=utcnow())
            )

    event.listen(db.engine, "before_cursor_execute", other_worker_first)
    try:
        send_delayed_emails()
    finally:
        event.remove(db.engine, "before_cursor_execute", other_worker_first)
    assert raced
    assert mailbox.to(pair.email) == []  # the other worker sent it


def test_an_edit_made_during_the_delay_is_what_the_email_shows(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Une coquille à corriger")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    other = client_for(members["other_pair"])
    post_id = post_reply(other, topic.id, "Le finacement passe par l'OPCO.")
    edited = other.post(
        f"/p/{post_id}/modifier", data={"title": topic.title, "body": "Le financement passe."}
    )
    assert edited.status_code == 302
    send_delayed_emails()
    body = text_of(mailbox.only(pair.email, IMMEDIATE))
    assert "Le financement passe." in body
    assert "finacement" not in body


def test_a_reply_read_on_the_site_within_the_delay_is_not_emailed(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    """As an unread private message only is e-mailed: a reply whose topic its member opened
    during the delay is told already (Discourse e-mails no notification already read), and
    the next one, unread, is e-mailed alone."""
    pair, other = members["pair"], members["other_pair"]
    topic = make_topic(pair, title="Un cas suivi de près")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    post_reply(client_for(other), topic.id, "Une réponse lue sur le site.")
    assert client_for(pair).get(f"/t/{topic.id}", follow_redirects=True).status_code == 200
    assert [n.read_at is not None for n in notifications_of(pair)] == [True]
    assert bell(client_for(pair)) == 0
    send_delayed_emails()
    assert mailbox.to(pair.email) == []

    post_reply(client_for(other), topic.id, "Une réponse pas encore lue.")
    send_delayed_emails()
    body = text_of(mailbox.only(pair.email, IMMEDIATE))
    assert "Une réponse pas encore lue." in body
    assert "lue sur le site" not in body


def test_the_email_of_a_notice_without_a_post_leads_where_its_bell_line_leads(
    members, client_for, mailbox
) -> None:
    """A relay (as a report decided) names a topic, not a post: its e-mail's link opens the
    notification, as the bell's line does (the exchange, and the notice read), not the
    list of every notification."""
    pair = members["pair"]
    exchange = make_topic(pair, slug="echanges", title="Question aux partenaires")
    mailbox.clear()
    relayed = client_for(members["animation"]).post(
        f"/t/{exchange.id}/relayer",
        data={"category": str(category("premier-entretien").id), "summary": "À lire."},
    )
    assert relayed.status_code == 302, page_text(relayed)
    send_delayed_emails()
    message = mailbox.only(pair.email, IMMEDIATE)
    assert "a relayé votre échange auprès des pairs : « Question aux partenaires »" in (
        text_of(message)
    )
    [notice] = notifications_of(pair, "relay")
    path = link_path(message, f"/notifications/{notice.id}")
    assert "Voir sur la ComCEP" in html_of(message)

    opened = client_for(pair).get(path)
    assert opened.status_code == 302
    assert location(opened) == f"/t/{exchange.id}"
    assert notifications_of(pair, "relay")[0].read_at is not None


def test_a_muted_topic_sends_no_email(members, client_for, mailbox) -> None:
    pair = members["pair"]
    muted = make_topic(pair, title="Sujet en silence")
    loud = make_topic(pair, title="Sujet surveillé")
    set_topic_level(client_for(pair), muted.id, "muted")
    other = client_for(members["other_pair"])
    post_reply(other, muted.id, "Réponse dans le silence.")
    post_reply(other, muted.id, "@Paire Un, même une mention.")
    assert mailbox.to(pair.email) == []
    post_reply(other, loud.id, "Réponse dans le sujet surveillé.")
    body = text_of(mailbox.only(pair.email, IMMEDIATE))
    assert "Sujet surveillé" in body
    assert "silence" not in body


def test_a_hidden_reply_is_not_emailed(app, members, client_for, mailbox, monkeypatch) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Une réponse masquée avant l'envoi")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    post_id = post_reply(client_for(members["other_pair"]), topic.id, "Texte inapproprié.")
    hidden = client_for(members["animation"]).post(
        f"/p/{post_id}/masquer", data={"reason": "Hors charte."}
    )
    assert hidden.status_code == 302
    send_delayed_emails()
    assert "Texte inapproprié" not in "".join(text_of(m) for m in mailbox.to(pair.email))


def test_the_author_of_a_hidden_post_is_told_by_email_with_the_reason(
    members, client_for, mailbox
) -> None:
    """The notice of a post hidden by the moderation reaches its author by e-mail too (it
    was dropped there as a hidden post), with the reason rather than their own text."""
    topic = make_topic(members["pair"], title="Un sujet modéré")
    post = make_reply(members["other_pair"], topic, "Un message à masquer.")
    mailbox.clear()
    hidden = client_for(members["animation"]).post(
        f"/p/{post.id}/masquer", data={"reason": "Données personnelles."}
    )
    assert hidden.status_code == 302
    send_delayed_emails()
    message = mailbox.only(members["other_pair"].email, IMMEDIATE)
    body = text_of(message)
    assert "a masqué votre message" in body
    assert "Raison : Données personnelles." in body
    assert "Un message à masquer." not in body
    assert link_path(message, "/p/") == f"/p/{post.id}"


@pytest.mark.parametrize("frequency", ["daily", "weekly", "never"])
def test_a_member_who_chose_another_frequency_gets_no_immediate_email(
    members, client_for, mailbox, frequency
) -> None:
    pair = members["pair"]
    response = client_for(pair).post("/compte/notifications", data={"frequency": frequency})
    assert response.status_code == 302
    assert frequency_of(pair) == frequency
    topic = make_topic(pair)
    post_reply(client_for(members["other_pair"]), topic.id, "Une réponse.")
    assert mailbox.to(pair.email) == []
    assert bell(client_for(pair)) == 1


def test_an_unknown_frequency_is_refused(members, client_for) -> None:
    response = client_for(members["pair"]).post("/compte/notifications", data={"frequency": "x"})
    assert response.status_code == 400
    assert frequency_of(members["pair"]) == "immediate"


def preferences_form(response) -> str:  # noqa: ANN001 - a TestResponse
    """The e-mail frequency form of a page, its markup as sent."""
    match = re.search(
        r'<form method="post" action="/compte/notifications">.*?</form>',
        response.get_data(as_text=True),
        re.S,
    )
    assert match is not None, "no e-mail frequency form on the page"
    return match.group(0)


def test_my_account_shows_the_email_frequency_form_of_the_notifications_page(
    members, client_for
) -> None:
    """« Mon compte » had no notification settings: the form sat only under the
    notifications. Both pages show the same form; each says where to return."""
    pair = members["pair"]
    set_frequency(pair, "weekly")
    client = client_for(pair)
    account = client.get("/compte")
    assert "Notifications par e-mail" in page_text(account)
    on_account = preferences_form(account)
    assert re.search(r'value="weekly" checked', on_account)
    assert 'name="back" value="compte"' in on_account
    notifications = client.get("/notifications")
    on_notifications = preferences_form(notifications)
    assert 'name="back" value="notifications"' in on_notifications
    assert on_account.replace('"compte"', '"notifications"') == on_notifications
    assert 'href="/compte#notifications-title"' in notifications.get_data(as_text=True)


@pytest.mark.parametrize(
    ("back", "page"),
    [
        ("compte", "/compte"),
        ("notifications", "/notifications"),
        (None, "/notifications"),
        ("https://ailleurs.example/", "/notifications"),
        ("/membres", "/notifications"),
    ],
    ids=["account", "notifications", "none", "external-address", "site-path"],
)
def test_saving_the_email_frequency_returns_to_the_page_it_was_sent_from(
    members, client_for, back, page
) -> None:
    """Only the two pages showing the form, named by a fixed value: never an address."""
    data = {"frequency": "daily"} | ({"back": back} if back else {})
    response = client_for(members["pair"]).post("/compte/notifications", data=data)
    assert response.status_code == 302
    assert location(response) == page
    assert frequency_of(members["pair"]) == "daily"


# --- Digests ----------------------------------------------------------------------------


def digest(runner) -> str:  # noqa: ANN001 - FlaskCliRunner
    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code == 0, result.output
    return result.output


def test_digests_gather_exactly_what_each_member_was_told_since_the_last_one(
    members, runner, mailbox
) -> None:
    pair, other, pilot = members["pair"], members["other_pair"], members["pilot_pair"]
    set_frequency(pair, "daily")
    set_frequency(other, "weekly")
    asked = make_topic(pair, title="Sujet A : une reconversion", body="Ouverture A.")
    make_reply(other, asked, "Texte A1 de Paire Deux.")
    make_reply(pilot, asked, "Texte A2 de Paire Pilote.")
    other_topic = make_topic(other, title="Sujet B : un financement", body="Ouverture B.")
    make_reply(pilot, other_topic, "Texte B1 sans mention.")
    make_reply(pilot, other_topic, "@Paire Un Texte B2 avec mention.")
    elsewhere = make_topic(pilot, title="Sujet C : ailleurs", body="Ouverture C.")
    make_reply(members["animation"], elsewhere, "Texte C1 que personne ne suit.")
    assert mailbox.to(pair.email) == mailbox.to(other.email) == []

    assert digest(runner).strip() == "2 résumé(s) envoyé(s)."
    daily = text_of(mailbox.only(pair.email, DAILY))
    for expected in (
        "Paire Deux a répondu à votre sujet : « Sujet A : une reconversion »",
        "Texte A1 de Paire Deux.",
        "Paire Pilote a répondu à votre sujet : « Sujet A : une reconversion »",
        "Texte A2 de Paire Pilote.",
        "Paire Pilote vous a mentionné·e : « Sujet B : un financement »",
        "Texte B2 avec mention.",
    ):
        assert expected in daily
    for absent in ("Texte B1", "Texte C1", "Sujet C", "Ouverture"):
        assert absent not in daily
    assert daily.index("Texte A1") < daily.index("Texte A2") < daily.index("Texte B2")

    weekly = text_of(mailbox.only(other.email, WEEKLY))
    for expected in ("Texte A2 de Paire Pilote.", "Texte B1 sans mention.", "Texte B2"):
        assert expected in weekly
    for absent in ("Texte A1", "Texte C1"):
        assert absent not in weekly
    for message in (mailbox.only(pair.email, DAILY), mailbox.only(other.email, WEEKLY)):
        assert unsubscribe_path(message).startswith("/notifications/desabonner/")

    make_reply(other, asked, "Texte A3 arrivé après le résumé.")
    assert digest(runner).strip() == "0 résumé(s) envoyé(s)."  # the same day: nothing
    assert len(mailbox.to(pair.email)) == 1
    assert len(mailbox.to(other.email)) == 1

    db.session.execute(
        update(Member)
        .where(Member.id == pair.id)
        .values(last_digest_at=utcnow() - timedelta(days=1, minutes=1))
    )
    db.session.commit()
    assert digest(runner).strip() == "1 résumé(s) envoyé(s)."
    following = [m for m in mailbox.to(pair.email) if str(m["Subject"]) == DAILY][-1]
    assert "Texte A3 arrivé après le résumé." in text_of(following)
    assert "Texte A1" not in text_of(following)


def test_a_digest_leaves_out_what_its_member_read_on_the_site(
    members, client_for, runner, mailbox
) -> None:
    """What the bell told and the member read on the site since the last digest is not
    summed up again, as the private messages read are not."""
    pair, other = members["pair"], members["other_pair"]
    set_frequency(pair, "daily")
    seen = make_topic(pair, title="Sujet déjà lu")
    make_reply(other, seen, "Texte déjà lu sur le site.")
    unseen = make_topic(pair, title="Sujet pas encore lu")
    make_reply(other, unseen, "Texte encore à lire.")
    assert client_for(pair).get(f"/t/{seen.id}", follow_redirects=True).status_code == 200

    assert digest(runner).strip() == "1 résumé(s) envoyé(s)."
    body = text_of(mailbox.only(pair.email, DAILY))
    assert "Texte encore à lire." in body
    assert "Texte déjà lu" not in body
    assert "Sujet déjà lu" not in body


def a_day_later(member: Member) -> None:
    """The member's digest period, begun when they chose it, run out."""
    db.session.expire_all()
    started = db.session.get(Member, member.id).last_digest_at
    db.session.execute(
        update(Member)
        .where(Member.id == member.id)
        .values(last_digest_at=started - timedelta(days=1, minutes=1))
    )
    db.session.commit()


@pytest.mark.parametrize("frequency", ["immediate", "daily"])
def test_choosing_emails_again_starts_from_then_not_with_the_months_without(
    members, client_for, runner, mailbox, frequency
) -> None:
    """A member who chose « Jamais » (or unsubscribed in one click) is still told on the
    bell; choosing e-mails again, the first e-mail (or digest) carries what comes next, not
    every notification of the time without e-mails."""
    pair, other = members["pair"], members["other_pair"]
    topic = make_topic(pair, title="Un sujet suivi sans e-mail")
    set_frequency(pair, "never")
    post_reply(client_for(other), topic.id, "Réponse du temps sans e-mail.")
    assert bell(client_for(pair)) == 1
    assert mailbox.to(pair.email) == []

    chosen = client_for(pair).post("/compte/notifications", data={"frequency": frequency})
    assert chosen.status_code == 302
    post_reply(client_for(other), topic.id, "Réponse après le retour des e-mails.")
    send_delayed_emails()
    if frequency == "daily":
        a_day_later(pair)
        assert digest(runner).strip() == "1 résumé(s) envoyé(s)."
    [message] = mailbox.to(pair.email)
    body = text_of(message)
    assert "Réponse après le retour des e-mails." in body
    assert "temps sans e-mail" not in body
    assert [n.read_at for n in notifications_of(pair)] == [None, None]  # the bell holds both


def test_a_weekly_digest_waits_for_its_week(members, runner, mailbox) -> None:
    other = members["other_pair"]
    set_frequency(other, "weekly")
    db.session.execute(
        update(Member)
        .where(Member.id == other.id)
        .values(last_digest_at=utcnow() - timedelta(days=3))
    )
    db.session.commit()
    topic = make_topic(other, title="Un sujet de la semaine")
    make_reply(members["pair"], topic, "Une réponse en milieu de semaine.")
    assert digest(runner).strip() == "0 résumé(s) envoyé(s)."
    assert mailbox.to(other.email) == []
    assert len(notifications_of(other)) == 1


def test_no_digest_is_sent_when_nothing_happened(members, runner, mailbox) -> None:
    set_frequency(members["pair"], "daily")
    assert digest(runner).strip() == "0 résumé(s) envoyé(s)."
    assert mailbox.messages == []


@pytest.mark.parametrize("frequency", ["immediate", "never"])
def test_members_outside_digests_get_none(members, runner, mailbox, frequency) -> None:
    pair = members["pair"]
    set_frequency(pair, frequency)
    topic = make_topic(pair)
    mailbox.clear()
    digest(runner)
    make_reply(members["other_pair"], topic, "Une réponse.")
    mailbox.clear()
    digest(runner)
    assert [str(m["Subject"]) for m in mailbox.to(pair.email)] == []


# --- Private messages ------------------------------------------------------------------

PRIVATE = "Nouveau message privé sur la ComCEP"


def send_message(client, **data: str) -> int:  # noqa: ANN001 - a test client
    """Open a conversation over HTTP; its id."""
    response = client.post("/messages/nouveau", data={"subject": "Un échange", **data})
    assert response.status_code == 302, page_text(response)
    return int(location(response).removeprefix("/messages/"))


def test_a_private_message_is_emailed_to_the_other_participants_with_its_text(
    members, client_for, mailbox
) -> None:
    pair, other = members["pair"], members["other_pair"]
    conversation = send_message(
        client_for(pair),
        recipients="Paire Deux, Paire Pilote",
        subject="Votre bénéficiaire de Brest",
        body="Pouvez-vous me rappeler **demain** ?",
    )
    message = mailbox.only(other.email, PRIVATE)
    body = text_of(message)
    assert "Paire Un vous a écrit un message privé : « Votre bénéficiaire de Brest »" in body
    assert "Pouvez-vous me rappeler demain ?" in body
    assert link_path(message, "/messages/") == f"/messages/{conversation}"
    assert unsubscribe_path(message).startswith("/notifications/desabonner/")
    assert len(mailbox.to(members["pilot_pair"].email)) == 1
    assert mailbox.to(pair.email) == []  # not to its author

    client_for(other).post(f"/messages/{conversation}", data={"body": "Oui, à 10 h."})
    assert "Oui, à 10 h." in text_of(mailbox.only(pair.email, PRIVATE))
    assert len(mailbox.to(members["pilot_pair"].email)) == 2


def test_a_private_message_read_within_the_delay_left_or_hidden_is_not_emailed(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    """The delay lets the recipient read it on the site first; who left gets nothing; nor
    does anyone for a message the moderation hid, nor a member who wants no e-mail."""
    pair, other, pilot = members["pair"], members["other_pair"], members["pilot_pair"]
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    writer = client_for(pair)
    conversation = send_message(writer, recipients="Paire Deux, Paire Pilote", body="Premier.")
    assert client_for(other).get(f"/messages/{conversation}").status_code == 200  # read
    assert client_for(pilot).post(f"/messages/{conversation}/quitter").status_code == 302
    send_delayed_emails()
    assert mailbox.messages == []

    set_frequency(other, "never")
    writer.post(f"/messages/{conversation}", data={"body": "Second."})
    send_delayed_emails()
    assert mailbox.messages == []

    set_frequency(other, "immediate")
    writer.post(f"/messages/{conversation}", data={"body": "Troisième, masqué."})
    db.session.execute(
        update(PrivateMessage)
        .where(PrivateMessage.body_source == "Troisième, masqué.")
        .values(is_hidden=True)
    )
    db.session.commit()
    send_delayed_emails()
    assert mailbox.messages == []


def test_a_digest_carries_the_private_messages_still_unread(
    members, client_for, runner, mailbox
) -> None:
    pair, other = members["pair"], members["other_pair"]
    set_frequency(other, "daily")
    writer = client_for(pair)
    conversation = send_message(writer, recipients="Paire Deux", body="Lu avant le résumé.")
    assert client_for(other).get(f"/messages/{conversation}").status_code == 200
    writer.post(f"/messages/{conversation}", data={"body": "Pas encore lu."})
    assert mailbox.to(other.email) == []  # a daily reader: no e-mail at once

    assert digest(runner).strip() == "1 résumé(s) envoyé(s)."
    body = text_of(mailbox.only(other.email, DAILY))
    assert "Paire Un vous a écrit un message privé : « Un échange »" in body
    assert "Pas encore lu." in body
    assert "Lu avant le résumé." not in body


def test_a_digest_chosen_again_leaves_out_the_private_messages_of_the_months_without(
    members, client_for, runner, mailbox
) -> None:
    """Back on « Un résumé par jour » after months on « Jamais »: the first digest sums up
    what came since, not every private message left unread since the last digest, months
    ago."""
    pair, other = members["pair"], members["other_pair"]
    db.session.execute(
        update(Member)
        .where(Member.id == other.id)
        .values(email_frequency="never", last_digest_at=utcnow() - timedelta(days=200))
    )
    db.session.commit()
    writer = client_for(pair)
    conversation = send_message(writer, recipients="Paire Deux", body="Message des mois sans.")
    db.session.execute(update(PrivateMessage).values(created_at=utcnow() - timedelta(days=100)))
    db.session.commit()

    chosen = client_for(other).post("/compte/notifications", data={"frequency": "daily"})
    assert chosen.status_code == 302
    writer.post(f"/messages/{conversation}", data={"body": "Message après le choix du résumé."})
    assert digest(runner).strip() == "0 résumé(s) envoyé(s)."  # its first day has just begun
    assert mailbox.to(other.email) == []

    a_day_later(other)
    assert digest(runner).strip() == "1 résumé(s) envoyé(s)."
    body = text_of(mailbox.only(other.email, DAILY))
    assert "Message après le choix du résumé." in body
    assert "Message des mois sans." not in body
