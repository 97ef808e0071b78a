"""Administration, second reading: the last-administrator rule against a concurrent leave,
the names and the closing of networks (/admin/reseaux), the switches of a thème."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Topic
from comcep.members.models import Member, Network
from tests.conftest import PASSWORD
from tests.factories import category, make_topic


def _active_admins() -> list[int]:
    db.session.expire_all()
    return [
        m.id
        for m in db.session.scalars(select(Member).where(Member.state == "active"))
        if "admin" in m.role_set
    ]


def network(code: str) -> Network | None:
    db.session.expire_all()
    return db.session.scalar(select(Network).where(Network.code == code))


# --- The last administrator -------------------------------------------------------------


@pytest.mark.usefixtures("request_scoped_clients")
def test_two_admins_leaving_at_the_same_moment_leave_one_behind(
    members, make_member, client_for, monkeypatch
) -> None:
    """Two administrators (the only two) clicking « Quitter » together: the second's request
    runs while the first is between its check and its write. One of them must stay (the
    check was once made with nothing held until the write)."""
    first, second = members["admin"], make_member("hors_pair", roles=("admin",), name="Admin 2")
    c1, c2 = client_for(first), client_for(second)
    data = {"password": PASSWORD, "confirm": "y"}
    original = Member.check_password
    state = {"nested": False, "inner": None}

    def check_password(self, password):  # noqa: ANN001, ANN202
        # `first` is between the password check and leaving: second's request runs now.
        if self.id == first.id and not state["nested"]:
            state["nested"] = True
            state["inner"] = c2.post("/compte/quitter", data=data).status_code
        return original(self, password)

    monkeypatch.setattr(Member, "check_password", check_password)
    outer = c1.post("/compte/quitter", data=data).status_code

    assert state["inner"] == 302  # second left while first was still active
    assert outer != 302 or _active_admins(), "both admins left: the site has no administrator"


# --- A thème's switches -----------------------------------------------------------------


def test_a_theme_that_holds_topics_keeps_its_switches_when_it_gets_a_rubrique(
    members, client_for
) -> None:
    """« Divers » takes topics directly; once a rubrique is added to it, its topics stay in
    it, and still obey its switches (read only, solutions, attachments), but those can no
    longer be set: the admin cannot make its topics read-only any more."""
    admin = client_for(members["admin"])
    topic = make_topic(members["pair"], "divers", "Un sujet de Divers")
    divers = category("divers")
    created = admin.post(
        "/admin/rubriques/nouvelle",
        data={"name": "Petites questions", "parent": str(divers.id), "group": ""},
    )
    assert created.status_code == 302
    db.session.expire_all()
    assert db.session.get(Topic, topic.id).category_id == divers.id  # still in the thème

    saved = admin.post(
        f"/admin/rubriques/{divers.id}", data={"read_only": "y"}, follow_redirects=True
    )

    db.session.expire_all()
    page = unescape(saved.get_data(as_text=True))
    refused = "ses rubriques ont chacune leurs réglages" in page
    assert category("divers").read_only is True, f"refused with its own message: {refused}"


# --- /admin/reseaux -----------------------------------------------------------------------


def test_a_network_name_spelt_with_a_decomposed_accent_is_the_same_name(
    members, client_for
) -> None:
    """« Ce nom est déjà celui d'un autre réseau » compares casefolded names without
    Unicode normalisation: the same name typed with « o + ◌̂ » (NFD, as macOS or a copy
    from a PDF gives it) is taken as new, and the registration list shows two identical
    « France Travail (anciennement Pôle emploi) »."""
    existing = network("france-travail").name
    assert "Pôle" in existing
    lookalike = existing.replace("ô", "o\u0302")

    response = client_for(members["admin"]).post(
        "/admin/reseaux", data={"kind": "pair", "name": lookalike, "code": "ft-bis"}
    )

    assert response.status_code == 400
    assert network("ft-bis") is None


@pytest.mark.parametrize(
    "name",
    ["\u200b\u200b", "Apec\x01bis", "\u202eceps-noisseforp"],
    ids=["zero-width-only", "control-character", "bidi-override"],
)
def test_a_network_name_of_invisible_or_control_characters_is_refused(
    members, client_for, name
) -> None:
    """Titles refuse control characters (`_no_control_characters`); a network's name,
    shown in every registration select, member list and analyses table, takes them, and a
    name made only of zero-width spaces passes « 2 à 120 caractères »."""
    response = client_for(members["admin"]).post(
        "/admin/reseaux", data={"kind": "pair", "name": name, "code": "invisible"}
    )

    assert response.status_code == 400
    assert network("invisible") is None


def test_closing_the_last_open_network_of_pairs_is_refused(members, client_for, client) -> None:
    """Nothing stops an administrator from closing every network of pairs: the
    registration form then offers only « Choisissez… » and nobody can ask to join, with no
    word on the admin page or the registration page."""
    admin = client_for(members["admin"])
    pair_networks = list(
        db.session.scalars(select(Network).where(Network.kind == "pair", Network.active))
    )
    statuses = [
        admin.post(f"/admin/reseaux/{n.id}", data={"action": "fermer"}).status_code
        for n in pair_networks
    ]

    still_open = [n.code for n in pair_networks if network(n.code).active]
    assert still_open, f"every network of pairs closed ({statuses}): registration is impossible"


def test_a_refused_rename_is_announced_like_the_other_form_errors(members, client_for) -> None:
    """A refused « Ajouter » shows the error summary (role="alert", links to the fields);
    a refused « Renommer » reloads the page with its message deep in a table row, nothing
    announced: a screen-reader user hears the page title and does not learn it failed."""
    apec = network("apec")

    response = client_for(members["admin"]).post(
        f"/admin/reseaux/{apec.id}", data={"action": "nom", "name": "Cap emploi"}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="n{apec.id}-name-error"' in page
    assert 'role="alert"' in page
    assert f'href="#n{apec.id}-name"' in page
