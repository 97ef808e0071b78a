"""Admins set each rubrique's switches from the web (attachments, « accepte les solutions »,
read only…), journaled; the animatrice gets a 403, others the 404 of a missing page."""

from __future__ import annotations

import re
from html import unescape

import pytest

from comcep.extensions import db
from comcep.forum.models import Category
from comcep.moderation.models import ModerationLog
from tests.factories import category, make_topic


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
    the rubrique's name without the link (found by tests/test_crawl.py)."""
    rubrique = category("premier-entretien")
    client_for(members["admin"]).post(f"/admin/rubriques/{rubrique.id}", data={})
    link = f'href="/admin/rubriques#c{rubrique.id}"'
    for role, linked in (("admin", True), ("animation", False)):
        journal = client_for(members[role]).get("/moderation/journal").text
        assert f"rubrique « {rubrique.name} »" in journal
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


# --- Editing and creating rubriques -----------------------------------------------------


def test_an_admin_renames_a_rubrique_whose_address_stays(members, client_for) -> None:
    rubrique = category("premier-entretien")
    admin = client_for(members["admin"])
    form = admin.get(f"/admin/rubriques/{rubrique.id}/modifier")
    assert form.status_code == 200
    assert 'value="Le premier entretien"' in form.text
    response = admin.post(
        f"/admin/rubriques/{rubrique.id}/modifier",
        data={"name": "Premiers entretiens", "description": "Les débuts.", "position": "3"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    renamed = db.session.get(Category, rubrique.id)
    assert (renamed.slug, renamed.name, renamed.description, renamed.position) == (
        "premier-entretien",
        "Premiers entretiens",
        "Les débuts.",
        3,
    )
    assert "Premiers entretiens" in client_for(members["pair"]).get("/r/premier-entretien").text
    journal = admin.get("/moderation/journal?action=category_update").text
    assert "nom avant : Le premier entretien" in journal


def test_opening_a_pairs_rubrique_to_hors_pairs_asks_for_confirmation(members, client_for) -> None:
    """Everything already written there becomes readable by hors pairs: the admin must say
    so; without it nothing changes and the form says why, under the box to tick."""
    topic = make_topic(members["pair"], title="Un cas entre pairs", body="Entre nous.")
    rubrique = category("premier-entretien")
    admin = client_for(members["admin"])
    data = {"name": rubrique.name, "position": str(rubrique.position), "open_to_hors_pairs": "y"}
    hors_pair = client_for(members["hors_pair"])
    theme = category("echanges-hors-pairs")
    refused = admin.post(f"/admin/rubriques/{rubrique.id}/modifier", data=data)
    assert refused.status_code == 400
    assert 'id="confirm_opening-error"' in refused.text
    assert "les hors pairs pourront lire ce qui est déjà publié ici (1 sujet)." in refused.text
    assert '<input checked id="open_to_hors_pairs"' in refused.text  # kept as ticked
    db.session.expire_all()
    assert not db.session.get(Category, rubrique.id).open_to_hors_pairs
    assert category("echanges").parent_id == theme.id  # the hors pairs' own thème
    confirmed = admin.post(
        f"/admin/rubriques/{rubrique.id}/modifier", data={**data, "confirm_opening": "y"}
    )
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Category, rubrique.id).open_to_hors_pairs
    # Its thème (« Les échanges de pratiques ») is closed to hors pairs: still unreadable.
    assert hors_pair.get(f"/t/{topic.id}").status_code == 404
    # Opening the thème would open it: the thème's form counts its rubriques' topics.
    parent = db.session.get(Category, rubrique.id).parent
    theme_data = {"name": parent.name, "open_to_hors_pairs": "y"}
    theme_refused = admin.post(f"/admin/rubriques/{parent.id}/modifier", data=theme_data)
    assert theme_refused.status_code == 400
    assert "(1 sujet, ses rubriques comprises)." in theme_refused.text
    assert hors_pair.get(f"/t/{topic.id}").status_code == 404


def test_an_admin_creates_a_rubrique_in_a_theme_and_a_new_theme(members, client_for) -> None:
    admin = client_for(members["admin"])
    form = admin.get("/admin/rubriques/nouvelle")
    assert form.status_code == 200
    theme = category("echanges-hors-pairs")
    created = admin.post(
        "/admin/rubriques/nouvelle",
        data={"parent": str(theme.id), "name": "Veille partagée", "open_to_hors_pairs": "y"},
    )
    assert created.status_code == 302
    rubrique = category("veille-partagee")
    assert (rubrique.parent_id, rubrique.open_to_hors_pairs) == (theme.id, True)
    # Hors pairs read it and open topics there; it is on the index.
    hors_pair = client_for(members["hors_pair"])
    assert "Veille partagée" in hors_pair.get("/").text
    opened = hors_pair.post(
        "/r/veille-partagee/nouveau-sujet", data={"title": "Une veille", "body": "Des liens."}
    )
    assert opened.status_code == 302
    seen = hors_pair.get("/").text.count("Veille partagée")
    again = admin.post("/admin/rubriques/nouvelle", data={"parent": "", "name": "Veille partagée"})
    assert again.status_code == 302
    assert category("veille-partagee-2").parent_id is None  # a new thème, its own address
    assert "Veille partagée" in client_for(members["pair"]).get("/").text
    assert hors_pair.get("/").text.count("Veille partagée") == seen  # a pairs' thème
    journal = admin.get("/moderation/journal?action=category_create").text
    assert journal.count("<td>Rubrique créée</td>") == 2


@pytest.mark.parametrize(("role", "status"), [("animation", 403), ("pair", 404)])
def test_only_admins_edit_or_create_rubriques(members, client_for, role, status) -> None:
    client = client_for(members[role])
    rubrique = category("premier-entretien")
    assert client.get(f"/admin/rubriques/{rubrique.id}/modifier").status_code == status
    assert client.get("/admin/rubriques/nouvelle").status_code == status
    posted = client.post(f"/admin/rubriques/{rubrique.id}/modifier", data={"name": "Autre"})
    assert posted.status_code == status
    assert category("premier-entretien").name == "Le premier entretien"


def test_a_bad_rubrique_form_keeps_what_was_typed(members, client_for) -> None:
    admin = client_for(members["admin"])
    rubrique = category("premier-entretien")
    response = admin.post(
        f"/admin/rubriques/{rubrique.id}/modifier",
        data={"name": "", "description": "Texte gardé", "position": "beaucoup"},
    )
    assert response.status_code == 400
    assert "Indiquez le nom." in response.text
    assert "Texte gardé" in response.text
    assert 'value="beaucoup"' in response.text


def test_closing_and_reopening_the_hors_pairs_rubrique_moves_the_wall_at_once(
    members, client_for
) -> None:
    topic = make_topic(members["pair"], slug="echanges", title="Question aux partenaires")
    rubrique = category("echanges")
    admin, hors_pair = client_for(members["admin"]), client_for(members["hors_pair"])
    url = f"/admin/rubriques/{rubrique.id}/modifier"
    assert hors_pair.get(f"/t/{topic.id}").status_code == 200
    closed = admin.post(url, data={"name": rubrique.name, "position": str(rubrique.position)})
    assert closed.status_code == 302
    assert hors_pair.get(f"/t/{topic.id}").status_code == 404
    assert "Question aux partenaires" not in hors_pair.get("/actifs").text
    data = {"name": rubrique.name, "open_to_hors_pairs": "y", "confirm_opening": "y"}
    assert admin.post(url, data=data).status_code == 302
    assert hors_pair.get(f"/t/{topic.id}").status_code == 200
    assert "Question aux partenaires" in hors_pair.get("/actifs").text


def test_lifting_the_staff_only_restriction_asks_for_confirmation_too(members, client_for) -> None:
    """The staff's own rubrique opened to every pair shows them its past discussions: said
    in words, as for hors pairs."""
    topic = make_topic(members["animation"], slug="coin-des-animateurs", title="Entre nous")
    rubrique = category("coin-des-animateurs")
    assert rubrique.staff_only
    admin, pair = client_for(members["admin"]), client_for(members["pair"])
    url = f"/admin/rubriques/{rubrique.id}/modifier"
    data = {"name": rubrique.name, "position": str(rubrique.position)}
    refused = admin.post(url, data=data)
    assert refused.status_code == 400
    assert "d'autres membres pourront lire ce qui est déjà publié ici (1 sujet, ses" in (
        refused.text.replace("&#39;", "'")
    )
    assert pair.get(f"/t/{topic.id}").status_code == 404
    assert admin.post(url, data={**data, "confirm_opening": "y"}).status_code == 302
    assert pair.get(f"/t/{topic.id}").status_code == 200


def test_a_theme_with_rubriques_has_no_switches_of_its_own(members, client_for) -> None:  # noqa: ANN001
    """A thème with rubriques takes no topic itself: « Lecture seule » set on it saved,
    journaled, and did nothing (review). It now has no switches, and saving some is
    refused with a French message; its rubriques keep theirs."""
    admin = client_for(members["admin"])
    theme = category("echanges-de-pratiques")

    page = unescape(admin.get("/admin/rubriques").get_data(as_text=True))
    response = admin.post(
        f"/admin/rubriques/{theme.id}", data={"read_only": "y"}, follow_redirects=True
    )

    assert f'action="/admin/rubriques/{theme.id}"' not in page
    assert f'action="/admin/rubriques/{category("premier-entretien").id}"' in page
    assert "ses rubriques ont chacune leurs réglages" in unescape(response.get_data(as_text=True))
    db.session.expire_all()
    assert category("echanges-de-pratiques").read_only is False
