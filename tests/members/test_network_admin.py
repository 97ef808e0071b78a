"""Administrators manage the networks of pairs and the organisations of hors pairs from the
web (SPEC §1, §3: networks are editable): add one, rename it, close it to newcomers, open it
again; each change journaled; nobody else may."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.members.models import Member, Network
from comcep.moderation.models import ModerationLog


def network(code: str) -> Network | None:
    db.session.expire_all()
    return db.session.scalar(select(Network).where(Network.code == code))


def journal(action: str) -> list[ModerationLog]:
    return list(db.session.scalars(select(ModerationLog).where(ModerationLog.action == action)))


NEW = {"kind": "pair", "name": "Réseau expérimental", "code": "reseau-experimental"}


def test_an_administrator_adds_a_network_that_newcomers_can_choose(
    members, client_for, client
) -> None:  # noqa: ANN001
    admin = client_for(members["admin"])
    assert "Réseaux des pairs" in admin.get("/admin/reseaux").get_data(as_text=True)

    response = admin.post("/admin/reseaux", data=NEW)

    assert response.status_code == 302
    created = network("reseau-experimental")
    assert created is not None
    assert (created.kind, created.name, created.active) == ("pair", "Réseau expérimental", True)
    assert journal("network_create")[0].actor_id == members["admin"].id
    assert "Réseau expérimental" in client.get("/inscription").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**NEW, "code": "Réseau Expé"}, "minuscules, chiffres et tirets"),
        ({**NEW, "code": "apec"}, "Ce code est déjà pris."),
        ({**NEW, "name": "APEC"}, "déjà celui d'un autre réseau"),
        ({**NEW, "name": " "}, "Indiquez le nom."),
        ({**NEW, "kind": "autre"}, "Not a valid choice"),
        ({**NEW, "code": "x" * 41}, "40 caractères au plus."),
    ],
    ids=["code", "code-taken", "name-taken", "empty", "kind", "long-code"],
)
def test_a_bad_network_is_refused_with_what_was_typed(members, client_for, data, message) -> None:  # noqa: ANN001
    response = client_for(members["admin"]).post("/admin/reseaux", data=data)

    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert message in page or message == "Not a valid choice"
    assert data["name"].strip() in page
    assert network("reseau-experimental") is None


def test_renaming_and_closing_a_network_keeps_its_members_and_is_journaled(
    members,
    client_for,
    client,  # noqa: ANN001
) -> None:
    admin = client_for(members["admin"])
    apec = network("apec")

    renamed = admin.post(
        f"/admin/reseaux/{apec.id}", data={"action": "nom", "name": "Apec (cadres)"}
    )
    closed = admin.post(f"/admin/reseaux/{apec.id}", data={"action": "fermer"})

    assert (renamed.status_code, closed.status_code) == (302, 302)
    apec = network("apec")
    assert (apec.name, apec.active) == ("Apec (cadres)", False)
    assert db.session.get(Member, members["referent_apec"].id).network_id == apec.id
    assert "Apec (cadres)" not in client.get("/inscription").get_data(as_text=True)
    assert len(journal("network_update")) == 2
    told = admin.get("/admin/reseaux")  # each action says what it did (review of stop 52)
    assert "« Apec (cadres) » est fermé : il n'est plus proposé aux nouveaux venus" in unescape(
        told.get_data(as_text=True)
    )
    reopened = admin.post(
        f"/admin/reseaux/{apec.id}", data={"action": "rouvrir"}, follow_redirects=True
    )
    assert "« Apec (cadres) » est rouvert aux nouveaux venus." in unescape(
        reopened.get_data(as_text=True)
    )
    assert network("apec").active is True
    unchanged = admin.post(
        f"/admin/reseaux/{apec.id}", data={"action": "rouvrir"}, follow_redirects=True
    )
    assert "Rien n'a changé." in unescape(unchanged.get_data(as_text=True))
    assert len(journal("network_update")) == 3


def test_a_rename_to_a_taken_name_keeps_what_was_typed_under_its_row(members, client_for) -> None:  # noqa: ANN001
    apec = network("apec")

    response = client_for(members["admin"]).post(
        f"/admin/reseaux/{apec.id}",
        data={"action": "nom", "name": "FRANCE TRAVAIL (ANCIENNEMENT PÔLE EMPLOI)"},
    )

    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert 'value="FRANCE TRAVAIL (ANCIENNEMENT PÔLE EMPLOI)"' in page
    assert "déjà celui d'un autre réseau" in page
    assert network("apec").name == "Apec"


@pytest.mark.parametrize("who", ["pair", "hors_pair", "animation", "referent_apec", "comite"])
def test_only_administrators_manage_networks(members, client_for, who) -> None:  # noqa: ANN001
    client = client_for(members[who])
    apec = network("apec")

    assert client.get("/admin/reseaux").status_code == 404
    assert client.post("/admin/reseaux", data=NEW).status_code == 404
    assert client.post(f"/admin/reseaux/{apec.id}", data={"action": "fermer"}).status_code == 404
    assert network("apec").active is True
    assert network("reseau-experimental") is None


def test_an_unknown_action_or_network_is_a_4xx(members, client_for) -> None:  # noqa: ANN001
    admin = client_for(members["admin"])
    apec = network("apec")

    assert admin.post(f"/admin/reseaux/{apec.id}", data={"action": "supprimer"}).status_code == 400
    assert admin.post("/admin/reseaux/999999", data={"action": "fermer"}).status_code == 404
