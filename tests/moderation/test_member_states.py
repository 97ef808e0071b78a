"""Suspension tools touch members only: lifting a « suspension » must never activate a
registration request nobody validated, nor bring back the anonymised account of a member
who left (SPEC §4: pending → active only through the référent; left is final)."""

from __future__ import annotations

import pytest

from comcep.extensions import db
from comcep.members import membership
from comcep.members.models import Member
from tests.moderation.helpers import log_entries, reload, text_of


@pytest.mark.parametrize(
    ("action", "days"),
    [("lift", None), ("suspend", "3"), ("silence", "2")],
    ids=["lift", "suspend", "silence"],
)
@pytest.mark.parametrize("state", ["pending", "left"])
def test_suspension_tools_refuse_pending_and_former_members(
    members, client_for, make_member, state, action, days
) -> None:
    target = make_member(state="pending") if state == "pending" else make_member()
    if state == "left":
        membership.anonymise(target)
        db.session.commit()
    data = {"action": action, "reason": "Essai."}
    if days:
        data["days"] = days

    response = client_for(members["animation"]).post(f"/membres/{target.id}/moderer", data=data)

    assert response.status_code == 400
    expected = {"pending": "attend encore la validation", "left": "a quitté la ComCEP"}
    assert expected[state] in text_of(response)
    stored = reload(Member, target.id)
    assert stored.state == state
    assert stored.silenced_until is None
    assert log_entries() == []


def test_the_admin_form_gives_no_role_to_a_former_member(members, client_for, make_member) -> None:
    former = make_member(network="apec")
    membership.anonymise(former)
    db.session.commit()

    response = client_for(members["admin"]).post(
        f"/admin/membres/{former.id}",
        data={"statut": "pair", "network": "apec", "roles": ["admin", "validation"]},
    )

    assert response.status_code == 400
    assert "a quitté la ComCEP" in text_of(response)
    stored = reload(Member, former.id)
    assert (stored.roles, stored.validation_network_id) == ("", None)
    assert log_entries() == []
