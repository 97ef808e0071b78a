"""The address confirmation and address change pages with CSRF on, as in production: an
expired page offers its button again, and a used link says so in 410 (review F)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from comcep.extensions import db
from comcep.members.models import Member
from comcep.members.tokens import make_token

LINKS = {
    "confirm": ("/inscription/confirmer/", "unconfirmed", "", "Confirmer mon adresse"),
    "email": (
        "/compte/adresse/",
        "approved",
        "nouvelle@exemple.fr",
        "Confirmer la nouvelle adresse",
    ),
}
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _page(response) -> str:  # noqa: ANN001
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def csrf_on(app, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def _link(make_member, purpose: str) -> tuple[Member, str]:  # noqa: ANN001
    member = make_member()
    member.registration_status = LINKS[purpose][1]
    member.pending_email = LINKS[purpose][2]
    token = make_token(member, purpose, LINKS[purpose][2])
    db.session.commit()
    return member, LINKS[purpose][0] + token


@pytest.mark.parametrize("purpose", list(LINKS))
def test_an_expired_confirmation_page_offers_its_button_again_with_csrf_on(
    app, client, make_member, csrf_on, purpose
) -> None:
    """The page opened from the e-mail, left open until the session cookie is gone (browser
    closed, another browser): its own page again, with the button."""
    _member, link = _link(make_member, purpose)
    response = client.post(link, data={"csrf_token": "expiré"})
    assert response.status_code == 400
    page = _page(response)
    assert "La page a expiré : confirmez de nouveau" in page
    assert LINKS[purpose][3] in page


@pytest.mark.parametrize("purpose", list(LINKS))
def test_a_used_link_posted_with_a_stale_page_says_it_is_used_with_csrf_on(
    app, client, make_member, csrf_on, purpose
) -> None:
    """Posted from a page left open in another browser (no session), a used link says it
    is used."""
    member, link = _link(make_member, purpose)
    token = TOKEN.search(client.get(link).get_data(as_text=True)).group(1)
    assert client.post(link, data={"csrf_token": token}).status_code == 200
    other_browser = app.test_client()
    response = other_browser.post(link, data={"csrf_token": "expiré"})
    assert response.status_code == 410, _page(response)
