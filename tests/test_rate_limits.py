"""Rate limits (issue 9, part 4): login (and the account forms that check the password),
registration, « mot de passe oublié », posting (topics, replies and private messages) and
search answer a French 429 once their budget is spent, per address or per member.

The session app runs with RATELIMIT_ENABLED=False; these tests build a second app on the same
database with the limits on, and the production values of config.py. `limiter` is one object
for every app of the process, so each test resets its storage, and the module puts its
`enabled` flag back afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import Limit
from flask_login import FlaskLoginClient
from sqlalchemy import func, select

from comcep import create_app
from comcep.extensions import db, limiter
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.members.tokens import make_token
from comcep.messages.models import PrivateMessage
from config import Config, TestConfig
from tests.conftest import PASSWORD
from tests.factories import make_topic

OTHER_ADDRESS = {"REMOTE_ADDR": "192.0.2.44"}


def _limit_amount(value: str) -> int:
    """The count of the shortest window of a limit string such as "20 per minute;200 per day"."""
    return int(value.split(";")[0].split()[0])


LOGIN_MAX = _limit_amount(Config.LOGIN_RATE_LIMIT)
ACCOUNT_MAX = _limit_amount(Config.LOGIN_ACCOUNT_RATE_LIMIT)
POST_MAX = _limit_amount(Config.POST_RATE_LIMIT)
SEARCH_MAX = _limit_amount(Config.SEARCH_RATE_LIMIT)
REGISTRATION_MAX = _limit_amount(Config.REGISTRATION_RATE_LIMIT)
REGISTRATION_ATTEMPT_MAX = _limit_amount(Config.REGISTRATION_ATTEMPT_LIMIT)


@pytest.fixture(scope="module")
def limited_app(app: Flask) -> Iterator[Flask]:
    previously_enabled = limiter.enabled
    limited = create_app(
        TestConfig,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS={},  # create_app fills it in place: not the class's dict
        INSTANCE_PATH=app.instance_path,
        SEARCH_INDEX_PATH=app.config["SEARCH_INDEX_PATH"],
        UPLOAD_PATH=app.config["UPLOAD_PATH"],
        WTF_CSRF_ENABLED=False,
        LOGIN_RATE_LIMIT=Config.LOGIN_RATE_LIMIT,
        POST_RATE_LIMIT=Config.POST_RATE_LIMIT,
        SEARCH_RATE_LIMIT=Config.SEARCH_RATE_LIMIT,
    )
    limited.test_client_class = FlaskLoginClient
    yield limited
    limiter.enabled = previously_enabled
    limiter.reset()
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()
    backend = limited.extensions.get("comcep_search")
    if hasattr(backend, "close"):  # Whoosh keeps index files open
        backend.close()


@pytest.fixture(autouse=True)
def _fresh_limits(limited_app: Flask) -> Iterator[None]:
    limiter.enabled = True  # another app created since (with limits off) may have cleared it
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def limited_client(limited_app: Flask) -> Callable[[Member | None], FlaskClient]:
    def make(member: Member | None = None) -> FlaskClient:
        return limited_app.test_client(user=member) if member else limited_app.test_client()

    return make


def _count(model: type) -> int:
    db.session.rollback()  # a fresh snapshot: the limited app wrote through its own engine
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _assert_french_429(response, *words: str) -> None:  # noqa: ANN001 - TestResponse
    assert response.status_code == 429
    page = unescape(response.get_data(as_text=True))
    assert "Trop de tentatives" in page
    assert "Vous pourrez réessayer dans" in page
    for word in words:
        assert word in page
    assert int(response.headers["Retry-After"]) > 0


def test_login_is_limited_per_address_with_a_french_429(limited_client, make_member) -> None:
    member = make_member()
    client = limited_client()
    wrong = {"email": member.email, "password": "pas-le-bon-mot-de-passe"}
    for _ in range(LOGIN_MAX):
        assert client.post("/connexion", data=wrong).status_code == 400
    response = client.post("/connexion", data={"email": member.email, "password": PASSWORD})
    _assert_french_429(response, "Trop de tentatives de connexion.")
    assert "_user_id" not in (client.get_cookie("session") or "")
    # The form itself stays readable, and another address still has its own budget.
    assert client.get("/connexion").status_code == 200
    other = limited_client()
    response = other.post(
        "/connexion",
        data={"email": member.email, "password": PASSWORD},
        environ_base=OTHER_ADDRESS,
    )
    assert response.status_code == 302


def test_failed_logins_are_also_limited_per_account_whatever_the_machine(
    limited_client, make_member
) -> None:
    """Guesses spread over many machines (each under its own budget) still meet the
    account's: once it is spent, even the right password waits; another account does not."""
    member, other = make_member(), make_member()
    wrong = {"email": f"  {member.email.upper()} ", "password": "pas-le-bon-mot-de-passe"}
    for n in range(ACCOUNT_MAX):
        machine = {"REMOTE_ADDR": f"198.51.100.{n + 1}"}
        assert (
            limited_client().post("/connexion", data=wrong, environ_base=machine).status_code == 400
        )

    fresh = {"REMOTE_ADDR": "203.0.113.9"}
    right = {"email": member.email, "password": PASSWORD}
    response = limited_client().post("/connexion", data=right, environ_base=fresh)

    _assert_french_429(response, "Trop de tentatives de connexion sur ce compte.")
    elsewhere = {"email": other.email, "password": PASSWORD}
    assert (
        limited_client().post("/connexion", data=elsewhere, environ_base=fresh).status_code == 302
    )


