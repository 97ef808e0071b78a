"""Admins set each rubrique's switches from the web (attachments, « accepte les solutions »,
read only…), journaled; the animatrice gets a 403, others the 404 of a missing page."""

from __future__ import annotations

import re

import pytest

from comcep.extensions import db
from comcep.forum.models import Category
from comcep.moderation.models import ModerationLog
from tests.factories import category


def flags_of(slug: str) -> tuple[bool, bool]:
    db.session.expire_all()
    rubrique = category(slug)
    return rubrique.attachments_enabled, rubrique.accepts_solutions


def test_an_admin_toggles_attachments_and_solutions_and_it_is_journaled(
    members, client_for
) -> None:
    admin = client_for(members["admin"])
    rubrique = category("premier-entretien")
    page = admin.get("/admin/rubriques")
    assert page.status_code == 200
    assert f'id="c{rubrique.id}-accepts_solutions"' in page.text
    assert "Accepte les solutions" in page.text
    wanted = {"accepts_solutions": "y"}  # attachments off, solutions on
    response = admin.post(f"/admin/rubriques/{rubrique.id}", data=wanted)
    assert response.status_code == 302
    assert flags_of("premier-entretien") == (False, True)
    entry = db.session.scalars(
        db.select(ModerationLog).where(ModerationLog.action == "category_update")
    ).one()
    assert entry.actor_id == members["admin"].id
    assert entry.target_id == rubrique.id
    journal = admin.get("/moderation/journal?action=category_update").text
    assert "Rubrique modifiée" in journal
    # Nothing changed: nothing journaled.
    admin.post(f"/admin/rubriques/{rubrique.id}", data=wanted)
    assert (
        db.session.scalar(
            db.select(db.func.count(ModerationLog.id)).where(
                ModerationLog.action == "category_update"
            )
        )
        == 1
    )


def test_the_journal_links_a_rubrique_change_for_the_admin_only(members, client_for) -> None:
    """The animatrice reads the journal too, but /admin/rubriques answers her 403: she gets
    the rubrique's number without the link (found by tests/test_crawl.py)."""
    rubrique = category("premier-entretien")
    client_for(members["admin"]).post(f"/admin/rubriques/{rubrique.id}", data={})
    link = f'href="/admin/rubriques#c{rubrique.id}"'
    for role, linked in (("admin", True), ("animation", False)):
        journal = client_for(members[role]).get("/moderation/journal").text
        assert f"rubrique réf. {rubrique.id}" in journal
        assert (link in journal) is linked, role


def test_switching_attachments_off_hides_the_field_and_refuses_files(members, client_for) -> None:
    import io

    admin = client_for(members["admin"])
    rubrique = category("je-partage-mes-outils")
    assert rubrique.attachments_enabled
    admin.post(f"/admin/rubriques/{rubrique.id}", data={})
    assert not flags_of("je-partage-mes-outils")[0]
    pair = client_for(members["pair"])
    form = pair.get("/r/je-partage-mes-outils/nouveau-sujet").text
    assert 'name="attachments"' not in form
    refused = pair.post(
        "/r/je-partage-mes-outils/nouveau-sujet",
        data={
            "title": "Un titre soigné",
            "body": "Mon texte.",
            "submit": "1",
            "attachments": [(io.BytesIO(b"a;b\n1;2\n"), "liste.csv")],
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert "Les pièces jointes sont désactivées" in refused.text


@pytest.mark.parametrize(
    ("role", "status"),
    [("animation", 403), ("pair", 404), ("hors_pair", 404), ("comite", 404)],
)
def test_only_admins_manage_rubriques(members, client_for, role, status) -> None:
    client = client_for(members[role])
    rubrique = category("premier-entretien")
    before = flags_of("premier-entretien")
    assert client.get("/admin/rubriques").status_code == status
    response = client.post(f"/admin/rubriques/{rubrique.id}", data={"accepts_solutions": "y"})
    assert response.status_code == status
    assert flags_of("premier-entretien") == before


def test_anonymous_is_sent_to_the_login_page(client) -> None:
    assert client.get("/admin/rubriques").status_code == 302


def test_a_rubrique_update_without_csrf_token_changes_nothing(
    app, members, client_for, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    rubrique = category("premier-entretien")
    before = flags_of("premier-entretien")
    response = client_for(members["admin"]).post(
        f"/admin/rubriques/{rubrique.id}", data={"accepts_solutions": "y"}
    )
    assert response.status_code == 400
    assert flags_of("premier-entretien") == before


def test_an_unknown_rubrique_is_a_404(members, client_for) -> None:
    assert client_for(members["admin"]).post("/admin/rubriques/999999", data={}).status_code == 404


def test_the_page_repeats_no_id(app, members, client_for, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    html = client_for(members["admin"]).get("/admin/rubriques").text
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert db.session.scalar(db.select(db.func.count(Category.id))) > 10
