"""Faults a state machine found by driving the views at random (new topics, replies, edits,
hiding, restoring, moves across the wall, splits, merges, departures): each one replayed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Post, Topic
from comcep.search import indexing
from tests.conftest import PASSWORD
from tests.factories import category, make_reply, make_topic

pytestmark = pytest.mark.usefixtures("request_scoped_clients")


@pytest.fixture(autouse=True)
def _empty_search_index(app) -> None:  # noqa: ANN001
    with app.app_context():
        indexing.get_backend().clear()


def test_restoring_a_post_removed_at_its_authors_departure_is_a_clear_refusal_not_a_500(
    members, client_for
) -> None:
    """A member leaves and asks their posts removed; the animatrice then clicks « rétablir »
    on one of them: the server answers 500 instead of saying it cannot be restored."""
    leaver = members["pair"]
    topic = make_topic(leaver, title="Un sujet qui partira", body="Mon message.")
    post_id = db.session.scalar(select(Post.id).where(Post.topic_id == topic.id))
    left = client_for(leaver).post(
        "/compte/quitter", data={"password": PASSWORD, "confirm": "y", "remove_posts": "y"}
    )
    assert left.status_code == 302
    animation = client_for(members["animation"])
    page = animation.get(f"/t/{topic.id}").text
    assert f'action="/p/{post_id}/restaurer"' not in page
    assert "Retiré à la demande de son auteur" in page
    response = animation.post(f"/p/{post_id}/restaurer", data={})
    assert response.status_code == 303
    told = animation.get(response.headers["Location"], follow_redirects=True).text
    assert "il ne peut pas être rétabli" in told
    assert db.session.get(Post, post_id).is_hidden


def test_search_still_answers_after_a_post_is_edited_several_times(members, client_for) -> None:
    """A post edited a few times (its author, then the animatrice): the next search of a
    word it holds answers 500 for a hors pair."""
    author = members["pair"]
    topic = make_topic(author, title="Un sujet modifié", body="Un entretien difficile.")
    post_id = topic.id
    for editor, body in [
        (author, "Un entretien difficile, bis."),
        (author, "Un entretien difficile, ter."),
        (members["animation"], "Un entretien difficile, quater."),
        (members["animation"], "Un entretien difficile, quinquies."),
    ]:
        data = {"body": body, "title": "Un sujet modifié"}
        assert client_for(editor).post(f"/p/{post_id}/modifier", data=data).status_code == 302
    for reader in ("hors_pair", "pair"):
        response = client_for(members[reader]).get("/recherche?q=entretien")
        assert response.status_code == 200


def test_a_newcomers_topic_approved_after_mark_all_read_shows_as_unread(
    members, client_for, make_member
) -> None:
    """A newcomer's pre-moderated topic is approved after a pair used « marquer les forums
    comme lus » while it waited: the pair never saw it, yet it never shows in « non lus »
    (approve_post keeps the opening post's old date; replies get the date of approval)."""
    from tests.moderation.helpers import set_premoderation

    assert set_premoderation(client_for(members["admin"]), "1").status_code in (302, 303)
    newcomer = make_member(statut="pair", network="apec", name="Nouvelle Recrue")
    sent = client_for(newcomer).post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Sujet jetonattente", "body": "Un entretien difficile."},
    )
    assert sent.status_code == 302
    reader = client_for(members["pair"])
    assert reader.post("/marquer-lus", data={}).status_code == 302
    from sqlalchemy import select

    from comcep.extensions import db
    from comcep.forum.models import Post

    db.session.expire_all()
    post_id = db.session.scalar(select(Post.id).where(Post.author_id == newcomer.id))
    approved = client_for(members["animation"]).post(f"/p/{post_id}/restaurer", data={})
    assert approved.status_code in (302, 303)
    assert "jetonattente" in reader.get("/actifs").text  # published, visible to the pair
    assert "jetonattente" in reader.get("/non-lus").text


def _merge_hidden_into_newer(members, client_for):  # noqa: ANN001, ANN202
    """A topic whose opening post the animatrice hid, its reply split off into a newer shown
    topic, then the hidden one merged into it: (the newer topic's id, its opening post, the
    animatrice's client)."""
    old = make_topic(members["pair"], slug="echanges", title="Sujet ancien", body="Ancien.")
    reply = make_reply(members["hors_pair"], old, "Une réponse.")
    anim = client_for(members["animation"])
    first_id = db.session.scalar(select(Post.id).where(Post.topic_id == old.id, Post.number == 1))
    assert anim.post(f"/p/{first_id}/masquer", data={"reason": "Hors charte."}).status_code == 302
    split = anim.post(
        f"/t/{old.id}/diviser",
        data={
            "posts": [str(reply.id)],
            "title": "Sujet divisé",
            "category": str(category("divers").id),
            "confirm_widening": "y",
        },
    )
    assert split.status_code == 302
    db.session.expire_all()
    new_id = db.session.scalar(select(Topic.id).where(Topic.title == "Sujet divisé"))
    merged = anim.post(
        f"/t/{old.id}/fusionner", data={"target": str(new_id), "confirm_widening": "y"}
    )
    assert merged.status_code == 302
    db.session.expire_all()
    return new_id, reply, anim


def _opening(topic_id: int) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic_id, Post.number == 1))


def test_merging_a_hidden_topic_into_a_later_one_keeps_the_target_s_opening_post_first(
    members, client_for
) -> None:
    """A hidden topic merged into a newer shown one: renumbering by date would make its
    hidden post n° 1 of the target, shown, opening on a hole under another author's name."""
    new_id, reply, _anim = _merge_hidden_into_newer(members, client_for)
    assert not db.session.get(Topic, new_id).is_hidden
    assert _opening(new_id).id == reply.id  # the target still opens with its own first post
    numbers = db.session.scalars(
        select(Post.number).where(Post.topic_id == new_id).order_by(Post.number)
    ).all()
    assert numbers == [1, 2]


def test_a_split_after_the_merge_keeps_the_target_s_opening_post_first(members, client_for) -> None:
    """A later split renumbers the target by date again: the hidden post must not come back
    to open the shown topic."""
    new_id, reply, anim = _merge_hidden_into_newer(members, client_for)
    later = make_reply(members["pair"], db.session.get(Topic, new_id), "Plus tardive.")
    again = anim.post(
        f"/t/{new_id}/diviser",
        data={
            "posts": [str(later.id)],
            "title": "Encore divisé",
            "category": str(category("divers").id),
        },
    )
    assert again.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Topic, new_id).is_hidden
    assert _opening(new_id).id == reply.id