def test_choosing_a_new_password_opens_the_account_again_at_once(
    limited_client, make_member
) -> None:
    """The 429 offers « Mot de passe oublié »: once the owner has chosen a new password, the
    login answers at once, not at the end of the hour (review)."""
    member = make_member()
    wrong = {"email": member.email, "password": "pas-le-bon-mot-de-passe"}
    for n in range(ACCOUNT_MAX):
        machine = {"REMOTE_ADDR": f"198.51.100.{n + 1}"}
        assert (
            limited_client().post("/connexion", data=wrong, environ_base=machine).status_code == 400
        )
    token = make_token(member, "reset")
    db.session.commit()
    fresh = {"REMOTE_ADDR": "203.0.113.9"}
    client = limited_client()
    new = {"password": "Un-nouveau-Mot-de-passe-42", "confirm": "Un-nouveau-Mot-de-passe-42"}

    assert client.post(f"/mot-de-passe/{token}", data=new, environ_base=fresh).status_code == 302
    response = client.post(
        "/connexion",
        data={"email": member.email, "password": new["password"]},
        environ_base=fresh,
    )

    assert response.status_code == 302


def test_successful_logins_do_not_spend_the_accounts_budget(limited_client, make_member) -> None:
    member = make_member()
    right = {"email": member.email, "password": PASSWORD}
    for n in range(ACCOUNT_MAX + 1):
        machine = {"REMOTE_ADDR": f"198.51.100.{n + 1}"}
        assert (
            limited_client().post("/connexion", data=right, environ_base=machine).status_code == 302
        )


def test_the_current_password_cannot_be_guessed_without_limit(limited_client, make_member) -> None:
    """The account's forms check the current password: they share the login's budget, per
    member, else a borrowed session guesses it at leisure, then owns the account."""
    member = make_member()
    new_password = "Nouveau-Mot-De-Passe-42"
    wrong = "Le mot de passe est incorrect."
    guesses = [
        (
            "/compte/mot-de-passe",
            {"current": "essai", "password": new_password},
            "Le mot de passe actuel est incorrect.",
        ),
        ("/compte/adresse", {"email": "autre@exemple.fr", "password": "essai"}, wrong),
        ("/compte/quitter", {"password": "essai", "confirm": "y"}, wrong),
    ]
    client = limited_client(member)
    for n in range(LOGIN_MAX):
        url, data, message = guesses[n % len(guesses)]
        response = client.post(url, data=data)
        assert response.status_code == 400
        assert message in unescape(response.get_data(as_text=True))
    for url, data, _message in guesses:
        right = {**data, "current" if "current" in data else "password": PASSWORD}
        _assert_french_429(client.post(url, data=right), "Trop de tentatives avec votre mot")
    db.session.rollback()  # the limited app wrote through its own engine
    assert db.session.get(Member, member.id).check_password(PASSWORD)
    # Another member, at the same address, keeps a budget of their own.
    other = limited_client(make_member())
    response = other.post("/compte/mot-de-passe", data={"current": "essai", "password": "x"})
    assert response.status_code == 400


