"""Kept articles of topic pages (`comcep.forum.fragments`): a reader gets a kept article only
where any reader with the same rights on the same content would see the same bytes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from comcep.extensions import db
from comcep.forum import fragments, queries
from comcep.members.models import Member
from comcep.moderation.services import hide_post
from tests.factories import category, make_reply, make_topic


@pytest.fixture
def kept(app: Flask) -> Callable:
    """This app's LRU, emptied: each test starts with nothing kept."""
    with app.test_request_context():
        cache = fragments._kept()
    cache.cache_clear()
    return cache


def article(html: str, post_id: int) -> str:
    found = re.search(rf'<article [^>]*id="p{post_id}".*?</article>', html, re.S)
    assert found, f"post {post_id} is not on the page"
    return found.group(0)


def page(app: Flask, reader: Member, topic_id: int) -> str:
    response = app.test_client(user=reader).get(f"/t/{topic_id}")
    assert response.status_code == 200
    return response.text


def test_an_article_is_kept_and_served_again(app: Flask, make_member, kept) -> None:
    author, reader = make_member(), make_member()
    topic = make_topic(author, replies=[(author, "Une réponse de l'auteur.")])
    first = page(app, reader, topic.id)
    misses = kept.cache_info().misses
    assert misses == 2
    again = page(app, reader, topic.id)
    assert kept.cache_info().misses == misses
    assert kept.cache_info().hits >= 2
    assert again == first


def test_the_author_s_links_never_reach_another_reader(app: Flask, make_member, kept) -> None:
    """The reply's author, not the topic's: the topic's author may retain an answer, and
    articles with that form are never kept."""
    opener, author, reader = make_member(), make_member(), make_member()
    topic = make_topic(opener)
    post_id = make_reply(author, topic).id
    for order in ((author, reader), (reader, author)):
        kept.cache_clear()
        seen = {who.id: article(page(app, who, topic.id), post_id) for who in order}
        # The opening post is the same for both: kept once, served twice. The reply is not.
        assert kept.cache_info().currsize == 3
        assert kept.cache_info().hits == 1
        assert "/modifier" in seen[author.id]
        assert "Signaler" not in seen[author.id]
        assert "/modifier" not in seen[reader.id]
        assert "Signaler" in seen[reader.id]


def test_a_hidden_post_stays_a_placeholder_for_others(app: Flask, make_member, kept) -> None:
    opener, author, reader = make_member(), make_member(), make_member()
    topic = make_topic(opener)
    post = make_reply(author, topic, "Un passage que la modération retire.")
    page(app, reader, topic.id)  # the visible version is kept for readers
    hide_post(None, post, topic, "Hors sujet")
    db.session.commit()
    for who in (author, reader, author, reader):
        shown = article(page(app, who, topic.id), post.id)
        if who is author:
            assert "Un passage que la modération retire." in shown
            assert "Hors sujet" in shown
        else:
            assert "Un passage" not in shown
            assert "Hors sujet" not in shown
            assert "Ce message a été masqué par la modération." in shown


def test_what_changes_shows_at_once(app: Flask, make_member, kept) -> None:
    author, reader = make_member(name="Ancien Nom"), make_member()
    topic = make_topic(author)
    post_id = queries.first_post_id(topic)
    assert "Ancien Nom" in article(page(app, reader, topic.id), post_id)
    author.display_name = "Nouveau Nom"
    topic.is_locked = True  # locked: no « Citer » any more
    db.session.commit()
    shown = article(page(app, reader, topic.id), post_id)
    assert "Nouveau Nom" in shown
    assert "Ancien Nom" not in shown
    assert "Citer" not in shown


def test_the_staff_s_articles_are_rendered_each_time(app: Flask, make_member, kept) -> None:
    """They hold forms, hence the reader's CSRF token: never kept."""
    author, moderator = make_member(), make_member(roles=("animation",))
    topic = make_topic(author)
    shown = article(page(app, moderator, topic.id), queries.first_post_id(topic))
    assert "Masquer" in shown
    assert kept.cache_info().currsize == 0


def test_the_lru_is_bounded(app: Flask, make_member, kept) -> None:
    assert kept.cache_info().maxsize == app.config["POST_ARTICLES_KEPT"] > 0


def test_a_reloaded_template_makes_new_articles(app: Flask, make_member, kept) -> None:
    """In development Jinja reloads an edited template: its articles are not those kept."""
    author, reader = make_member(), make_member()
    topic = make_topic(author)
    page(app, reader, topic.id)
    misses = kept.cache_info().misses
    app.jinja_env.cache.clear()  # as a reload does: a new Template object
    page(app, reader, topic.id)
    assert kept.cache_info().misses == misses + 1


# --- rows of the index (`fragments.category_rows`) ----------------------------------------


@pytest.fixture
def kept_rows(app: Flask) -> Callable:
    with app.test_request_context():
        cache = fragments._kept("category_row")
    cache.cache_clear()
    return cache


def index_row(html: str, slug: str) -> str:
    found = re.search(
        rf'<tr>\s*<td>\s*<a class="category-name" href="/r/{slug}">.*?</tr>', html, re.S
    )
    assert found, f"no row for {slug}"
    return found.group(0)


def test_index_rows_are_kept_and_show_each_change_at_once(
    app: Flask, make_member, kept_rows
) -> None:
    author, reader = make_member(name="Camille Autrice"), make_member()
    client = app.test_client(user=reader)
    first = client.get("/").text
    misses = kept_rows.cache_info().misses
    assert misses > 0
    assert client.get("/").text == first
    assert kept_rows.cache_info().misses == misses
    assert kept_rows.cache_info().hits >= misses

    make_topic(author, title="Un nouveau sujet sur la VAE")
    row = index_row(client.get("/").text, "premier-entretien")
    assert "Un nouveau sujet sur la VAE" in row
    assert "Camille Autrice" in row

    author.state = "left"
    category("premier-entretien").name = "Le tout premier entretien"
    db.session.commit()
    row = index_row(client.get("/").text, "premier-entretien")
    assert "Ancien membre" in row
    assert "Camille Autrice" not in row
    assert "Le tout premier entretien" in row


def test_a_kept_row_never_reaches_a_reader_who_may_not_list_it(
    app: Flask, make_member, kept_rows
) -> None:
    pair, hors_pair = make_member(), make_member(statut="hors_pair")
    make_topic(pair, title="Un cas réservé aux pairs")
    assert "Un cas réservé aux pairs" in app.test_client(user=pair).get("/").text
    shown = app.test_client(user=hors_pair).get("/").text
    assert "Un cas réservé aux pairs" not in shown
    assert 'href="/r/premier-entretien"' not in shown
    assert index_row(shown, "echanges")  # the hors pairs' own rubrique is listed
