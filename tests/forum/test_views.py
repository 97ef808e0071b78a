"""Forum pages over HTTP: posting, quoting, editing, pagination, unread tracking and bad
input (SPEC §5, §9, §10)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import FlaskLoginClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from comcep.extensions import db, utcnow
from comcep.forum.models import Category, Post, PostRevision, Topic
from tests.factories import category, make_reply, make_topic

NEW_TOPIC_URL = "/r/premier-entretien/nouveau-sujet"


class RequestScopedClient(FlaskLoginClient):
    """Runs each request in an application context of its own, as a server does.

    The shared fixtures reuse the test's application context, so `g` (Flask-Login's user,
    the policy's viewer) would survive from one client to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _request_scoped_clients(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "test_client_class", RequestScopedClient)


# --- helpers --------------------------------------------------------------------------


def location(response: TestResponse) -> str:
    """The redirect target as path, query and fragment (the host is never ours to test)."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost")
    target = parts.path
    if parts.query:
        target += f"?{parts.query}"
    if parts.fragment:
        target += f"#{parts.fragment}"
    return target


def text_of(response: TestResponse) -> str:
    return unescape(response.text)


def count(model: type) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def reload(model: type, row_id: int) -> Any:
    db.session.expire_all()
    return db.session.get(model, row_id)


def new_topic(client: FlaskClient, title: str, body: str, **extra: str) -> TestResponse:
    data = {"title": title, "body": body, "submit": "1", **extra}
    return client.post(NEW_TOPIC_URL, data=data)


def post_numbers(response: TestResponse) -> list[int]:
    """Post numbers shown on a topic page, in order (« #12 · date »)."""
    return [
        int(n) for n in re.findall(r'title="Lien permanent vers ce message">#(\d+) ', response.text)
    ]


def csrf_token_of(response: TestResponse) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text)
    if match is None:
        match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def long_topic(members: dict) -> Topic:
    """A topic with 45 posts (the opening one and 44 replies, alternating authors)."""
    authors = [members["other_pair"], members["pair"]]
    replies = [(authors[n % 2], f"Réponse numéro {n + 2}.") for n in range(44)]
    return make_topic(
        members["pair"], title="Un long échange de pratiques", body="Message 1.", replies=replies
    )


# --- posting flow ---------------------------------------------------------------------


def test_pair_creates_topic_and_is_redirected_to_its_page(members, client_for) -> None:
    client = client_for(members["pair"])
    response = new_topic(client, "Comment préparer le premier entretien ?", "Vos **conseils** ?")
    assert response.status_code == 302
    topic = db.session.scalar(select(Topic))
    assert location(response) == f"/t/{topic.id}/comment-preparer-le-premier-entretien"
    assert topic.category_id == category("premier-entretien").id
    assert topic.author_id == members["pair"].id
    page = client.get(location(response))
    assert page.status_code == 200
    assert "Comment préparer le premier entretien ?" in text_of(page)
    assert "<strong>conseils</strong>" in page.text
    assert "Votre sujet est publié." in text_of(page)


