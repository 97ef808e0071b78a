"""Subscription levels per topic and per rubrique (issue 7, deliverable 2), and the bell in
the header that counts what is unread."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from comcep import outbox
from comcep.extensions import db
from comcep.forum import services
from comcep.notifications.models import TopicSubscription
from comcep.notifications.services import set_category_level
from tests.factories import category, make_reply, make_topic
from tests.notifications.support import (
    bell,
    first_post_id,
    kinds_of,
    notifications_of,
    open_topic,
    post_reply,
    set_topic_level,
    text_of,
)


def level_of(member_id: int, topic_id: int) -> str | None:
    db.session.expire_all()
    return db.session.scalar(
        select(TopicSubscription.level).where(
            TopicSubscription.member_id == member_id, TopicSubscription.topic_id == topic_id
        )
    )


def test_opening_a_topic_or_replying_in_it_means_watching_it(members, client_for) -> None:
    pair, other = members["pair"], members["other_pair"]
    topic_id = open_topic(client_for(pair), "premier-entretien", "Mon premier cas", "Bonjour.")
    assert level_of(pair.id, topic_id) == "watching"
    assert level_of(other.id, topic_id) is None
    post_reply(client_for(other), topic_id, "Une réponse.")
    assert level_of(other.id, topic_id) == "watching"

    post_reply(client_for(members["pilot_pair"]), topic_id, "Une troisième voix.")
    assert kinds_of(pair) == ["my_topic", "my_topic"]
    assert kinds_of(other) == ["reply"]


def test_the_topic_page_shows_the_level_and_offers_the_four(members, client_for) -> None:
    topic = make_topic(members["pair"])
    page = text_of(client_for(members["pair"]).get(f"/t/{topic.id}"))
    assert '<option value="watching" selected>' in page
    for level in ("tracking", "normal", "muted"):
        assert f'<option value="{level}">' in page


def test_a_replier_who_chose_a_level_keeps_it_when_replying_again(members, client_for) -> None:
    topic = make_topic(members["pair"])
    other = client_for(members["other_pair"])
    set_topic_level(other, topic.id, "muted")
    post_reply(other, topic.id, "Je réponds mais je ne veux pas suivre.")
    assert level_of(members["other_pair"].id, topic.id) == "muted"


@pytest.mark.parametrize("level", ["tracking", "normal"])
def test_tracking_and_normal_do_not_notify_replies_but_notify_mentions_and_quotes(
    members, client_for, level
) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Un sujet suivi de loin")
    set_topic_level(client_for(pair), topic.id, level)
    other = client_for(members["other_pair"])
    post_reply(other, topic.id, "Une réponse ordinaire.")
    assert notifications_of(pair) == []
    post_reply(other, topic.id, "@Paire Un, ton avis ?")
    assert kinds_of(pair) == ["mention"]
    quote = f"[**Paire Un**](/p/{first_post_id(topic.id)}) a écrit :\n\n> Bonjour\n\nOui."
    post_reply(other, topic.id, quote)
    assert kinds_of(pair) == ["mention", "quote"]


def test_muted_notifies_nothing_not_even_a_mention_or_a_quote(members, client_for) -> None:
    pair = members["pair"]
    topic = make_topic(pair, title="Un sujet mis en silence")
    set_topic_level(client_for(pair), topic.id, "muted")
    other = client_for(members["other_pair"])
    post_reply(other, topic.id, "Une réponse ordinaire.")
    post_reply(other, topic.id, "@Paire Un, ton avis ?")
    quote = f"[**Paire Un**](/p/{first_post_id(topic.id)}) a écrit :\n\n> Bonjour\n\nOui."
    post_reply(other, topic.id, quote)
    assert notifications_of(pair) == []
    assert bell(client_for(pair)) == 0


def test_a_muted_rubrique_silences_its_topics_until_a_topic_says_otherwise(
    members, client_for
) -> None:
    pair = members["pair"]
    client = client_for(pair)
    assert (
        client.post("/r/premier-entretien/abonnement", data={"level": "muted"}).status_code == 302
    )
    quiet = make_topic(members["other_pair"], title="Sujet dans une rubrique en silence")
    post_reply(client_for(members["pilot_pair"]), quiet.id, "@Paire Un, regarde.")
    assert notifications_of(pair) == []

    set_topic_level(client, quiet.id, "watching")
    post_reply(client_for(members["pilot_pair"]), quiet.id, "Une réponse de plus.")
    assert kinds_of(pair) == ["reply"]


def test_the_rubrique_page_offers_its_level_and_shows_the_one_chosen(members, client_for):
    """The rubrique's level was only reachable by a hand-made POST: the page offers it, as
    the topic page offers the topic's."""
    client = client_for(members["pair"])
    selected = '<option value="{}" selected>'
    page = client.get("/r/premier-entretien").text
    assert 'action="/r/premier-entretien/abonnement"' in page
    assert selected.format("normal") in page
    chosen = client.post("/r/premier-entretien/abonnement", data={"level": "muted"})
    assert chosen.status_code == 302
    page = client.get(chosen.headers["Location"]).text
    assert selected.format("muted") in page
    assert selected.format("normal") not in page
    other = client_for(members["other_pair"]).get("/r/premier-entretien").text
    assert selected.format("normal") in other  # a level is the member's own


