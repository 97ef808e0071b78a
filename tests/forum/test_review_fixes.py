"""Fixes from the acceptance review of issues 2, 4 and 11: forms that keep what was typed,
stable URLs, unique ids, notices instead of forms that would fail."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Category, Topic
from tests.factories import make_topic


def duplicate_ids(html: str) -> list[str]:
    counts = Counter(re.findall(r'\sid="([^"]+)"', html))
    return sorted(name for name, n in counts.items() if n > 1)


@pytest.mark.parametrize("role", ["pair", "animation"])
def test_no_page_repeats_an_id_even_with_several_forms(
    app, members, client_for, role, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # each form has its token
    topic = make_topic(members["pair"], replies=[(members["other_pair"], "Réponse.")])
    client = client_for(members[role])
    pages = ["/", "/r/premier-entretien", f"/t/{topic.id}", "/actifs", "/non-lus", "/compte"]
    for url in pages:
        page = client.get(url, follow_redirects=True)
        assert page.status_code == 200, url
        assert duplicate_ids(page.text) == [], url


def test_a_wrong_or_old_slug_redirects_permanently_to_the_topic_url(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Un entretien difficile")
    client = client_for(members["pair"])
    for wrong in ["ancien-titre", "un-entretien"]:
        response = client.get(f"/t/{topic.id}/{wrong}?page=1")
        assert response.status_code == 301
        assert response.headers["Location"].endswith(f"/t/{topic.id}/{topic.slug}?page=1")
    assert client.get(f"/t/{topic.id}/{topic.slug}").status_code == 200
    assert client.get(f"/t/{topic.id}").status_code == 200
    assert client.get(f"/t/{topic.id + 1000}/{topic.slug}").status_code == 404


@pytest.mark.parametrize("role", ["pair", "animation", "admin"])
def test_a_theme_with_rubriques_takes_no_topic_directly(members, client_for, role) -> None:
    client = client_for(members[role])
    theme_page = client.get("/r/echanges-de-pratiques")
    assert "/r/echanges-de-pratiques/nouveau-sujet" not in theme_page.text
    form = client.get("/r/echanges-de-pratiques/nouveau-sujet")
    assert form.status_code == 403
    assert "ouvrez votre sujet dans l'une de ses rubriques" in unescape(form.text)
    sent = client.post(
        "/r/echanges-de-pratiques/nouveau-sujet",
        data={"title": "Sujet dans le thème", "body": "Texte.", "submit": "1"},
    )
    assert sent.status_code == 403
    assert db.session.scalar(select(func.count(Topic.id))) == 0
    # A thème without rubriques (Divers) and a rubrique still take topics.
    assert client.get("/r/divers/nouveau-sujet").status_code == 200
    assert client.get("/r/premier-entretien/nouveau-sujet").status_code == 200


def test_a_silenced_member_reads_a_notice_with_the_end_date_instead_of_forms(
    members, client_for
) -> None:
    topic = make_topic(members["other_pair"])
    member = members["pair"]
    member.silenced_until = datetime(2099, 3, 14, 9, 30, tzinfo=UTC)
    db.session.commit()
    client = client_for(member)
    expected = "Votre compte est en lecture seule jusqu'au 14 mars 2099"
    topic_page = client.get(f"/t/{topic.id}")
    assert expected in unescape(topic_page.text)
    assert f"/t/{topic.id}/repondre" not in topic_page.text
    assert 'name="body"' not in topic_page.text
    rubrique = client.get("/r/premier-entretien")
    assert expected in unescape(rubrique.text)
    assert "/r/premier-entretien/nouveau-sujet" not in rubrique.text
    refused = client.get("/r/premier-entretien/nouveau-sujet")
    assert refused.status_code == 403
    assert expected in unescape(refused.text)
    # Others see neither notice.
    other = client_for(members["other_pair"]).get(f"/t/{topic.id}")
    assert "lecture seule" not in unescape(other.text)


def _posted(client, url: str, data: dict, token: str):  # noqa: ANN001, ANN202
    return client.post(url, data={**data, "csrf_token": token, "submit": "1"})


@pytest.mark.parametrize("form", ["new_topic", "reply", "edit"])
def test_an_expired_form_shows_back_everything_typed_with_a_french_message(
    app, members, client_for, monkeypatch, form
) -> None:
    topic = make_topic(members["pair"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = client_for(members["pair"])
    body = "Mon long texte <écrit> pendant une heure."
    if form == "new_topic":
        url = "/r/premier-entretien/nouveau-sujet"
        data = {"title": "Un titre soigné", "body": body, "tags": ["cpf", "vae"]}
    elif form == "reply":
        url = f"/t/{topic.id}/repondre"
        data = {"body": body}
    else:
        url = f"/p/{topic.last_post_id}/modifier"
        data = {"title": "Un titre soigné", "body": body, "tags": ["cpf"]}
    response = _posted(client, url, data, "expiré")
    assert response.status_code == 400
    text = unescape(response.text)
    assert "Le formulaire a expiré" in text
    assert "Votre texte est conservé" in text
    assert body in text
    assert "CSRF" not in text
    if "title" in data:
        assert 'value="Un titre soigné"' in text
        assert re.search(r'value="cpf"[^>]*checked|checked[^>]*value="cpf"', response.text)
    # The page carries a fresh token: sending again goes through.
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text)
    assert _posted(client, url, data, fresh.group(1)).status_code == 302


def _error_of(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error">(.*?)</p>', html, re.S)
    return unescape(match.group(1)) if match else ""


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        pytest.param(["cpf", "n-existe-pas"], "choix", id="unknown"),
        pytest.param(["cpf", "retired"], "choix", id="retired"),
        pytest.param(
            ["cpf", "vae", "handicap", "jeunes", "seniors", "formation"], "5 mots-clés", id="six"
        ),
    ],
)
@pytest.mark.parametrize("form", ["new_topic", "edit"])
def test_a_bad_tag_choice_is_said_on_the_tags_field_and_the_text_is_kept(
    members, client_for, tags, message, form
) -> None:
    from comcep.forum.models import Tag

    db.session.scalar(select(Tag).where(Tag.slug == "orientation")).retired = True
    db.session.commit()
    tags = ["orientation" if t == "retired" else t for t in tags]
    topic = make_topic(members["pair"])
    url = (
        "/r/premier-entretien/nouveau-sujet"
        if form == "new_topic"
        else f"/p/{topic.last_post_id}/modifier"
    )
    response = client_for(members["pair"]).post(
        url, data={"title": "Un titre soigné", "body": "Mon texte.", "tags": tags, "submit": "1"}
    )
    assert response.status_code == 400
    assert message in _error_of(response.text, "tags")
    assert "Mon texte." in unescape(response.text)
    assert 'value="Un titre soigné"' in unescape(response.text)
    assert db.session.scalar(select(func.count(Topic.id))) == 1


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param("../../etc/passwd", id="traversal"),
        pytest.param("rapport\x07.exe", id="control-exe"),
        pytest.param("..", id="dots"),
    ],
)
def test_a_refused_attachment_is_said_on_its_field_and_nothing_is_stored(
    members, client_for, filename
) -> None:
    """Names are made safe as Discourse does (path and control characters dropped, « fichier »
    when nothing is left); the bytes decide the type, so these are refused, form kept."""
    import io

    from comcep.attachments.models import Attachment

    response = client_for(members["pair"]).post(
        "/r/je-partage-mes-outils/nouveau-sujet",
        data={
            "title": "Un titre soigné",
            "body": "Mon texte.",
            "tags": ["cpf"],
            "submit": "1",
            "attachments": [(io.BytesIO(b"MZ\x90\x00binary"), filename)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    error = _error_of(response.text, "attachments")
    assert "Ce type de fichier n'est pas accepté" in error
    assert "/" not in error.split("»")[0]
    assert "\x07" not in error
    text = unescape(response.text)
    assert "Mon texte." in text
    assert 'value="Un titre soigné"' in text
    assert re.search(r'value="cpf"[^>]*checked|checked[^>]*value="cpf"', response.text)
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert db.session.scalar(select(func.count(Topic.id))) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/r/premier-entretien",
        "/actifs",
        "/mots-cles/cpf",
        "/membres",
        "/moderation/journal",
        "/notifications",
        "/outils",
    ],
)
@pytest.mark.parametrize("page", ["0", "-3", "abc", "9999"])
def test_odd_page_numbers_never_fail_and_past_the_end_links_to_the_last_page(
    members, client_for, url, page
) -> None:
    import io

    client = client_for(members["animation"])
    client.post(
        "/r/je-partage-mes-outils/nouveau-sujet",
        data={
            "title": "Un titre soigné",
            "body": "Mon texte.",
            "tags": ["cpf"],
            "submit": "1",
            "attachments": [(io.BytesIO(b"a;b\n1;2\n"), "liste.csv")],
        },
        content_type="multipart/form-data",
    )
    make_topic(members["pair"], title="Un autre sujet")
    client_for(members["pair"]).post(  # a notification for the animatrice
        f"/t/{db.session.scalar(select(func.min(Topic.id)))}/repondre",
        data={"body": "Merci @Animatrice", "submit": "1"},
    )
    rubrique = db.session.scalar(select(Category).where(Category.slug == "divers"))
    client_for(members["admin"]).post(f"/admin/rubriques/{rubrique.id}", data={})  # journaled
    response = client.get(f"{url}?page={page}")
    assert response.status_code == 200
    text = unescape(response.text)
    if page == "9999":
        assert "Cette page n'existe pas : il y en a 1." in text
        assert re.search(r'href="[^"]*page=1[^"]*">Aller à la dernière page', text)
    else:
        assert "Cette page n'existe pas" not in text


@pytest.mark.parametrize(
    ("filename", "data", "status"),
    [
        pytest.param("", b"", 302, id="no-file-chosen"),
        pytest.param("", b"a;b\n1;2\n", 400, id="bytes-without-a-name"),
    ],
)
def test_a_file_without_a_name_is_refused_unless_it_is_the_empty_part_of_no_choice(
    members, client_for, filename, data, status
) -> None:
    import io

    from comcep.attachments.models import Attachment

    response = client_for(members["pair"]).post(
        "/r/je-partage-mes-outils/nouveau-sujet",
        data={
            "title": "Un titre soigné",
            "body": "Mon texte.",
            "submit": "1",
            "attachments": [(io.BytesIO(data), filename)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == status
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    if status == 400:
        assert "n'a pas de nom" in _error_of(response.text, "attachments")
        assert "Mon texte." in unescape(response.text)


def test_a_request_too_big_to_read_says_how_to_get_the_text_back(
    app, members, client_for, monkeypatch
) -> None:
    import io

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = client_for(members["pair"]).post(
        "/r/je-partage-mes-outils/nouveau-sujet",
        data={
            "title": "Un titre soigné",
            "body": "Mon texte.",
            "submit": "1",
            "attachments": [(io.BytesIO(b"a" * 10_000), "gros.csv")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    text = unescape(response.text)
    assert "rien n'a été enregistré" in text
    assert "Revenez à la page précédente" in text
    assert db.session.scalar(select(func.count(Topic.id))) == 0
