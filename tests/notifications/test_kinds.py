"""Each kind of notification (issue 7, deliverable 1): who receives it, what the bell page
says about it, and where opening it leads."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from comcep.extensions import db
from comcep.forum.models import Post
from comcep.members.models import Member
from tests.factories import category, make_reply, make_topic
from tests.notifications.support import (
    bell,
    first_post_id,
    kinds_of,
    location,
    notifications_of,
    open_topic,
    post_reply,
    text_of,
)
from tests.pages import without_csrf

ClientFor = Callable[[Member | None], FlaskClient]


@dataclass
class Event:
    """What a scenario did: who should hear about it, as what, and where it leads."""

    recipient: Member
    kind: str
    actor: Member
    title: str | None
    target: str


def reply_in_my_topic(members: dict[str, Member], client_for: ClientFor) -> Event:
    topic = make_topic(members["pair"], title="Financer un bilan de compétences")
    post_id = post_reply(client_for(members["other_pair"]), topic.id, "Voici mon retour.")
    return Event(members["pair"], "my_topic", members["other_pair"], topic.title, f"/p/{post_id}")


def reply_in_a_topic_i_watch(members: dict[str, Member], client_for: ClientFor) -> Event:
    topic = make_topic(members["pair"], title="Un cas de reconversion tardive")
    make_reply(members["other_pair"], topic, "Je suis ce sujet de près.")  # watching now
    post_id = post_reply(client_for(members["pilot_pair"]), topic.id, "Une autre piste.")
    return Event(
        members["other_pair"], "reply", members["pilot_pair"], topic.title, f"/p/{post_id}"
    )


def quote_of_my_post(members: dict[str, Member], client_for: ClientFor) -> Event:
    topic = make_topic(members["pair"], title="Entretien avec un salarié en arrêt")
    quoted = make_reply(members["pilot_pair"], topic, "Il faut d'abord parler au médecin.")
    client = client_for(members["other_pair"])
    form = client.get(f"/t/{topic.id}/repondre?citer={quoted.id}")
    prefilled = re.search(r"<textarea[^>]*>(.*?)</textarea>", text_of(form), re.S)
    assert prefilled is not None
    body = prefilled.group(1).strip()
    assert body.startswith(f"[**Paire Pilote**](/p/{quoted.id}) a écrit :")
    post_id = post_reply(client, topic.id, body + "\n\nTout à fait d'accord.")
    return Event(
        members["pilot_pair"], "quote", members["other_pair"], topic.title, f"/p/{post_id}"
    )


def mention_of_me(members: dict[str, Member], client_for: ClientFor) -> Event:
    topic = make_topic(members["pair"], title="Une question sur la VAE")
    post_id = post_reply(
        client_for(members["other_pair"]), topic.id, "@paire pilote, tu as vu ce cas ?"
    )
    return Event(
        members["pilot_pair"], "mention", members["other_pair"], topic.title, f"/p/{post_id}"
    )


def relay_of_my_exchange(members: dict[str, Member], client_for: ClientFor) -> Event:
    exchange = make_topic(members["pair"], slug="echanges", title="Question aux partenaires")
    response = client_for(members["animation"]).post(
        f"/t/{exchange.id}/relayer",
        data={"category": str(category("premier-entretien").id), "summary": "À lire, collègues."},
    )
    assert response.status_code == 302, text_of(response)
    # The notification points to the exchange itself: a hors pair author can read it.
    return Event(
        members["pair"],
        "relay",
        members["animation"],
        "Question aux partenaires",
        f"/t/{exchange.id}",
    )


def my_report_decided(members: dict[str, Member], client_for: ClientFor) -> Event:
    topic = make_topic(members["pair"], title="Un sujet signalé")
    post = make_reply(members["other_pair"], topic, "Un message hors sujet.")
    reported = client_for(members["pilot_pair"]).post(
        f"/p/{post.id}/signaler", data={"reason": "off_topic"}
    )
    assert reported.status_code == 302, text_of(reported)
    decided = client_for(members["animation"]).post(
        f"/moderation/signalements/{post.id}", data={"decision": "kept"}
    )
    assert decided.status_code == 302, text_of(decided)
    return Event(
        members["pilot_pair"], "report_decided", members["animation"], topic.title, f"/t/{topic.id}"
    )


def my_registration_approved(members: dict[str, Member], client_for: ClientFor) -> Event:
    applicant = members["pending"]
    db.session.execute(
        update(Member).where(Member.id == applicant.id).values(registration_status="awaiting")
    )
    db.session.commit()
    response = client_for(members["animation"]).post(
        f"/moderation/inscriptions/{applicant.id}", data={"decision": "approve"}
    )
    assert response.status_code == 302, text_of(response)
    db.session.expire_all()
    return Event(applicant, "registration", members["animation"], None, "/notifications")


def my_reply_retained(members: dict[str, Member], client_for: ClientFor) -> Event:
    topic = make_topic(members["pair"], title="Quel financeur pour ce projet ?")
    post = make_reply(members["other_pair"], topic, "La Région, par son dispositif.")
    response = client_for(members["pair"]).post(f"/p/{post.id}/solution")
    assert response.status_code == 302, text_of(response)
    return Event(members["other_pair"], "solution", members["pair"], topic.title, f"/p/{post.id}")


def my_post_hidden(members: dict[str, Member], client_for: ClientFor) -> Event:
    """The author hears that the moderation hid their post, and reads why on the topic
    (they learnt it only by coming back to the topic)."""
    topic = make_topic(members["pair"], title="Un sujet modéré")
    post = make_reply(members["other_pair"], topic, "Un message à masquer.")
    hidden = client_for(members["animation"]).post(
        f"/p/{post.id}/masquer", data={"reason": "Données personnelles."}
    )
    assert hidden.status_code == 302, text_of(hidden)
    page = text_of(client_for(members["other_pair"]).get(f"/t/{topic.id}"))
    assert "Données personnelles." in page
    # Counted in the header as listed, although the post is hidden from everyone else.
    assert bell(client_for(members["other_pair"])) == 1
    assert bell(client_for(members["pair"])) == 0
    return Event(
        members["other_pair"], "post_hidden", members["animation"], topic.title, f"/p/{post.id}"
    )


def my_post_restored(members: dict[str, Member], client_for: ClientFor) -> Event:
    """A hidden post shown again: its author is told, and the notice that it was hidden,
    unread, no longer counts (nothing told them before)."""
    event = my_post_hidden(members, client_for)
    post_id = int(event.target.removeprefix("/p/"))
    restored = client_for(members["animation"]).post(f"/p/{post_id}/restaurer", data={})
    assert restored.status_code == 302, text_of(restored)
    [hidden] = notifications_of(event.recipient, "post_hidden")
    assert hidden.read_at is not None
    assert bell(client_for(event.recipient)) == 1  # the new notice only
    return Event(event.recipient, "post_restored", members["animation"], event.title, event.target)


def my_post_refused(members: dict[str, Member], client_for: ClientFor) -> Event:
    """A pre-moderated post refused: its author is told it will not be published."""
    topic = make_topic(members["pair"], title="Un sujet relu")
    set_premoderation = client_for(members["admin"]).post(
        "/moderation/reglages", data={"premoderation_posts": "1"}
    )
    assert set_premoderation.status_code == 302
    newcomer = members["pilot_pair"]  # no post yet: the first one waits
    sent = client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": "Mon message."})
    assert sent.status_code == 302, text_of(sent)
    post = db.session.scalar(select(Post).where(Post.author_id == newcomer.id))
    assert post is not None
    assert post.is_pending
    post_id = post.id
    refused = client_for(members["animation"]).post(
        f"/p/{post_id}/masquer", data={"reason": "Publicité interdite."}
    )
    assert refused.status_code == 302, text_of(refused)
    return Event(newcomer, "post_refused", members["animation"], topic.title, f"/p/{post_id}")


SCENARIOS = {
    "my_topic": reply_in_my_topic,
    "reply": reply_in_a_topic_i_watch,
    "quote": quote_of_my_post,
    "mention": mention_of_me,
    "relay": relay_of_my_exchange,
    "report_decided": my_report_decided,
    "registration": my_registration_approved,
    "solution": my_reply_retained,
    "post_hidden": my_post_hidden,
    "post_refused": my_post_refused,
    "post_restored": my_post_restored,
}
LABELS = {
    "my_topic": "a répondu à votre sujet",
    "reply": "a répondu dans un sujet que vous suivez",
    "quote": "a cité votre message",
    "mention": "vous a mentionné·e",
    "relay": "a relayé votre échange auprès des pairs",
    "report_decided": "a traité votre signalement",
    "registration": "a validé votre demande d'inscription : bienvenue sur la ComCEP",
    "solution": "a retenu votre réponse comme solution",
    "post_hidden": "a masqué votre message (la raison est indiquée sur le sujet)",
    "post_refused": "n'a pas publié votre message (la raison est indiquée sur le sujet)",
    "post_restored": "a rétabli votre message : il est de nouveau visible",
}


@pytest.mark.parametrize("kind", list(SCENARIOS), ids=list(SCENARIOS))
def test_each_event_notifies_the_member_it_concerns_once_with_its_kind(
    members, client_for, kind
) -> None:
    event = SCENARIOS[kind](members, client_for)
    assert event.kind == kind
    mine = notifications_of(event.recipient, kind)
    assert len(mine) == 1, kinds_of(event.recipient)
    assert mine[0].actor_id == event.actor.id
    assert mine[0].read_at is None

    client = client_for(event.recipient)
    page = text_of(client.get("/notifications"))
    line = f"{event.actor.display_name} {LABELS[kind]}"
    if event.title:
        line += f" : « {event.title} »"
    assert line in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))

    opened = client.get(f"/notifications/{mine[0].id}")
    assert opened.status_code == 302
    assert location(opened) == event.target
    assert notifications_of(event.recipient, kind)[0].read_at is not None


@pytest.mark.parametrize("kind", list(SCENARIOS), ids=list(SCENARIOS))
def test_the_member_who_acts_is_never_notified_of_their_own_act(members, client_for, kind) -> None:
    event = SCENARIOS[kind](members, client_for)
    assert [n for n in notifications_of(event.actor) if n.actor_id == event.actor.id] == []


def test_a_reply_notifies_each_member_once_with_the_strongest_reason(members, client_for) -> None:
    """The asker is quoted and mentioned in a reply to their own topic: one notification,
    the quote-or-mention one, rather than three."""
    pair = members["pair"]
    topic = make_topic(pair, title="Plusieurs raisons à la fois")
    first = first_post_id(topic.id)
    body = f"[**Paire Un**](/p/{first}) a écrit :\n\n> question\n\n@Paire Un, je reprends."
    post_reply(client_for(members["other_pair"]), topic.id, body)
    assert kinds_of(pair) == ["mention"]


def test_a_mention_of_a_name_of_three_or_four_words_notifies_its_member(
    members, make_member, client_for
) -> None:
    """The completion writes full names: « @Marie de La Tour » must reach Marie de La Tour,
    as « @Paire Un » reaches Paire Un."""
    three, four = make_member(name="Marie de Lorme"), make_member(name="Anne de La Tour")
    topic = make_topic(members["pair"], title="Un cas à plusieurs")
    post_reply(
        client_for(members["other_pair"]),
        topic.id,
        "Merci @Marie de Lorme pour la piste, et @Anne de La Tour aussi.",
    )
    assert kinds_of(three) == ["mention"]
    assert kinds_of(four) == ["mention"]


def test_an_edit_that_adds_a_mention_notifies_the_member_once(members, client_for) -> None:
    """As in Discourse: the member an edit now mentions is told; editing again (a typo) does
    not tell them twice, nor those the post mentioned or told from the start."""
    pair, other, pilot = members["pair"], members["other_pair"], members["pilot_pair"]
    topic = make_topic(other, title="Un cas à reprendre")
    author = client_for(pair)
    post_id = post_reply(author, topic.id, "Je pense à @Paire Deux pour ce cas.")
    assert kinds_of(other) == ["mention"]
    edited = author.post(
        f"/p/{post_id}/modifier", data={"body": "Je pense à @Paire Deux et @Paire Pilote."}
    )
    assert edited.status_code == 302
    assert kinds_of(pilot) == ["mention"]
    assert notifications_of(pilot)[0].post_id == post_id
    assert kinds_of(other) == ["mention"]  # told once, at the start
    author.post(
        f"/p/{post_id}/modifier", data={"body": "Je pense à @Paire Deux et à @Paire Pilote."}
    )
    assert kinds_of(pilot) == ["mention"]
    assert kinds_of(other) == ["mention"]


def test_opening_a_topic_notifies_nobody_who_does_not_watch_its_rubrique(
    members, client_for
) -> None:
    open_topic(client_for(members["pair"]), "premier-entretien", "Un nouveau cas", "Bonjour.")
    for key in ("other_pair", "pilot_pair", "animation", "hors_pair"):
        assert notifications_of(members[key]) == [], key


def test_someone_elses_notification_answers_404_like_a_missing_one(members, client_for) -> None:
    event = reply_in_my_topic(members, client_for)
    notification = notifications_of(event.recipient)[0]
    intruder = client_for(members["other_pair"])
    theirs = intruder.get(f"/notifications/{notification.id}")
    missing = intruder.get(f"/notifications/{notification.id + 1000}")
    assert theirs.status_code == missing.status_code == 404
    assert without_csrf(theirs.text) == without_csrf(missing.text)
    assert notifications_of(event.recipient)[0].read_at is None


def _lines(client: FlaskClient) -> list[tuple[str, str, bool]]:
    """The notifications page as (text, link, unread) per line, top first."""
    html = client.get("/notifications").get_data(as_text=True)
    found = []
    for classes, link, inner in re.findall(
        r'<li class="(notification[^"]*)">\s*<a href="([^"]+)">(.*?)</a>', html, re.S
    ):
        text = " ".join(re.sub(r"<[^>]+>", " ", unescape(inner)).split())
        found.append((text.removeprefix("Non lue : "), link, "unread" in classes))
    return found


def test_replies_in_a_topic_make_one_line_per_reading_and_lead_to_the_earliest(
    members, client_for
) -> None:
    """Discourse's grouping: the replies told in a topic while unread are one line, naming
    the latest author and how many wrote; other kinds keep a line each."""
    pair, other, pilot = members["pair"], members["other_pair"], members["pilot_pair"]
    topic = make_topic(pair, title="Un cas commenté")
    earliest = post_reply(client_for(other), topic.id, "Premier avis.")
    post_reply(client_for(pilot), topic.id, "Deuxième avis.")
    post_reply(client_for(other), topic.id, "Troisième avis.")
    post_reply(client_for(pilot), topic.id, "@Paire Un une question pour vous.")
    client = client_for(pair)
    lines = _lines(client)
    assert [(text, unread) for text, _, unread in lines] == [
        ("Paire Pilote vous a mentionné·e : « Un cas commenté »", True),
        (
            "Paire Deux et 1 autre ont répondu à votre sujet (3 messages) : « Un cas commenté »",
            True,
        ),
    ]
    assert bell(client) == 2

    opened = client.get(lines[1][1])
    assert location(opened) == f"/p/{earliest}"
    assert bell(client) == 1
    lines = _lines(client)
    assert lines[1][0].startswith("Paire Deux et 1 autre ont répondu à votre sujet (3 messages)")
    assert lines[1][2] is False  # read, and still one line
    assert location(client.get(lines[1][1])) == f"/p/{earliest}"

    later = post_reply(client_for(other), topic.id, "Un avis arrivé après.")
    lines = _lines(client)
    assert [(text, unread) for text, _, unread in lines][0] == (
        "Paire Deux a répondu à votre sujet : « Un cas commenté »",
        True,
    )
    assert len(lines) == 3
    assert location(client.get(lines[0][1])) == f"/p/{later}"


def test_thanks_for_one_post_make_one_line_per_reading_and_lead_to_the_post(
    members, client_for
) -> None:
    """Discourse's « X and 2 others liked your post »: the thanks for one post told while
    unread are one line naming the latest thanker; another post's thanks keep their own."""
    pair, other = members["pair"], members["other_pair"]
    topic = make_topic(pair, title="Un cas remercié")
    answer = make_reply(other, topic, "Une piste.")
    second = make_reply(other, topic, "Une autre piste.")
    for thanker in ("pair", "pilot_pair", "referent_apec"):
        thanked = client_for(members[thanker]).post(
            f"/p/{answer.id}/merci", data={"action": "donner"}
        )
        assert thanked.status_code == 303
    client_for(pair).post(f"/p/{second.id}/merci", data={"action": "donner"})
    client = client_for(other)
    lines = _lines(client)
    latest = members["pair"].display_name
    last_of_three = members["referent_apec"].display_name
    assert [(text, unread) for text, _, unread in lines] == [
        (f"{latest} vous remercie pour votre message : « Un cas remercié »", True),
        (
            f"{last_of_three} et 2 autres vous remercient pour votre message : « Un cas remercié »",
            True,
        ),
    ]
    assert bell(client) == 2

    assert location(client.get(lines[1][1])) == f"/p/{answer.id}"
    assert bell(client) == 1
    assert [n.read_at is not None for n in notifications_of(other, "thanks")] == [
        True,
        True,
        True,
        False,
    ]
    lines = _lines(client)
    assert lines[1][0].startswith(f"{last_of_three} et 2 autres vous remercient")
    assert lines[1][2] is False  # read, and still one line

    # A thanks given after the group was read starts a line of its own.
    client_for(members["animation"]).post(f"/p/{answer.id}/merci", data={"action": "donner"})
    lines = _lines(client)
    assert len(lines) == 3
    animation = members["animation"].display_name
    assert lines[0][0] == f"{animation} vous remercie pour votre message : « Un cas remercié »"
    assert bell(client) == 2