def _application(n: int) -> dict[str, str]:
    return {
        "name": "Claire Martin",
        "email": f"claire.martin{n}@exemple.fr",
        "network": "france-travail",
        "organisation": "Agence de Rennes",
        "region": "bretagne",
        "motivation": "Échanger entre pairs.",
        "password": "Un-Mot-De-Passe-Solide-42",
    }


def test_mistakes_in_the_registration_form_do_not_lock_an_applicant_out(limited_client) -> None:
    client = limited_client()
    for _ in range(REGISTRATION_MAX + 2):
        assert client.post("/inscription", data={"name": "X"}).status_code == 400
    assert client.post("/inscription", data=_application(0)).status_code == 200


def test_registration_requests_sent_are_limited_per_address(limited_client) -> None:
    client = limited_client()
    for n in range(REGISTRATION_MAX):
        assert client.post("/inscription", data=_application(n)).status_code == 200
    before = _count(Member)
    response = client.post("/inscription", data=_application(REGISTRATION_MAX))
    _assert_french_429(response, "Trop de demandes d'inscription.")
    assert _count(Member) == before
    other = limited_client()
    response = other.post("/inscription", data=_application(99), environ_base=OTHER_ADDRESS)
    assert response.status_code == 200


def test_a_flood_of_invalid_registration_forms_is_stopped(limited_client) -> None:
    client = limited_client()
    for _ in range(REGISTRATION_ATTEMPT_MAX):
        assert client.post("/inscription", data={"name": "X"}).status_code == 400
    response = client.post("/inscription", data=_application(0))
    _assert_french_429(response, "Trop de demandes d'inscription.")


def test_forms_refused_for_their_csrf_token_spend_no_registration_budget(
    limited_app, limited_client, monkeypatch
) -> None:
    monkeypatch.setitem(limited_app.config, "WTF_CSRF_ENABLED", True)
    client = limited_client()
    for _ in range(REGISTRATION_ATTEMPT_MAX + 1):
        assert client.post("/inscription", data=_application(0)).status_code == 400
    page = client.get("/inscription").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    response = client.post("/inscription", data={**_application(0), "csrf_token": token[1]})
    assert response.status_code == 200


def test_forgotten_password_requests_are_limited(limited_client) -> None:
    client = limited_client()
    for _ in range(10):
        response = client.post("/mot-de-passe-oublie", data={"email": "personne@exemple.fr"})
        assert response.status_code == 200
    _assert_french_429(client.post("/mot-de-passe-oublie", data={"email": "personne@exemple.fr"}))


def test_new_topics_and_replies_share_one_budget_per_member(limited_client, make_member) -> None:
    author, neighbour = make_member(), make_member()
    topic = make_topic(author)
    client = limited_client(author)
    half = POST_MAX // 2
    for n in range(half):
        response = client.post(
            "/r/premier-entretien/nouveau-sujet",
            data={"title": f"Sujet numéro {n}", "body": "Un premier message."},
        )
        assert response.status_code == 302
    for n in range(POST_MAX - half):
        response = client.post(f"/t/{topic.id}/repondre", data={"body": f"Réponse {n}"})
        assert response.status_code == 302
    topics, posts = _count(Topic), _count(Post)

    response = client.post(f"/t/{topic.id}/repondre", data={"body": "Une de trop"})
    _assert_french_429(response, "ce message n'est pas enregistré")
    response = client.post(
        "/r/premier-entretien/nouveau-sujet", data={"title": "Un sujet de trop", "body": "Non."}
    )
    assert response.status_code == 429
    assert (_count(Topic), _count(Post)) == (topics, posts)

    # Reading and opening the forms is not posting; the same address, another member: allowed.
    assert client.get(f"/t/{topic.id}/repondre").status_code == 200
    assert client.get("/r/premier-entretien/nouveau-sujet").status_code == 200
    response = limited_client(neighbour).post(
        f"/t/{topic.id}/repondre", data={"body": "La voisine de bureau répond."}
    )
    assert response.status_code == 302
    assert _count(Post) == posts + 1


