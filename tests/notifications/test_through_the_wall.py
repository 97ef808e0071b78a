"""The wall on notifications, e-mails and mention completion (SPEC §2, issue 7 deliverable 5):
nothing from a rubrique a member cannot read reaches them, and a topic moved across the wall
stops notifying those who can no longer read it."""

from __future__ import annotations

import pytest

from comcep.members.models import Member
from tests.factories import category, make_reply, make_topic
from tests.mailserver import Mailbox, text_of
from tests.notifications.support import (
    bell,
    location,
    notifications_of,
    post_reply,
    send_delayed_emails,
    set_frequency,
)
from tests.notifications.support import text_of as page_text

CANARY = "CANARI7Q4Z"


def all_mail_to(mailbox: Mailbox, member: Member) -> str:
    return "\n".join(
        str(m["Subject"]) + "\n" + text_of(m) + "\n" + m.get_body(("html",)).get_content()
        for m in mailbox.to(member.email)
    )


def move(client_for, members, topic_id: int, slug: str) -> None:  # noqa: ANN001
    response = client_for(members["animation"]).post(
        f"/t/{topic_id}/deplacer",
        data={"category": str(category(slug).id), "confirm_widening": "y"},
    )
    assert response.status_code == 302, page_text(response)


def suggestions(client, prefix: str) -> list[str]:  # noqa: ANN001
    response = client.get("/membres/suggestions", query_string={"q": prefix})
    assert response.status_code == 200
    return response.get_json()["noms"]


# --- Mentions and quotes do not cross the wall -------------------------------------------


WALLS = {
    "hors_pair-in-pairs-rubrique": ("premier-entretien", "pair", "hors_pair", "@Hors Pair"),
    "comite-in-pairs-rubrique": ("premier-entretien", "pair", "comite", "@Comité"),
    "pair-in-pilot-group": ("consultations", "pilot_pair", "pair", "@Paire Un"),
    "pair-in-staff-corner": ("coin-des-animateurs", "animation", "pair", "@Paire Un"),
}


@pytest.mark.parametrize(
    ("slug", "author", "outsider", "mention"), list(WALLS.values()), ids=list(WALLS)
)
def test_a_mention_from_behind_the_wall_notifies_nobody_on_the_other_side(
    members, client_for, mailbox, slug, author, outsider, mention
) -> None:
    topic = make_topic(members[author], slug=slug, title=f"Cas {CANARY} confidentiel")
    make_reply(members["animation" if author != "animation" else "admin"], topic, "Bonjour.")
    body = f"{mention} et @Paire Deux, que faire ? {CANARY}"
    post_reply(client_for(members[author]), topic.id, body)

    outsider = members[outsider]
    assert notifications_of(outsider) == []
    assert mailbox.to(outsider.email) == []
    client = client_for(outsider)
    assert bell(client) == 0
    assert CANARY not in page_text(client.get("/notifications"))


def test_the_same_mention_on_the_hors_pairs_side_does_reach_the_hors_pair(
    members, client_for, mailbox
) -> None:
    topic = make_topic(members["pair"], slug="echanges", title="Question aux partenaires")
    post_reply(client_for(members["pair"]), topic.id, "@Hors Pair, une idée ?")
    assert [n.kind for n in notifications_of(members["hors_pair"])] == ["mention"]
    assert "Question aux partenaires" in text_of(mailbox.only(members["hors_pair"].email))


def test_quoting_a_hors_pairs_post_in_a_pairs_topic_does_not_tell_its_author(
    members, client_for, mailbox
) -> None:
    exchange = make_topic(members["hors_pair"], slug="echanges", title="Un outil de partenaire")
    source = make_reply(members["hors_pair"], exchange, "Notre grille d'entretien.")
    pairs_topic = make_topic(members["pair"], title=f"Entre nous {CANARY}")
    body = f"[**Hors Pair**](/p/{source.id}) a écrit :\n\n> Notre grille\n\nÀ adapter {CANARY}."
    post_reply(client_for(members["other_pair"]), pairs_topic.id, body)
    assert notifications_of(members["hors_pair"]) == []
    assert CANARY not in all_mail_to(mailbox, members["hors_pair"])


