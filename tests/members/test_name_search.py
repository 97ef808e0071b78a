"""Member names are found without accents or case (« helene » finds « Hélène »), in the
members list and the @mention completion alike, through the wall (SPEC §4)."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.members.models import Member, fold_name
from tests.factories import make_topic


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Hélène Lefèvre", "helene lefevre"),
        ("ÉLODIE  Œuvray", "elodie oeuvray"),
        ("Anaïs D’Aubigné", "anais d'aubigne"),
        ("François-Xavier Ça", "francois-xavier ca"),
    ],
    ids=["accents", "capitals-ligature", "apostrophe", "cedilla"],
)
def test_names_fold_to_lowercase_without_accents(name, key) -> None:
    assert fold_name(name) == key


def test_the_key_follows_every_change_of_name(make_member) -> None:
    member = make_member(name="Hélène Martin")
    member.display_name = "Zoé Ébrard"
    db.session.commit()
    db.session.expire_all()
    key = db.session.scalar(select(Member.name_key).where(Member.id == member.id))
    assert key == "zoe ebrard"


@pytest.mark.parametrize("query", ["helene", "HELENE", "Hélène", "hélene mar", "lène"])
def test_the_members_list_finds_helene_however_it_is_typed(
    members, make_member, client_for, query
) -> None:
    make_member(name="Hélène Martin")
    make_member(name="Henri Leroy")
    page = unescape(client_for(members["pair"]).get("/membres", query_string={"q": query}).text)
    assert "Hélène Martin" in page
    assert "Henri Leroy" not in page


@pytest.mark.parametrize("prefix", ["hel", "HÉL", "helene m", "Hélè"])
def test_mention_completion_finds_helene_however_it_is_typed(
    members, make_member, client_for, prefix
) -> None:
    make_member(name="Hélène Martin")
    make_member(name="Henri Leroy")
    response = client_for(members["pair"]).get("/membres/suggestions", query_string={"q": prefix})
    assert response.get_json()["noms"] == ["Hélène Martin"]


def test_a_hors_pair_finds_without_accents_only_the_members_it_may_see(
    members, make_member, client_for
) -> None:
    hidden = make_member(name="Hélène Garnier")
    make_topic(hidden, slug="premier-entretien", title="Entre pairs", body="Seulement.")
    seen = make_member(name="Hélène Vidal")
    make_topic(seen, slug="echanges", title="Ouvert à tous", body="Bonjour à tous.")
    hors_pair = client_for(members["hors_pair"])
    page = unescape(hors_pair.get("/membres", query_string={"q": "helene"}).text)
    assert "Hélène Vidal" in page
    assert "Hélène Garnier" not in page
    response = hors_pair.get("/membres/suggestions", query_string={"q": "helene"})
    assert response.get_json()["noms"] == ["Hélène Vidal"]
