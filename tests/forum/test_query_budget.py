"""Page cost does not grow with the forum (SPEC §9): each page runs a small, fixed number of
SQL statements, the same on a tiny forum and on a larger one."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import FlaskLoginClient
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from tests.factories import category, make_topic

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

GET_BUDGET = 10
POST_BUDGET = GET_BUDGET  # a reply writes counters, a read mark and outbox rows besides

# page → (method, URL on the small forum, URL on the grown forum)
PAGES: dict[str, tuple[str, str, str]] = {
    "index": ("GET", "/", "/"),
    "rubrique": ("GET", "/r/premier-entretien", "/r/premier-entretien"),
    "theme": ("GET", "/r/echanges-de-pratiques", "/r/echanges-de-pratiques"),
    "topic_first_page": ("GET", "/t/{topic}", "/t/{big_topic}"),
    "topic_last_page": ("GET", "/t/{topic}?page=1", "/t/{big_topic}?page=4"),
    "active": ("GET", "/actifs", "/actifs"),
    "rubrique_unanswered": (
        "GET",
        "/r/premier-entretien?filtre=sans-reponse",
        "/r/premier-entretien?filtre=sans-reponse",
    ),
    "rubrique_unsolved": (
        "GET",
        "/r/premier-entretien?filtre=non-resolus",
        "/r/premier-entretien?filtre=non-resolus",
    ),
    "active_unanswered": ("GET", "/actifs?filtre=sans-reponse", "/actifs?filtre=sans-reponse"),
    "active_unsolved": ("GET", "/actifs?filtre=non-resolus", "/actifs?filtre=non-resolus"),
    "unread": ("GET", "/non-lus", "/non-lus"),
    "members": ("GET", "/membres", "/membres"),
    "profile": ("GET", "/membres/{author_id}", "/membres/{author_id}"),
    "post_redirect": ("GET", "/p/{topic_post}", "/p/{big_topic_post}"),
    "first_unread": ("GET", "/t/{topic}/premier-non-lu", "/t/{big_topic}/premier-non-lu"),
    "reply": ("POST", "/t/{topic}/repondre", "/t/{big_topic}/repondre"),
}


class RequestScopedClient(FlaskLoginClient):
    """Each request in an application context of its own, as on a server: a fresh `g` and a
    fresh session, so nothing is served from the test's identity map for free."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _post_id(topic: Topic, number: int) -> int:
    return db.session.scalar(
        select(Post.id).where(Post.topic_id == topic.id, Post.number == number)
    )


def _thank(member: Member, topic: Topic, number: int) -> None:
    post = db.session.get(Post, _post_id(topic, number))
    if post.author_id != member.id:
        services.thank(member, post)
        db.session.commit()


def _small_forum(members: dict[str, Member]) -> dict[str, object]:
    """3 topics of 3 posts."""
    author, other = members["pair"], members["other_pair"]
    topics = [
        make_topic(
            author,
            slug,
            title=f"Sujet de départ {n}",
            replies=[(other, "Première réponse."), (members["animation"], "Deuxième.")],
        )
        for n, slug in enumerate(["premier-entretien", "premier-entretien", "echanges"])
    ]
    _thank(members["animation"], topics[0], 2)  # the page reads who thanked what
    return {
        "topic": topics[0].id,
        "topic_post": _post_id(topics[0], 2),
        "author_id": author.id,
    }


def _grow_forum(members: dict[str, Member], make_member: Callable[..., Member]) -> dict[str, int]:
    """30 more topics by more members, and a topic of 61 posts (4 pages of 20)."""
    writers = [
        make_member(network=network, region=region)
        for network, region in [
            ("apec", "bretagne"),
            ("cap-emploi", "normandie"),
            ("missions-locales", "occitanie"),
            ("avenir-actifs", "la-reunion"),
            ("france-travail", "ile-de-france"),
        ]
    ]
    writers += [make_member(statut="hors_pair", network="centre-inffo")]
    slugs = ["premier-entretien"] * 25
    slugs += ["echanges", "liens-utiles", "divers", "vos-questions", "accueil"]
    for n, slug in enumerate(slugs):
        author = writers[5] if slug == "echanges" else writers[n % 5]
        make_topic(
            author,
            slug,
            title=f"Sujet supplémentaire {n}",
            replies=[(members["pair"], f"Réponse au sujet {n}.")],
        )
    repliers = [members["pair"], members["other_pair"], *writers[:5]]
    big = services.create_topic(
        members["pair"], category("premier-entretien"), "Un long fil", "Le début du fil."
    )
    for n in range(60):
        services.reply(repliers[n % len(repliers)], big, f"Réponse numéro {n}.")
    db.session.commit()
    for number in (2, 3, 61):  # on the first page and on the last
        _thank(members["animation"], big, number)
    return {"big_topic": big.id, "big_topic_post": _post_id(big, 50)}


def _measure(
    client: FlaskClient, count_queries: Callable, method: str, url: str
) -> tuple[int, list[str]]:
    """Statements run by the second of two like requests (the first one warms up); two
    replies differ in their text, as the same one sent again is refused."""
    sent = itertools.count(1)

    def send() -> Any:
        if method == "POST":
            body = f"Une réponse de plus ({next(sent)})."
            return client.post(url, data={"body": body, "submit": "1"})
        return client.get(url)

    expected = {"GET": (200, 302), "POST": (302,)}[method]
    assert send().status_code in expected, url
    with count_queries() as statements:
        response = send()
    assert response.status_code in expected, url
    return len(statements), list(statements)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_runs_the_same_small_number_of_queries_whatever_the_forum_size(
    app: Flask,
    members: dict[str, Member],
    make_member: Callable[..., Member],
    count_queries: Callable,
    monkeypatch: pytest.MonkeyPatch,
    page: str,
) -> None:
    method, small_url, big_url = PAGES[page]
    if method == "POST":
        # Count the request, not the side effects it queues: in production the worker
        # applies the outbox (search index, notifications) after the response.
        monkeypatch.setitem(app.config, "JOBS", "worker")
    reader = members["referent_apec"]  # reads, never wrote: « non lus » has rows
    client = RequestScopedClient(app, app.response_class, use_cookies=True, user=reader)

    values: dict[str, object] = _small_forum(members)
    small, small_statements = _measure(client, count_queries, method, small_url.format(**values))

    values.update(_grow_forum(members, make_member))
    big, big_statements = _measure(client, count_queries, method, big_url.format(**values))

    assert big == small, "\n".join(big_statements)
    budget = GET_BUDGET if method == "GET" else POST_BUDGET
    assert small <= budget, "\n".join(small_statements)
