"""Accounts, from review A: nothing in the time of an answer or its caching tells who is a
member or keeps their data, and a suspension that ran out locks nobody out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import werkzeug.security
from sqlalchemy import select

from comcep.extensions import db, utcnow
from comcep.mail import MailMessage
from comcep.members.models import check_dummy_password
from tests.conftest import PASSWORD
from tests.members.test_registration import APPLICANT


def _count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real_check = werkzeug.security.check_password_hash
    real_make = werkzeug.security.generate_password_hash

    def check(pwhash: str, password: str) -> bool:
        calls.append("check")
        return real_check(pwhash, password)

    def make(password: str, *args, **kwargs) -> str:  # noqa: ANN002, ANN003
        calls.append("make")
        return real_make(password, *args, **kwargs)

    monkeypatch.setattr("comcep.members.models.check_password_hash", check)
    monkeypatch.setattr("comcep.members.models.generate_password_hash", make)
    return calls


@pytest.mark.parametrize("address", ["new", "member"])
def test_registering_costs_one_password_hash_whether_or_not_the_address_is_a_member(
    client, make_member, monkeypatch, address
) -> None:
    """The page answers the same for an address in use (its owner is mailed), and costs the
    same: one password hash (scrypt in production, tens of milliseconds)."""
    member = make_member(email="deja.membre@apec.fr")
    email = member.email if address == "member" else "nouvelle.personne@apec.fr"
    check_dummy_password("")  # its hash is made once per process, before any request counts
    calls = _count_hashes(monkeypatch)
    response = client.post("/inscription", data={**APPLICANT, "email": email})
    assert response.status_code == 200
    assert len(calls) == 1, f"{address}: {calls}"


def test_a_member_whose_suspension_ran_out_can_reset_a_forgotten_password(client, make_member):
    """A suspension for a period ends by itself (`Member.is_active`): the member logs in
    again, and may reset a forgotten password."""
    member = make_member(email="revenu@apec.fr")
    member.state = "suspended"
    member.suspended_until = utcnow() - timedelta(days=1)
    db.session.commit()
    login = client.post("/connexion", data={"email": member.email, "password": PASSWORD})
    assert login.status_code == 302, "the member may log in again"
    client.post("/deconnexion")
    response = client.post("/mot-de-passe-oublie", data={"email": member.email})
    assert response.status_code == 200
    sent = db.session.scalars(
        select(MailMessage).where(MailMessage.recipient == member.email)
    ).all()
    assert any("/mot-de-passe/" in m.body_text for m in sent), "no reset link was sent"


def test_the_personal_data_export_is_never_stored_by_a_cache(client_for, members) -> None:
    """The export of a member's data (e-mail, posts, private messages) is never stored."""
    response = client_for(members["pair"]).get("/compte/export")
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
