"""The invitations still pending, listed under the invitation form (SPEC §4): the staff see
who invited whom, when and until when, send an invitation again or withdraw it (journaled,
nothing deleted), and a withdrawn, replaced or accepted link says so in French."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import select, update

from comcep.extensions import db, limiter, utcnow
from comcep.members.models import Invitation, Member
from comcep.moderation.models import ModerationLog
from tests.mailserver import Mailbox, link_path, smtp_mailbox

PASSWORD = "Partenaire-Carif-2026"
SUBJECT = "Invitation à rejoindre la ComCEP"


def invitee(n: int = 1) -> dict[str, str]:
    return {
        "email": f"partenaire{n}@carif.fr",
        "name": f"Partenaire {n}",
        "statut": "hors_pair",
        "network": "carif-oref",
        "region": "bretagne",
        "organisation": "Carif-Oref Bretagne",
    }


@pytest.fixture(autouse=True)
def _rate_limits_as_configured(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limiter, "enabled", app.config["RATELIMIT_ENABLED"])


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_mailbox(app, monkeypatch) as box:
        yield box


@pytest.fixture
def staff(members, client_for):  # noqa: ANN001, ANN201
    """Who invites: an administrator (SPEC §4)."""
    return client_for(members["admin"])


def text(response) -> str:  # noqa: ANN001
    return unescape(response.get_data(as_text=True))


def invitation_of(email: str) -> Invitation:
    db.session.expire_all()
    return db.session.scalars(
        select(Invitation)
        .join(Member, Member.id == Invitation.member_id)
        .where(Member.email == email)
        .order_by(Invitation.id.desc())
    ).first()


def pending_rows(html: str) -> list[str]:
    """The invitees' addresses in the list of pending invitations, in page order."""
    section = html.split("Invitations en cours", 1)[1]
    return re.findall(r"(partenaire\d+@carif\.fr) · ", section)


def log_actions() -> list[tuple[str, int]]:
    return [
        (e.action, e.target_id)
        for e in db.session.scalars(select(ModerationLog).order_by(ModerationLog.id))
    ]


def test_the_pending_invitations_are_listed_newest_first_with_inviter_and_validity(
    members, staff, client_for, client, mailbox
) -> None:
    assert staff.post("/moderation/invitations", data=invitee(1)).status_code == 302
    admin = client_for(members["admin"])
    assert admin.post("/moderation/invitations", data=invitee(2)).status_code == 302
    for n in (3, 4, 5):
        assert staff.post("/moderation/invitations", data=invitee(n)).status_code == 302
    first, expired, revoked = (invitation_of(f"partenaire{n}@carif.fr") for n in (1, 3, 4))
    first.created_at = first.sent_at = utcnow() - timedelta(days=3)
    first.expires_at = first.created_at + timedelta(days=14)
    expired.expires_at = utcnow() - timedelta(minutes=1)
    revoked.revoked_at = utcnow()
    db.session.commit()
    accepted = link_path(mailbox.only("partenaire5@carif.fr", SUBJECT), "/invitation/")
    assert client.post(accepted, data={"password": PASSWORD}).status_code == 302

    page = staff.get("/moderation/invitations")
    assert page.status_code == 200
    html = text(page)
    assert pending_rows(html) == ["partenaire2@carif.fr", "partenaire1@carif.fr"]
    row = html.split('id="invitation-', 3)[2]  # the oldest: partenaire1
    assert "partenaire1@carif.fr" in row
    assert "par " in row
    assert members["admin"].display_name in row
    invitation = invitation_of("partenaire1@carif.fr")
    assert invitation.invited_by_id == members["admin"].id
    assert invitation.expires_at - invitation.created_at == timedelta(days=14)
    assert ">Renvoyer<" in row
    assert ">Retirer<" in row
    assert 'method="post"' in row
    assert members["admin"].display_name in html.split('id="invitation-', 3)[1]


def test_the_list_costs_the_same_statements_for_one_invitation_or_many(
    staff, count_queries, mailbox
) -> None:
    staff.post("/moderation/invitations", data=invitee(1))
    with count_queries() as one:
        staff.get("/moderation/invitations")
    for n in (2, 3, 4):
        staff.post("/moderation/invitations", data=invitee(n))
    with count_queries() as four:
        page = staff.get("/moderation/invitations")
    assert len(pending_rows(text(page))) == 4
    assert len(four) == len(one)