# --- A topic moved across the wall ---------------------------------------------------------


def test_a_watcher_stops_hearing_of_a_topic_moved_out_of_reach_and_its_bell_forgets_it(
    members, client_for, mailbox
) -> None:
    hors_pair = members["hors_pair"]
    topic = make_topic(hors_pair, slug="echanges", title=f"Échange {CANARY} avec les pairs")
    post_reply(client_for(members["pair"]), topic.id, f"Une réponse {CANARY}.")
    client = client_for(hors_pair)
    assert bell(client) == 1
    assert f"Échange {CANARY} avec les pairs" in page_text(client.get("/notifications"))
    mailbox.clear()

    move(client_for, members, topic.id, "premier-entretien")
    assert bell(client) == 0
    page = page_text(client.get("/notifications"))
    assert CANARY not in page
    assert "Aucune notification pour le moment." in page

    post_reply(client_for(members["pair"]), topic.id, f"Une réponse après le déplacement {CANARY}.")
    assert len(notifications_of(hors_pair)) == 1  # the old one, hidden; no new row
    assert mailbox.to(hors_pair.email) == []
    old = notifications_of(hors_pair)[0]
    opened = client.get(f"/notifications/{old.id}")
    assert opened.status_code == 302
    assert client.get(location(opened)).status_code == 404

    move(client_for, members, topic.id, "echanges")  # back within reach: shown again
    assert CANARY in page_text(client.get("/notifications"))


def test_a_reply_hidden_by_the_animatrice_leaves_the_bell_and_the_list_until_restored(
    members, client_for
) -> None:
    """Its link would lead to `/p/<id>`, which answers 404 to all but its author and the
    staff: the notification drops out, as for a moved topic (found by tests/test_crawl.py)."""
    topic = make_topic(members["pair"], title="Un cas à discuter")
    reply_id = post_reply(client_for(members["other_pair"]), topic.id, f"Réponse {CANARY}.")
    [notification] = notifications_of(members["pair"])
    client = client_for(members["pair"])
    assert bell(client) == 1
    assert f"/notifications/{notification.id}" in page_text(client.get("/notifications"))

    animation = client_for(members["animation"])
    hidden = animation.post(f"/p/{reply_id}/masquer", data={"reason": "Hors sujet."})
    assert hidden.status_code == 302
    assert bell(client) == 0
    page = page_text(client.get("/notifications"))
    assert f"/notifications/{notification.id}" not in page
    assert "Aucune notification pour le moment." in page

    assert animation.post(f"/p/{reply_id}/restaurer", data={}).status_code == 302
    assert bell(client) == 1
    assert f"/notifications/{notification.id}" in page_text(client.get("/notifications"))


