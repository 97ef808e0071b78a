"""Invitations, the administration of members, and the member list (SPEC §4, issue 6):
hors pairs join by invitation, admins change roles, groups, statut and network with a log,
and the member list shown to a hors pair holds nobody who only wrote behind the wall."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import func, select

from comcep.extensions import db, limiter, utcnow
from comcep.members.models import Group, Member, Network
from comcep.moderation.models import ModerationLog
from comcep.outbox import OutboxEvent
from tests import factories
from tests.conftest import PASSWORD
from tests.factories import name_referent
from tests.mailserver import Mailbox, link_path, smtp_mailbox, text_of
from tests.pages import without_csrf

INVITEE_PASSWORD = "Partenaire-Carif-2026"
INVITEE = {
    "email": "claire.martin@carif-idf.fr",
    "name": "Claire Martin",
    "statut": "hors_pair",
    "network": "carif-oref",
    "region": "ile-de-france",
    "organisation": "Carif-Oref Île-de-France",
}
INVITATION_SUBJECT = "Invitation à rejoindre la ComCEP"


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


def member_by_email(email: str) -> Member | None:
    db.session.expire_all()
    return db.session.scalar(select(Member).where(Member.email == email))


def log_entries(action: str) -> list[ModerationLog]:
    return list(db.session.scalars(select(ModerationLog).where(ModerationLog.action == action)))


# --- Invitations ---------------------------------------------------------------------


@pytest.mark.parametrize("inviter", ["admin"])
def test_a_hors_pair_invited_by_an_admin_sets_a_password_and_is_logged_in(
    client, client_for, members, mailbox, inviter
) -> None:
    staff = client_for(members[inviter])
    assert staff.get("/moderation/invitations").status_code == 200
    sent = staff.post("/moderation/invitations", data=INVITEE)
    assert sent.status_code == 302
    invited = member_by_email(INVITEE["email"])
    assert (invited.state, invited.registration_status) == ("pending", "invited")
    [entry] = log_entries("invite")
    assert (entry.actor_id, entry.target_id) == (members[inviter].id, invited.id)
    assert json.loads(entry.details) == {"statut": "hors_pair"}

    message = mailbox.only(INVITEE["email"], INVITATION_SUBJECT)
    assert "Bonjour Claire Martin" in text_of(message)
    assert members[inviter].display_name in text_of(message)
    link = link_path(message, "/invitation/")

    # Not an account yet: no password, no login.
    before = client.post(
        "/connexion", data={"email": INVITEE["email"], "password": INVITEE_PASSWORD}
    )
    assert before.status_code == 400

    form = client.get(link)
    assert form.status_code == 200
    assert 'name="password"' in form.text
    weak = client.post(link, data={"password": "claire"})
    assert weak.status_code == 400
    assert "au moins 10 caractères" in text(weak)

    accepted = client.post(link, data={"password": INVITEE_PASSWORD})
    assert accepted.status_code == 302
    home = client.get("/")
    assert "Bienvenue sur la ComCEP" in text(home)
    account = client.get("/compte")
    assert account.status_code == 200
    assert "hors pair" in text(account)
    member = member_by_email(INVITEE["email"])
    assert (member.state, member.statut) == ("active", "hors_pair")
    assert member.organisation == "Carif-Oref Île-de-France"
    assert (member.network.code, member.region.code) == ("carif-oref", "ile-de-france")
    assert member.email_confirmed_at is not None
    # The statut set by the inviter puts them on the hors pairs' side of the wall.
    assert client.get("/r/premier-entretien").status_code == 404
    assert client.get("/r/echanges").status_code == 200

    # The link worked once; the password works at the login form.
    client.post("/deconnexion")
    again = client.post(link, data={"password": "Une-Autre-Tentative-9"})
    assert again.status_code == 410
    assert "Ce lien a déjà été utilisé ou n'est plus valide" in text(again)
    login = client.post(
        "/connexion", data={"email": INVITEE["email"], "password": INVITEE_PASSWORD}
    )
    assert login.status_code == 302


def test_an_admin_may_invite_a_pair(client, client_for, members, mailbox) -> None:
    data = {**INVITEE, "statut": "pair", "network": "missions-locales", "organisation": "ML Brest"}
    assert (
        client_for(members["admin"]).post("/moderation/invitations", data=data).status_code == 302
    )
    link = link_path(mailbox.only(INVITEE["email"], INVITATION_SUBJECT), "/invitation/")
    assert client.post(link, data={"password": INVITEE_PASSWORD}).status_code == 302
    member = member_by_email(INVITEE["email"])
    assert (member.statut, member.network.code, member.state) == (
        "pair",
        "missions-locales",
        "active",
    )
    assert client.get("/r/premier-entretien").status_code == 200


def test_the_animatrice_cannot_invite(client_for, members, mailbox) -> None:
    """SPEC §4: invitations are an administrator's, a pair's or a hors pair's."""
    for statut, network in (("pair", "apec"), ("hors_pair", "carif-oref")):
        data = {**INVITEE, "statut": statut, "network": network}
        response = client_for(members["animation"]).post("/moderation/invitations", data=data)
        assert response.status_code == 403
        assert "Les invitations sont réservées aux administrateurs." in text(response)
    assert member_by_email(INVITEE["email"]) is None
    assert log_entries("invite") == []
    assert mailbox.messages == []


