"""Hidden content answers exactly like missing content, on the routes the matrix
of tests/test_wall.py does not list (POST actions, files, notifications, quotes)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Post
from comcep.members.models import Member
from tests.factories import make_topic
from tests.pages import without_csrf

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "request_scoped_clients")
MISSING = 999_999


@pytest.fixture
def ids(members: dict[str, Member]) -> dict[str, int]:
    pairs = make_topic(members["pair"], "premier-entretien", title="Entre pairs CANARIW1")
    exchange = make_topic(members["hors_pair"], "echanges", title="Échange")
    first = db.session.scalar(select(Post.id).where(Post.topic_id == pairs.id))
    return {"topic": pairs.id, "post": first, "exchange": exchange.id}


ROUTES = [
    ("POST", "/t/{id}/abonnement", {"level": "watching"}),
    ("POST", "/p/{id}/solution", {}),
    ("POST", "/p/{id}/merci", {"action": "donner"}),
    ("GET", "/p/{id}/signaler", None),
    ("POST", "/p/{id}/signaler", {"reason": "other", "comment": "x"}),
    ("GET", "/t/{id}/deplacer", None),
    ("POST", "/t/{id}/moderer", {"action": "lock"}),
    ("GET", "/t/{id}/fusionner/sujets?q=ab", None),
    ("POST", "/p/{id}/historique/masquer", {}),
    ("GET", "/t/{id}/relayer", None),
]


@pytest.mark.parametrize(("method", "template", "data"), ROUTES)
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_hidden_and_missing_answer_alike_for_a_hors_pair(
    members, client_for: Callable, ids, method, template, data, accept
) -> None:
    client = client_for(members["hors_pair"])
    key = "post" if "/p/" in template else "topic"

    def ask(value: int):  # noqa: ANN202
        url = template.format(id=value)
        headers = {"Accept": accept}
        if method == "GET":
            return client.get(url, headers=headers)
        return client.post(url, data=data, headers=headers)

    hidden, missing = ask(ids[key]), ask(MISSING)
    assert (hidden.status_code, hidden.headers.get("Location")) == (
        missing.status_code,
        missing.headers.get("Location"),
    )
    assert without_csrf(hidden.text) == without_csrf(missing.text)


def test_quoting_a_pairs_post_in_a_hors_pairs_topic_answers_like_a_missing_post(
    members, client_for: Callable, ids
) -> None:
    client = client_for(members["hors_pair"])
    hidden = client.get(f"/t/{ids['exchange']}/repondre?citer={ids['post']}")
    missing = client.get(f"/t/{ids['exchange']}/repondre?citer={MISSING}")
    assert hidden.status_code == missing.status_code
    assert without_csrf(hidden.text) == without_csrf(missing.text)
    assert "CANARIW1" not in hidden.text