def test_reading_the_posts_reads_what_the_bell_said_about_them(members, client_for) -> None:
    """Discourse: the notifications of posts read on the topic page are read; those of
    posts further on, or of other topics, stay unread."""
    pair, other = members["pair"], members["other_pair"]
    topic = make_topic(pair, title="Un fil suivi")
    elsewhere = make_topic(pair, title="Un autre fil")
    for n in range(2):
        post_reply(client_for(other), topic.id, f"Réponse {n}.")
    post_reply(client_for(other), elsewhere.id, "Réponse ailleurs.")
    client = client_for(pair)
    assert bell(client) == 2

    page = client.get(f"/t/{topic.id}/{topic.slug}")
    assert page.status_code == 200
    assert 'class="bell">Notifications <span class="badge badge--count">1<' in page.text
    assert bell(client) == 1
    unread = [n for n in notifications_of(pair) if n.read_at is None]
    assert [n.topic_id for n in unread] == [elsewhere.id]


def test_reading_the_first_page_leaves_the_later_posts_notifications_unread(
    app, members, client_for, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    pair, other = members["pair"], members["other_pair"]
    topic = make_topic(pair, title="Un fil sur deux pages")
    post_reply(client_for(other), topic.id, "Sur la première page.")
    later = post_reply(client_for(other), topic.id, "Sur la seconde page.")
    client = client_for(pair)
    client.get(f"/t/{topic.id}/{topic.slug}")
    assert [n.post_id for n in notifications_of(pair) if n.read_at is None] == [later]
    assert bell(client) == 1
