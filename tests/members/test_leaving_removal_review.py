"""Leaving with removal of posts (review D of stop 52): nothing left open in the queue can
show a removed post again."""

from __future__ import annotations

from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Post
from comcep.moderation.models import Report
from tests.conftest import PASSWORD
from tests.factories import make_reply, make_topic
from tests.moderation.helpers import reload


def _leave_removing(client):  # noqa: ANN001, ANN202
    response = client.post(
        "/compte/quitter", data={"password": PASSWORD, "confirm": "y", "remove_posts": "y"}
    )
    assert response.status_code == 302
    return response


def test_a_report_left_open_cannot_show_again_a_post_removed_at_its_authors_request(
    members, client_for, make_member
) -> None:
    """A post reported before its author left asking removal: the report stays open in the
    queue, and its « Conserver » (the natural answer to a report found unfounded) shows the
    post again to everyone, against the former member's request."""
    leaver = make_member(network="apec")
    topic = make_topic(members["pair"], title="Un cas", body="Le cas.")
    reply = make_reply(leaver, topic, "Ma réponse, que je veux retirer en partant.")
    reported = client_for(members["other_pair"]).post(
        f"/p/{reply.id}/signaler", data={"reason": "spam", "comment": ""}
    )
    assert reported.status_code in (302, 303)
    _leave_removing(client_for(leaver))
    assert reload(Post, reply.id).is_hidden

    staff = client_for(members["animation"])
    staff.post(f"/moderation/signalements/{reply.id}", data={"decision": "kept"})
    assert reload(Post, reply.id).is_hidden


def test_a_corrected_post_waiting_in_the_queue_stays_removed_when_its_author_leaves(
    members, client_for, make_member
) -> None:
    """The same through the new correction: a hidden post corrected by its author waits in
    the queue; its author then leaves asking removal (the post, already hidden, is left as
    it is): « Conserver » publishes it."""
    leaver = make_member(network="apec")
    topic = make_topic(members["pair"], title="Un cas", body="Le cas.")
    reply = make_reply(leaver, topic, "Une réponse avec un nom.")
    staff = client_for(members["animation"])
    staff.post(f"/p/{reply.id}/masquer", data={"reason": "Un nom."})
    author = client_for(leaver)
    author.post(f"/p/{reply.id}/modifier", data={"body": "Une réponse sans nom.", "submit": "1"})
    assert db.session.scalar(select(Report.id).where(Report.post_id == reply.id)) is not None
    _leave_removing(author)

    staff.post(f"/moderation/signalements/{reply.id}", data={"decision": "kept"})
    assert reload(Post, reply.id).is_hidden
