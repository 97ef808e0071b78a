"""Networks that no longer exist (SPEC §3: `fongecif-opacif`, history) are closed to
newcomers and kept for the members who belong to them, their filters and the analyses."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from comcep import create_app
from comcep.errors import ComcepError
from comcep.extensions import db
from comcep.members import membership
from comcep.members.models import Member, Network
from config import TestConfig

HISTORICAL = "fongecif-opacif"


def _application(network: str) -> dict[str, str]:
    return {
        "name": "Claire Martin",
        "email": "claire.martin@exemple.fr",
        "network": network,
        "organisation": "Fongecif Bretagne",
        "region": "bretagne",
        "motivation": "Échanger entre pairs.",
        "password": "Un-Mot-De-Passe-Solide-42",
    }


def test_the_historical_network_is_inactive_and_the_others_active(app) -> None:  # noqa: ANN001
    active = dict(db.session.execute(select(Network.code, Network.active)).all())
    assert active.pop(HISTORICAL) is False
    assert all(active.values())


def test_registration_does_not_offer_a_network_that_no_longer_exists(client) -> None:  # noqa: ANN001
    page = client.get("/inscription").get_data(as_text=True)
    assert 'value="france-travail"' in page
    assert f'value="{HISTORICAL}"' not in page

    response = client.post("/inscription", data=_application(HISTORICAL))
    assert response.status_code == 400
    assert "Ce réseau n'existe plus" in unescape(response.get_data(as_text=True))
    assert db.session.scalar(select(Member).where(Member.email.like("claire%"))) is None


def test_the_registration_service_refuses_an_inactive_network(app) -> None:  # noqa: ANN001
    fields = _application(HISTORICAL)
    fields["network_code"] = fields.pop("network")
    fields["region_code"] = fields.pop("region")
    with app.test_request_context(), pytest.raises(ComcepError, match="n'existe plus"):
        membership.register(**fields)


def test_an_invitation_cannot_use_an_inactive_network(app, members) -> None:  # noqa: ANN001
    with app.test_request_context(), pytest.raises(ComcepError, match="n'existe plus"):
        membership.invite(
            members["admin"],
            email="ancien@exemple.fr",
            name="Ancien Fongecif",
            statut="pair",
            network_code=HISTORICAL,
            region_code="bretagne",
            organisation="",
        )


def test_members_of_a_historical_network_keep_it_in_lists_and_administration(
    client_for, members, make_member
) -> None:
    # joined while the network existed (creating one in it now is refused, even by the CLI)
    former = make_member(name="Conseillère Fongecif")
    former.network = db.session.scalar(select(Network).where(Network.code == HISTORICAL))
    db.session.commit()
    pair = client_for(members["pair"])

    listing = pair.get(f"/membres?network={HISTORICAL}").get_data(as_text=True)
    assert f'value="{HISTORICAL}"' in listing
    assert "Conseillère Fongecif" in listing
    admin_page = client_for(members["admin"]).get(f"/admin/membres/{former.id}")
    assert admin_page.status_code == 200
    assert f'<option selected value="{HISTORICAL}">' in admin_page.get_data(as_text=True)


def test_the_migration_closes_the_historical_network_of_an_existing_database(
    tmp_path: Path,
) -> None:
    fresh = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        INSTANCE_PATH=str(tmp_path),
        SEARCH_INDEX_PATH=str(tmp_path / "search-index"),
        UPLOAD_PATH=str(tmp_path / "uploads"),
    )
    code_is = Network.code == HISTORICAL
    with fresh.app_context():
        try:
            upgrade(revision="9d41c7a2e5b3")
            db.session.execute(db.update(Network).where(code_is).values(active=True))
            db.session.commit()
            upgrade()
            assert db.session.scalar(select(Network.active).where(code_is)) is False
            db.session.remove()
            downgrade(revision="9d41c7a2e5b3")
            assert db.session.scalar(select(Network.active).where(code_is)) is True
        finally:
            db.session.remove()
            db.engine.dispose()
