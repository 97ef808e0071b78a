"""Logging in through the real /connexion form, logging out, and the production guard."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import werkzeug.security
from flask import Flask
from flask_login import FlaskLoginClient

from comcep import create_app
from config import ProductionConfig
from tests.conftest import PASSWORD


class RequestScopedClient(FlaskLoginClient):
    """Each request in an application context of its own, as a server does: the shared
    fixtures keep one context, whose `g` would remember the user across a login."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _request_scoped_clients(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "test_client_class", RequestScopedClient)


def log_in(client, email: str, password: str = PASSWORD, next_url: str | None = None):  # noqa: ANN001, ANN201
    url = "/connexion" if next_url is None else f"/connexion?next={quote(next_url, safe='')}"
    return client.post(url, data={"email": email, "password": password})


def is_logged_in_as(client, name: str) -> bool:  # noqa: ANN001
    page = client.get("/")
    return page.status_code == 200 and f">{name}</a>" in page.text


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


def test_login_page_shows_the_form(client) -> None:
    page = client.get("/connexion")
    assert page.status_code == 200
    assert 'name="email"' in page.text
    assert 'name="password"' in page.text
    assert '<html lang="fr">' in page.text


def test_valid_login_redirects_and_the_index_shows_the_name(client, members) -> None:
    response = log_in(client, members["pair"].email)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    index = client.get("/")
    assert "Bienvenue, Paire Un." in unescape(index.text)
    assert ">Paire Un</a>" in index.text
    assert "Forum de la ComCEP" in index.text


def test_login_ignores_the_case_and_spaces_of_the_email(client, members) -> None:
    response = log_in(client, f"  {members['pair'].email.upper()} ")
    assert response.status_code == 302
    assert is_logged_in_as(client, "Paire Un")


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"password": "pas-le-bon-mot-de-passe"}, id="wrong-password"),
        pytest.param({"email": "inconnu@exemple.fr"}, id="unknown-email"),
        pytest.param(
            {"email": "inconnu@exemple.fr", "password": "mauvais-secret-42"}, id="unknown-both"
        ),
    ],
)
def test_bad_credentials_get_one_message_that_reveals_nothing(client, members, credentials) -> None:
    data = {"email": members["pair"].email, "password": PASSWORD, **credentials}
    response = log_in(client, data["email"], data["password"])
    assert response.status_code == 400
    page = unescape(response.text)
    assert "Adresse e-mail ou mot de passe incorrect." in page
    assert "inconnu" not in page.replace('value="inconnu@exemple.fr"', "")
    assert data["password"] not in page
    assert not is_logged_in_as(client, "Paire Un")


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("member", id="member"),
        pytest.param("unknown", id="unknown-address"),
        pytest.param("no-password", id="account-without-password"),
    ],
)
def test_a_wrong_login_costs_one_hash_whether_or_not_the_address_is_a_member(
    client, make_member, monkeypatch, address
) -> None:
    """Hashing only for members would let the time of the answer (tens of milliseconds
    with scrypt) tell who is one, which the message is careful not to say."""
    from comcep.extensions import db

    member = make_member()
    if address == "no-password":  # an invitation not yet accepted
        member.password_hash = ""
        db.session.commit()
    email = "personne@exemple.fr" if address == "unknown" else member.email
    real = werkzeug.security.check_password_hash
    hashed: list[str] = []

    def counting(pwhash: str, password: str) -> bool:
        hashed.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr("comcep.members.models.check_password_hash", counting)
    # Made afresh: a module using `fast_password_hashing` may have made a cheaper one.
    monkeypatch.setattr("comcep.members.models._DUMMY_HASHES", {})
    response = log_in(client, email, "pas-le-bon")
    assert response.status_code == 400
    assert "Adresse e-mail ou mot de passe incorrect." in unescape(response.text)
    assert len(hashed) == 1
    assert hashed[0].startswith("pbkdf2:sha256:1000$")  # made as the members' are


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"email": "", "password": PASSWORD}, "Indiquez votre adresse e-mail.", id="no-email"
        ),
        pytest.param(
            {"email": "a@b.fr", "password": ""}, "Indiquez votre mot de passe.", id="no-password"
        ),
    ],
)
def test_empty_fields_are_refused_in_french(client, data, message) -> None:
    response = client.post("/connexion", data=data)
    assert response.status_code == 400
    assert message in unescape(response.text)