def test_resending_sends_a_fresh_link_and_the_old_one_says_it_was_replaced(
    members, staff, client, mailbox
) -> None:
    staff.post("/moderation/invitations", data=invitee(1))
    old_link = link_path(mailbox.only("partenaire1@carif.fr", SUBJECT), "/invitation/")
    invitation = invitation_of("partenaire1@carif.fr")
    invitation.sent_at = utcnow() - timedelta(days=10)
    invitation.expires_at = invitation.sent_at + timedelta(days=14)
    db.session.commit()
    mailbox.messages.clear()

    resent = staff.post(f"/moderation/invitations/{invitation.id}/renvoyer")
    assert resent.status_code == 302
    assert "L'invitation est renvoyée à partenaire1@carif.fr" in text(staff.get(resent.location))
    new_link = link_path(mailbox.only("partenaire1@carif.fr", SUBJECT), "/invitation/")
    assert new_link != old_link
    invitation = invitation_of("partenaire1@carif.fr")
    assert invitation.expires_at > utcnow() + timedelta(days=13)
    assert ("resend_invitation", invitation.member_id) in log_actions()

    old = client.get(old_link)
    assert old.status_code == 410
    assert "remplacé par un plus récent" in text(old)
    assert client.post(new_link, data={"password": PASSWORD}).status_code == 302
    assert invitation_of("partenaire1@carif.fr").accepted_at is not None

    client.post("/deconnexion")
    used = client.get(new_link)
    assert used.status_code == 410
    assert "cette invitation a déjà été acceptée" in text(used)
    assert "Connectez-vous" in text(used)


def test_a_withdrawn_invitation_stops_its_link_and_keeps_its_rows(
    members, staff, client, mailbox
) -> None:
    staff.post("/moderation/invitations", data=invitee(1))
    link = link_path(mailbox.only("partenaire1@carif.fr", SUBJECT), "/invitation/")
    invitation = invitation_of("partenaire1@carif.fr")

    revoked = staff.post(f"/moderation/invitations/{invitation.id}/retirer")
    assert revoked.status_code == 302
    page = text(staff.get(revoked.location))
    assert "L'invitation de partenaire1@carif.fr est retirée" in page
    assert pending_rows(page) == []
    invitation = invitation_of("partenaire1@carif.fr")
    assert invitation.revoked_at is not None
    assert invitation.revoked_by_id == members["admin"].id
    member = db.session.get(Member, invitation.member_id)
    assert (member.state, member.registration_status) == ("pending", "revoked")
    assert ("revoke_invitation", member.id) in log_actions()

    for response in (client.get(link), client.post(link, data={"password": PASSWORD})):
        assert response.status_code == 410
        assert "Cette invitation a été retirée" in text(response)
        assert 'name="password"' not in text(response)
    assert db.session.get(Member, member.id).password_hash == ""

    again = staff.post(f"/moderation/invitations/{invitation.id}/renvoyer")
    assert again.status_code == 303
    assert "Cette invitation a déjà été retirée." in text(staff.get(again.location))
    assert log_actions().count(("resend_invitation", member.id)) == 0


def test_a_withdrawn_address_may_be_invited_again_but_not_a_pending_one(
    members, staff, client, mailbox
) -> None:
    staff.post("/moderation/invitations", data=invitee(1))
    twice = staff.post("/moderation/invitations", data=invitee(1))
    assert twice.status_code == 400
    assert "Une invitation attend déjà cette adresse" in text(twice)
    assert 'value="Partenaire 1"' in text(twice)  # what was typed stays

    first = invitation_of("partenaire1@carif.fr")
    staff.post(f"/moderation/invitations/{first.id}/retirer")
    old_link = link_path(mailbox.only("partenaire1@carif.fr", SUBJECT), "/invitation/")
    mailbox.messages.clear()
    assert staff.post("/moderation/invitations", data=invitee(1)).status_code == 302
    second = invitation_of("partenaire1@carif.fr")
    assert (second.id != first.id, second.member_id) == (True, first.member_id)
    assert pending_rows(text(staff.get("/moderation/invitations"))) == ["partenaire1@carif.fr"]
    assert "remplacé par un plus récent" in text(client.get(old_link))
    link = link_path(mailbox.only("partenaire1@carif.fr", SUBJECT), "/invitation/")
    assert client.post(link, data={"password": PASSWORD}).status_code == 302


def test_an_address_whose_registration_request_expired_may_be_invited(
    members, staff, client, runner, mailbox
) -> None:
    """A request left unconfirmed until it expired never opened an account: its address
    may register again, and an administrator may invite it too, instead of being told
    « Un membre utilise déjà cette adresse »."""
    request = {
        **invitee(1),
        "network": "apec",
        "organisation": "Apec Rennes",
        "motivation": "Échanger entre conseillers.",
        "password": "Ancien-Essai-2026",
    }
    assert client.post("/inscription", data=request).status_code == 200
    db.session.execute(
        update(Member)
        .where(Member.email == "partenaire1@carif.fr")
        .values(created_at=utcnow() - timedelta(days=8))
    )
    db.session.commit()
    assert "1 demande(s) expirée(s)." in runner.invoke(args=["members", "expire"]).output
    mailbox.messages.clear()

    sent = staff.post("/moderation/invitations", data=invitee(1))
    assert sent.status_code == 302, text(sent)
    assert pending_rows(text(staff.get("/moderation/invitations"))) == ["partenaire1@carif.fr"]
    refused = client.post(
        "/connexion", data={"email": "partenaire1@carif.fr", "password": "Ancien-Essai-2026"}
    )
    assert refused.status_code == 400  # the expired request's password opens nothing
    link = link_path(mailbox.only("partenaire1@carif.fr", SUBJECT), "/invitation/")
    assert client.post(link, data={"password": PASSWORD}).status_code == 302
    db.session.expire_all()
    member = db.session.scalar(select(Member).where(Member.email == "partenaire1@carif.fr"))
    assert (member.state, member.statut, member.network.code) == (
        "active",
        "hors_pair",
        "carif-oref",
    )


