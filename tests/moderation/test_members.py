"""Member actions: suspend (for a period or without limit), silence (read-only) and lift,
with what the member then meets at /connexion and on the forum (SPEC §6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from comcep.extensions import db, utcnow
from comcep.forum.models import Post
from comcep.members.models import Member
from tests.conftest import PASSWORD
from tests.factories import make_topic
from tests.moderation.helpers import location, log_entries, plain, reload, text_of

STAFF = ["animation", "admin"]


def moderate(client, member_id: int, action: str, days: int | None = None, reason: str = ""):  # noqa: ANN001, ANN201
    data = {"action": action, "reason": reason}
    if days is not None:
        data["days"] = str(days)
    return client.post(f"/membres/{member_id}/moderer", data=data)


def log_in(client, member: Member):  # noqa: ANN001, ANN201
    return client.post("/connexion", data={"email": member.email, "password": PASSWORD})


def is_logged_in(client) -> bool:  # noqa: ANN001
    response = client.get("/actifs")
    return response.status_code == 200


@pytest.mark.parametrize("staff", STAFF)
def test_a_suspended_member_can_no_longer_log_in_and_is_logged_out_at_once(
    members, client_for, app, staff
) -> None:
    target = members["pair"]
    session = client_for(target)
    assert is_logged_in(session)
    form = client_for(members[staff]).get(f"/membres/{target.id}/moderer")
    assert form.status_code == 200
    assert "Suspendre le compte" in text_of(form)

    response = moderate(client_for(members[staff]), target.id, "suspend", 3, "Propos injurieux.")
    assert response.status_code == 302
    stored = reload(Member, target.id)
    assert stored.state == "suspended"
    assert stored.moderation_reason == "Propos injurieux."
    assert timedelta(days=2, hours=23) < stored.suspended_until - utcnow() <= timedelta(days=3)

    kicked = session.get("/actifs")
    assert kicked.status_code == 302
    assert location(kicked).startswith("/connexion")
    refused = log_in(app.test_client(), target)
    assert refused.status_code == 403
    assert "Votre compte est suspendu" in text_of(refused)
    [entry] = log_entries()
    assert (entry.action, entry.actor_id, entry.target_type, entry.target_id, entry.reason) == (
        "suspend",
        members[staff].id,
        "member",
        target.id,
        "Propos injurieux.",
    )


def test_a_suspension_for_a_period_ends_by_itself(members, client_for, app) -> None:
    target = members["pair"]
    moderate(client_for(members["animation"]), target.id, "suspend", 2, "Mise au calme.")
    assert log_in(app.test_client(), target).status_code == 403
    stored = reload(Member, target.id)
    stored.suspended_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    client = app.test_client()
    response = log_in(client, target)
    assert response.status_code == 302
    assert is_logged_in(client)
    assert is_logged_in(client_for(target))


def test_a_suspension_without_a_period_lasts_until_lifted(members, client_for, app) -> None:
    target = members["other_pair"]
    staff = client_for(members["animation"])
    moderate(staff, target.id, "suspend", None, "Usurpation d'identité.")
    stored = reload(Member, target.id)
    assert stored.state == "suspended"
    assert stored.suspended_until is None
    assert log_in(app.test_client(), target).status_code == 403
    assert "suspendu" in plain(staff.get(f"/membres/{target.id}/moderer").text)

    assert moderate(staff, target.id, "lift").status_code == 302
    stored = reload(Member, target.id)
    assert stored.state == "active"
    assert stored.suspended_until is None
    client = app.test_client()
    assert log_in(client, target).status_code == 302
    assert is_logged_in(client)
    assert [e.action for e in log_entries()] == ["suspend", "unsuspend", "unsilence"]


def test_suspending_without_a_reason_is_refused(members, client_for) -> None:
    response = moderate(client_for(members["animation"]), members["pair"].id, "suspend", 3, "")
    assert response.status_code == 400
    assert "Indiquez la raison de la suspension." in text_of(response)
    assert reload(Member, members["pair"].id).state == "active"
    assert log_entries() == []


def test_staff_cannot_suspend_themselves(members, client_for) -> None:
    staff = members["animation"]
    response = moderate(client_for(staff), staff.id, "suspend", 3, "Essai.")
    assert response.status_code == 400
    assert reload(Member, staff.id).state == "active"


def test_an_animatrice_cannot_suspend_or_silence_an_administrator(members, client_for) -> None:
    """Else she could lock every administrator out, with no end date."""
    admin, animation = members["admin"], client_for(members["animation"])
    for action in ("suspend", "silence"):
        response = moderate(animation, admin.id, action, None, "Je prends la main.")
        assert response.status_code == 403
        assert "Seul un administrateur peut suspendre" in text_of(response)
    assert reload(Member, admin.id).state == "active"
    assert reload(Member, admin.id).silenced_until is None
    assert log_entries() == []
    assert animation.get(f"/membres/{admin.id}/moderer").status_code == 403
    profile = text_of(animation.get(f"/membres/{admin.id}"))
    assert "Modérer ce membre" not in profile
    assert "Modérer ce membre" in text_of(animation.get(f"/membres/{members['pair'].id}"))
    by_admin = moderate(client_for(admin), members["animation"].id, "silence", 3, "Essai.")
    assert by_admin.status_code == 302  # an administrator acts on the staff


def test_moderating_an_unknown_member_is_a_404(members, client_for) -> None:
    assert client_for(members["animation"]).get("/membres/987654/moderer").status_code == 404


@pytest.mark.parametrize("staff", STAFF)
def test_a_silenced_member_reads_but_cannot_post_until_lifted(members, client_for, staff) -> None:
    topic = make_topic(members["other_pair"], title="Un sujet à lire")
    target = members["pair"]
    response = moderate(client_for(members[staff]), target.id, "silence", 2, "Messages en rafale.")
    assert response.status_code == 302
    stored = reload(Member, target.id)
    assert stored.state == "active"
    assert stored.silenced_until > utcnow() + timedelta(days=1, hours=23)

    client = client_for(target)
    assert client.get(f"/t/{topic.id}").status_code == 200
    assert client.get("/r/premier-entretien").status_code == 200
    reply = client.post(f"/t/{topic.id}/repondre", data={"body": "Je réponds.", "submit": "1"})
    assert reply.status_code == 403
    assert "Votre compte est en lecture seule" in text_of(reply)
    new = client.post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Un nouveau sujet", "body": "Texte.", "submit": "1"},
    )
    assert new.status_code == 403
    assert "lecture seule" in text_of(new)

    assert moderate(client_for(members[staff]), target.id, "lift").status_code == 302
    assert reload(Member, target.id).silenced_until is None
    again = client.post(f"/t/{topic.id}/repondre", data={"body": "Je réponds.", "submit": "1"})
    assert again.status_code == 302
    assert [e.action for e in log_entries()] == ["silence", "unsuspend", "unsilence"]
    assert log_entries("silence")[0].reason == "Messages en rafale."


def test_a_silenced_member_cannot_rewrite_their_posts_either(members, client_for) -> None:
    """Read-only means read-only: an edit publishes a post again (a member silenced for what
    they wrote could otherwise rewrite it into worse)."""
    target = members["pair"]
    topic = make_topic(target, title="Mon sujet à moi")
    post_id = topic.last_post_id
    client = client_for(target)
    assert f'href="/p/{post_id}/modifier"' in client.get(f"/t/{topic.id}").text
    moderate(client_for(members["animation"]), target.id, "silence", 2, "Pause.")

    assert f'href="/p/{post_id}/modifier"' not in client.get(f"/t/{topic.id}").text
    form = client.get(f"/p/{post_id}/modifier")
    assert form.status_code == 403
    assert "lecture seule" in text_of(form)
    edit = client.post(f"/p/{post_id}/modifier", data={"body": "Autre chose.", "submit": "1"})
    assert edit.status_code == 403
    assert reload(Post, post_id).revision_count == 0

    moderate(client_for(members["animation"]), target.id, "lift")
    assert f'href="/p/{post_id}/modifier"' in client.get(f"/t/{topic.id}").text


def test_a_silence_ends_by_itself(members, client_for) -> None:
    topic = make_topic(members["other_pair"], title="Un sujet à lire")
    target = members["pair"]
    moderate(client_for(members["animation"]), target.id, "silence", 1, "Pause.")
    stored = reload(Member, target.id)
    stored.silenced_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    reply = client_for(target).post(
        f"/t/{topic.id}/repondre", data={"body": "De retour.", "submit": "1"}
    )
    assert reply.status_code == 302