def test_emails_sent_after_a_move_leave_the_moved_topic_out(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    hors_pair = members["hors_pair"]
    moved = make_topic(hors_pair, slug="echanges", title=f"Sujet {CANARY} bientôt déplacé")
    stays = make_topic(hors_pair, slug="echanges", title="Sujet qui reste chez les partenaires")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    pair = client_for(members["pair"])
    post_reply(pair, moved.id, f"Réponse {CANARY} dans le sujet déplacé.")
    post_reply(pair, stays.id, "Réponse dans le sujet qui reste.")
    assert mailbox.to(hors_pair.email) == []

    move(client_for, members, moved.id, "premier-entretien")
    send_delayed_emails()
    body = all_mail_to(mailbox, hors_pair)
    assert "Réponse dans le sujet qui reste." in body
    assert CANARY not in body


def test_digests_built_after_a_move_leave_the_moved_topic_out(
    members, client_for, runner, mailbox
) -> None:
    hors_pair = members["hors_pair"]
    set_frequency(hors_pair, "daily")
    moved = make_topic(hors_pair, slug="echanges", title=f"Sujet {CANARY} déplacé")
    stays = make_topic(hors_pair, slug="echanges", title="Sujet resté visible")
    make_reply(members["pair"], moved, f"Réponse {CANARY}.")
    make_reply(members["pair"], stays, "Réponse visible.")
    move(client_for, members, moved.id, "premier-entretien")

    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code == 0, result.output
    body = all_mail_to(mailbox, hors_pair)
    assert "Réponse visible." in body
    assert CANARY not in body


def test_a_reply_split_out_across_the_wall_is_not_emailed_to_who_cannot_read_it(
    app, members, client_for, mailbox, monkeypatch
) -> None:
    """Splitting moves replies into a new topic behind the wall: an e-mail still waiting
    for them must not carry their text (the notification points at the old topic)."""
    hors_pair = members["hors_pair"]
    exchange = make_topic(hors_pair, slug="echanges", title="Un échange qui sera divisé")
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_DELAY_SECONDS", 3600)
    post_id = post_reply(client_for(members["pair"]), exchange.id, f"Entre pairs {CANARY}.")
    response = client_for(members["animation"]).post(
        f"/t/{exchange.id}/diviser",
        data={
            "posts": [str(post_id)],
            "title": "La suite, entre pairs",
            "category": str(category("premier-entretien").id),
        },
    )
    assert response.status_code == 302, page_text(response)
    send_delayed_emails()
    assert CANARY not in all_mail_to(mailbox, hors_pair)


# --- Mention completion ----------------------------------------------------------------------


def test_mention_completion_never_proposes_to_a_hors_pair_a_member_it_cannot_see(
    members, make_member, client_for
) -> None:
    hidden = make_member(name="Claire Martin")
    shown = make_member(name="Claire Moreau", network="apec")
    make_member(name="Claire Mercier")  # never posted
    make_topic(hidden, title="Un cas entre pairs", body="Seulement chez les pairs.")
    make_topic(shown, slug="echanges", title="Une question aux partenaires")
    make_topic(hidden, slug="consultations", title="Une consultation pilote")

    assert suggestions(client_for(members["hors_pair"]), "cla") == ["Claire Moreau"]
    assert suggestions(client_for(members["hors_pair"]), "Claire Ma") == []
    assert suggestions(client_for(members["pair"]), "cla") == [
        "Claire Martin",
        "Claire Mercier",
        "Claire Moreau",
    ]
    assert suggestions(client_for(members["hors_pair"]), "hors") == ["Hors Pair"]


def test_a_mention_links_only_a_member_the_writer_may_see(members, make_member, client_for) -> None:
    """A link would tell a hors pair that a pair it may not see exists, and their id: in
    the preview as in the stored post, the name stays text for it (a pair gets the link)."""
    hidden = make_member(name="Jeanne Cachée")
    make_topic(hidden, title="Un cas entre pairs", body="Seulement chez les pairs.")
    topic = make_topic(members["hors_pair"], slug="echanges", title="Une question")
    body = {"body": "Merci @Jeanne Cachée.", "preview": "1"}
    seen_by_hors_pair = client_for(members["hors_pair"]).post(f"/t/{topic.id}/repondre", data=body)
    assert "Merci @Jeanne Cachée." in seen_by_hors_pair.text
    assert f"/membres/{hidden.id}" not in seen_by_hors_pair.text
    seen_by_pair = client_for(members["pair"]).post(f"/t/{topic.id}/repondre", data=body)
    assert f'<a href="/membres/{hidden.id}" class="mention">' in seen_by_pair.text


def test_mention_completion_follows_a_move_and_a_hidden_post_at_once(
    members, make_member, client_for
) -> None:
    author = make_member(name="Claire Moreau")
    topic = make_topic(author, slug="echanges", title="Une question aux partenaires")
    hors_pair = client_for(members["hors_pair"])
    assert suggestions(hors_pair, "claire") == ["Claire Moreau"]
    move(client_for, members, topic.id, "premier-entretien")
    assert suggestions(hors_pair, "claire") == []

    other = make_member(name="Clarisse Petit")
    exchange = make_topic(members["pair"], slug="echanges", title="Un autre échange")
    only_post = make_reply(other, exchange, "Sa seule contribution visible.")
    assert suggestions(hors_pair, "clar") == ["Clarisse Petit"]
    hidden = client_for(members["animation"]).post(
        f"/p/{only_post.id}/masquer", data={"reason": "Hors charte."}
    )
    assert hidden.status_code == 302
    assert suggestions(hors_pair, "clar") == []


@pytest.mark.parametrize("prefix", ["", "c", "%", "__", "%%%"], ids=repr)
def test_mention_completion_needs_two_real_characters(members, client_for, prefix) -> None:
    assert suggestions(client_for(members["pair"]), prefix) == []


def test_mention_completion_is_for_members_only(members, client) -> None:
    response = client.get("/membres/suggestions", query_string={"q": "pa"})
    assert response.status_code == 302
    assert location(response) == "/connexion"


# --- The canary: everything a hors pair receives ---------------------------------------------


def test_nothing_a_hors_pair_receives_carries_a_word_from_the_pairs_side(
    members, client_for, mailbox
) -> None:
    """Many events touch both a pairs-only topic and the hors pairs; the canary planted in the
    pairs' topic never appears in a page, a count, a completion or an e-mail of theirs."""
    hors_pair, comite, pair = members["hors_pair"], members["comite"], members["pair"]
    exchange = make_topic(hors_pair, slug="echanges", title="Question des partenaires")
    theirs = make_reply(comite, exchange, "Le point de vue du comité.")
    make_reply(pair, exchange, "Réponse d'une paire, visible de tous.")
    hp = client_for(hors_pair)
    assert hp.post("/r/echanges/abonnement", data={"level": "watching"}).status_code == 302

    secret = make_topic(pair, title=f"Un cas {CANARY} entre pairs", body=f"Début {CANARY}.")
    quote = f"[**Comité**](/p/{theirs.id}) a écrit :\n\n> Le point de vue\n\n"
    post_reply(client_for(members["other_pair"]), secret.id, quote + f"@Hors Pair @Comité {CANARY}")
    relayed = client_for(members["animation"]).post(
        f"/t/{exchange.id}/relayer",
        data={"category": str(category("premier-entretien").id), "summary": f"Résumé {CANARY}"},
    )
    assert relayed.status_code == 302
    moved = make_topic(hors_pair, slug="echanges", title="Bientôt chez les pairs")
    make_reply(pair, moved, "Réponse d'avant le déplacement.")
    move(client_for, members, moved.id, "premier-entretien")
    make_reply(members["pilot_pair"], moved, f"Encore {CANARY}, entre pairs désormais.")
    make_reply(members["other_pair"], exchange, "Une réponse de plus chez les partenaires.")

    assert CANARY in page_text(client_for(pair).get("/notifications"))  # the canary is live
    for member in (hors_pair, comite):
        client = client_for(member)
        for url in ("/", "/notifications", "/messages", "/membres/suggestions?q=pa"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert CANARY not in page_text(response), (member.display_name, url)
        for notification in notifications_of(member):
            opened = client.get(f"/notifications/{notification.id}")
            assert CANARY not in opened.headers.get("Location", "")
        assert CANARY not in all_mail_to(mailbox, member)
    assert "Une réponse de plus" in all_mail_to(mailbox, hors_pair)  # e-mails do flow


def test_a_hors_pair_whose_exchange_is_relayed_is_told_without_seeing_the_relay(
    members, client_for
) -> None:
    exchange = make_topic(members["hors_pair"], slug="echanges", title="Question des partenaires")
    response = client_for(members["animation"]).post(
        f"/t/{exchange.id}/relayer",
        data={"category": str(category("premier-entretien").id), "summary": f"Résumé {CANARY}"},
    )
    assert response.status_code == 302
    client = client_for(members["hors_pair"])
    page = page_text(client.get("/notifications"))
    assert CANARY not in page
    assert [n.kind for n in notifications_of(members["hors_pair"])] == ["relay"]
