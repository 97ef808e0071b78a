"""Topic actions: lock, pin, announce, move (and the wall that follows), rename, split,
merge and relay, each with the counters they must keep right (SPEC §6, issue 4 points
3, 4 and 7)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Post, Topic
from comcep.notifications.models import Notification
from tests.factories import category, make_reply, make_topic
from tests.moderation.helpers import (
    assert_counters_right,
    counters,
    index_row,
    location,
    log_entries,
    plain,
    posts_of,
    reload,
    search_count,
    text_of,
    topic_titles_in_list,
)

STAFF = ["animation", "admin"]


def toggle(client, topic_id: int, action: str, reason: str = ""):  # noqa: ANN001, ANN201
    return client.post(f"/t/{topic_id}/moderer", data={"action": action, "reason": reason})


@pytest.fixture
def topic(members) -> Topic:
    return make_topic(
        members["pair"],
        title="Accompagner une reconversion",
        body="Par où commencer ?",
        replies=[(members["other_pair"], "Par le bilan.")],
    )


# --- lock, pin, announce ----------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF)
def test_a_locked_topic_refuses_replies_from_pairs_but_not_from_the_animation(
    members, client_for, topic, staff
) -> None:
    response = toggle(client_for(members[staff]), topic.id, "lock", "Débat clos.")
    assert response.status_code == 302
    assert location(response).startswith(f"/t/{topic.id}")
    assert reload(Topic, topic.id).is_locked
    pair = client_for(members["pair"])
    refused = pair.post(f"/t/{topic.id}/repondre", data={"body": "Encore un mot.", "submit": "1"})
    assert refused.status_code == 403
    assert "verrouillé" in text_of(refused)
    assert "Ce sujet est verrouillé" in text_of(pair.get(f"/t/{topic.id}"))
    allowed = client_for(members["animation"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Mot de l'animatrice.", "submit": "1"}
    )
    assert allowed.status_code == 302
    assert len(posts_of(topic.id)) == 3
    assert [(e.action, e.reason) for e in log_entries()] == [("lock", "Débat clos.")]

    toggle(client_for(members[staff]), topic.id, "unlock")
    assert not reload(Topic, topic.id).is_locked
    again = pair.post(f"/t/{topic.id}/repondre", data={"body": "Encore un mot.", "submit": "1"})
    assert again.status_code == 302
    assert [e.action for e in log_entries()] == ["lock", "unlock"]


@pytest.mark.parametrize("staff", STAFF)
def test_a_pinned_topic_is_listed_first_in_its_rubrique(members, client_for, topic, staff) -> None:
    make_topic(members["other_pair"], title="Un sujet plus récent")
    pair = client_for(members["pair"])
    assert topic_titles_in_list(pair.get("/r/premier-entretien").text) == [
        "Un sujet plus récent",
        "Accompagner une reconversion",
    ]
    assert toggle(client_for(members[staff]), topic.id, "pin").status_code == 302
    stored = reload(Topic, topic.id)
    assert stored.is_pinned
    assert not stored.is_announcement
    listing = pair.get("/r/premier-entretien").text
    assert topic_titles_in_list(listing) == ["Accompagner une reconversion", "Un sujet plus récent"]
    assert "Épinglé" in text_of(pair.get("/r/premier-entretien"))

    toggle(client_for(members[staff]), topic.id, "unpin")
    assert not reload(Topic, topic.id).is_pinned
    assert topic_titles_in_list(pair.get("/r/premier-entretien").text)[0] == "Un sujet plus récent"
    assert [e.action for e in log_entries()] == ["pin", "unpin"]


def test_announce_pins_the_topic_as_an_announcement(members, client_for, topic) -> None:
    assert toggle(client_for(members["animation"]), topic.id, "announce").status_code == 302
    stored = reload(Topic, topic.id)
    assert stored.is_pinned
    assert stored.is_announcement
    toggle(client_for(members["animation"]), topic.id, "unpin")
    stored = reload(Topic, topic.id)
    assert not stored.is_pinned
    assert not stored.is_announcement
    assert [e.action for e in log_entries()] == ["announce", "unpin"]


def test_an_unknown_topic_action_changes_nothing(members, client_for, topic) -> None:
    response = toggle(client_for(members["animation"]), topic.id, "delete")
    assert response.status_code == 303
    assert reload(Topic, topic.id).is_hidden is False
    assert log_entries() == []


def test_the_topic_page_offers_the_moderation_panel_to_staff_only(
    members, client_for, topic
) -> None:
    staff_page = text_of(client_for(members["animation"]).get(f"/t/{topic.id}"))
    assert "Outils de modération" in staff_page
    assert f'action="/t/{topic.id}/moderer"' in staff_page
    for link in ("deplacer", "renommer", "diviser", "fusionner"):
        assert f'href="/t/{topic.id}/{link}"' in staff_page
    assert f"/t/{topic.id}/relayer" not in staff_page  # a pairs topic is not relayed
    pair_page = text_of(client_for(members["pair"]).get(f"/t/{topic.id}"))
    assert "Outils de modération" not in pair_page
    assert "/moderer" not in pair_page
    assert "/masquer" not in pair_page


# --- move -------------------------------------------------------------------------------


@pytest.fixture
def hors_topic(members) -> Topic:
    return make_topic(
        members["hors_pair"],
        slug="echanges",
        title="Les chiffres régionaux de la reconversion",
        body="Nos données montrent un FLAMBOYANTMOT de demandes.",
        replies=[(members["pair"], "Merci pour ces chiffres.")],
    )


def move(client, topic_id: int, slug: str, reason: str = "", confirm: bool = False):  # noqa: ANN001, ANN201
    data = {"category": str(category(slug).id), "reason": reason}
    if confirm:
        data["confirm_widening"] = "y"
    return client.post(f"/t/{topic_id}/deplacer", data=data)


@pytest.mark.parametrize("staff", STAFF)
def test_moving_a_hors_pairs_topic_into_a_pairs_rubrique_takes_it_away_from_hors_pairs(
    members, client_for, hors_topic, staff
) -> None:
    hors = client_for(members["hors_pair"])
    assert hors.get(f"/t/{hors_topic.id}").status_code == 200
    assert "Les chiffres régionaux de la reconversion" in text_of(hors.get("/actifs"))
    assert search_count(hors.get("/recherche?q=flamboyantmot").text).startswith("1 résultat")
    assert "Sujets : 1" in index_row(hors.get("/").text, "Échanges")
    last = posts_of(hors_topic.id)[1]
    assert counters("echanges") == (1, 2, last.id)

    form = client_for(members[staff]).get(f"/t/{hors_topic.id}/deplacer")
    assert form.status_code == 200
    assert "Le premier entretien" in text_of(form)
    response = move(
        client_for(members[staff]), hors_topic.id, "premier-entretien", "Sujet de pairs."
    )
    assert response.status_code == 302
    assert reload(Topic, hors_topic.id).category_id == category("premier-entretien").id

    assert hors.get(f"/t/{hors_topic.id}").status_code == 404
    assert hors.get(f"/p/{last.id}").status_code == 404
    assert "Les chiffres régionaux" not in text_of(hors.get("/actifs"))
    assert "Les chiffres régionaux" not in text_of(hors.get("/non-lus"))
    assert "Les chiffres régionaux" not in text_of(hors.get("/r/echanges"))
    index = hors.get("/")
    assert "Sujets : 0" in index_row(index.text, "Échanges")
    assert "Les chiffres régionaux" not in text_of(index)
    assert "Aucun résultat" in search_count(hors.get("/recherche?q=flamboyantmot").text)

    assert counters("echanges") == (0, 0, None)
    assert counters("premier-entretien") == (1, 2, last.id)
    assert_counters_right()
    pair = client_for(members["pair"])
    assert pair.get(f"/t/{hors_topic.id}").status_code == 200
    assert search_count(pair.get("/recherche?q=flamboyantmot").text).startswith("1 résultat")
    assert "Sujets : 1" in index_row(pair.get("/").text, "Le premier entretien")
    [entry] = log_entries()
    assert (entry.action, entry.target_id, entry.reason) == (
        "move",
        hors_topic.id,
        "Sujet de pairs.",
    )


def test_moving_a_pairs_topic_into_the_hors_pairs_space_opens_it_to_hors_pairs(
    members, client_for, topic
) -> None:
    hors, animation = client_for(members["hors_pair"]), client_for(members["animation"])
    assert hors.get(f"/t/{topic.id}").status_code == 404
    form = text_of(animation.get(f"/t/{topic.id}/deplacer"))
    assert "Échanges (ouverte aux hors pairs)" in form
    assert "Le premier entretien (ouverte" not in form
    refused = move(animation, topic.id, "echanges", "Pour tous.")
    assert refused.status_code == 400
    assert (
        "Cochez la confirmation : les hors pairs pourront lire ce sujet et ses 2 messages, "
        "qu'ils ne lisent pas dans « Le premier entretien »." in text_of(refused)
    )
    assert 'value="Pour tous."' in refused.text  # what was typed is kept
    assert hors.get(f"/t/{topic.id}").status_code == 404
    assert log_entries() == []
    assert move(animation, topic.id, "echanges", confirm=True).status_code == 302
    assert hors.get(f"/t/{topic.id}").status_code == 200
    assert counters("premier-entretien") == (0, 0, None)
    assert_counters_right()


def test_moving_to_the_same_rubrique_is_refused_with_a_message(members, client_for, topic) -> None:
    response = move(client_for(members["animation"]), topic.id, "premier-entretien")
    assert response.status_code == 400
    assert "déjà dans cette rubrique" in text_of(response)
    assert log_entries() == []


def test_moving_to_an_unknown_rubrique_is_a_bad_request(members, client_for, topic) -> None:
    response = client_for(members["animation"]).post(
        f"/t/{topic.id}/deplacer", data={"category": "999999"}
    )
    assert response.status_code == 400
    assert reload(Topic, topic.id).category_id == category("premier-entretien").id


# --- rename -----------------------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF)
def test_renaming_a_topic_changes_its_title_and_address(members, client_for, topic, staff) -> None:
    client = client_for(members[staff])
    assert "Accompagner une reconversion" in text_of(client.get(f"/t/{topic.id}/renommer"))
    response = client.post(f"/t/{topic.id}/renommer", data={"title": "Réussir une reconversion"})
    assert response.status_code == 302
    stored = reload(Topic, topic.id)
    assert (stored.title, stored.slug) == ("Réussir une reconversion", "reussir-une-reconversion")
    assert "Réussir une reconversion" in topic_titles_in_list(
        client_for(members["pair"]).get("/r/premier-entretien").text
    )
    [entry] = log_entries()
    assert entry.action == "rename"
    assert "Accompagner une reconversion" in entry.details


def test_a_too_short_title_is_refused(members, client_for, topic) -> None:
    response = client_for(members["animation"]).post(
        f"/t/{topic.id}/renommer", data={"title": "Ab"}
    )
    assert response.status_code == 400
    assert reload(Topic, topic.id).title == "Accompagner une reconversion"


# --- split ------------------------------------------------------------------------------


@pytest.fixture
def long_topic(members) -> Topic:
    replies = [
        (members["other_pair" if n % 2 else "pilot_pair"], f"Réponse {n}.") for n in range(2, 7)
    ]
    return make_topic(
        members["pair"], title="Un échange qui dérive", body="Réponse 1.", replies=replies
    )


@pytest.mark.parametrize("staff", STAFF)
def test_split_moves_the_selected_posts_into_a_new_topic_and_keeps_every_post(
    members, client_for, long_topic, staff
) -> None:
    posts = posts_of(long_topic.id)
    assert [p.number for p in posts] == [1, 2, 3, 4, 5, 6]
    chosen = [posts[2].id, posts[4].id, posts[5].id]  # numbers 3, 5 and 6
    client = client_for(members[staff])
    form = client.get(f"/t/{long_topic.id}/diviser")
    assert form.status_code == 200
    assert "Réponse 3." in text_of(form)
    response = client.post(
        f"/t/{long_topic.id}/diviser",
        data={
            "posts": [str(i) for i in chosen],
            "title": "La dérive, dans son propre sujet",
            "category": str(category("apres-le-premier-entretien").id),
        },
    )
    assert response.status_code == 302
    new = db.session.scalar(select(Topic).where(Topic.id != long_topic.id))
    assert location(response) == f"/t/{new.id}"

    kept = posts_of(long_topic.id)
    moved = posts_of(new.id)
    assert len(kept) + len(moved) == 6
    assert [p.body_source for p in kept] == ["Réponse 1.", "Réponse 2.", "Réponse 4."]
    assert [p.number for p in kept] == [1, 2, 3]
    assert [p.body_source for p in moved] == ["Réponse 3.", "Réponse 5.", "Réponse 6."]
    assert [p.number for p in moved] == [1, 2, 3]
    assert [p.id for p in moved] == chosen
    assert new.title == "La dérive, dans son propre sujet"
    assert new.category_id == category("apres-le-premier-entretien").id
    assert new.author_id == moved[0].author_id
    assert reload(Topic, long_topic.id).last_number == 3

    assert counters("premier-entretien") == (1, 3, kept[-1].id)
    assert counters("apres-le-premier-entretien") == (1, 3, moved[-1].id)
    assert_counters_right()
    pair = client_for(members["pair"])
    page = pair.get(f"/t/{new.id}")
    assert page.status_code == 200
    assert [int(n) for n in re.findall(r"#(\d+) · ", page.text)] == [1, 2, 3]
    assert [int(n) for n in re.findall(r"#(\d+) · ", pair.get(f"/t/{long_topic.id}").text)] == [
        1,
        2,
        3,
    ]
    [entry] = log_entries()
    assert entry.action == "split"
    assert entry.target_id == long_topic.id


def test_split_refuses_to_move_the_opening_post_or_nothing(members, client_for, long_topic) -> None:
    posts = posts_of(long_topic.id)
    client = client_for(members["animation"])
    base = {"title": "Nouveau sujet", "category": str(category("premier-entretien").id)}
    opening = client.post(f"/t/{long_topic.id}/diviser", data={**base, "posts": [str(posts[0].id)]})
    assert opening.status_code == 400
    nothing = client.post(f"/t/{long_topic.id}/diviser", data=base)
    assert nothing.status_code == 400
    other_topic_post = make_reply(
        members["pair"], make_topic(members["pair"], title="Un autre sujet")
    )
    stranger = client.post(
        f"/t/{long_topic.id}/diviser", data={**base, "posts": [str(other_topic_post.id)]}
    )
    assert stranger.status_code == 400
    assert [p.number for p in posts_of(long_topic.id)] == [1, 2, 3, 4, 5, 6]
    assert db.session.scalar(select(Topic).where(Topic.title == "Nouveau sujet")) is None
    assert log_entries() == []


def test_a_topic_without_replies_offers_nothing_to_split(members, client_for) -> None:
    """The form could only fail (no reply to tick) and its error linked to no field."""
    alone = make_topic(members["pair"], title="Un sujet sans réponse")
    client = client_for(members["animation"])
    assert f'href="/t/{alone.id}/diviser"' not in client.get(f"/t/{alone.id}").text
    page = client.get(f"/t/{alone.id}/diviser")
    assert page.status_code == 200
    assert "rien à diviser" in text_of(page)
    assert "<form" not in page.text.split("<main", 1)[1]
    answered = make_topic(members["pair"], title="Un sujet avec réponse")
    make_reply(members["other_pair"], answered)
    assert f'href="/t/{answered.id}/diviser"' in client.get(f"/t/{answered.id}").text


def test_a_refused_choice_links_its_message_to_the_first_box(members, client_for, long_topic):
    """The error summary's link lands on a field: for boxes, the first one (the group has no
    id of its own)."""
    client = client_for(members["animation"])
    refused = client.post(f"/t/{long_topic.id}/diviser", data={"title": "Sans messages"})
    assert refused.status_code == 400
    first_box = re.search(r'<input[^>]*id="(posts-0)"', refused.text)
    assert first_box is not None
    assert 'href="#posts-0"' in refused.text
    assert 'href="#posts"' not in refused.text


def test_split_of_a_post_with_a_hidden_reply_keeps_counters_right(
    members, client_for, long_topic
) -> None:
    posts = posts_of(long_topic.id)
    client = client_for(members["animation"])
    client.post(f"/p/{posts[4].id}/masquer", data={"reason": "Hors sujet."})
    response = client.post(
        f"/t/{long_topic.id}/diviser",
        data={
            "posts": [str(posts[3].id), str(posts[4].id)],
            "title": "Deux messages à part",
            "category": str(category("premier-entretien").id),
        },
    )
    assert response.status_code == 302
    assert counters("premier-entretien") == (2, 5, posts[5].id)
    assert_counters_right()
    assert reload(Post, posts[4].id).is_hidden


# --- merge ------------------------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF)
def test_merge_keeps_every_post_in_the_target_numbered_by_date_and_redirects_the_source(
    members, client_for, staff
) -> None:
    target = make_topic(members["pair"], title="Le sujet qui reste", body="Cible 1.")
    source = make_topic(
        members["other_pair"],
        slug="apres-le-premier-entretien",
        title="Le même sujet en double",
        body="Source 1.",
        replies=[(members["pair"], "Source 2.")],
    )
    make_reply(members["pilot_pair"], target, "Cible 2.")
    client = client_for(members[staff])
    assert client.get(f"/t/{source.id}/fusionner").status_code == 200
    response = client.post(
        f"/t/{source.id}/fusionner", data={"target": str(target.id), "reason": "Doublon."}
    )
    assert response.status_code == 302
    assert location(response) == f"/t/{target.id}"

    merged = posts_of(target.id)
    assert [p.body_source for p in merged] == ["Cible 1.", "Source 1.", "Source 2.", "Cible 2."]
    assert [p.number for p in merged] == [1, 2, 3, 4]
    assert posts_of(source.id) == []
    stored_source = reload(Topic, source.id)
    assert stored_source.merged_into_id == target.id
    assert reload(Topic, target.id).post_count == 4

    pair = client_for(members["pair"])
    redirect = pair.get(f"/t/{source.id}")
    assert redirect.status_code == 301
    assert location(redirect) == f"/t/{target.id}"
    assert redirect.headers["Location"].endswith(f"/t/{target.id}")
    page = pair.get(f"/t/{target.id}")
    assert [int(n) for n in re.findall(r"#(\d+) · ", page.text)] == [1, 2, 3, 4]
    assert "Source 2." in text_of(page)
    assert "Le même sujet en double" not in topic_titles_in_list(
        pair.get("/r/apres-le-premier-entretien").text
    )

    assert counters("apres-le-premier-entretien") == (0, 0, None)
    assert counters("premier-entretien") == (1, 4, merged[-1].id)
    assert_counters_right()
    [entry] = log_entries()
    assert (entry.action, entry.target_id, entry.topic_id, entry.reason) == (
        "merge",
        source.id,
        target.id,
        "Doublon.",
    )


@pytest.mark.parametrize("staff", STAFF)
def test_staff_lists_still_open_after_a_merge(members, client_for, staff) -> None:
    """The merged topic stays, hidden and empty, as a pointer the staff list: its row once
    made their lists answer 500 (found by tests/test_crawl.py); its title leads to the target."""
    target = make_topic(members["pair"], title="Le sujet qui reste")
    source = make_topic(members["other_pair"], slug="apres-le-premier-entretien", title="Double")
    merged = client_for(members["animation"]).post(
        f"/t/{source.id}/fusionner", data={"target": str(target.id)}
    )
    assert merged.status_code == 302
    client = client_for(members[staff])
    for url in ("/actifs", "/r/apres-le-premier-entretien"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Double" in topic_titles_in_list(response.text)
        assert ">Fusionné</span>" in response.text  # not « Masqué »: nothing to restore
        assert ">Masqué</span>" not in response.text
    assert location(client.get(f"/t/{source.id}")) == f"/t/{target.id}"


def test_merging_a_topic_into_itself_or_into_nothing_is_refused(members, client_for, topic) -> None:
    client = client_for(members["animation"])
    itself = client.post(f"/t/{topic.id}/fusionner", data={"target": str(topic.id)})
    assert itself.status_code == 400
    assert "deux sujets différents" in text_of(itself)
    missing = client.post(f"/t/{topic.id}/fusionner", data={"target": "987654"})
    assert missing.status_code == 400
    assert "Aucun sujet ne correspond" in text_of(missing)
    assert reload(Topic, topic.id).merged_into_id is None
    assert len(posts_of(topic.id)) == 2


# --- relay ------------------------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF)
def test_relaying_a_hors_pairs_topic_publishes_a_pinned_topic_for_pairs_linking_to_it(
    members, client_for, hors_topic, staff
) -> None:
    client = client_for(members[staff])
    form = client.get(f"/t/{hors_topic.id}/relayer")
    assert form.status_code == 200
    assert f"/t/{hors_topic.id}/relayer" in text_of(client.get(f"/t/{hors_topic.id}"))
    assert ">Échanges<" not in form.text  # only pairs rubriques are offered
    response = client.post(
        f"/t/{hors_topic.id}/relayer",
        data={
            "category": str(category("suivi-du-parcours").id),
            "summary": "Le Carif-Oref partage des chiffres utiles.",
        },
    )
    assert response.status_code == 302
    relay = db.session.scalar(select(Topic).where(Topic.id != hors_topic.id))
    assert location(response) == f"/t/{relay.id}"
    assert relay.is_pinned
    assert relay.category_id == category("suivi-du-parcours").id
    assert relay.author_id == members[staff].id
    assert "Les chiffres régionaux de la reconversion" in relay.title

    pair = client_for(members["pair"])
    listing = pair.get("/r/suivi-du-parcours").text
    assert topic_titles_in_list(listing)[0] == relay.title
    page = pair.get(f"/t/{relay.id}")
    assert "Le Carif-Oref partage des chiffres utiles." in text_of(page)
    assert f'href="/t/{hors_topic.id}"' in page.text
    assert client_for(members["hors_pair"]).get(f"/t/{relay.id}").status_code == 404
    assert counters("suivi-du-parcours")[:2] == (1, 1)
    assert_counters_right()
    [entry] = log_entries()
    assert (entry.action, entry.target_id) == ("relay", hors_topic.id)


def test_relaying_a_pairs_topic_is_refused_with_a_message(members, client_for, topic) -> None:
    response = client_for(members["animation"]).post(
        f"/t/{topic.id}/relayer",
        data={"category": str(category("suivi-du-parcours").id), "summary": "Résumé."},
    )
    assert response.status_code == 400
    assert "Seuls les échanges hors pairs peuvent être relayés." in plain(response.text)
    assert db.session.scalar(select(Topic).where(Topic.id != topic.id)) is None
    assert log_entries() == []


def test_a_hidden_exchange_is_not_relayed_to_pairs_who_could_not_open_it(
    members, client_for, hors_topic
) -> None:
    """A relay links to the exchange: relayed while hidden, its link would answer 404 to
    every pair. No « Relayer aux pairs » then, and the form says why."""
    first = db.session.scalar(select(Post).where(Post.topic_id == hors_topic.id))
    client = client_for(members["animation"])
    assert client.post(f"/p/{first.id}/masquer", data={"reason": "Doublon."}).status_code == 302
    assert "Relayer aux pairs" not in client.get(f"/t/{hors_topic.id}", follow_redirects=True).text
    response = client.post(
        f"/t/{hors_topic.id}/relayer",
        data={"category": str(category("suivi-du-parcours").id), "summary": "Résumé."},
    )
    assert response.status_code == 400
    assert "Cet échange est masqué : rétablissez-le avant de le relayer" in plain(response.text)
    assert db.session.scalar(select(Topic).where(Topic.id != hors_topic.id)) is None


def test_relaying_into_the_hors_pairs_space_is_a_bad_request(
    members, client_for, hors_topic
) -> None:
    response = client_for(members["animation"]).post(
        f"/t/{hors_topic.id}/relayer",
        data={"category": str(category("propositions-d-outils").id), "summary": "Résumé."},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(Topic).where(Topic.id != hors_topic.id)) is None


# --- unread markers after split and merge -------------------------------------------------


def test_after_a_split_a_new_reply_to_the_original_topic_is_unread_for_a_reader(
    members, client_for, long_topic
) -> None:
    reader = client_for(members["referent_apec"])
    assert reader.get(f"/t/{long_topic.id}").status_code == 200  # read up to number 6
    posts = posts_of(long_topic.id)
    client_for(members["animation"]).post(
        f"/t/{long_topic.id}/diviser",
        data={
            "posts": [str(posts[2].id), str(posts[4].id), str(posts[5].id)],
            "title": "La dérive, dans son propre sujet",
            "category": str(category("premier-entretien").id),
        },
    )
    assert "Un échange qui dérive" not in topic_titles_in_list(reader.get("/non-lus").text)
    fresh = make_reply(
        members["pair"], reload(Topic, long_topic.id), "Une réponse après la division."
    )
    assert fresh.number == 4
    assert "Un échange qui dérive" in topic_titles_in_list(reader.get("/non-lus").text)
    first_unread = reader.get(f"/t/{long_topic.id}/premier-non-lu")
    assert location(first_unread) == f"/p/{fresh.id}"


def test_after_a_merge_the_posts_brought_in_are_unread_for_a_reader_of_the_target(
    members, client_for
) -> None:
    target = make_topic(members["pair"], title="Le sujet qui reste", body="Cible 1.")
    source = make_topic(members["other_pair"], title="Le même sujet en double", body="Source 1.")
    make_reply(members["pilot_pair"], target, "Cible 2.")
    reader = client_for(members["referent_apec"])
    reader.get(f"/t/{target.id}")  # has read « Cible 1. » and « Cible 2. »
    assert "Le sujet qui reste" not in topic_titles_in_list(reader.get("/non-lus").text)
    client_for(members["animation"]).post(
        f"/t/{source.id}/fusionner", data={"target": str(target.id)}
    )
    assert "Le sujet qui reste" in topic_titles_in_list(reader.get("/non-lus").text)
    brought_in = next(p for p in posts_of(target.id) if p.body_source == "Source 1.")
    assert location(reader.get(f"/t/{target.id}/premier-non-lu")) == f"/p/{brought_in.id}"


# --- what a merge or a split leaves behind ---------------------------------------------


@pytest.mark.parametrize("reader", ["pair", "other_pair", "animation"])
def test_a_merged_topic_is_only_a_redirect_for_everyone(members, client_for, reader) -> None:
    """Its old address leads to the target; nothing else answers, for its author and the
    staff too: its title is shown nowhere (it may be one the moderation hid, or a pending
    one) and nothing is written into it (a reply there was kept where no one would read
    it, and « premier non lu » answered 500)."""
    target = make_topic(members["pair"], title="Le sujet qui reste")
    source = make_topic(members["other_pair"], title="Titre caché SECRET")
    hidden = client_for(members["animation"]).post(
        f"/t/{source.id}/moderer", data={"action": "hide", "reason": "Titre insultant."}
    )
    assert hidden.status_code == 303
    merged = client_for(members["animation"]).post(
        f"/t/{source.id}/fusionner", data={"target": str(target.id)}
    )
    assert merged.status_code == 302
    client = client_for(members[reader])
    assert location(client.get(f"/t/{source.id}")) == f"/t/{target.id}"
    for url in (f"/t/{source.id}/repondre", f"/t/{source.id}/premier-non-lu"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "SECRET" not in response.text
    reply = client.post(f"/t/{source.id}/repondre", data={"body": "Encore moi.", "submit": "1"})
    assert reply.status_code == 404
    follow = client.post(f"/t/{source.id}/abonnement", data={"level": "watching"})
    assert follow.status_code == 404
    assert posts_of(source.id) == []
    assert_counters_right()


def test_a_topic_is_not_merged_into_a_merged_one(members, client_for) -> None:
    first = make_topic(members["pair"], title="Le sujet qui reste")
    second = make_topic(members["pair"], title="Un double")
    third = make_topic(members["pair"], title="Un autre double")
    client = client_for(members["animation"])
    merged = client.post(f"/t/{second.id}/fusionner", data={"target": str(first.id)})
    assert merged.status_code == 302
    into_pointer = client.post(f"/t/{third.id}/fusionner", data={"target": str(second.id)})
    assert into_pointer.status_code == 400
    assert "Aucun sujet ne correspond" in text_of(into_pointer)
    assert len(posts_of(third.id)) == 1


def test_a_retained_answer_split_behind_the_wall_leaves_the_hors_pairs_topic(
    members, client_for
) -> None:
    """A hors pair's question answered by a pair, the answer retained; the animatrice then
    splits that answer into a pairs' rubrique, where it is edited: the hors pairs' topic no
    longer shows it (its box showed the current text, behind the wall) and is no longer
    solved."""
    question = make_topic(members["hors_pair"], slug="echanges", title="Question aux pairs")
    answer = make_reply(members["pair"], question, "Réponse publique.")
    marked = client_for(members["hors_pair"]).post(f"/p/{answer.id}/solution")
    assert marked.status_code == 302
    assert "Réponse retenue" in client_for(members["hors_pair"]).get(f"/t/{question.id}").text
    split = client_for(members["animation"]).post(
        f"/t/{question.id}/diviser",
        data={
            "posts": [str(answer.id)],
            "title": "Entre pairs",
            "category": str(category("premier-entretien").id),
        },
    )
    assert split.status_code == 302
    edited = client_for(members["pair"]).post(
        f"/p/{answer.id}/modifier", data={"body": "Entre nous : SECRET.", "submit": "1"}
    )
    assert edited.status_code == 302
    page = client_for(members["hors_pair"]).get(f"/t/{question.id}")
    assert page.status_code == 200
    assert "SECRET" not in page.text
    assert "Réponse retenue" not in page.text
    stored = reload(Topic, question.id)
    assert (stored.solution_post_id, stored.solved_at) == (None, None)


# --- across the wall --------------------------------------------------------------------


def test_a_split_or_a_merge_that_shows_pairs_posts_to_hors_pairs_asks_for_a_confirmation(
    members, client_for, topic
) -> None:
    """As a move does (and as opening a rubrique does): the posts would be read by members
    who could not read them where they were."""
    animation, hors = client_for(members["animation"]), client_for(members["hors_pair"])
    reply = posts_of(topic.id)[1]
    split = {
        "posts": [str(reply.id)],
        "title": "Une réponse pour tous",
        "category": str(category("echanges").id),
    }
    refused = animation.post(f"/t/{topic.id}/diviser", data=split)
    assert refused.status_code == 400
    assert "Cochez la confirmation : les hors pairs pourront lire le message choisi," in text_of(
        refused
    )
    assert 'value="Une réponse pour tous"' in refused.text
    assert len(posts_of(topic.id)) == 2
    assert log_entries() == []

    hors_topic = make_topic(members["hors_pair"], "echanges", title="Une question ouverte")
    merge = {"target": str(hors_topic.id), "reason": "Doublon."}
    refused = animation.post(f"/t/{topic.id}/fusionner", data=merge)
    assert refused.status_code == 400
    assert (
        "Cochez la confirmation : les hors pairs pourront lire les 2 messages de ce sujet, "
        "qu'ils ne lisent pas dans « Le premier entretien »." in text_of(refused)
    )
    assert len(posts_of(hors_topic.id)) == 1
    assert "Par le bilan." not in text_of(hors.get(f"/t/{hors_topic.id}"))

    merged = animation.post(f"/t/{topic.id}/fusionner", data={**merge, "confirm_widening": "y"})
    assert merged.status_code == 302
    assert "Par le bilan." in text_of(hors.get(f"/t/{hors_topic.id}"))


def test_moving_posts_where_fewer_members_read_them_asks_nothing(
    members, client_for, hors_topic
) -> None:
    split = {
        "posts": [str(posts_of(hors_topic.id)[1].id)],
        "title": "Pour les pairs seulement",
        "category": str(category("premier-entretien").id),
    }
    response = client_for(members["animation"]).post(f"/t/{hors_topic.id}/diviser", data=split)
    assert response.status_code == 302


def test_the_merge_target_is_found_by_title_address_or_number(members, client_for) -> None:
    """The animatrice picks the target among topics whose title holds her words (each offered
    as « number — title · rubrique »), or pastes its address."""
    source = make_topic(members["pair"], title="Doublon sur la VAE")
    target = make_topic(members["other_pair"], title="La VAE pour les aidants")
    open_to_all = make_topic(members["pair"], "echanges", title="La VAE, 100% réussie_")
    client = client_for(members["animation"])
    offered = client.get(f"/t/{source.id}/fusionner/sujets", query_string={"q": "vae"})
    assert offered.get_json()["noms"] == [
        f"{open_to_all.id} — La VAE, 100% réussie_ · Échanges",
        f"{target.id} — La VAE pour les aidants · Le premier entretien",
    ]  # the most recent first, never the source itself
    literal = client.get(f"/t/{source.id}/fusionner/sujets", query_string={"q": "100%"})
    assert [n.split(" — ")[0] for n in literal.get_json()["noms"]] == [str(open_to_all.id)]
    assert client.get(f"/t/{source.id}/fusionner/sujets?q=v").get_json()["noms"] == []
    pair = client_for(members["pair"])
    assert pair.get(f"/t/{source.id}/fusionner/sujets?q=vae").status_code == 404

    for named in (f"https://comcep.example/t/{target.id}/la-vae", offered.get_json()["noms"][1]):
        other = make_topic(members["pair"], title="Encore un doublon")
        merged = client.post(f"/t/{other.id}/fusionner", data={"target": named})
        assert merged.status_code == 302, named
        assert location(merged) == f"/t/{target.id}"
    source_merged = client.post(f"/t/{source.id}/fusionner", data={"target": f"/t/{target.id}"})
    assert source_merged.status_code == 302
    refused = client.post(f"/t/{target.id}/fusionner", data={"target": "La VAE"})
    assert refused.status_code == 400
    assert 'value="La VAE"' in refused.text


# --- the split's notes ------------------------------------------------------------------


def _split(client, topic: Topic, posts: list[Post], title: str, slug: str):  # noqa: ANN001, ANN202
    data = {"posts": [str(p.id) for p in posts], "title": title, "category": str(category(slug).id)}
    response = client.post(f"/t/{topic.id}/diviser", data=data)
    assert response.status_code == 302
    return db.session.scalar(select(Topic).where(Topic.title == title))


def _page_items(html: str) -> list[str]:
    """The posts (« #n ») and the moderation's notes of a topic page, in the order shown."""
    items = re.findall(
        r'class="post__date meta"[^>]*>#(\d+) ·|<p class="topic-event"[^>]*>(.*?)</p>', html, re.S
    )
    return [f"#{number}" if number else plain(note) for number, note in items]


def test_a_split_leaves_a_note_in_both_topics_that_counts_nothing_and_tells_nobody(
    members, client_for, long_topic
) -> None:
    posts = posts_of(long_topic.id)
    notified = db.session.scalar(select(func.count(Notification.id)))
    new = _split(
        client_for(members["animation"]),
        long_topic,
        [posts[2], posts[4], posts[5]],
        "La dérive, dans son propre sujet",
        "apres-le-premier-entretien",
    )
    assert db.session.scalar(select(func.count(Notification.id))) == notified  # nobody told
    make_reply(members["other_pair"], reload(Topic, long_topic.id), "Revenons au sujet.")
    reader = client_for(members["pair"])

    original = reader.get(f"/t/{long_topic.id}").text
    note = "3 messages ont été déplacés vers « La dérive, dans son propre sujet »"
    assert [item.split(" — ")[0] for item in _page_items(original)] == [
        "#1", "#2", "#3", note, "#4",
    ]  # fmt: skip
    assert "— par la modération, " in plain(original)
    assert f'href="/t/{new.id}/{new.slug}"' in original
    opened = reader.get(f"/t/{new.id}").text
    assert [item.split(" — ")[0] for item in _page_items(opened)] == [
        "Messages déplacés depuis « Un échange qui dérive »", "#1", "#2", "#3",
    ]  # fmt: skip
    assert f'href="/t/{long_topic.id}/{long_topic.slug}"' in opened

    # Not posts: the counters are as without them.
    assert [reload(Topic, t).post_count for t in (long_topic.id, new.id)] == [4, 3]
    assert [reload(Topic, t).reply_count for t in (long_topic.id, new.id)] == [3, 2]
    assert_counters_right()
    assert db.session.scalar(select(func.count(Post.id))) == 7


def test_a_note_keeps_its_place_when_the_topic_is_split_again(
    members, client_for, long_topic
) -> None:
    staff = client_for(members["animation"])
    posts = posts_of(long_topic.id)
    _split(staff, long_topic, [posts[4], posts[5]], "Suite à part", "divers")
    make_reply(members["other_pair"], reload(Topic, long_topic.id), "Une réponse après.")
    _split(staff, reload(Topic, long_topic.id), [posts[1]], "Une seule réponse", "divers")
    page = client_for(members["pair"]).get(f"/t/{long_topic.id}").text
    assert [item.split(" — ")[0] for item in _page_items(page)] == [
        "#1", "#2", "#3",
        "2 messages ont été déplacés vers « Suite à part »",
        "#4",
        "1 message a été déplacé vers « Une seule réponse »",
    ]  # fmt: skip


def test_a_note_follows_its_posts_when_their_topic_is_merged(members, client_for) -> None:
    """Merged into another topic, a topic's posts take their notes with them (they stayed
    on the merged topic, which nobody opens any more)."""
    target = make_topic(members["other_pair"], title="Le sujet qui reste", body="Ouverture.")
    source = make_topic(
        members["pair"],
        title="Un échange qui dérive",
        body="Réponse 1.",
        replies=[(members["pilot_pair"], f"Réponse {n}.") for n in range(2, 7)],
    )
    staff = client_for(members["animation"])
    _split(staff, source, posts_of(source.id)[4:], "Suite à part", "divers")
    merged = staff.post(f"/t/{source.id}/fusionner", data={"target": str(target.id)})
    assert merged.status_code == 302
    page = client_for(members["pair"]).get(f"/t/{target.id}").text
    assert [item.split(" — ")[0] for item in _page_items(page)] == [
        "#1", "#2", "#3", "#4", "#5",
        "2 messages ont été déplacés vers « Suite à part »",
    ]  # fmt: skip
    assert "Réponse 4." in page


def test_merged_notes_land_before_their_posts_and_a_merge_back_drops_the_split_s_notes(
    members, client_for
) -> None:
    """A topic made by a split (« déplacés depuis », before its first post) merged into a
    third keeps its note just before its posts; merged back where it came from, the split is
    undone and its two notes go (the journal keeps both)."""
    staff = client_for(members["animation"])
    target = make_topic(members["other_pair"], title="Le sujet qui reste", body="Ouverture.")
    source = make_topic(
        members["pair"],
        title="Un échange qui dérive",
        body="Réponse 1.",
        replies=[(members["pilot_pair"], f"Réponse {n}.") for n in range(2, 5)],
    )
    split = _split(staff, source, posts_of(source.id)[2:], "Suite à part", "premier-entretien")
    merged = staff.post(f"/t/{split.id}/fusionner", data={"target": str(target.id)})
    assert merged.status_code == 302
    page = client_for(members["pair"]).get(f"/t/{target.id}").text
    items = [item.split(" — ")[0] for item in _page_items(page)]
    assert items == ["#1", "Messages déplacés depuis « Un échange qui dérive »", "#2", "#3"]

    fresh = make_topic(
        members["pair"],
        title="Un cas entier",
        body="Début.",
        replies=[(members["pilot_pair"], "Suite."), (members["other_pair"], "Fin.")],
    )
    part = _split(staff, fresh, posts_of(fresh.id)[1:], "Un morceau", "premier-entretien")
    back = staff.post(f"/t/{part.id}/fusionner", data={"target": str(fresh.id)})
    assert back.status_code == 302
    page = client_for(members["pair"]).get(f"/t/{fresh.id}").text
    assert [item.split(" — ")[0] for item in _page_items(page)] == ["#1", "#2", "#3"]


def test_a_note_shows_at_its_place_among_the_pages(
    app, members, client_for, long_topic, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    posts = posts_of(long_topic.id)
    _split(client_for(members["animation"]), long_topic, posts[4:], "Suite à part", "divers")
    reader = client_for(members["pair"])
    note = "2 messages ont été déplacés vers « Suite à part »"

    def pages() -> list[list[str]]:
        count = -(-reload(Topic, long_topic.id).last_number // 2)
        return [
            [
                i.split(" — ")[0]
                for i in _page_items(reader.get(f"/t/{long_topic.id}?page={n}").text)
            ]
            for n in range(1, count + 1)
        ]

    assert pages() == [["#1", "#2"], ["#3", "#4", note]]  # after the last post: on the last page
    make_reply(members["other_pair"], reload(Topic, long_topic.id), "Une réponse après.")
    assert pages() == [["#1", "#2"], ["#3", "#4"], [note, "#5"]]


def test_a_note_names_no_topic_behind_the_wall(members, client_for, hors_topic) -> None:
    reply = posts_of(hors_topic.id)[1]
    new = _split(
        client_for(members["animation"]),
        hors_topic,
        [reply],
        "Pour les pairs seulement",
        "premier-entretien",
    )
    page = client_for(members["hors_pair"]).get(f"/t/{hors_topic.id}").text
    assert "1 message a été déplacé vers un autre sujet" in plain(page)
    assert "Pour les pairs seulement" not in page
    assert f"/t/{new.id}" not in page
    pairs_page = client_for(members["pair"]).get(f"/t/{hors_topic.id}").text
    assert "1 message a été déplacé vers « Pour les pairs seulement »" in plain(pairs_page)


def test_a_topic_page_reads_its_notes_only_when_it_has_some(
    members, client_for, long_topic, topic, count_queries
) -> None:
    posts = posts_of(long_topic.id)
    _split(client_for(members["animation"]), long_topic, posts[4:], "Suite à part", "divers")
    reader = client_for(members["pair"])

    def statements(url: str) -> list[str]:
        reader.get(url)
        with count_queries() as run:
            reader.get(url)
        return list(run)

    with_notes, without = statements(f"/t/{long_topic.id}"), statements(f"/t/{topic.id}")
    assert sum("topic_events.kind" in s for s in with_notes) == 1
    assert sum("topic_events.kind" in s for s in without) == 0
    assert len(with_notes) == len(without) + 1


def _kinds_told(post_id: int) -> dict[int, tuple[str, int]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Notification.member_id, Notification.kind, Notification.topic_id).where(
            Notification.post_id == post_id
        )
    )
    return {member_id: (kind, topic_id) for member_id, kind, topic_id in rows}


def test_a_reply_split_away_is_not_told_as_a_reply_to_a_topic_its_reader_never_opened(
    members, client_for
) -> None:
    """Review of stop 52: after a split, « X a répondu à votre sujet : « new title » » was
    told of a topic the reader never opened, and « dans un sujet que vous suivez » of one
    they never followed. The notification follows its post (the bell and the link), and
    says the moderation moved it; merged back where the reader opened it, it says so."""
    opener, replier, watcher = members["pair"], members["other_pair"], members["referent_apec"]
    origin = make_topic(opener, title="Un cas de départ", body="Le cas.")
    from comcep.notifications.services import set_topic_level_for

    set_topic_level_for(watcher.id, origin.id, "watching")
    db.session.commit()
    sent = client_for(replier).post(f"/t/{origin.id}/repondre", data={"body": "Hors sujet."})
    assert sent.status_code == 302
    reply = db.session.scalar(select(Post).where(Post.topic_id == origin.id, Post.number == 2))
    assert _kinds_told(reply.id) == {
        opener.id: ("my_topic", origin.id),
        watcher.id: ("reply", origin.id),
    }

    staff = client_for(members["animation"])
    staff.post(
        f"/t/{origin.id}/diviser",
        data={
            "posts": [str(reply.id)],
            "title": "Un autre sujet",
            "category": str(category("premier-entretien").id),
        },
    )
    new = db.session.scalar(select(Topic).where(Topic.title == "Un autre sujet"))
    assert _kinds_told(reply.id) == {
        opener.id: ("moved_reply", new.id),
        watcher.id: ("moved_reply", new.id),
    }
    page = plain(text_of(client_for(opener).get("/notifications")))
    assert "la modération a déplacé ce message dans un autre sujet : « Un autre sujet »" in page
    assert "a répondu à votre sujet" not in page

    # Merged into the topic the opener opened: a reply to their topic again.
    merged = staff.post(
        f"/t/{new.id}/fusionner", data={"target": str(origin.id), "reason": "Retour."}
    )
    assert merged.status_code == 302, merged.status_code
    assert _kinds_told(reply.id)[opener.id] == ("my_topic", origin.id)


def test_the_split_form_lists_each_post_by_its_own_words_not_its_quote_markdown(
    members, client_for
) -> None:
    """The choices read « [**Claire Martin**](/p/105) a écrit : > … »: the Markdown of the
    quote a reply starts with, not what it says (review of stop 52)."""
    topic = make_topic(members["pair"], title="Un cas à diviser", body="Le cas.")
    first = make_reply(members["other_pair"], topic, "Une première réponse.")
    client_for(members["pair"]).post(
        f"/t/{topic.id}/repondre",
        data={
            "body": f"[**Paire Deux**](/p/{first.id}) a écrit :\n\n> Une première réponse.\n\n"
            "Merci, je retiens **cette piste**.",
            "submit": "1",
        },
    )
    form = plain(text_of(client_for(members["animation"]).get(f"/t/{topic.id}/diviser")))
    assert "Paire Un : Paire Deux a écrit : Merci, je retiens cette piste." in form
    assert "[**" not in form
    assert "> Une première réponse" not in form