def test_an_invitee_anonymised_at_their_request_leaves_the_pending_invitations(
    members, staff, mailbox
) -> None:
    """An invited partner asks to be forgotten before accepting: once an admin anonymised
    them, their invitation is withdrawn. It stayed listed as « Ancien membre », offered
    « Renvoyer », whose new link (to the anonymised address) opened the account again."""
    staff.post("/moderation/invitations", data=invitee(1))
    staff.post("/moderation/invitations", data=invitee(2))
    invitation = invitation_of("partenaire1@carif.fr")
    anonymised = staff.post(
        f"/admin/membres/{invitation.member_id}", data={"anonymise": "1", "confirm": "y"}
    )
    assert anonymised.status_code == 302
    mailbox.messages.clear()

    page = text(staff.get("/moderation/invitations"))
    assert pending_rows(page) == ["partenaire2@carif.fr"]
    assert "Ancien membre" not in page.split("Invitations en cours", 1)[1]
    again = staff.post(f"/moderation/invitations/{invitation.id}/renvoyer")
    assert again.status_code == 303
    assert "Cette invitation a déjà été retirée." in text(staff.get(again.location))
    assert mailbox.messages == []
    db.session.expire_all()
    assert db.session.get(Member, invitation.member_id).state == "left"


@pytest.mark.parametrize("key", ["pair", "hors_pair", "referent_apec", "comite"])
@pytest.mark.parametrize("action", ["renvoyer", "retirer"])
def test_members_who_are_not_staff_get_404_on_resend_and_revoke(
    members, staff, client_for, mailbox, key, action
) -> None:
    staff.post("/moderation/invitations", data=invitee(1))
    invitation = invitation_of("partenaire1@carif.fr")
    mailbox.messages.clear()
    url = f"/moderation/invitations/{invitation.id}/{action}"
    assert client_for(members[key]).post(url).status_code == 404
    assert client_for(None).post(url).status_code == 302  # anonymous: log in
    assert staff.post(f"/moderation/invitations/{invitation.id + 1}/{action}").status_code == 404
    assert staff.get(url).status_code == 405
    invitation = invitation_of("partenaire1@carif.fr")
    assert (invitation.revoked_at, invitation.sent_at) == (None, invitation.created_at)
    assert mailbox.messages == []


def test_only_an_administrator_invites_sends_again_or_withdraws(
    members: dict[str, Member], client_for
) -> None:  # noqa: ANN001
    """« Hors pairs join by invitation from an admin » (SPEC §4): the animatrice invited
    hors pairs, and could bring a pair's expired invitation back with a fresh link (reviews
    of stops 51 and 52). She learns the page is not hers (403), and nothing she sends
    changes an invitation, a pair's or a hors pair's."""
    admin, animatrice = members["admin"], members["animation"]
    for email, statut, network in (
        ("paul.durand@apec.fr", "pair", "apec"),
        ("lea.roux@carif.fr", "hors_pair", "carif-oref"),
    ):
        sent = client_for(admin).post(
            "/moderation/invitations",
            data={
                "email": email,
                "name": "Personne Invitée",
                "statut": statut,
                "network": network,
                "region": "bretagne",
            },
        )
        assert sent.status_code == 302
    staff = client_for(animatrice)
    page = staff.get("/moderation/invitations")
    assert page.status_code == 403
    assert "réservées aux administrateurs" in unescape(page.get_data(as_text=True))
    refused = staff.post(
        "/moderation/invitations",
        data={
            "email": "autre@carif.fr",
            "name": "Autre Partenaire",
            "statut": "hors_pair",
            "network": "carif-oref",
            "region": "bretagne",
        },
    )
    assert refused.status_code == 403
    assert db.session.scalar(select(Member).where(Member.email == "autre@carif.fr")) is None
    for invitation in db.session.scalars(select(Invitation)).all():
        invitation.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    for invitation_id in db.session.scalars(select(Invitation.id)).all():
        for action in ("renvoyer", "retirer"):
            answer = staff.post(f"/moderation/invitations/{invitation_id}/{action}")
            assert answer.status_code == 403
            db.session.expire_all()
            invitation = db.session.get(Invitation, invitation_id)
            assert invitation.expires_at < utcnow()
            assert invitation.revoked_at is None
        client_for(admin).post(f"/moderation/invitations/{invitation_id}/renvoyer")
        db.session.expire_all()
        assert db.session.get(Invitation, invitation_id).expires_at > utcnow()
