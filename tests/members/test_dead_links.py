"""Links from e-mails that can no longer serve (password reset, invitation, address
confirmation, address change) answer a French page at once, on the GET: 410 when used up or
expired, 400 when tampered with; never a form that fails later, a redirect or a 500."""

from __future__ import annotations

import time
from html import unescape

import pytest
from itsdangerous import TimestampSigner

from comcep.extensions import db
from comcep.members.tokens import MAX_AGE, make_token, use_token

# purpose → (URL prefix, registration status the link expects, extra data)
LINKS = {
    "reset": ("/mot-de-passe/", "approved", ""),
    "invite": ("/invitation/", "invited", ""),
    "confirm": ("/inscription/confirmer/", "unconfirmed", ""),
    "email": ("/compte/adresse/", "approved", "nouvelle@exemple.fr"),
}


def _token(app, member, purpose: str, seconds_ago: int = 0) -> str:  # noqa: ANN001
    with pytest.MonkeyPatch.context() as patch:
        if seconds_ago:
            signed = int(time.time()) - seconds_ago
            patch.setattr(TimestampSigner, "get_timestamp", lambda _self: signed)
        token = make_token(member, purpose, LINKS[purpose][2])
    db.session.commit()
    return token


@pytest.fixture
def linked(app, make_member):  # noqa: ANN001, ANN201
    def make(purpose: str):  # noqa: ANN202
        member = make_member()
        member.registration_status = LINKS[purpose][1]
        member.pending_email = LINKS[purpose][2]
        db.session.commit()
        return member

    return make


def _page(response) -> str:  # noqa: ANN001
    return unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("purpose", list(LINKS))
def test_a_used_link_answers_410_with_a_french_page(app, client, linked, purpose) -> None:
    member = linked(purpose)
    token = _token(app, member, purpose)
    use_token(token, purpose)  # the link served once
    db.session.commit()
    response = client.get(LINKS[purpose][0] + token)
    assert response.status_code == 410
    assert "Ce lien a déjà été utilisé ou n'est plus valide." in _page(response)
    assert 'name="password"' not in _page(response)


@pytest.mark.parametrize("purpose", list(LINKS))
def test_an_expired_link_answers_410_with_a_french_page(app, client, linked, purpose) -> None:
    member = linked(purpose)
    token = _token(app, member, purpose, seconds_ago=MAX_AGE[purpose] + 60)
    response = client.get(LINKS[purpose][0] + token)
    assert response.status_code == 410
    assert "Ce lien a expiré. Faites une nouvelle demande." in _page(response)


@pytest.mark.parametrize("purpose", list(LINKS))
def test_a_tampered_link_answers_400_with_a_french_page(app, client, linked, purpose) -> None:
    member = linked(purpose)
    token = _token(app, member, purpose)
    for bad in (token[:-3] + "abc", "n-importe-quoi", token[: len(token) // 2]):
        response = client.get(LINKS[purpose][0] + bad)
        assert response.status_code == 400, bad
        assert "Ce lien n'est pas valide" in _page(response)


@pytest.mark.parametrize("purpose", ["reset", "invite"])
def test_posting_a_new_password_to_a_used_link_answers_410(app, client, linked, purpose) -> None:
    member = linked(purpose)
    token = _token(app, member, purpose)
    use_token(token, purpose)
    db.session.commit()
    response = client.post(LINKS[purpose][0] + token, data={"password": "Un-Nouveau-Secret-42"})
    assert response.status_code == 410
    assert "Ce lien a déjà été utilisé ou n'est plus valide." in _page(response)


def test_an_invitation_already_accepted_answers_410(app, client, linked) -> None:
    member = linked("invite")
    token = _token(app, member, "invite")
    member.registration_status = "approved"
    db.session.commit()
    response = client.get("/invitation/" + token)
    assert response.status_code == 410
    assert "Cette invitation a déjà été utilisée." in _page(response)
