"""Holes in the wall found by a review (stop 49), each proved by a test that failed before
its fix: a reply in a hidden topic, a merge across the wall, and @mention links."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from comcep import outbox
from comcep.extensions import db
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.messages import services as messages
from comcep.moderation import services as moderation
from tests.factories import category, make_reply, make_topic

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "request_scoped_clients")

SECRET = "SECRETMODERE4412"


def _hidden_topic(members: dict[str, Member], title: str) -> Topic:
    topic = make_topic(
        members["pair"], "premier-entretien", title=title, body="Nom du bénéficiaire."
    )
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))
    moderation.hide_post(members["animation"], first, topic, "Données personnelles")
    db.session.commit()
    return topic


def test_a_reply_in_a_hidden_topic_does_not_show_its_title_as_dernier_message(
    members: dict[str, Member], client_for: Callable
) -> None:
    topic = _hidden_topic(members, f"{SECRET} données perso")
    assert SECRET not in client_for(members["other_pair"]).get("/").text
    # Its author still reaches the hidden topic, and answers the moderation there.
    response = client_for(members["pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "J'ai compris, je corrige.", "submit": "1"}
    )
    assert response.status_code == 302
    outbox.process()
    assert SECRET not in client_for(members["other_pair"]).get("/").text
    assert SECRET not in client_for(members["other_pair"]).get("/r/premier-entretien").text


def test_a_reply_in_a_hidden_topic_is_not_counted_on_the_profile(
    members: dict[str, Member], client_for: Callable
) -> None:
    topic = _hidden_topic(members, "Un sujet à masquer")
    reader = client_for(members["other_pair"])
    assert "<dt>Messages</dt><dd>0</dd>" in reader.get(f"/membres/{members['pair'].id}").text
    response = client_for(members["pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Je corrige.", "submit": "1"}
    )
    assert response.status_code == 302
    assert "<dt>Messages</dt><dd>0</dd>" in reader.get(f"/membres/{members['pair'].id}").text


def test_a_topic_merged_behind_the_wall_answers_like_a_missing_one(
    members: dict[str, Member], client_for: Callable
) -> None:
    target = make_topic(members["pair"], "premier-entretien", title="Le même cas, entre pairs")
    source = make_topic(members["hors_pair"], "echanges", title="Une question de partenaire")
    merged = client_for(members["animation"]).post(
        f"/t/{source.id}/fusionner", data={"target": str(target.id)}
    )
    assert merged.status_code == 302
    client = client_for(members["hors_pair"])
    hidden, missing = client.get(f"/t/{source.id}"), client.get("/t/999999")
    assert missing.status_code == 404
    assert (hidden.status_code, hidden.headers.get("Location")) == (404, None)
    # A pair still follows the old address to where the posts went.
    followed = client_for(members["other_pair"]).get(f"/t/{source.id}")
    assert followed.status_code == 301
    assert followed.headers["Location"].endswith(f"/t/{target.id}")


@pytest.fixture
def jeanne(make_member: Callable[..., Member]) -> Member:
    """A pair who wrote only among pairs: no hors pair may list her."""
    hidden = make_member(name="Jeanne Cachée")
    make_topic(hidden, title="Un cas entre pairs", body="Seulement chez les pairs.")
    return hidden


def test_a_pair_s_mention_where_hors_pairs_read_does_not_link_a_member_they_may_not_see(
    members: dict[str, Member], jeanne: Member, client_for: Callable
) -> None:
    exchange = make_topic(members["hors_pair"], slug="echanges", title="Une question")
    make_reply(members["pair"], exchange, "Voyez avec @Jeanne Cachée, elle connaît.")
    hors_pair = client_for(members["hors_pair"])
    assert hors_pair.get(f"/membres/{jeanne.id}").status_code == 404
    page = hors_pair.get(f"/t/{exchange.id}/{exchange.slug}")
    assert "Jeanne Cachée" in page.text
    assert f"/membres/{jeanne.id}" not in page.text
    # Among pairs, the same name links.
    pairs_topic = make_topic(members["other_pair"], title="Entre pairs")
    make_reply(members["pair"], pairs_topic, "Voyez avec @Jeanne Cachée.")
    page = client_for(members["other_pair"]).get(f"/t/{pairs_topic.id}/{pairs_topic.slug}")
    assert f"/membres/{jeanne.id}" in page.text


def test_an_edit_by_the_animatrice_links_names_as_the_author_would(
    members: dict[str, Member], jeanne: Member, client_for: Callable
) -> None:
    exchange = make_topic(members["hors_pair"], slug="echanges", title="Une question")
    post = make_reply(members["hors_pair"], exchange, "Merci @Jeanne Cachée pour la grile.")
    hors_pair = client_for(members["hors_pair"])
    assert f"/membres/{jeanne.id}" not in hors_pair.get(f"/t/{exchange.id}").text
    edited = client_for(members["animation"]).post(
        f"/p/{post.id}/modifier",
        data={"body": "Merci @Jeanne Cachée pour la grille.", "submit": "1"},
    )
    assert edited.status_code == 302
    page = hors_pair.get(f"/t/{exchange.id}/{exchange.slug}")
    assert "pour la grille" in page.text
    assert f"/membres/{jeanne.id}" not in page.text


def test_a_topic_moved_where_hors_pairs_read_loses_its_links_to_members_they_may_not_see(
    members: dict[str, Member], jeanne: Member, client_for: Callable
) -> None:
    topic = make_topic(members["other_pair"], title="Un cas à relayer")
    make_reply(members["pair"], topic, "Voyez avec @Jeanne Cachée.")
    assert f"/membres/{jeanne.id}" in client_for(members["pair"]).get(f"/t/{topic.id}").text
    moderation.move_topic(members["animation"], topic, category("echanges"), confirmed=True)
    db.session.commit()
    page = client_for(members["hors_pair"]).get(f"/t/{topic.id}/{topic.slug}")
    assert page.status_code == 200
    assert "Jeanne Cachée" in page.text
    assert f"/membres/{jeanne.id}" not in page.text


def test_a_private_message_to_a_hors_pair_links_only_members_it_may_see(
    members: dict[str, Member], jeanne: Member, client_for: Callable
) -> None:
    conversation = messages.start_conversation(
        members["pair"], [members["hors_pair"]], "Un contact", "Voyez avec @Jeanne Cachée."
    )
    db.session.commit()
    page = client_for(members["hors_pair"]).get(f"/messages/{conversation.id}")
    assert "Jeanne Cachée" in page.text
    assert f"/membres/{jeanne.id}" not in page.text


def test_opening_a_rubrique_to_hors_pairs_relinks_its_mentions(
    members: dict[str, Member], jeanne: Member, client_for: Callable
) -> None:
    topic = make_topic(members["other_pair"], "divers", title="Un cas divers")
    make_reply(members["pair"], topic, "Voyez avec @Jeanne Cachée.")
    divers = category("divers")
    fields = {
        "name": divers.name,
        "description": divers.description,
        "position": divers.position,
        "open_to_hors_pairs": True,
        "staff_only": divers.staff_only,
        "group_id": divers.group_id,
    }
    assert moderation.edit_category(members["admin"], divers, fields, confirmed=True)
    db.session.commit()
    hors_pair = client_for(members["hors_pair"])
    assert hors_pair.get(f"/membres/{jeanne.id}").status_code == 404
    page = hors_pair.get(f"/t/{topic.id}/{topic.slug}")
    assert page.status_code == 200
    assert "Jeanne Cachée" in page.text
    assert f"/membres/{jeanne.id}" not in page.text


def test_a_hors_pair_added_to_a_conversation_gets_no_link_to_a_member_it_may_not_see(
    members: dict[str, Member], jeanne: Member, client_for: Callable
) -> None:
    conversation = messages.start_conversation(
        members["pair"], [members["other_pair"]], "Un contact", "Voyez avec @Jeanne Cachée."
    )
    db.session.commit()
    added = client_for(members["pair"]).post(
        f"/messages/{conversation.id}/participants",
        data={"recipients": "Hors Pair", "add": "1"},
    )
    assert added.status_code in (302, 303)
    page = client_for(members["hors_pair"]).get(f"/messages/{conversation.id}")
    assert page.status_code == 200
    assert "Jeanne Cachée" in page.text
    assert f"/membres/{jeanne.id}" not in page.text


def test_a_group_rubrique_open_to_hors_pairs_links_only_members_they_may_see(
    members: dict[str, Member], jeanne: Member, make_member: Callable, client_for: Callable
) -> None:
    for slug in ("groupe-pilote", "consultations"):
        category(slug).open_to_hors_pairs = True
    db.session.commit()
    pilot_hors_pair = make_member(statut="hors_pair", name="Hors Pilote", groups=("Groupe pilote",))
    topic = make_topic(pilot_hors_pair, "consultations", title="Une consultation")
    make_reply(members["pilot_pair"], topic, "Voyez avec @Jeanne Cachée.")
    client = client_for(pilot_hors_pair)
    assert client.get(f"/membres/{jeanne.id}").status_code == 404
    page = client.get(f"/t/{topic.id}/{topic.slug}")
    assert page.status_code == 200
    assert "Jeanne Cachée" in page.text
    assert f"/membres/{jeanne.id}" not in page.text


def test_a_topic_moved_from_a_group_s_rubrique_to_all_hors_pairs_is_linked_again(
    members: dict[str, Member], make_member: Callable, client_for: Callable
) -> None:
    """Both rubriques admit hors pairs, but not the same ones: a pilot pair who wrote only
    in the group's rubrique is listed to its hors pairs, not to the others."""
    for slug in ("groupe-pilote", "consultations"):
        category(slug).open_to_hors_pairs = True
    db.session.commit()
    pilot_hors_pair = make_member(statut="hors_pair", name="Hors Pilote", groups=("Groupe pilote",))
    known = make_member(name="Lucie Pilote", groups=("Groupe pilote",))
    make_topic(known, "consultations", title="Un avis du groupe")
    topic = make_topic(pilot_hors_pair, "consultations", title="Une consultation")
    make_reply(members["pilot_pair"], topic, "Voyez avec @Lucie Pilote.")
    assert f"/membres/{known.id}" in client_for(pilot_hors_pair).get(f"/t/{topic.id}").text
    moderation.move_topic(members["animation"], topic, category("echanges"), confirmed=True)
    db.session.commit()
    page = client_for(members["hors_pair"]).get(f"/t/{topic.id}/{topic.slug}")
    assert page.status_code == 200
    assert client_for(members["hors_pair"]).get(f"/membres/{known.id}").status_code == 404
    assert "Lucie Pilote" in page.text
    assert f"/membres/{known.id}" not in page.text