def test_private_messages_share_the_posting_budget(limited_client, make_member) -> None:
    """A message reaches up to 20 inboxes: without a budget, one account floods them all."""
    sender = make_member()
    make_member(name="Cible Spam")
    client = limited_client(sender)
    half = POST_MAX // 2
    for n in range(half):
        response = client.post(
            "/r/premier-entretien/nouveau-sujet",
            data={"title": f"Sujet numéro {n}", "body": "Un premier message."},
        )
        assert response.status_code == 302
    message = {"recipients": "Cible Spam", "subject": "Offre", "body": "Publicité."}
    response = client.post("/messages/nouveau", data=message)
    assert response.status_code == 302
    conversation = response.headers["Location"]
    for n in range(POST_MAX - half - 1):
        assert client.post(conversation, data={"body": f"Relance {n}"}).status_code == 302
    messages = _count(PrivateMessage)

    response = client.post(conversation, data={"body": "Une de trop"})
    _assert_french_429(response, "ce message n'est pas enregistré")
    assert client.post("/messages/nouveau", data=message).status_code == 429
    assert _count(PrivateMessage) == messages
    # Reading the conversation and opening the form are not posting.
    assert client.get(conversation).status_code == 200
    assert client.get("/messages/nouveau").status_code == 200


def test_search_is_limited_per_member(limited_client, make_member) -> None:
    reader, other = make_member(), make_member()
    client = limited_client(reader)
    for n in range(SEARCH_MAX):
        assert client.get(f"/recherche?q=entretien{n}").status_code == 200
    _assert_french_429(client.get("/recherche?q=entretien"), "Vous lancez beaucoup de recherches")
    assert limited_client(other).get("/recherche?q=entretien").status_code == 200


def test_anonymous_searches_go_to_login_without_spending_a_budget(limited_client) -> None:
    client = limited_client()
    for _ in range(SEARCH_MAX + 5):
        response = client.get("/recherche?q=entretien")
        assert response.status_code == 302
        assert "/connexion" in response.headers["Location"]


def test_a_429_answers_json_to_json_clients(limited_client, make_member) -> None:
    client = limited_client(make_member())
    for _ in range(SEARCH_MAX):
        client.get("/recherche?q=bilan")
    response = client.get("/recherche?q=bilan", headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.json["error"] == "Trop de tentatives"
    assert "réessayer" in response.json["message"]


def test_an_app_with_limits_off_is_not_limited_while_another_has_them_on(
    client: FlaskClient, make_member
) -> None:
    """The session app (RATELIMIT_ENABLED=False) shares the limiter with the limited app."""
    assert limiter.enabled  # switched on by the limited app
    member = make_member()
    for _ in range(LOGIN_MAX + 5):
        response = client.post("/connexion", data={"email": member.email, "password": "non"})
        assert response.status_code == 400


def test_a_request_wide_limit_still_covers_every_page(limited_client, make_member) -> None:
    """ComCEP skips Flask-Limiter's before-request check while no limit covers whole
    requests (`extensions._Limiter`); one configured, every page counts again."""
    client = limited_client(make_member())
    assert not limiter._request_wide_limits()
    for _ in range(5):
        assert client.get("/").status_code == 200
    limiter.limit_manager.set_default_limits([Limit("3 per minute").bind(limiter)])
    try:
        assert limiter._request_wide_limits()
        statuses = [client.get("/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    finally:
        limiter.limit_manager.set_default_limits([])
    assert not limiter._request_wide_limits()
    assert client.get("/").status_code == 200


def test_production_values_are_the_documented_ones() -> None:
    assert Config.RATELIMIT_ENABLED is True
    assert Config.POST_RATE_LIMIT == "20 per minute;200 per day"
    assert Config.SEARCH_RATE_LIMIT == "60 per minute"
    assert Config.LOGIN_RATE_LIMIT == "10 per minute;50 per hour"
    assert Config.REGISTRATION_RATE_LIMIT == "10 per hour"
    assert Config.REGISTRATION_ATTEMPT_LIMIT == "30 per hour"
    assert TestConfig.RATELIMIT_ENABLED is False
