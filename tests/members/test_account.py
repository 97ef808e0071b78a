"""Own account (SPEC §4, issue 6): password reset by a single-use, one-hour link that never
reveals whether an address is registered; password and e-mail changes; the RGPD export;
leaving, after which the former name and e-mail appear nowhere."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from html import unescape

import pytest
from flask import Flask
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from comcep.extensions import db, limiter
from comcep.forum.models import Post
from comcep.members.models import Member
from comcep.moderation.models import ModerationLog
from tests import factories
from tests.conftest import PASSWORD
from tests.mailserver import Mailbox, link_path, smtp_mailbox, text_of

NEW_PASSWORD = "Nouveau-Chemin-42"
RESET_SUBJECT = "Réinitialiser votre mot de passe"


@pytest.fixture(autouse=True)
def _rate_limits_as_configured(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limiter is module-level: an app built earlier in the run with rate limits on
    (e.g. a production app in test_login) has switched it on for every app."""
    monkeypatch.setattr(limiter, "enabled", app.config["RATELIMIT_ENABLED"])


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_mailbox(app, monkeypatch) as box:
        yield box


def text(response) -> str:  # noqa: ANN001
    return unescape(response.get_data(as_text=True))


def log_in(client, email: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    return client.post("/connexion", data={"email": email, "password": password})


def reset_link(client, mailbox: Mailbox, email: str) -> str:  # noqa: ANN001
    assert client.post("/mot-de-passe-oublie", data={"email": email}).status_code == 200
    return link_path(mailbox.to(email)[-1], "/mot-de-passe/")


# --- Password reset ------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_a_registered_and_an_unknown_address(
    client, members, mailbox
) -> None:
    known = client.post("/mot-de-passe-oublie", data={"email": members["pair"].email})
    unknown = client.post("/mot-de-passe-oublie", data={"email": "personne@exemple.fr"})
    assert known.status_code == unknown.status_code == 200
    assert text(known) == text(unknown)
    assert "Si cette adresse correspond à un compte actif" in text(known)

    assert len(mailbox.messages) == 1
    message = mailbox.only(members["pair"].email, RESET_SUBJECT)
    assert "valable une heure" in text_of(message)
    assert link_path(message, "/mot-de-passe/").startswith("/mot-de-passe/")
    assert mailbox.to("personne@exemple.fr") == []


@pytest.mark.parametrize("key", ["pending", "suspended"])
def test_no_reset_link_is_sent_to_an_account_that_cannot_log_in(
    client, members, mailbox, key
) -> None:
    response = client.post("/mot-de-passe-oublie", data={"email": members[key].email})
    assert response.status_code == 200
    assert "Si cette adresse correspond à un compte actif" in text(response)
    assert mailbox.messages == []


