"""Names and words that reach a hors pair through indirect channels.

Each test fails while the leak exists and passes once it is fixed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Post
from comcep.members.models import Member
from comcep.moderation import services as moderation
from tests.factories import make_reply, make_topic

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "request_scoped_clients")


# --- 1. A post's history names (and links) the staff member who edited it -------------


def test_history_of_a_post_edited_by_the_animatrice_does_not_name_her_to_a_hors_pair(
    members: dict[str, Member], client_for: Callable
) -> None:
    """The animatrice wrote nothing where hors pairs read: her profile answers 404 to a
    hors pair, the bell calls her « L'équipe de la ComCEP », the current version says
    « modifiée par l'équipe d'animation »; the history's earlier version names her."""
    hors_pair, animation = members["hors_pair"], members["animation"]
    exchange = make_topic(hors_pair, "echanges", title="Une question", body="Texte initial.")
    post = db.session.scalar(select(Post).where(Post.topic_id == exchange.id, Post.number == 1))
    edited = client_for(animation).post(
        f"/p/{post.id}/modifier",
        data={"title": "Une question", "body": "Texte corrigé par l'équipe.", "submit": "1"},
    )
    assert edited.status_code == 302
    client = client_for(hors_pair)
    assert client.get(f"/membres/{animation.id}").status_code == 404  # not visible to it
    page = client.get(f"/p/{post.id}/historique")
    assert page.status_code == 200
    assert "Texte initial." in page.text  # the earlier version is shown, as it should be
    assert f"/membres/{animation.id}" not in page.text
    assert animation.display_name not in page.text


# --- 2. A refused (never published) post shows its author to hors pairs ---------------


def test_a_refused_first_post_in_echanges_does_not_name_a_pair_hors_pairs_may_not_see(
    members: dict[str, Member], make_member: Callable, client_for: Callable
) -> None:
    """Pre-moderation: a newcomer pair's first reply, refused by the animatrice, was never
    published. The newcomer wrote nothing a hors pair may read (their profile answers 404)
    but the topic page shows the placeholder under their name, network and profile link."""
    exchange = make_topic(members["hors_pair"], "echanges", title="Une question")
    assert (
        client_for(members["admin"])
        .post("/moderation/reglages", data={"premoderation_posts": "1"})
        .status_code
        == 302
    )
    newcomer = make_member(statut="pair", network="apec", name="Nouvelle Recrue")
    sent = client_for(newcomer).post(
        f"/t/{exchange.id}/repondre", data={"body": "Ma première réponse.", "submit": "1"}
    )
    assert sent.status_code == 302
    pending = db.session.scalar(
        select(Post).where(Post.topic_id == exchange.id, Post.author_id == newcomer.id)
    )
    assert pending is not None
    assert pending.is_pending
    moderation.hide_post(members["animation"], pending, exchange, "Hors sujet")
    db.session.commit()

    client = client_for(members["hors_pair"])
    assert client.get(f"/membres/{newcomer.id}").status_code == 404
    page = client.get(f"/t/{exchange.id}/{exchange.slug}")
    assert page.status_code == 200
    assert f"/membres/{newcomer.id}" not in page.text
    assert "Nouvelle Recrue" not in page.text
    # Never published, it has no place on the page either (no « Message masqué »).
    assert f'id="p{pending.id}"' not in page.text
    assert client.get(f"/p/{pending.id}").status_code == 404


def test_a_hidden_post_does_not_keep_naming_a_pair_hors_pairs_may_no_longer_see(
    members: dict[str, Member], make_member: Callable, client_for: Callable
) -> None:
    """Same rule as the bell (`actor_names`) and the thanks page: a pair whose only post
    where hors pairs read was hidden is out of their sight; the placeholder names them."""
    writer = make_member(statut="pair", network="apec", name="Claire Discrète")
    exchange = make_topic(members["hors_pair"], "echanges", title="Une question")
    post = make_reply(writer, exchange, "Le nom de mon bénéficiaire.")
    moderation.hide_post(members["animation"], post, exchange, "Données personnelles")
    db.session.commit()
    client = client_for(members["hors_pair"])
    assert client.get(f"/membres/{writer.id}").status_code == 404
    page = client.get(f"/t/{exchange.id}/{exchange.slug}")
    assert f"/membres/{writer.id}" not in page.text