def test_a_rubrique_set_to_watching_notifies_its_new_topics_and_their_replies(
    members, client_for
) -> None:
    pair = members["pair"]
    response = client_for(pair).post("/r/premier-entretien/abonnement", data={"level": "watching"})
    assert response.status_code == 302
    elsewhere = make_topic(members["other_pair"], slug="apres-le-premier-entretien")
    make_reply(members["pilot_pair"], elsewhere, "Pas dans la rubrique surveillée.")
    assert notifications_of(pair) == []

    topic_id = open_topic(
        client_for(members["other_pair"]), "premier-entretien", "Un cas tout neuf", "Bonjour."
    )
    post_reply(client_for(members["pilot_pair"]), topic_id, "Bienvenue à ce sujet.")
    mine = notifications_of(pair)
    assert [(n.kind, n.topic_id) for n in mine] == [("reply", topic_id), ("reply", topic_id)]
    assert level_of(pair.id, topic_id) is None  # inherited, not copied


def test_saving_a_topics_level_returns_to_the_page_it_was_saved_from(members, client_for):
    """The form sat at the foot of page 3 and led back to page 1: it carries its page."""
    pair = members["pair"]
    replies = [(members["other_pair"], f"Réponse numéro {n}.") for n in range(2, 46)]
    topic = make_topic(pair, title="Un long échange", replies=replies)
    client = client_for(pair)
    page = client.get(f"/t/{topic.id}/{topic.slug}?page=3").text
    assert '<input type="hidden" name="page" value="3">' in page
    saved = client.post(f"/t/{topic.id}/abonnement", data={"level": "muted", "page": "3"})
    assert saved.status_code == 302
    target = saved.headers["Location"].removeprefix("http://localhost")
    assert target == f"/t/{topic.id}/{topic.slug}?page=3"
    assert level_of(pair.id, topic.id) == "muted"


@pytest.mark.parametrize(
    "page",
    ["", "1", "0", "-2", "deux", "https://exemple.fr/", "//exemple.fr", "/t/1?page=2"],
)
def test_a_topic_level_saved_without_a_valid_page_returns_to_the_first(
    members, client_for, page
) -> None:
    topic = make_topic(members["pair"])
    saved = client_for(members["other_pair"]).post(
        f"/t/{topic.id}/abonnement", data={"level": "watching", "page": page}
    )
    assert saved.status_code == 302
    target = saved.headers["Location"].removeprefix("http://localhost")
    assert target == f"/t/{topic.id}/{topic.slug}"  # the form's page, never an address