def test_login_with_a_nul_byte_in_the_email_is_not_a_server_error(client) -> None:
    response = client.post("/connexion", data={"email": "a\x00@b.fr", "password": PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param(
            "pending",
            "votre demande attend la validation du référent",
            id="pending",
        ),
        pytest.param(
            "suspended",
            "Votre compte est suspendu",
            id="suspended",
        ),
    ],
)
def test_pending_and_suspended_members_are_refused_with_their_message(
    client, members, key, message
) -> None:
    response = log_in(client, members[key].email)
    assert response.status_code == 403
    assert message in unescape(response.text)
    assert client.get("/").text.count(members[key].display_name) == 0
    assert client.get("/actifs").status_code == 302  # still anonymous: sent to /connexion


def test_a_pending_member_with_a_wrong_password_learns_nothing_of_its_state(
    client, members
) -> None:
    response = log_in(client, members["pending"].email, "pas-le-bon-mot-de-passe")
    assert response.status_code == 400
    assert "attend la validation" not in unescape(response.text)


@pytest.mark.parametrize(
    "next_url",
    [
        pytest.param("//evil.example", id="protocol-relative"),
        pytest.param("//evil.example/connexion", id="protocol-relative-path"),
        pytest.param("https://evil.example/", id="absolute"),
        pytest.param("/\\evil.example", id="slash-backslash"),
        pytest.param("\\\\evil.example", id="backslashes"),
        pytest.param("/\t/evil.example", id="tab-between-slashes"),
        pytest.param("/\n/evil.example", id="newline-between-slashes"),
        pytest.param("/\r\n/evil.example", id="crlf"),
        pytest.param(" //evil.example", id="leading-space"),
        pytest.param("javascript:alert(1)", id="javascript"),
    ],
)
def test_login_never_redirects_off_site(client, members, next_url) -> None:
    response = log_in(client, members["pair"].email, next_url=next_url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/"
    assert "evil" not in location


def test_login_follows_a_local_next_path(client, members) -> None:
    response = log_in(client, members["pair"].email, next_url="/actifs?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/actifs?page=2"


def test_protected_page_sends_to_login_and_back(client, members) -> None:
    redirect = client.get("/actifs")
    assert redirect.status_code == 302
    target = urlsplit(redirect.headers["Location"])
    assert target.path == "/connexion"
    response = client.post(
        f"/connexion?{target.query}",
        data={"email": members["pair"].email, "password": PASSWORD},
    )
    assert urlsplit(response.headers["Location"]).path == "/actifs"


def test_logged_in_member_opening_login_with_evil_next_stays_on_site(client, members) -> None:
    log_in(client, members["pair"].email)
    response = client.get("/connexion?next=//evil.example")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")


def test_logout_is_post_only(client, members) -> None:
    log_in(client, members["pair"].email)
    assert client.get("/deconnexion").status_code == 405
    assert is_logged_in_as(client, "Paire Un")
    response = client.post("/deconnexion")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/connexion"
    assert not is_logged_in_as(client, "Paire Un")
    assert client.get("/actifs").status_code == 302


def test_logout_needs_the_csrf_token_when_enabled(app, client, members, monkeypatch) -> None:
    log_in(client, members["pair"].email)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    refused = client.post("/deconnexion")
    assert refused.status_code == 400
    assert "jeton de sécurité" in unescape(refused.text)
    assert is_logged_in_as(client, "Paire Un")

    token = csrf_token_of(client.get("/").text)
    accepted = client.post("/deconnexion", data={"csrf_token": token})
    assert accepted.status_code == 302
    assert not is_logged_in_as(client, "Paire Un")


def test_login_form_needs_the_csrf_token_when_enabled(app, client, members, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert log_in(client, members["pair"].email).status_code == 400
    assert not is_logged_in_as(client, "Paire Un")
    token = csrf_token_of(client.get("/connexion").text)
    response = client.post(
        "/connexion",
        data={"email": members["pair"].email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert is_logged_in_as(client, "Paire Un")


def test_production_refuses_to_start_without_a_secret_key(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="COMCEP_SECRET_KEY"):
        create_app(ProductionConfig, INSTANCE_PATH=str(tmp_path))
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "")
    with pytest.raises(RuntimeError, match="COMCEP_SECRET_KEY"):
        create_app(ProductionConfig, INSTANCE_PATH=str(tmp_path))


def test_production_with_a_secret_key_uses_secure_cookies(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "une-vraie-clé-secrète-de-production")
    app = create_app(
        ProductionConfig,
        INSTANCE_PATH=str(tmp_path),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        SEARCH_INDEX_PATH=str(tmp_path / "search-index"),
        UPLOAD_PATH=str(tmp_path / "uploads"),
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["WTF_CSRF_ENABLED"] is not False
    assert not app.testing


# (state, registration status, suspended for days or None, reason, words of the message)
REFUSALS = {
    "unconfirmed": ("pending", "unconfirmed", None, "", "Confirmez d'abord votre adresse"),
    "awaiting": ("pending", "awaiting", None, "", "attend la validation du référent"),
    "invited": ("pending", "invited", None, "", "Utilisez le lien de votre invitation"),
    "expired": ("pending", "expired", None, "", "Votre demande a expiré"),
    "refused": ("pending", "refused", None, "Hors champ", "a été refusée. Raison : Hors champ"),
    "suspended-until": ("suspended", "approved", 10, "Insultes", "Votre compte est suspendu jusqu"),
    "suspended": ("suspended", "approved", None, "", "Votre compte est suspendu."),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refused_account_hears_its_own_french_message_and_a_wrong_password_none(
    client, make_member, case
) -> None:
    from datetime import timedelta

    from comcep.extensions import db, utcnow
    from comcep.filters import date_fr

    state, status, days, reason, words = REFUSALS[case]
    member = make_member(state=state)
    member.registration_status = status
    member.refusal_reason = reason if status == "refused" else ""
    member.moderation_reason = reason if state == "suspended" else ""
    member.suspended_until = utcnow() + timedelta(days=days) if days else None
    db.session.commit()
    response = log_in(client, member.email)
    assert response.status_code == 403
    page = unescape(response.text)
    assert words in page
    # Where the account stands, as a page of its own, not as a mistake in the form (an
    # applicant is told to log in to follow their request: review of stop 52).
    assert "Le formulaire contient des erreurs" not in page
    assert 'aria-invalid="true"' not in page
    assert page.count(words) == 1
    others = [w for key, (*_, w) in REFUSALS.items() if key != case and w not in words]
    assert not [w for w in others if w in page]
    if days:
        assert date_fr(member.suspended_until) in page
        assert "Raison : Insultes" in page
    wrong = unescape(log_in(client, member.email, "pas-le-bon").text)
    assert "Adresse e-mail ou mot de passe incorrect." in wrong
    assert words not in wrong


def test_a_member_who_left_cannot_log_in_and_the_address_reveals_nothing(
    client, make_member
) -> None:
    from comcep.extensions import db
    from comcep.members.membership import anonymise

    member = make_member()
    email = member.email
    anonymise(member)
    db.session.commit()
    gone = unescape(log_in(client, email).text)
    nobody = unescape(log_in(client, "personne@exemple.fr").text)
    assert "Adresse e-mail ou mot de passe incorrect." in gone
    # Name, address and password were erased (RGPD): nothing can tell the person who left
    # from anyone typing the address, so the page is the one for an unknown address.
    assert gone.replace(email, "@") == nobody.replace("personne@exemple.fr", "@")