def test_topic_url_without_slug_answers_the_topic_page(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Un sujet sans slug dans l'adresse")
    response = client_for(members["other_pair"]).get(f"/t/{topic.id}")
    assert response.status_code in (200, 301, 302, 308)
    if response.status_code != 200:
        assert location(response).startswith(f"/t/{topic.id}/un-sujet-sans-slug")


def test_reply_redirects_to_post_permalink_which_redirects_to_topic_anchor(
    members, client_for
) -> None:
    topic = make_topic(members["pair"], title="Orientation vers un bilan de compétences")
    client = client_for(members["other_pair"])
    response = client.post(
        f"/t/{topic.id}/repondre", data={"body": "Je propose un bilan.", "submit": "1"}
    )
    assert response.status_code == 302
    reply = db.session.scalar(select(Post).where(Post.number == 2))
    assert reply.author_id == members["other_pair"].id
    assert location(response) == f"/p/{reply.id}"
    permalink = client.get(f"/p/{reply.id}")
    assert permalink.status_code == 302
    assert location(permalink) == f"/t/{topic.id}/{topic.slug}#p{reply.id}"
    page = client.get(location(permalink))
    assert f'id="p{reply.id}"' in page.text
    assert "Je propose un bilan." in page.text
    assert "Votre réponse est publiée." in text_of(page)


def test_new_topic_and_reply_update_topic_and_rubrique_counters(members, client_for) -> None:
    rubrique = category("premier-entretien")
    theme = category("echanges-de-pratiques")
    new_topic(client_for(members["pair"]), "Premier entretien à distance", "Vos retours ?")
    topic = db.session.scalar(select(Topic))
    client_for(members["other_pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Très bien en visio.", "submit": "1"}
    )
    reply = db.session.scalar(select(Post).where(Post.number == 2))

    topic = reload(Topic, topic.id)
    assert topic.post_count == 2
    assert topic.reply_count == 1
    assert topic.last_post_id == reply.id
    assert topic.last_poster_id == members["other_pair"].id
    rubrique = reload(Category, rubrique.id)
    assert (rubrique.topic_count, rubrique.post_count, rubrique.last_post_id) == (1, 2, reply.id)
    other = reload(Category, category("apres-le-premier-entretien").id)
    assert (other.topic_count, other.post_count, other.last_post_id) == (0, 0, None)
    assert reload(Category, theme.id).topic_count == 0  # a thème counts through its rubriques


def test_index_shows_the_last_post_of_the_rubrique(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Premier entretien à distance")
    make_reply(members["other_pair"], topic, "Très bien en visio.")
    index = text_of(client_for(members["pair"]).get("/"))
    row = index[index.index("Le premier entretien") :]
    row = row[: row.index("</tr>")]
    assert "Premier entretien à distance" in row
    assert "par Paire Deux le" in re.sub(r"<[^>]+>", "", row)
    rubrique_page = text_of(client_for(members["pair"]).get("/r/premier-entretien"))
    assert "Premier entretien à distance" in rubrique_page


def test_quote_prefills_the_reply_with_a_markdown_quote_and_the_authors_name(
    members, client_for
) -> None:
    topic = make_topic(
        members["pair"],
        title="Quel financement pour une VAE ?",
        body="Le CPF suffit-il ?\n\nMerci d'avance.",
    )
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    response = client_for(members["other_pair"]).get(f"/t/{topic.id}/repondre?citer={first.id}")
    assert response.status_code == 200
    textarea = text_of(response).split("<textarea", 1)[1].split("</textarea>", 1)[0]
    assert "**Paire Un**" in textarea
    assert "a écrit :" in textarea
    assert "> Le CPF suffit-il ?\n>\n> Merci d'avance." in textarea
    assert count(Post) == 1


def test_quoting_a_post_of_another_topic_leaves_the_reply_empty(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Un premier sujet")
    other = make_topic(members["pair"], title="Un autre sujet", body="Texte à ne pas citer.")
    other_first = db.session.scalar(select(Post).where(Post.topic_id == other.id))
    response = client_for(members["other_pair"]).get(
        f"/t/{topic.id}/repondre?citer={other_first.id}"
    )
    assert response.status_code == 200
    assert "Texte à ne pas citer." not in text_of(response)


def test_preview_of_a_new_topic_renders_markdown_and_stores_nothing(members, client_for) -> None:
    response = new_topic(
        client_for(members["pair"]),
        "Un titre en préparation",
        "Du **gras** et une liste :\n\n- un\n- deux",
        preview="1",
    )
    assert response.status_code == 200
    assert "Aperçu" in response.text
    assert "<strong>gras</strong>" in response.text
    assert "<li>un</li>" in response.text
    assert 'value="Un titre en préparation"' in text_of(response)
    assert count(Topic) == 0
    assert count(Post) == 0


def test_preview_of_a_reply_renders_markdown_and_stores_nothing(members, client_for) -> None:
    topic = make_topic(members["pair"])
    response = client_for(members["other_pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Un *essai* de réponse.", "preview": "1"}
    )
    assert response.status_code == 200
    assert "<em>essai</em>" in response.text
    assert "Un *essai* de réponse." in text_of(response)  # kept in the textarea
    assert count(Post) == 1
    assert reload(Topic, topic.id).post_count == 1


def test_the_same_reply_sent_again_is_refused_in_french_and_keeps_the_text(
    members, client_for
) -> None:
    """« Précédent » after publishing gives the form back filled in: a second « Publier »
    must not post the message twice."""
    topic = make_topic(members["pair"])
    client = client_for(members["other_pair"])
    data = {"body": "Ma réponse, envoyée une fois.", "submit": "1"}
    assert client.post(f"/t/{topic.id}/repondre", data=data).status_code == 302
    again = client.post(f"/t/{topic.id}/repondre", data=data)
    assert again.status_code == 400
    assert "Vous venez déjà de publier ce message dans ce sujet" in text_of(again)
    assert "Ma réponse, envoyée une fois." in text_of(again)  # kept in the textarea
    assert count(Post) == 2
    assert reload(Topic, topic.id).post_count == 2


def test_the_same_reply_is_accepted_from_another_member_after_another_post_or_later(
    members, client_for
) -> None:
    topic = make_topic(members["pair"])
    author, other = client_for(members["other_pair"]), client_for(members["pilot_pair"])
    same = {"body": "D'accord avec vous.", "submit": "1"}
    assert author.post(f"/t/{topic.id}/repondre", data=same).status_code == 302
    assert other.post(f"/t/{topic.id}/repondre", data=same).status_code == 302
    assert author.post(f"/t/{topic.id}/repondre", data={"body": "Autre chose."}).status_code == 302
    assert author.post(f"/t/{topic.id}/repondre", data=same).status_code == 302  # not the latest
    db.session.execute(update(Post).values(created_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    assert author.post(f"/t/{topic.id}/repondre", data=same).status_code == 302
    assert count(Post) == 6


def test_the_same_new_topic_sent_again_is_refused_and_keeps_the_text(members, client_for) -> None:
    client = client_for(members["pair"])
    title, body = "Un cas de reconversion à 55 ans", "Comment l'accompagner ?"
    assert new_topic(client, title, body).status_code == 302
    again = new_topic(client, title, body)
    assert again.status_code == 400
    assert "Vous venez déjà d'ouvrir ce sujet dans cette rubrique" in text_of(again)
    assert title in text_of(again)
    assert body in text_of(again)
    assert (count(Topic), count(Post)) == (1, 1)
    assert reload(Category, category("premier-entretien").id).topic_count == 1

    assert new_topic(client, title, "Une autre question.").status_code == 302
    db.session.execute(update(Topic).values(created_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    assert new_topic(client, title, body).status_code == 302
    assert count(Topic) == 3


def test_the_quick_reply_form_is_not_filled_in_again_by_the_browser(members, client_for) -> None:
    """With autocomplete="off", « Précédent » after publishing shows an empty form."""
    topic = make_topic(members["pair"])
    page = client_for(members["other_pair"]).get(f"/t/{topic.id}")
    form = re.search(rf'<form action="/t/{topic.id}/repondre"[^>]*>', page.text)
    assert form is not None
    assert 'autocomplete="off"' in form.group(0)


def test_author_edits_own_reply_and_previous_version_stays_in_history(members, client_for) -> None:
    topic = make_topic(members["pair"])
    reply = make_reply(members["other_pair"], topic, "Première version de ma réponse.")
    client = client_for(members["other_pair"])
    form = client.get(f"/p/{reply.id}/modifier")
    assert form.status_code == 200
    assert "Première version de ma réponse." in text_of(form)
    assert 'name="title"' not in form.text  # only the opening post carries the title

    response = client.post(
        f"/p/{reply.id}/modifier", data={"body": "Version corrigée.", "submit": "1"}
    )
    assert response.status_code == 302
    assert location(response) == f"/p/{reply.id}"
    edited = reload(Post, reply.id)
    assert edited.body_source == "Version corrigée."
    assert edited.revision_count == 1
    assert edited.edited_by_id == members["other_pair"].id

    history = client.get(f"/p/{reply.id}/historique")
    assert history.status_code == 200
    assert "Version corrigée." in history.text
    assert "Première version de ma réponse." in text_of(history)
    page = client.get(f"/t/{topic.id}/{topic.slug}")
    assert f"/p/{reply.id}/historique" in page.text


def test_editing_the_first_post_can_change_the_title(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Titre provisoire", body="Corps initial.")
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    client = client_for(members["pair"])
    form = client.get(f"/p/{first.id}/modifier")
    assert 'value="Titre provisoire"' in form.text
    response = client.post(
        f"/p/{first.id}/modifier",
        data={"title": "Titre définitif", "body": "Corps initial.", "submit": "1"},
    )
    assert response.status_code == 302
    topic = reload(Topic, topic.id)
    assert topic.title == "Titre définitif"
    assert topic.slug == "titre-definitif"
    history = text_of(client.get(f"/p/{first.id}/historique"))
    assert "« Titre provisoire »" in history


def test_saving_an_unchanged_post_adds_no_revision(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Rien ne change", body="Même texte.")
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    response = client_for(members["pair"]).post(
        f"/p/{first.id}/modifier",
        data={"title": "Rien ne change", "body": "Même texte.", "submit": "1"},
    )
    assert response.status_code == 302
    assert count(PostRevision) == 0


def test_pair_cannot_edit_someone_elses_post(members, client_for) -> None:
    topic = make_topic(members["pair"], body="Le texte de Paire Un.")
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    client = client_for(members["other_pair"])
    assert client.get(f"/p/{first.id}/modifier").status_code == 403
    response = client.post(
        f"/p/{first.id}/modifier",
        data={"title": "Titre détourné", "body": "Texte détourné.", "submit": "1"},
    )
    assert response.status_code == 403
    assert "Vous ne pouvez modifier que vos propres messages." in text_of(response)
    assert reload(Post, first.id).body_source == "Le texte de Paire Un."
    assert reload(Topic, topic.id).title == "Un sujet de test"
    assert count(PostRevision) == 0


def test_with_an_edit_window_an_old_post_offers_no_edit_to_its_author(
    app: Flask, members, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EDIT_WINDOW_HOURS closes editing after a while: the « Modifier » link goes with it
    (it led to a 403), for the author only; the staff still edit."""
    monkeypatch.setitem(app.config, "EDIT_WINDOW_HOURS", 24)
    topic = make_topic(members["pair"], body="Un message ancien.")
    old = make_reply(members["pair"], topic, "Une réponse ancienne.")
    recent = make_reply(members["pair"], topic, "Une réponse récente.")
    old.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    author = client_for(members["pair"])
    page = author.get(f"/t/{topic.id}").text
    assert f'href="/p/{recent.id}/modifier"' in page
    assert f'href="/p/{old.id}/modifier"' not in page
    refused = author.get(f"/p/{old.id}/modifier")
    assert refused.status_code == 403
    assert "dans les 24 heures" in text_of(refused)
    staff_page = client_for(members["animation"]).get(f"/t/{topic.id}").text
    assert f'href="/p/{old.id}/modifier"' in staff_page


def test_animatrice_may_edit_any_post(members, client_for) -> None:
    topic = make_topic(members["pair"])
    reply = make_reply(members["other_pair"], topic, "Un numéro de téléphone personnel.")
    response = client_for(members["animation"]).post(
        f"/p/{reply.id}/modifier", data={"body": "[Coordonnées retirées]", "submit": "1"}
    )
    assert response.status_code == 302
    edited = reload(Post, reply.id)
    assert edited.body_source == "[Coordonnées retirées]"
    assert edited.edited_by_id == members["animation"].id
    revision = db.session.scalar(select(PostRevision))
    assert revision.body_source == "Un numéro de téléphone personnel."
    assert revision.editor_id == members["animation"].id


# --- pagination -----------------------------------------------------------------------


def test_topic_with_45_posts_has_three_pages(members, client_for, long_topic) -> None:
    client = client_for(members["other_pair"])
    first = client.get(f"/t/{long_topic.id}/{long_topic.slug}")
    assert post_numbers(first) == list(range(1, 21))
    assert f"/t/{long_topic.id}/{long_topic.slug}?page=3" in first.text
    assert f"/t/{long_topic.id}/{long_topic.slug}?page=4" not in first.text
    second = client.get(f"/t/{long_topic.id}/{long_topic.slug}?page=2")
    assert post_numbers(second) == list(range(21, 41))


def test_third_page_shows_posts_41_to_45(members, client_for, long_topic) -> None:
    page = client_for(members["other_pair"]).get(f"/t/{long_topic.id}/{long_topic.slug}?page=3")
    assert page.status_code == 200
    assert post_numbers(page) == [41, 42, 43, 44, 45]
    assert "Réponse numéro 45." in page.text
    assert "Réponse numéro 40." not in page.text


def test_permalink_of_post_41_redirects_to_the_third_page(members, client_for, long_topic) -> None:
    post_41 = db.session.scalar(
        select(Post).where(Post.topic_id == long_topic.id, Post.number == 41)
    )
    response = client_for(members["other_pair"]).get(f"/p/{post_41.id}")
    assert response.status_code == 302
    assert location(response) == f"/t/{long_topic.id}/{long_topic.slug}?page=3#p{post_41.id}"


@pytest.mark.parametrize("page", ["0", "-1", "999", "abc", "", "1.5", "99999999999999999999"])
def test_out_of_range_page_numbers_never_fail(members, client_for, long_topic, page) -> None:
    client = client_for(members["other_pair"])
    topic_page = client.get(f"/t/{long_topic.id}/{long_topic.slug}?page={page}")
    assert topic_page.status_code == 200
    assert post_numbers(topic_page) in (list(range(1, 21)), [41, 42, 43, 44, 45])
    for url in ("/r/premier-entretien", "/non-lus", "/actifs", "/"):
        assert client.get(f"{url}?page={page}").status_code < 500, url


# --- unread and active topics ---------------------------------------------------------


def test_reply_by_another_member_puts_the_topic_in_unread(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Un cas de reconversion")
    client = client_for(members["pair"])
    assert "Un cas de reconversion" not in text_of(client.get("/non-lus"))  # own post is read
    make_reply(members["other_pair"], topic, "Ma réponse.")
    unread = client.get("/non-lus")
    assert unread.status_code == 200
    assert "Un cas de reconversion" in text_of(unread)
    assert f'href="/t/{topic.id}/premier-non-lu"' in unread.text
    assert "1 non lu" in unread.text  # the author read their own post


def test_a_topic_never_opened_is_new_and_one_read_in_part_counts_its_unread_posts(
    members, client_for
) -> None:
    topic = make_topic(members["other_pair"], title="Un cas de reconversion")
    client = client_for(members["pair"])
    assert _unread_badge(client) == "nouveau"  # never opened: no count to give
    client.get(f"/t/{topic.id}/{topic.slug}")
    make_reply(members["other_pair"], topic, "Première réponse.")
    assert _unread_badge(client) == "1 non lu"
    make_reply(members["other_pair"], topic, "Deuxième réponse.")
    assert _unread_badge(client) == "2 non lus"
    client.get(f"/t/{topic.id}/{topic.slug}")
    assert _unread_badge(client) is None


def _unread_badge(client: FlaskClient) -> str | None:
    """The visible words of the one topic's « non lu » badge on « non lus », if any."""
    found = re.search(r'class="badge badge--new"[^>]*>([^<]*)<', client.get("/non-lus").text)
    return found.group(1) if found else None


def test_new_link_jumps_to_the_first_unread_post(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Un cas de reconversion")
    first_unread = make_reply(members["other_pair"], topic, "Première réponse.")
    make_reply(members["other_pair"], topic, "Deuxième réponse.")
    client = client_for(members["pair"])
    jump = client.get(f"/t/{topic.id}/premier-non-lu")
    assert jump.status_code == 302
    assert location(jump) == f"/p/{first_unread.id}"
    assert location(client.get(location(jump))) == f"/t/{topic.id}/{topic.slug}#p{first_unread.id}"


def test_first_unread_of_a_fully_read_topic_goes_to_the_last_post(members, client_for) -> None:
    topic = make_topic(members["pair"])
    last = make_reply(members["pair"], topic, "Je complète mon message.")
    response = client_for(members["pair"]).get(f"/t/{topic.id}/premier-non-lu")
    assert location(response) == f"/p/{last.id}"


def test_reading_the_topic_removes_it_from_unread(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Un cas de reconversion")
    make_reply(members["other_pair"], topic, "Ma réponse.")
    client = client_for(members["pair"])
    assert "Un cas de reconversion" in text_of(client.get("/non-lus"))
    assert client.get(f"/t/{topic.id}/{topic.slug}").status_code == 200
    unread = text_of(client.get("/non-lus"))
    assert "Un cas de reconversion" not in unread
    assert "Vous avez tout lu." in unread


def test_reading_only_the_first_page_keeps_a_long_topic_unread(
    members, client_for, long_topic
) -> None:
    client = client_for(members["animation"])
    client.get(f"/t/{long_topic.id}/{long_topic.slug}")
    assert "Un long échange de pratiques" in text_of(client.get("/non-lus"))
    jump = client.get(f"/t/{long_topic.id}/premier-non-lu")
    post_21 = db.session.scalar(
        select(Post).where(Post.topic_id == long_topic.id, Post.number == 21)
    )
    assert location(jump) == f"/p/{post_21.id}"


def test_mark_all_read_empties_unread(members, client_for) -> None:
    for title in ("Premier sujet non lu", "Second sujet non lu"):
        make_topic(members["other_pair"], title=title)
    client = client_for(members["pair"])
    assert "Premier sujet non lu" in text_of(client.get("/non-lus"))
    response = client.post("/marquer-lus")
    assert response.status_code == 302
    unread = text_of(client.get("/non-lus"))
    assert "Premier sujet non lu" not in unread
    assert "Second sujet non lu" not in unread
    assert "Vous avez tout lu." in unread


def test_a_reply_after_mark_all_read_is_unread_again(members, client_for) -> None:
    topic = make_topic(members["other_pair"], title="Un sujet qui revit")
    client = client_for(members["pair"])
    client.post("/marquer-lus")
    make_reply(members["other_pair"], topic, "Du nouveau.")
    assert "Un sujet qui revit" in text_of(client.get("/non-lus"))


@pytest.mark.parametrize(
    ("back", "landing"),
    [("/non-lus", "/non-lus"), ("/actifs", "/actifs"), ("//ailleurs.example", "/"), ("", "/")],
)
def test_mark_all_read_returns_to_the_list_it_was_asked_from(
    members, client_for, back, landing
) -> None:
    """From « non lus », the member stays on the list, now empty (they were sent to the
    index); nothing else than these lists is a place to go back to."""
    client = client_for(members["pair"])
    assert 'name="retour" value="/non-lus"' in client.get("/non-lus").text
    response = client.post("/marquer-lus", data={"retour": back})
    assert response.status_code == 302
    assert location(response) == landing


def test_mark_all_read_is_post_only(members, client_for) -> None:
    assert client_for(members["pair"]).get("/marquer-lus").status_code == 405


def test_active_topics_are_listed_by_last_activity(members, client_for) -> None:
    older = make_topic(members["pair"], title="Sujet ancien relancé")
    make_topic(members["pair"], title="Sujet récent sans réponse", slug="liens-utiles")
    make_reply(members["other_pair"], older, "Je relance.")
    page = text_of(client_for(members["other_pair"]).get("/actifs"))
    assert page.index("Sujet ancien relancé") < page.index("Sujet récent sans réponse")
    assert "Les liens utiles" in page  # the rubrique is named in the list


# --- bad input ------------------------------------------------------------------------

VALID_TITLE = "Un titre tout à fait correct"
VALID_BODY = "Un message tout à fait correct."

INVALID_TOPICS = [
    pytest.param("", VALID_BODY, "Le titre est obligatoire.", id="empty-title"),
    pytest.param("     ", VALID_BODY, "Le titre est obligatoire.", id="blank-title"),
    pytest.param(
        "Abcd", VALID_BODY, "Le titre doit compter entre 5 et 200 caractères.", id="4-char-title"
    ),
    pytest.param(
        "T" * 201, VALID_BODY, "Le titre doit compter entre 5 et 200 caractères.", id="201-title"
    ),
    pytest.param(
        "T" * 5000, VALID_BODY, "Le titre doit compter entre 5 et 200 caractères.", id="5000-title"
    ),
    pytest.param(VALID_TITLE, "", "Le message ne peut pas être vide.", id="empty-body"),
    pytest.param(VALID_TITLE, "  \n  ", "Le message ne peut pas être vide.", id="blank-body"),
    pytest.param(
        VALID_TITLE,
        "b" * 50_001,
        "Le message doit compter au plus 50 000 caractères.",
        id="50001-body",
    ),
    pytest.param(
        "Titre avec \x00 nul",
        VALID_BODY,
        "Le texte contient des caractères invisibles non autorisés.",
        id="nul-in-title",
    ),
    pytest.param(
        "Titre avec \x07 cloche",
        VALID_BODY,
        "Le texte contient des caractères invisibles non autorisés.",
        id="bell-in-title",
    ),
    pytest.param(
        VALID_TITLE,
        "Corps avec \x00 nul",
        "Le texte contient des caractères invisibles non autorisés.",
        id="nul-in-body",
    ),
]


def _kept(value: str) -> str:
    """The part of a typed value that must come back in the form (controls aside)."""
    return max(re.split(r"[\x00-\x1f]", value.strip()), key=len)


@pytest.mark.parametrize(("title", "body", "message"), INVALID_TOPICS)
def test_invalid_new_topic_is_refused_in_french_and_keeps_the_typed_text(
    members, client_for, title, body, message
) -> None:
    response = new_topic(client_for(members["pair"]), title, body)
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert "Le formulaire contient des erreurs" in page
    for typed in (title, body):
        if _kept(typed):
            assert _kept(typed) in page
    assert count(Topic) == 0
    assert count(Post) == 0
    assert reload(Category, category("premier-entretien").id).topic_count == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("", "Le message ne peut pas être vide.", id="empty"),
        pytest.param(
            "r" * 50_001, "Le message doit compter au plus 50 000 caractères.", id="50001"
        ),
        pytest.param(
            "Avec \x07 cloche",
            "Le texte contient des caractères invisibles non autorisés.",
            id="control",
        ),
    ],
)
def test_invalid_reply_is_refused_in_french_and_keeps_the_typed_text(
    members, client_for, body, message
) -> None:
    topic = make_topic(members["pair"])
    response = client_for(members["other_pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": body, "submit": "1"}
    )
    assert response.status_code == 400
    assert message in text_of(response)
    if _kept(body):
        assert _kept(body) in text_of(response)
    assert count(Post) == 1
    assert reload(Topic, topic.id).post_count == 1


def test_invalid_edit_is_refused_and_changes_nothing(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Titre d'origine", body="Texte d'origine.")
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    response = client_for(members["pair"]).post(
        f"/p/{first.id}/modifier", data={"title": "Titr", "body": "Texte modifié.", "submit": "1"}
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Le titre doit compter entre 5 et 200 caractères." in page
    assert "Texte modifié." in page
    assert reload(Post, first.id).body_source == "Texte d'origine."
    assert reload(Topic, topic.id).title == "Titre d'origine"
    assert count(PostRevision) == 0


@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("GET", "/r/nope", id="rubrique"),
        pytest.param("GET", "/r/nope/nouveau-sujet", id="new-topic-form"),
        pytest.param("POST", "/r/nope/nouveau-sujet", id="new-topic-post"),
        pytest.param("GET", "/t/999999", id="topic"),
        pytest.param("GET", "/t/999999/un-slug", id="topic-with-slug"),
        pytest.param("GET", "/t/999999/repondre", id="reply-form"),
        pytest.param("POST", "/t/999999/repondre", id="reply-post"),
        pytest.param("GET", "/t/999999/premier-non-lu", id="first-unread"),
        pytest.param("GET", "/p/999999", id="post"),
        pytest.param("GET", "/p/999999/modifier", id="edit-form"),
        pytest.param("POST", "/p/999999/modifier", id="edit-post"),
        pytest.param("GET", "/p/999999/historique", id="history"),
    ],
)
def test_unknown_rubrique_topic_or_post_answers_404(members, client_for, method, url) -> None:
    data = {"title": VALID_TITLE, "body": VALID_BODY, "submit": "1"}
    response = client_for(members["pair"]).open(url, method=method, data=data)
    assert response.status_code == 404
    assert "Page introuvable" in response.text
    assert count(Topic) == 0


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/t/2147483648", id="topic-beyond-int32"),
        pytest.param("/t/99999999999999999999", id="topic-beyond-int64"),
        pytest.param("/p/99999999999999999999", id="post-beyond-int64"),
        pytest.param("/p/2147483648/modifier", id="edit-beyond-int32"),
        pytest.param("/t/1/repondre?citer=99999999999999999999", id="quote-beyond-int64"),
        pytest.param("/r/premier-entretien?page=99999999999999999999", id="page-beyond-int64"),
        pytest.param("/r/%00", id="nul-in-rubrique-slug"),
        pytest.param("/r/%00/nouveau-sujet", id="nul-in-new-topic-slug"),
    ],
)
def test_values_the_database_cannot_hold_are_refused_not_a_server_error(
    members, client_for, url
) -> None:
    make_topic(members["pair"])
    response = client_for(members["pair"]).get(url)
    assert response.status_code in (400, 404)


def test_reply_without_csrf_token_is_refused_in_french(
    app, members, client_for, monkeypatch
) -> None:
    topic = make_topic(members["pair"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client_for(members["other_pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Réponse forgée.", "submit": "1"}
    )
    assert response.status_code == 400
    assert "jeton de sécurité manquant" in text_of(response)
    assert count(Post) == 1


def test_new_topic_without_csrf_token_is_refused(app, members, client_for, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = new_topic(client_for(members["pair"]), VALID_TITLE, VALID_BODY)
    assert response.status_code == 400
    assert "jeton de sécurité manquant" in text_of(response)
    assert count(Topic) == 0


def test_new_topic_with_a_wrong_csrf_token_is_refused(
    app, members, client_for, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = client_for(members["pair"])
    client.get(NEW_TOPIC_URL)
    response = new_topic(client, VALID_TITLE, VALID_BODY, csrf_token="forged")
    assert response.status_code == 400
    assert count(Topic) == 0


def test_reply_with_the_csrf_token_of_the_form_is_accepted(
    app, members, client_for, monkeypatch
) -> None:
    topic = make_topic(members["pair"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = client_for(members["other_pair"])
    token = csrf_token_of(client.get(f"/t/{topic.id}/repondre"))
    response = client.post(
        f"/t/{topic.id}/repondre",
        data={"body": "Réponse légitime.", "submit": "1", "csrf_token": token},
    )
    assert response.status_code == 302
    assert count(Post) == 2


def test_mark_all_read_without_csrf_token_is_refused(app, members, client_for, monkeypatch) -> None:
    make_topic(members["other_pair"], title="Toujours non lu")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = client_for(members["pair"])
    assert client.post("/marquer-lus").status_code == 400
    assert "Toujours non lu" in text_of(client.get("/non-lus"))


@pytest.mark.parametrize("page", ["/", "/non-lus", "/actifs"])
def test_mark_all_read_with_the_csrf_token_of_the_page_is_accepted(
    app, members, client_for, monkeypatch, page
) -> None:
    make_topic(members["other_pair"], title="Bientôt lu")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = client_for(members["pair"])
    form = re.search(r'<form action="/marquer-lus".*?</form>', client.get(page).text, re.S)
    assert form is not None
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(0))
    assert token is not None
    assert client.post("/marquer-lus", data={"csrf_token": token.group(1)}).status_code == 302
    assert "Bientôt lu" not in text_of(client.get("/non-lus"))


def test_pair_cannot_reply_to_a_locked_topic(members, client_for) -> None:
    topic = make_topic(members["pair"])
    topic.is_locked = True
    db.session.commit()
    client = client_for(members["other_pair"])
    assert client.get(f"/t/{topic.id}/repondre").status_code == 403
    response = client.post(f"/t/{topic.id}/repondre", data={"body": "Trop tard ?", "submit": "1"})
    assert response.status_code == 403
    assert "Ce sujet est verrouillé" in text_of(response)
    assert count(Post) == 1
    page = text_of(client.get(f"/t/{topic.id}/{topic.slug}"))
    assert "on ne peut plus y répondre" in page
    assert f'action="/t/{topic.id}/repondre"' not in page


def test_animatrice_may_still_reply_to_a_locked_topic(members, client_for) -> None:
    topic = make_topic(members["pair"])
    topic.is_locked = True
    db.session.commit()
    response = client_for(members["animation"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Je clos ce sujet.", "submit": "1"}
    )
    assert response.status_code == 302
    assert count(Post) == 2


def test_pair_cannot_post_in_a_read_only_rubrique(members, client_for) -> None:
    topic = make_topic(members["pair"])
    rubrique = category("premier-entretien")
    rubrique.read_only = True
    db.session.commit()
    client = client_for(members["pair"])
    response = new_topic(client, VALID_TITLE, VALID_BODY)
    assert response.status_code == 403
    assert "Cette rubrique est en lecture seule." in text_of(response)
    reply = client.post(f"/t/{topic.id}/repondre", data={"body": VALID_BODY, "submit": "1"})
    assert reply.status_code == 403
    assert count(Topic) == 1
    assert count(Post) == 1
    assert "Nouveau sujet" not in text_of(client.get("/r/premier-entretien"))


def test_pair_cannot_open_a_topic_in_accueil(members, client_for) -> None:
    client = client_for(members["pair"])
    assert client.get("/r/accueil/nouveau-sujet").status_code == 403
    response = client.post(
        "/r/accueil/nouveau-sujet", data={"title": VALID_TITLE, "body": VALID_BODY, "submit": "1"}
    )
    assert response.status_code == 403
    assert "Seule l'équipe d'animation ouvre des sujets dans cette rubrique." in text_of(response)
    assert count(Topic) == 0


def test_animatrice_opens_a_topic_in_accueil(members, client_for) -> None:
    response = client_for(members["animation"]).post(
        "/r/accueil/nouveau-sujet",
        data={"title": "Bienvenue sur la ComCEP", "body": VALID_BODY, "submit": "1"},
    )
    assert response.status_code == 302
    assert count(Topic) == 1


def test_anonymous_visitor_is_sent_to_login_for_posting(client) -> None:
    response = client.post(NEW_TOPIC_URL, data={"title": VALID_TITLE, "body": VALID_BODY})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/connexion"
    assert count(Topic) == 0


def test_a_mention_links_to_the_profile_of_the_one_member_of_that_name(
    members, make_member, client_for
) -> None:
    """Written once, when the post is saved: « @Paire Deux » links to that member's profile;
    a name two members bear, or nobody, stays text (as in the preview)."""
    topic = make_topic(members["pair"])
    client = client_for(members["pilot_pair"])
    other = members["other_pair"]
    body = "Je rejoins @Paire Deux, et @Personne Inconnue."
    preview = client.post(f"/t/{topic.id}/repondre", data={"body": body, "preview": "1"})
    assert f'<a href="/membres/{other.id}" class="mention">@Paire Deux</a>' in preview.text
    assert client.post(f"/t/{topic.id}/repondre", data={"body": body}).status_code == 302
    post = db.session.scalars(select(Post).order_by(Post.id.desc())).first()
    assert f'<a href="/membres/{other.id}" class="mention">@Paire Deux</a>' in post.body_html
    assert "@Personne Inconnue." in post.body_html
    page = client_for(members["pair"]).get(f"/t/{topic.id}")
    assert 'class="mention">@Paire Deux</a>' in page.text

    make_member(name="Paire Deux")  # a homonym: the name no longer says who
    assert (
        client.post(f"/t/{topic.id}/repondre", data={"body": "Encore @Paire Deux."}).status_code
        == 302
    )
    latest = db.session.scalars(select(Post).order_by(Post.id.desc())).first()
    assert "mention" not in latest.body_html


def test_every_form_that_writes_a_post_offers_names_to_mention(members, client_for) -> None:
    """A mention notifies when a post is published and when an edit adds it: the new topic,
    reply, quick reply and edit forms offer names and say so."""
    topic = make_topic(members["pair"])
    client = client_for(members["pair"])
    first = db.session.scalar(select(Post.id).where(Post.topic_id == topic.id))
    for url in (
        f"/t/{topic.id}",
        f"/t/{topic.id}/repondre",
        "/r/premier-entretien/nouveau-sujet",
        f"/p/{first}/modifier",
    ):
        page = client.get(url).text
        assert 'data-mention-url="/membres/suggestions"' in page, url
        assert "prévient ce membre" in page, url