def test_a_reset_link_works_once_and_never_twice(client, members, mailbox) -> None:
    email = members["pair"].email
    link = reset_link(client, mailbox, email)
    form = client.get(link)
    assert form.status_code == 200
    assert 'name="password"' in form.text

    done = client.post(link, data={"password": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/connexion")
    assert log_in(client, email).status_code == 400  # the old password is gone
    assert log_in(client, email, NEW_PASSWORD).status_code == 302
    client.post("/deconnexion")

    again = client.post(link, data={"password": "Encore-Un-Autre-77"})
    assert again.status_code == 410
    assert "Ce lien a déjà été utilisé ou n'est plus valide" in text(again)
    db.session.expire_all()
    assert db.session.get(Member, members["pair"].id).check_password(NEW_PASSWORD)


def test_a_new_reset_link_replaces_nothing_but_a_used_one_kills_the_others(
    client, members, mailbox
) -> None:
    email = members["pair"].email
    first = reset_link(client, mailbox, email)
    second = reset_link(client, mailbox, email)
    assert client.post(second, data={"password": NEW_PASSWORD}).status_code == 302
    stale = client.post(first, data={"password": "Encore-Un-Autre-77"})
    assert stale.status_code == 410
    assert "n'est plus valide" in text(stale)


def _signed_at(monkeypatch: pytest.MonkeyPatch, seconds_ago: int) -> None:
    real = time.time()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: int(real) - seconds_ago)


def test_a_reset_link_older_than_an_hour_is_refused(client, members, mailbox) -> None:
    email = members["pair"].email
    with pytest.MonkeyPatch.context() as frozen:
        _signed_at(frozen, 3600 + 5)
        old = reset_link(client, mailbox, email)
    with pytest.MonkeyPatch.context() as frozen:
        _signed_at(frozen, 3600 - 60)
        recent = reset_link(client, mailbox, email)

    expired = client.post(old, data={"password": NEW_PASSWORD})
    assert expired.status_code == 410
    assert "Ce lien a expiré" in text(expired)
    db.session.expire_all()
    assert db.session.get(Member, members["pair"].id).check_password(PASSWORD)
    # 59 minutes is still within the hour.
    assert client.post(recent, data={"password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    ("password", "message"),
    [
        pytest.param("Court-1", "au moins 10 caractères", id="too-short"),
        pytest.param("abcdefghijkl", "trois sortes de caractères", id="one-kind"),
        pytest.param("{local}-Secret-9", "trop facile à deviner", id="email-local-part"),
    ],
)
def test_weak_passwords_are_refused_with_a_french_message(
    client, members, mailbox, password, message
) -> None:
    email = members["pair"].email
    link = reset_link(client, mailbox, email)
    weak = password.format(local=email.split("@")[0].capitalize())
    refused = client.post(link, data={"password": weak})
    assert refused.status_code == 400
    assert message in text(refused)
    assert weak not in refused.text
    db.session.expire_all()
    assert db.session.get(Member, members["pair"].id).check_password(PASSWORD)
    # The refusal did not use the link up.
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 302


# --- Password and e-mail changes -----------------------------------------------------


def test_a_member_changes_their_password_only_with_the_current_one(
    client_for, client, members
) -> None:
    pair = members["pair"]
    account = client_for(pair)
    wrong = account.post(
        "/compte/mot-de-passe", data={"current": "pas-le-bon", "password": NEW_PASSWORD}
    )
    assert wrong.status_code == 400
    assert "Le mot de passe actuel est incorrect." in text(wrong)
    # Under the field that is wrong, not under the new password.
    assert 'id="current-error">Le mot de passe actuel est incorrect.' in wrong.text
    weak = account.post("/compte/mot-de-passe", data={"current": PASSWORD, "password": "faible"})
    assert weak.status_code == 400
    assert "au moins 10 caractères" in text(weak)
    db.session.expire_all()
    assert db.session.get(Member, pair.id).check_password(PASSWORD)

    done = account.post(
        "/compte/mot-de-passe", data={"current": PASSWORD, "password": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert log_in(client, pair.email).status_code == 400
    assert log_in(client, pair.email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "url",
    [
        "/compte/mot-de-passe",
        "/compte/adresse",
        "/compte/quitter",
        "/compte/notifications",
        "/compte/profil",
    ],
)
def test_an_account_forms_address_asked_by_get_leads_to_the_account_page(
    client_for, client, members, url
) -> None:
    """A refused form stays at its address: reloading it or typing it answered 405."""
    account = client_for(members["pair"])
    refused = account.post(url, data={})
    assert refused.status_code == 400
    again = account.get(url)
    assert again.status_code == 302
    assert again.headers["Location"].removeprefix("http://localhost") == "/compte"
    assert account.get(url, follow_redirects=True).status_code == 200
    assert "/connexion" in client.get(url, follow_redirects=True).request.path


def test_a_new_password_ends_every_other_session_and_keeps_this_one(app, members, mailbox):
    """A stolen session or « rester connecté » cookie held only the member's id: it outlived
    a reset or a change of the password. Sessions now hold a key of the password."""
    pair = members["pair"]
    laptop, phone, mailbox_owner = (app.test_client() for _ in range(3))
    assert log_in(laptop, pair.email).status_code == 302
    remembered = phone.post(
        "/connexion", data={"email": pair.email, "password": PASSWORD, "remember": "y"}
    )
    assert remembered.status_code == 302
    phone.delete_cookie("session")  # the browser restarted: the cookie logs in again
    assert phone.get("/compte").status_code == 200

    changed = laptop.post(
        "/compte/mot-de-passe", data={"current": PASSWORD, "password": NEW_PASSWORD}
    )
    assert changed.status_code == 302
    assert "vos autres sessions sont fermées" in text(laptop.get("/compte"))
    phone.delete_cookie("session")
    assert phone.get("/compte").status_code == 302  # to the login form

    link = reset_link(mailbox_owner, mailbox, pair.email)
    assert mailbox_owner.post(link, data={"password": "Encore-Un-Autre-77"}).status_code == 302
    assert laptop.get("/compte").status_code == 302


def test_a_password_change_kills_pending_reset_links(client_for, client, members, mailbox) -> None:
    pair = members["pair"]
    link = reset_link(client, mailbox, pair.email)
    client_for(pair).post(
        "/compte/mot-de-passe", data={"current": PASSWORD, "password": NEW_PASSWORD}
    )
    assert client.post(link, data={"password": "Encore-Un-Autre-77"}).status_code == 410


def test_an_e_mail_change_needs_the_password_and_the_new_mailbox(
    client_for, client, members, mailbox
) -> None:
    pair = members["pair"]
    old_email = pair.email
    new_email = "paire.un@nouvelle-agence.fr"
    account = client_for(pair)

    wrong = account.post("/compte/adresse", data={"email": new_email, "password": "mauvais"})
    assert wrong.status_code == 400
    assert "Le mot de passe est incorrect." in text(wrong)
    # Under the password, not under the address (which was right).
    assert 'id="email-password-error">Le mot de passe est incorrect.' in wrong.text
    missing = account.post("/compte/adresse", data={"email": new_email})
    assert missing.status_code == 400
    assert mailbox.messages == []

    asked = account.post("/compte/adresse", data={"email": new_email, "password": PASSWORD})
    assert asked.status_code == 302
    # Nothing changes until the new mailbox confirms.
    db.session.expire_all()
    assert db.session.get(Member, pair.id).email == old_email
    assert "en attente de confirmation" in text(account.get("/compte"))
    assert mailbox.to(old_email) == []
    message = mailbox.only(new_email, "Confirmez votre nouvelle adresse")
    link = link_path(message, "/compte/adresse/")
    assert log_in(client, new_email).status_code == 400

    opened = client.get(link)  # a page with a button: opening the link changes nothing
    assert opened.status_code == 200
    assert "Confirmer la nouvelle adresse" in text(opened)
    db.session.expire_all()
    assert db.session.get(Member, pair.id).email == old_email
    confirmed = client.post(link)
    assert confirmed.status_code == 200
    assert "Votre nouvelle adresse est confirmée" in text(confirmed)
    db.session.expire_all()
    assert db.session.get(Member, pair.id).email == new_email
    assert log_in(client, old_email).status_code == 400
    assert log_in(client, new_email).status_code == 302

    for twice in (client.post(link), client.get(link)):
        assert twice.status_code == 410
        assert "Lien expiré ou déjà utilisé" in text(twice)


def test_an_e_mail_change_to_an_address_in_use_reveals_nothing_and_changes_nothing(
    client_for, members, mailbox
) -> None:
    pair, other = members["pair"], members["other_pair"]
    response = client_for(pair).post(
        "/compte/adresse", data={"email": other.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert mailbox.messages == []
    db.session.expire_all()
    assert db.session.get(Member, pair.id).email != other.email


# --- Structure and region ------------------------------------------------------------


def profile_of(member: Member) -> tuple[str, str | None, str | None, str, str]:
    """Structure, region, network, statut and name, read afresh."""
    db.session.expire_all()
    fresh = db.session.get(Member, member.id)
    region = fresh.region.code if fresh.region else None
    network = fresh.network.code if fresh.network else None
    return fresh.organisation, region, network, fresh.statut, fresh.display_name


def test_the_account_page_shows_the_structure_and_region_to_change(client_for, members) -> None:
    """The page showed neither, and nothing let the member correct them (SPEC §4)."""
    pair = members["pair"]
    pair.organisation = "Agence de Rennes Nord"
    db.session.commit()
    page = client_for(pair).get("/compte").get_data(as_text=True)
    assert '<form method="post" action="/compte/profil"' in page
    assert 'name="organisation" type="text" value="Agence de Rennes Nord"' in page
    assert '<option selected value="bretagne">Bretagne</option>' in page
    for staff_field in ('name="network"', 'name="statut"', 'name="name"'):
        assert staff_field not in page


def test_a_member_changes_their_structure_and_region_and_nothing_else(client_for, members) -> None:
    """Network, statut and name are the staff's (fields sent for them are ignored); the
    change is not journaled."""
    pair = members["pair"]
    before = profile_of(pair)
    response = client_for(pair).post(
        "/compte/profil",
        data={
            "organisation": "  Agence de Quimper  ",
            "region": "normandie",
            "network": "apec",
            "statut": "hors_pair",
            "name": "Quelqu'un d'autre",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].removeprefix("http://localhost") == "/compte"
    assert profile_of(pair) == ("Agence de Quimper", "normandie", *before[2:])
    assert db.session.scalar(select(func.count()).select_from(ModerationLog)) == 0
    profile = client_for(members["other_pair"]).get(f"/membres/{pair.id}")
    assert "Agence de Quimper" in text(profile)
    assert "Normandie" in text(profile)


def test_a_hors_pair_may_leave_the_structure_empty(client_for, members) -> None:
    """Hors pairs are invited with or without a structure; pairs name theirs at registration."""
    hors_pair = members["hors_pair"]
    response = client_for(hors_pair).post(
        "/compte/profil", data={"organisation": "", "region": "occitanie"}
    )
    assert response.status_code == 302
    assert profile_of(hors_pair)[:2] == ("", "occitanie")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"organisation": "", "region": "normandie"}, "Indiquez votre structure."),
        ({"organisation": "   ", "region": "normandie"}, "Indiquez votre structure."),
        ({"organisation": "S" * 161, "region": "normandie"}, "160 caractères au plus."),
        ({"organisation": "Agence de Quimper", "region": ""}, "Choisissez votre région."),
        ({"organisation": "Agence", "region": "atlantide"}, "N'est pas un choix valide."),
        ({"organisation": "Agence de Quimper"}, "Choisissez votre région."),
        ({"region": "normandie"}, "Indiquez votre structure."),
    ],
    ids=[
        "empty",
        "blank",
        "too-long",
        "no-region",
        "unknown-region",
        "region-missing",
        "structure-missing",
    ],
)
def test_a_bad_structure_or_region_is_refused_in_french_keeping_what_was_typed(
    client_for, members, data, message
) -> None:
    pair = members["pair"]
    before = profile_of(pair)
    response = client_for(pair).post("/compte/profil", data=data)
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert 'class="error-summary"' in response.get_data(as_text=True)
    if data.get("organisation", "").strip():
        assert f'value="{data["organisation"]}"' in page
    assert profile_of(pair) == before


# --- Export (RGPD) -------------------------------------------------------------------


def test_the_export_holds_the_profile_and_every_post_the_member_wrote(client_for, members) -> None:
    pair, other = members["pair"], members["other_pair"]
    mine = factories.make_topic(pair, "premier-entretien", "Mon sujet", "Mon premier message.")
    theirs = factories.make_topic(other, "echanges", "Leur sujet", "Leur message.")
    factories.make_reply(pair, theirs, "Ma réponse chez les partenaires.")
    factories.make_reply(other, mine, "Une réponse d'un autre membre.")

    response = client_for(pair).get("/compte/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    profile = data["profil"]
    assert profile["nom"] == "Paire Un"
    assert profile["email"] == pair.email
    assert (profile["statut"], profile["reseau"], profile["region"]) == (
        "pair",
        "france-travail",
        "bretagne",
    )
    texts = sorted(m["texte"] for m in data["messages"])
    assert texts == ["Ma réponse chez les partenaires.", "Mon premier message."]
    opening = next(m for m in data["messages"] if m["texte"] == "Mon premier message.")
    assert opening["ouvre_le_sujet"] is True
    assert opening["sujet"] == "Mon sujet"
    assert opening["sujet_id"] == mine.id
    assert client_for(None).get("/compte/export").status_code == 302


# --- Leaving -------------------------------------------------------------------------

LEAVER_NAME = "Gwendoline Kervarec"
LEAVER_EMAIL = "gwendoline.kervarec@francetravail.fr"


def _assert_gone(response, where: str, query: str = "") -> None:  # noqa: ANN001
    """Neither the former name nor the address is on the page (the echo of a search for
    `query` aside: the form shows what was typed)."""
    page = text(response).lower()
    if query:
        page = page.replace(query.lower(), "")
    for trace in (LEAVER_NAME, "Gwendoline", "Kervarec", LEAVER_EMAIL, "francetravail.fr"):
        assert trace.lower() not in page, f"{trace!r} still on {where}"


def quote_in_reply(reader, topic_id: int, post_id: int, words: str) -> int:  # noqa: ANN001
    """Reply through the form prefilled by « citer »; return the new post's id."""
    form = reader.get(f"/t/{topic_id}/repondre?citer={post_id}")
    match = re.search(r"<textarea[^>]*>(.*?)</textarea>", form.get_data(as_text=True), re.S)
    assert match is not None
    body = unescape(match[1]).strip() + f"\n\n{words}"
    response = reader.post(f"/t/{topic_id}/repondre", data={"body": body})
    assert response.status_code == 302
    return db.session.scalar(select(Post.id).where(Post.body_source.contains(words)))


def test_a_member_who_leaves_disappears_by_name_from_every_page(
    client_for, client, members, make_member
) -> None:
    leaver = make_member(name=LEAVER_NAME, email=LEAVER_EMAIL, network="apec", region="normandie")
    leaver_id = leaver.id
    topic = factories.make_topic(
        leaver,
        "premier-entretien",
        "Reconversion d'une aide-soignante",
        "Une bénéficiaire souhaite quitter le soin : par où commencer ?",
        replies=[(members["other_pair"], "Commencez par un bilan de compétences.")],
    )
    opening_id, answer_id = db.session.scalars(
        select(Post.id).where(Post.topic_id == topic.id).order_by(Post.number)
    ).all()
    factories.make_reply(leaver, topic, "Merci, je lui propose un rendez-vous.")
    hp_topic = factories.make_topic(leaver, "echanges", "Question aux partenaires", "Un outil ?")
    hp_opening = db.session.scalar(select(Post.id).where(Post.topic_id == hp_topic.id))
    # Others quote the leaver (the quote carries the author's name), and edit the quote,
    # so that a revision holds it too; the leaver quotes someone else.
    other = client_for(members["other_pair"])
    quoting = quote_in_reply(other, topic.id, opening_id, "Je confirme : le bilan d'abord.")
    edited = other.post(
        f"/p/{quoting}/modifier",
        data={"body": db.session.get(Post, quoting).body_source + " Et la VAE."},
    )
    assert edited.status_code == 302
    quote_in_reply(client_for(members["hors_pair"]), hp_topic.id, hp_opening, "Voici un outil.")
    quote_in_reply(client_for(leaver), topic.id, answer_id, "Bonne idée, merci.")
    assert LEAVER_NAME in text(other.get(f"/t/{topic.id}", follow_redirects=True))
    # Search leaves quotes out (a quoted post is found in itself): an @mention is what puts
    # the name in the index, until the departure writes « Ancien membre » instead.
    factories.make_reply(members["other_pair"], topic, f"Merci @{LEAVER_NAME} pour ce cas.")
    assert "Aucun résultat" not in text(other.get("/recherche?q=Gwendoline"))
    account = client_for(leaver)
    for key in ("pair", "hors_pair"):  # before leaving, the name search finds them
        found = client_for(members[key]).get("/membres", query_string={"q": "kervarec"})
        assert LEAVER_NAME in text(found), key

    # Leaving asks for the password and the confirmation box.
    unchecked = account.post("/compte/quitter", data={"password": PASSWORD})
    assert unchecked.status_code == 400
    assert "Cochez la case pour confirmer." in text(unchecked)
    assert "Le mot de passe est incorrect." not in text(unchecked)
    wrong = account.post("/compte/quitter", data={"password": "mauvais", "confirm": "y"})
    assert wrong.status_code == 400
    assert "Le mot de passe est incorrect." in text(wrong)
    db.session.expire_all()
    assert db.session.get(Member, leaver_id).state == "active"

    left = account.post("/compte/quitter", data={"password": PASSWORD, "confirm": "y"})
    assert left.status_code == 302
    assert account.get("/compte").status_code == 302  # the session is over
    db.session.expire_all()
    former = db.session.get(Member, leaver_id)
    assert (former.state, former.display_name) == ("left", "Ancien membre")
    assert former.password_hash == ""

    # Nobody finds the name or the address any more; the posts stay, signed « Ancien membre ».
    for key in ("pair", "hors_pair", "animation", "admin"):
        reader = client_for(members[key])
        rubriques = ["/r/echanges"] + ([] if key == "hors_pair" else ["/r/premier-entretien"])
        for url in ("/", "/membres", "/actifs", "/non-lus", "/recherche?q=outil", *rubriques):
            response = reader.get(url)
            assert response.status_code == 200, (key, url)
            _assert_gone(response, f"{url} as {key}")
        for query in ("Gwendoline", "Kervarec", LEAVER_NAME, LEAVER_EMAIL):
            found = reader.get("/membres", query_string={"q": query})
            assert "Aucun membre ne correspond" in text(found), (key, query)
            _assert_gone(found, f"/membres?q={query} as {key}", query)
            searched = reader.get("/recherche", query_string={"q": query})
            assert searched.status_code == 200
            assert "Aucun résultat" in text(searched), (key, query)
            _assert_gone(searched, f"/recherche?q={query} as {key}", query)
        profile = reader.get(f"/membres/{leaver_id}")
        assert profile.status_code == 404 or "Ancien membre" in text(profile)
        _assert_gone(profile, f"the profile as {key}")
        readable = [hp_topic] if key == "hors_pair" else [topic, hp_topic]
        for shown in readable:
            page = reader.get(f"/t/{shown.id}", follow_redirects=True)
            assert page.status_code == 200
            _assert_gone(page, f"topic {shown.id} as {key}")
            assert "Ancien membre" in text(page)
        if key != "hors_pair":
            history = reader.get(f"/p/{quoting}/historique")
            assert history.status_code == 200
            _assert_gone(history, f"the history of a quote as {key}")
            assert "Ancien membre" in text(history)
    admin = client_for(members["admin"])
    _assert_gone(admin.get(f"/admin/membres/{leaver_id}"), "the admin page")

    thread = text(client_for(members["pair"]).get(f"/t/{topic.id}", follow_redirects=True))
    assert "par où commencer" in thread
    assert "je lui propose un rendez-vous" in thread
    assert "Commencez par un bilan de compétences." in thread
    assert "Je confirme : le bilan d'abord. Et la VAE." in thread
    assert "Paire Deux</strong></a> a écrit" in thread  # the leaver's own quote is untouched

    # The former member cannot log in, with either the old address or the new one.
    assert log_in(client, LEAVER_EMAIL).status_code == 400
    assert log_in(client, former.email, "").status_code == 400
    assert log_in(client, former.email, PASSWORD).status_code == 400