@pytest.mark.parametrize("key", ["pair", "other_pair", "hors_pair", "referent_apec", "comite"])
def test_members_who_are_not_staff_get_404_on_invitations(
    client, client_for, members, mailbox, key
) -> None:
    invitations = client_for(members[key])
    assert invitations.get("/moderation/invitations").status_code == 404
    assert invitations.post("/moderation/invitations", data=INVITEE).status_code == 404
    assert member_by_email(INVITEE["email"]) is None
    assert mailbox.messages == []
    assert client.get("/moderation/invitations").status_code == 302  # anonymous: log in


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"network": "apec"}, "ne correspond pas au statut", id="pair-network"),
        pytest.param({"email": "PAIRE"}, "Adresse e-mail invalide", id="bad-email"),
        pytest.param({"name": ""}, "Indiquez le nom", id="no-name"),
    ],
)
def test_a_bad_invitation_is_refused_with_a_french_message(
    client_for, members, mailbox, changes, message
) -> None:
    count = db.session.scalar(select(func.count(Member.id)))
    response = client_for(members["admin"]).post(
        "/moderation/invitations", data={**INVITEE, **changes}
    )
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(select(func.count(Member.id))) == count
    assert mailbox.messages == []


def test_an_address_already_in_use_cannot_be_invited(client_for, members, mailbox) -> None:
    data = {**INVITEE, "email": members["hors_pair"].email}
    response = client_for(members["admin"]).post("/moderation/invitations", data=data)
    assert response.status_code == 400
    assert "Un membre utilise déjà cette adresse." in text(response)
    assert mailbox.messages == []


# --- Administration of members -------------------------------------------------------


# Who is offered, on a member's profile, to moderate and to administer them.
PROFILE_ACTIONS = {
    "pair": (False, False),
    "hors_pair": (False, False),
    "referent_apec": (False, False),
    "comite": (False, False),
    "animation": (True, False),
    "admin": (True, True),
}


@pytest.mark.parametrize("key", list(PROFILE_ACTIONS))
def test_a_profile_links_the_staff_to_moderating_and_administering_the_member(
    client_for, members, key
) -> None:
    """Those pages were reached only by typing their address (found by tests/test_crawl.py);
    each link shown opens for whoever sees it."""
    target = members["other_pair"]
    client = client_for(members[key])
    page = client.get(f"/membres/{target.id}").text
    links = {
        f"/membres/{target.id}/moderer": "Modérer ce membre",
        f"/admin/membres/{target.id}": "Administrer le compte",
    }
    for (url, label), shown in zip(links.items(), PROFILE_ACTIONS[key], strict=True):
        assert (f'href="{url}"' in page) is shown, url
        assert (label in page) is shown, label
        assert (client.get(url).status_code == 200) is shown, url


