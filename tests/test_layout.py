"""The kept header (`comcep.layout`): each member sees their own name, counters and current
page, and a CSRF token good for their own session only."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from flask import Flask, g

from comcep import layout
from comcep.extensions import db
from comcep.kept import per_app
from comcep.messages import services as messages
from comcep.moderation import services as moderation
from tests.factories import make_reply, make_topic


@pytest.fixture
def kept(app: Flask) -> Callable:
    """This app's kept headers, emptied: each test starts with nothing kept."""
    with app.test_request_context():
        cache = per_app("comcep.kept.site_header", layout._halves)
    cache.cache_clear()
    return cache


def header(html: str) -> str:
    found = re.search(r'<header class="site-header">.*?</header>', html, re.S)
    assert found, "no header on the page"
    return found.group(0)


@pytest.fixture
def kept_tokens(app: Flask) -> Callable:
    """This app's signed CSRF tokens, emptied."""
    with app.test_request_context():
        cache = per_app("comcep.kept.csrf_token", layout._signed)
    cache.cache_clear()
    return cache


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the header"
    return found.group(1)


def test_the_header_is_kept_and_each_member_sees_their_own(members, client_for, kept) -> None:
    pair, other = client_for(members["pair"]), client_for(members["other_pair"])
    first = header(pair.get("/actifs").text)
    assert "Paire Un" in first
    assert "Paire Deux" not in first
    misses = kept.cache_info().misses
    assert header(pair.get("/actifs").text) == first
    assert kept.cache_info().misses == misses
    assert kept.cache_info().hits >= 1

    theirs = header(other.get("/actifs").text)
    assert "Paire Deux" in theirs
    assert "Paire Un" not in theirs
    assert '<a href="/actifs" aria-current="page">' in theirs
    assert '<a href="/non-lus">' in theirs
    on_unread = header(other.get("/non-lus").text)
    assert '<a href="/non-lus" aria-current="page">' in on_unread
    assert '<a href="/actifs">' in on_unread

    staff = header(client_for(members["animation"]).get("/actifs").text)
    assert 'href="/moderation"' in staff
    assert 'href="/moderation"' not in theirs


def test_what_the_header_shows_changes_at_once(members, client_for, kept) -> None:
    client = client_for(members["pair"])
    before = header(client.get("/actifs").text)
    assert "badge--count" not in before
    topic = make_topic(members["pair"])
    make_reply(members["other_pair"], topic)  # the author follows their topic: the bell rings
    members["pair"].display_name = "Paire Renommée"
    db.session.commit()
    after = header(client.get("/actifs").text)
    assert "Paire Renommée" in after
    assert "Paire Un" not in after
    assert re.search(r'class="bell">Notifications <span class="badge badge--count">1<', after)


