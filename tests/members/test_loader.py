"""The session loader: the member and their groups' ids in one statement."""

from __future__ import annotations

from sqlalchemy import select

from comcep.extensions import db
from comcep.members.models import Group
from comcep.members.queries import load_member
from comcep.members.services import create_member
from comcep.policy import Viewer


def _two_groups(make_member):  # noqa: ANN001, ANN202
    member = make_member(groups=("Groupe pilote",))
    other = Group(name="Groupe régional")
    db.session.add(other)
    member.groups.append(other)
    db.session.commit()
    return member, frozenset(group.id for group in member.groups)


def test_the_viewer_gets_the_groups_read_with_the_member(app, make_member, count_queries) -> None:
    member, expected = _two_groups(make_member)
    assert len(expected) == 2
    db.session.expunge_all()
    with count_queries() as statements:
        loaded = load_member(member.get_id())
        viewer = Viewer.for_member(loaded)
    assert len(statements) == 1
    assert viewer.group_ids == expected
    assert "groups" not in loaded.__dict__  # read as ids: no collection of mapped objects


def test_a_member_without_groups_and_a_bad_id(app, make_member) -> None:
    member = make_member()
    db.session.expunge_all()
    assert Viewer.for_member(load_member(member.get_id())).group_ids == frozenset()
    assert load_member("nobody") is None
    assert load_member("999999") is None


def test_groups_changed_during_the_request_are_those_counted(app, make_member) -> None:
    member, expected = _two_groups(make_member)
    db.session.expunge_all()
    loaded = load_member(member.get_id())
    assert loaded.group_id_set == expected
    loaded.groups.clear()  # an admin editing their own groups, say
    assert loaded.group_id_set == frozenset()
    pilot = db.session.scalar(select(Group).where(Group.name == "Groupe pilote"))
    loaded.groups.append(pilot)
    assert loaded.group_id_set == {pilot.id}


def test_a_member_read_otherwise_loads_the_groups(app) -> None:
    member = create_member(
        email="autre@exemple.fr",
        name="Autre",
        statut="pair",
        network_code="apec",
        region_code="bretagne",
        password="mot-de-passe-assez-long",
        groups=("Groupe pilote",),
    )
    db.session.commit()
    db.session.expunge_all()
    plain = db.session.get(type(member), member.id)
    assert plain.loaded_group_ids is None
    assert len(plain.group_id_set) == 1