def test_the_queue_links_the_admins_pages_to_those_who_may_open_them(client_for, members) -> None:
    """Invitations, site settings and parked tasks had no link anywhere."""
    pages = ("/moderation/invitations", "/admin/rubriques", "/moderation/reglages", "/admin/taches")
    for key, linked in (("animation", ()), ("admin", pages)):
        client = client_for(members[key])
        queue = client.get("/moderation").text
        for url in pages:
            assert (f'href="{url}"' in queue) is (url in linked), (key, url)
            assert (client.get(url).status_code == 200) is (url in linked), (key, url)


@pytest.mark.parametrize("key", ["animation", "pair", "hors_pair", "referent_apec", "comite"])
def test_only_admins_open_the_administration_of_a_member(client_for, members, key) -> None:
    target = members["other_pair"]
    page = client_for(members[key])
    assert page.get(f"/admin/membres/{target.id}").status_code == 404
    data = {"statut": "pair", "network": "apec", "roles": ["admin"]}
    assert page.post(f"/admin/membres/{target.id}", data=data).status_code == 404
    assert page.post(f"/admin/membres/{target.id}", data={"anonymise": "1"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Member, target.id).role_set == frozenset()
    assert db.session.get(Member, target.id).state == "active"


def test_an_admin_changes_roles_groups_and_network_and_it_is_logged(client_for, members) -> None:
    admin, target = members["admin"], members["pair"]
    page = client_for(admin).get(f"/admin/membres/{target.id}")
    assert page.status_code == 200
    assert "Paire Un" in text(page)
    assert client_for(admin).get("/admin/membres/999999").status_code == 404

    pilot = db.session.scalar(select(Group).where(Group.name == "Groupe pilote"))
    before_consultations = client_for(target).get("/r/consultations").status_code
    assert before_consultations == 404
    response = client_for(admin).post(
        f"/admin/membres/{target.id}",
        data={
            "statut": "pair",
            "network": "apec",
            "roles": ["validation", "animation"],
            "groups": [str(pilot.id)],
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    member = db.session.get(Member, target.id)
    apec = db.session.scalar(select(Network).where(Network.code == "apec"))
    assert member.role_set == {"validation", "animation"}
    assert member.network_id == member.validation_network_id == apec.id
    assert [g.name for g in member.groups] == ["Groupe pilote"]

    [entry] = log_entries("update_member")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (admin.id, "member", target.id)
    assert entry.created_at is not None
    assert json.loads(entry.details)["avant"] == {
        "statut": "pair",
        "reseau": "france-travail",
        "roles": [],
        "valide": None,
        "groupes": [],
    }
    # The new roles and group take effect.
    assert client_for(member).get("/r/consultations").status_code == 200
    assert client_for(member).get("/moderation/inscriptions").status_code == 200

    # Unchecking every box removes the roles and groups.
    client_for(admin).post(
        f"/admin/membres/{target.id}", data={"statut": "pair", "network": "apec"}
    )
    db.session.expire_all()
    member = db.session.get(Member, target.id)
    assert (member.role_set, member.groups, member.validation_network_id) == (frozenset(), [], None)
    assert len(log_entries("update_member")) == 2


def test_an_admin_moves_a_member_across_the_wall_only_with_a_matching_network(
    client_for, members
) -> None:
    admin, target = members["admin"], members["pair"]
    mismatch = client_for(admin).post(
        f"/admin/membres/{target.id}", data={"statut": "hors_pair", "network": "apec"}
    )
    assert mismatch.status_code == 400
    assert "Le réseau ou l'organisation ne correspond pas au statut choisi." in text(mismatch)
    db.session.expire_all()
    assert db.session.get(Member, target.id).statut == "pair"
    assert log_entries("update_member") == []
    assert client_for(target).get("/r/premier-entretien").status_code == 200

    moved = client_for(admin).post(
        f"/admin/membres/{target.id}", data={"statut": "hors_pair", "network": "centre-inffo"}
    )
    assert moved.status_code == 302
    db.session.expire_all()
    member = db.session.get(Member, target.id)
    assert (member.statut, member.network.code) == ("hors_pair", "centre-inffo")
    assert client_for(member).get("/r/premier-entretien").status_code == 404
    assert len(log_entries("update_member")) == 1


def test_an_admin_cannot_remove_their_own_admin_role(client_for, members) -> None:
    admin = members["admin"]
    response = client_for(admin).post(
        f"/admin/membres/{admin.id}", data={"statut": "hors_pair", "network": "uodc"}
    )
    assert response.status_code == 400
    assert "votre propre rôle d'administrateur" in text(response)
    db.session.expire_all()
    assert "admin" in db.session.get(Member, admin.id).role_set


def test_an_admin_anonymises_a_member_on_request(client, client_for, members) -> None:
    admin, target = members["admin"], members["other_pair"]
    email = target.email
    topic = factories.make_topic(target, "echanges", "Un outil pour les bilans", "Voici le lien.")
    session = client_for(target)
    assert session.get("/compte").status_code == 200

    response = client_for(admin).post(
        f"/admin/membres/{target.id}", data={"anonymise": "1", "confirm": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    member = db.session.get(Member, target.id)
    assert (member.state, member.display_name, member.organisation) == ("left", "Ancien membre", "")
    assert email not in member.email
    [entry] = log_entries("anonymise")
    assert (entry.actor_id, entry.target_id) == (admin.id, target.id)

    assert session.get("/compte").status_code == 302  # their session ended
    assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 400
    thread = text(client_for(members["hors_pair"]).get(f"/t/{topic.id}", follow_redirects=True))
    assert "Voici le lien." in thread
    assert "Ancien membre" in thread
    assert "Paire Deux" not in thread
    members_page = text(client_for(members["pair"]).get("/membres"))
    assert "Paire Deux" not in members_page
    assert "Ancien membre" not in members_page
    admin_page = text(client_for(admin).get(f"/admin/membres/{target.id}"))
    assert "Paire Deux" not in admin_page
    assert email not in admin_page


def test_anonymising_a_member_asks_to_confirm_by_name_and_without_it_changes_nothing(
    client_for, members
) -> None:
    """One click on « Anonymiser » must not end an account for good: a box naming the
    member and saying it cannot be undone must be ticked, and the server checks it."""
    admin, target = members["admin"], members["other_pair"]
    session = client_for(target)
    page = client_for(admin).get(f"/admin/membres/{target.id}")
    box = re.search(r'<input[^>]*name="confirm"[^>]*>\s*<label[^>]*>([^<]*)</label>', page.text)
    assert box is not None
    assert "Paire Deux" in unescape(box.group(1))
    assert "ne peut pas être annulée" in unescape(box.group(1))

    refused = client_for(admin).post(f"/admin/membres/{target.id}", data={"anonymise": "1"})
    assert refused.status_code == 400
    assert "Cochez la case pour confirmer l'anonymisation" in text(refused)
    db.session.expire_all()
    member = db.session.get(Member, target.id)
    assert (member.state, member.display_name) == ("active", "Paire Deux")
    assert log_entries("anonymise") == []
    assert session.get("/compte").status_code == 200  # still signed in


def test_an_admin_cannot_anonymise_their_own_account_from_the_admin_page(client_for, members):
    """Their own account closes from « Mon compte », which asks for the password: a button
    on the admin page would end it (and perhaps the last admin) with one click."""
    admin = members["admin"]
    session = client_for(admin)
    page = session.get(f"/admin/membres/{admin.id}")
    assert page.status_code == 200
    assert 'name="anonymise"' not in page.text
    assert 'href="/compte"' in page.text

    refused = session.post(f"/admin/membres/{admin.id}", data={"anonymise": "1"})
    assert refused.status_code == 400
    assert "propre compte" in text(refused)
    db.session.expire_all()
    assert db.session.get(Member, admin.id).state == "active"
    assert "admin" in db.session.get(Member, admin.id).role_set
    assert log_entries("anonymise") == []
    assert session.get("/compte").status_code == 200  # still signed in


# --- The member list -----------------------------------------------------------------

_ROW_NAME = re.compile(r'<td><a href="/membres/\d+">([^<]+)</a></td>')


def listed(response, status: int = 200) -> set[str]:  # noqa: ANN001
    """The names in the member table (not the header's link to the reader's own profile)."""
    assert response.status_code == status
    body = response.get_data(as_text=True)
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    return {unescape(name) for name in _ROW_NAME.findall(table)}


def test_the_member_list_of_a_hors_pair_holds_nobody_who_only_wrote_behind_the_wall(
    client_for, members, make_member
) -> None:
    both = make_member(name="Des Deux Côtés", network="missions-locales")
    factories.make_topic(members["pair"], "premier-entretien", "Cas derrière le mur", "Secret.")
    factories.make_topic(members["pilot_pair"], "consultations", "Consultation", "Pilote.")
    factories.make_topic(members["animation"], "coin-des-animateurs", "Entre nous", "Équipe.")
    shared = factories.make_topic(
        members["other_pair"], "echanges", "Question aux partenaires", "Bonjour à tous."
    )
    factories.make_topic(both, "apres-le-premier-entretien", "Suite", "Derrière le mur.")
    factories.make_reply(both, shared, "Réponse de l'autre côté.")

    hors_pair = client_for(members["hors_pair"])
    assert listed(hors_pair.get("/membres")) == {"Hors Pair", "Paire Deux", "Des Deux Côtés"}
    # A profile of someone it may not list is the 404 of a missing one.
    missing = hors_pair.get("/membres/999999")
    hidden = hors_pair.get(f"/membres/{members['pair'].id}")
    assert hidden.status_code == missing.status_code == 404
    assert without_csrf(hidden.text) == without_csrf(missing.text)
    # The profile of a member it may list shows only what it may read.
    profile = text(hors_pair.get(f"/membres/{both.id}"))
    assert "Question aux partenaires" in profile
    assert "Suite" not in profile
    # Filters never bring a hidden member back.
    assert listed(hors_pair.get("/membres?network=france-travail")) == set()
    assert listed(hors_pair.get("/membres?q=paire")) == {"Paire Deux"}

    everyone = listed(client_for(members["pair"]).get("/membres"))
    assert {"Paire Un", "Paire Pilote", "Animatrice", "Hors Pair", "Des Deux Côtés"} <= everyone
    assert "En Attente" not in everyone  # a pending request is not a member yet


def test_a_pair_searches_members_by_name_and_filters_by_network_and_region(
    client_for, members, make_member
) -> None:
    make_member(name="Élodie Normande", network="apec", region="normandie")
    make_member(name="Yves Normand", network="france-travail", region="normandie")
    pair = client_for(members["pair"])

    assert listed(pair.get("/membres?q=normand")) == {"Élodie Normande", "Yves Normand"}
    assert listed(pair.get("/membres?q=PAIRE")) == {"Paire Un", "Paire Deux", "Paire Pilote"}
    assert listed(pair.get("/membres?q=inexistant")) == set()
    assert "Aucun membre ne correspond" in text(pair.get("/membres?q=inexistant"))
    assert listed(pair.get("/membres?region=normandie")) == {"Élodie Normande", "Yves Normand"}
    apec = listed(pair.get("/membres?network=apec"))
    assert {"Paire Deux", "Référent Apec", "Élodie Normande"} <= apec
    assert not apec & {"Paire Un", "Yves Normand", "Hors Pair", "En Attente"}
    assert listed(pair.get("/membres?network=apec&region=normandie")) == {"Élodie Normande"}
    assert listed(pair.get("/membres?network=carif-oref")) == {"Hors Pair"}
    # An unknown code is said under its field (400), and filters nothing; odd input in
    # the name finds no one, without an error.
    unknown = pair.get("/membres?network=atlantide")
    assert unknown.status_code == 400
    assert "Réseau inconnu : choisissez dans la liste." in text(unknown)
    assert listed(unknown, 400) == listed(pair.get("/membres"))
    assert pair.get("/membres?q=%25_%25").status_code == 200
    assert pair.get("/membres?page=999").status_code == 200


def test_saving_a_member_unchanged_journals_nothing(members, client_for) -> None:  # noqa: ANN001
    """Each save journaled « Profil de membre modifié », even when nothing changed (review)."""
    admin, target = client_for(members["admin"]), members["pair"]
    data = {"statut": "pair", "network": "france-travail"}

    def entries() -> int:
        return db.session.scalar(
            select(func.count(ModerationLog.id)).where(ModerationLog.action == "update_member")
        )

    first = admin.post(f"/admin/membres/{target.id}", data=data, follow_redirects=True)
    again = admin.post(f"/admin/membres/{target.id}", data=data, follow_redirects=True)

    assert "Rien n'a changé." in unescape(first.get_data(as_text=True))
    assert "Rien n'a changé." in unescape(again.get_data(as_text=True))
    assert entries() == 0
    data["roles"] = "animation"
    admin.post(f"/admin/membres/{target.id}", data=data)
    assert entries() == 1


def test_sending_parked_tasks_back_to_the_queue_is_journaled(members, client_for) -> None:  # noqa: ANN001
    """« Remettre en file » sends failed e-mails and index updates again: an admin action,
    journaled like the others (review)."""
    db.session.add(
        OutboxEvent(
            kind="notify.email",
            ref_id=999999,
            parked=True,
            attempts=9,
            created_at=utcnow(),
            available_at=utcnow(),
        )
    )
    db.session.commit()

    response = client_for(members["admin"]).post("/admin/taches", data={})

    assert response.status_code == 302
    entry = db.session.scalar(select(ModerationLog).where(ModerationLog.action == "retry_parked"))
    assert entry is not None
    assert entry.actor_id == members["admin"].id
    assert json.loads(entry.details) == {"taches": 1}


def _validated_code(member_id: int) -> str | None:
    db.session.expire_all()
    network_id = db.session.get(Member, member_id).validation_network_id
    return db.session.scalar(select(Network.code).where(Network.id == network_id))


def test_the_animation_role_is_a_pairs_and_is_refused_to_a_hors_pair(client_for, members):
    """SPEC §1: the animatrice is « pair + role animation ». Staff read every rubrique, so
    a hors pair given `animation` read the pairs' space (review of stop 52): the form
    refuses it under the roles, and a pair holding it who is moved behind the wall must
    lose it first."""
    admin, hors_pair, pair = members["admin"], members["hors_pair"], members["pair"]
    refused = client_for(admin).post(
        f"/admin/membres/{hors_pair.id}",
        data={"statut": "hors_pair", "network": "carif-oref", "roles": ["animation"]},
    )
    assert refused.status_code == 400
    assert "Le rôle « animation » est réservé aux pairs" in text(refused)
    [animation_box] = re.findall(r"<input[^>]*value=\"animation\"[^>]*>", refused.get_data(True))
    assert "checked" in animation_box  # what was typed stays
    db.session.expire_all()
    assert "animation" not in db.session.get(Member, hors_pair.id).role_set
    assert client_for(hors_pair).get("/r/premier-entretien").status_code == 404

    client_for(admin).post(
        f"/admin/membres/{pair.id}",
        data={"statut": "pair", "network": "apec", "roles": ["animation"]},
    )
    moved = client_for(admin).post(
        f"/admin/membres/{pair.id}",
        data={"statut": "hors_pair", "network": "centre-inffo", "roles": ["animation"]},
    )
    assert moved.status_code == 400
    db.session.expire_all()
    assert db.session.get(Member, pair.id).statut == "pair"


def test_a_hors_pair_row_carrying_the_animation_role_is_not_staff(client_for, make_member):
    """A row written around the services (SQL, an older database) does not open the wall
    either: `animation` counts on a pair only, in Python and in SQL alike."""
    from comcep import policy
    from tests.factories import make_topic

    writer = make_member(statut="pair")
    topic = make_topic(writer, title="Cas entre pairs", body="Un cas confidentiel.")
    hors_pair = make_member(statut="hors_pair", network="carif-oref")
    hors_pair.roles = "animation"
    db.session.commit()
    assert not hors_pair.is_staff
    assert client_for(hors_pair).get(f"/t/{topic.id}").status_code == 404
    assert client_for(hors_pair).get("/moderation").status_code == 404
    staff_ids = set(db.session.scalars(select(Member.id).where(policy.staff_members())))
    assert hors_pair.id not in staff_ids


def test_a_hors_pair_representative_validates_the_registrations_of_a_chosen_pairs_network(
    client_for, members
) -> None:
    """SPEC §1: the référent is « any + role validation for one network », and a network's
    representative is a hors pair: the admin names the pairs' network they validate for (it
    was always their own organisation, where no pair registers)."""
    admin, hors_pair = client_for(members["admin"]), members["hors_pair"]
    page = admin.get(f"/admin/membres/{hors_pair.id}")
    assert "Réseau dont il ou elle valide les inscriptions" in text(page)

    unnamed = name_referent(admin, hors_pair, None)
    assert unnamed.status_code == 400
    assert "Choisissez le réseau de pairs" in text(unnamed)
    assert _validated_code(hors_pair.id) is None

    not_pairs = name_referent(admin, hors_pair, "dgefp")
    assert not_pairs.status_code == 400  # not among the choices: pairs' networks only
    assert _validated_code(hors_pair.id) is None

    assert name_referent(admin, hors_pair, "apec").status_code == 302
    assert _validated_code(hors_pair.id) == "apec"
    [entry] = log_entries("update_member")
    assert json.loads(entry.details)["avant"]["valide"] is None
    # The role opens the registrations' page (which requests it lists: test_registration).
    assert client_for(hors_pair).get("/moderation/inscriptions").status_code == 200

    # Changing only the network validated is a change, journaled.
    name_referent(admin, hors_pair, "cap-emploi")
    assert _validated_code(hors_pair.id) == "cap-emploi"
    assert json.loads(log_entries("update_member")[-1].details)["avant"]["valide"] == "apec"


def test_a_pair_referent_moved_to_another_network_validates_the_new_one(
    members, client_for
) -> None:
    """A pair référent validates for their own network, and that follows a move: the form
    showed the network's code as chosen, so saving a move as shown left an Apec référent
    moved to Cap emploi deciding Apec's registrations (review C of stop 52)."""
    admin, referent = client_for(members["admin"]), members["referent_apec"]
    page = admin.get(f"/admin/membres/{referent.id}").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="validates".*?</select>', page, re.S).group(0)
    selected = re.search(r'<option(?=[^>]*\bselected\b)[^>]*value="([^"]*)"', select_html)
    assert selected.group(1) == ""  # « Son propre réseau (un pair) »
    moved = admin.post(
        f"/admin/membres/{referent.id}",
        data={"statut": "pair", "network": "cap-emploi", "roles": ["validation"]},
    )
    assert moved.status_code == 302
    assert _validated_code(referent.id) == "cap-emploi"


def test_dropping_a_legacy_animation_role_from_a_hors_pair_row_is_journaled(
    members, client_for, make_member
) -> None:
    """The journal read `role_set`, which does not count `animation` on a hors pair: saving
    such a row as shown removed the role with « Rien n'a changé » and no journal entry
    (review C of stop 52). The journal keeps the roles as stored."""
    hors_pair = make_member(statut="hors_pair", network="carif-oref")
    hors_pair.roles = "animation"
    db.session.commit()
    saved = client_for(members["admin"]).post(
        f"/admin/membres/{hors_pair.id}",
        data={"statut": "hors_pair", "network": "carif-oref"},
        follow_redirects=True,
    )
    assert "Le membre est mis à jour." in text(saved)
    db.session.expire_all()
    assert db.session.get(Member, hors_pair.id).roles == ""
    [entry] = log_entries("update_member")
    assert json.loads(entry.details)["avant"]["roles"] == ["animation"]