def test_the_kept_header_carries_each_session_s_own_csrf_token(
    app: Flask, members, client_for, monkeypatch, kept
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    first, second = client_for(members["pair"]), client_for(members["pair"])  # two sessions
    token_first = token_of(header(first.get("/actifs").text))
    g.pop("csrf_token", None)  # Flask-WTF keeps it on `g`, which the tests' app context keeps
    hits = kept.cache_info().hits
    token_second = token_of(header(second.get("/actifs").text))
    assert kept.cache_info().hits == hits + 1  # the same member's header, kept
    assert token_first != token_second
    assert second.post("/deconnexion", data={"csrf_token": token_first}).status_code == 400
    assert second.post("/deconnexion", data={"csrf_token": token_second}).status_code == 302


def test_a_name_that_looks_like_the_token_s_place_stays_text(
    app: Flask, members, client_for, monkeypatch, kept
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    name = "Paire <!--csrf-->"
    if db.engine.dialect.name == "sqlite":  # PostgreSQL refuses NUL in text
        name += ' "\x00csrf\x00"'  # the first marker of the token's place
    members["pair"].display_name = name
    db.session.commit()
    client = client_for(members["pair"])
    response = client.get("/actifs")
    assert response.status_code == 200
    shown = header(response.text)
    assert "Paire &lt;!--csrf--&gt;" in shown
    assert client.post("/deconnexion", data={"csrf_token": token_of(shown)}).status_code == 302


def test_a_session_s_token_is_signed_once_a_minute_and_each_validates(
    app: Flask, members, client_for, monkeypatch, kept_tokens
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client, other = client_for(members["pair"]), client_for(members["pair"])
    client.get("/actifs")  # the session's first page: Flask-WTF makes the session's secret
    g.pop("csrf_token", None)  # as a new request would (the tests' app context keeps `g`)
    first = token_of(header(client.get("/actifs").text))
    g.pop("csrf_token", None)
    page = client.get("/").text
    assert token_of(header(page)) == first
    assert re.search(rf'name="csrf_token" value="{re.escape(first)}"', page.split("</header>")[1])
    assert kept_tokens.cache_info().hits == 1

    now = time.time()
    monkeypatch.setattr(layout.time, "time", lambda: now + 60)
    g.pop("csrf_token", None)
    later = token_of(header(client.get("/actifs").text))
    assert kept_tokens.cache_info().misses == 2  # signed again, for the new minute
    for _ in range(2):
        g.pop("csrf_token", None)
        theirs = token_of(header(other.get("/actifs").text))
    assert theirs not in (first, later)
    for token in (first, later):
        assert client.post("/marquer-lus", data={"csrf_token": token}).status_code == 302
    assert client.post("/marquer-lus", data={"csrf_token": theirs}).status_code == 400


def test_with_a_time_limit_each_page_signs_its_own_token(
    app: Flask, members, client_for, monkeypatch, kept_tokens
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    client = client_for(members["pair"])
    token = token_of(header(client.get("/actifs").text))
    g.pop("csrf_token", None)
    client.get("/actifs")
    assert kept_tokens.cache_info().currsize == 0
    assert client.post("/marquer-lus", data={"csrf_token": token}).status_code == 302


def test_pages_that_read_the_counters_themselves_show_the_same_ones(members, client_for):
    """The topic and rubrique pages read the header's counters in a statement of their own
    (one round trip fewer): their header counts what every other page's counts."""
    staff, pair = members["animation"], members["pair"]
    topic = make_topic(pair)
    post = make_reply(pair, topic, "Une réponse à signaler.")
    # The bell of the staff rings about another topic (reading this one reads its own).
    make_reply(pair, make_topic(staff, title="Un sujet de l'animatrice"), "Une réponse.")
    moderation.report_post(members["other_pair"], post, topic, "other", "Hors sujet.")
    messages.start_conversation(pair, [staff], "Une question", "Bonjour.")
    db.session.commit()
    client = client_for(staff)

    def counts(url: str) -> list[str]:
        response = client.get(url)
        assert response.status_code == 200, url
        # A phone's « Menu » repeats the forum's links (and sums what waits for the staff on
        # its button): counted apart, it must agree with the wide screens' header.
        wide = re.sub(
            r'<details class="mobile-menu">.*?</details>', "", header(response.text), flags=re.S
        )
        menu = re.search(r'<details class="mobile-menu">.*?</details>', response.text, re.S)
        phone = re.findall(r'badge badge--count">(\d+)<', menu.group(0))
        queue = re.findall(r'Modération <span class="badge badge--count">(\d+)<', wide)
        assert phone == [*queue, *queue], url  # Menu's sum (no registrations), « Modération »
        return re.findall(r'badge badge--count">(\d+)<', wide)

    index = counts("/")
    assert len(index) == 3  # bell, messages, moderation queue
    assert counts(f"/t/{topic.id}") == index
    assert counts(f"/r/{topic.category.slug}") == index


def test_every_page_of_a_topic_has_the_whole_trail(members, client_for) -> None:
    """Forum › thème › rubrique (› sujet) on the topic, its reply, edit and history pages and
    on « Nouveau sujet » (the reply and edit pages dropped the thème, the edit page the
    rubrique too)."""
    topic = make_topic(members["pair"], title="Un sujet à suivre", body="Le début.")
    reply = make_reply(members["pair"], topic, "Une réponse.")
    client = client_for(members["pair"])
    edited = client.post(f"/p/{reply.id}/modifier", data={"body": "Revue.", "submit": "1"})
    assert edited.status_code == 302
    trail = ["Forum", "Les échanges de pratiques", "Le premier entretien"]
    pages = {
        f"/t/{topic.id}": trail,
        f"/t/{topic.id}/repondre": [*trail, "Un sujet à suivre"],
        f"/p/{reply.id}/modifier": [*trail, "Un sujet à suivre"],
        f"/p/{reply.id}/historique": [*trail, "Un sujet à suivre"],
        "/r/premier-entretien/nouveau-sujet": trail,
    }
    for url, expected in pages.items():
        page = client.get(url, follow_redirects=True)
        assert page.status_code == 200, url
        nav = re.search(r'<nav class="breadcrumb".*?</nav>', page.text, re.S)
        assert nav is not None, url
        assert re.findall(r">([^<>]+)</a>", nav.group(0)) == expected, url