@pytest.mark.parametrize(
    ("url", "level"),
    [
        ("/t/{topic}/abonnement", "surveiller"),
        ("/t/{topic}/abonnement", ""),
        ("/r/premier-entretien/abonnement", "all"),
    ],
    ids=["unknown-topic-level", "empty-topic-level", "unknown-rubrique-level"],
)
def test_an_unknown_level_is_refused_with_400(members, client_for, url, level) -> None:
    topic = make_topic(members["pair"])
    response = client_for(members["other_pair"]).post(
        url.format(topic=topic.id), data={"level": level}
    )
    assert response.status_code == 400
    assert level_of(members["other_pair"].id, topic.id) is None


def test_a_hors_pair_cannot_subscribe_to_what_it_cannot_read(members, client_for) -> None:
    topic = make_topic(members["pair"])
    client = client_for(members["hors_pair"])
    on_topic = client.post(f"/t/{topic.id}/abonnement", data={"level": "watching"})
    on_rubrique = client.post("/r/premier-entretien/abonnement", data={"level": "watching"})
    assert on_topic.status_code == on_rubrique.status_code == 404
    assert level_of(members["hors_pair"].id, topic.id) is None
    make_reply(members["other_pair"], topic, "Une réponse.")
    assert notifications_of(members["hors_pair"]) == []
    assert category("premier-entretien").open_to_hors_pairs is False


def test_the_bell_rises_with_new_notifications_and_falls_as_they_are_read(
    members, client_for
) -> None:
    """It counts lines, as the page shows them: the replies told in one topic are one."""
    pair = members["pair"]
    client = client_for(pair)
    busy = make_topic(pair, title="Le sujet qui fait sonner la cloche")
    quiet = make_topic(pair, title="Un autre sujet")
    assert bell(client) == 0
    for n in range(3):
        post_reply(client_for(members["other_pair"]), busy.id, f"Réponse numéro {n}.")
    assert bell(client) == 1
    post_reply(client_for(members["other_pair"]), quiet.id, "Une réponse ailleurs.")
    assert bell(client) == 2

    latest_of_busy = [n for n in notifications_of(pair) if n.topic_id == busy.id][-1]
    assert client.get(f"/notifications/{latest_of_busy.id}").status_code == 302
    assert bell(client) == 1
    assert all(n.read_at for n in notifications_of(pair) if n.topic_id == busy.id)
    assert client.get(f"/notifications/{latest_of_busy.id}").status_code == 302  # still read
    assert bell(client) == 1

    response = client.post("/notifications/lues")
    assert response.status_code == 302
    assert bell(client) == 0
    assert all(n.read_at is not None for n in notifications_of(pair))
    page = text_of(client.get("/notifications"))
    assert "Non lue" not in page

    post_reply(client_for(members["other_pair"]), busy.id, "Encore une.")
    assert bell(client) == 1
    assert bell(client_for(members["other_pair"])) == 0


def test_marking_all_read_touches_only_my_own_notifications(members, client_for) -> None:
    topic = make_topic(members["pair"])
    make_reply(members["other_pair"], topic, "Première réponse.")
    make_reply(members["pair"], topic, "@Paire Deux merci.")
    assert bell(client_for(members["pair"])) == 1
    assert bell(client_for(members["other_pair"])) == 1
    client_for(members["pair"]).post("/notifications/lues")
    assert bell(client_for(members["pair"])) == 0
    assert bell(client_for(members["other_pair"])) == 1


def test_posts_handled_together_each_read_their_own_authors_level(members) -> None:
    """The handler reads each new post's author level in the statement that loads the
    posts: one batch, two authors, two answers."""
    muted, fresh = members["other_pair"], members["pilot_pair"]
    first, second = make_topic(members["pair"]), make_topic(members["pair"], "echanges")
    set_category_level(muted, category("premier-entretien").id, "muted")
    services.reply(muted, first, "Je réponds sans vouloir suivre la rubrique.")
    services.reply(fresh, second, "Je réponds et je suivrai ce sujet.")
    db.session.commit()
    outbox.process()  # both posts in one call of the handler
    assert level_of(muted.id, first.id) is None  # the rubrique's « muted » still applies
    assert level_of(fresh.id, second.id) == "watching"
