"""/outils costs a page, not the forum (issue 8): the same few statements on a small and a
grown library, pages read from the files' date index, a count that stops at
TOOLS_COUNT_CAP; and the numbers shown stay right through the wall."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from comcep.attachments.models import Attachment
from comcep.extensions import db, utcnow
from comcep.forum import knowledge
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.moderation import services as moderation
from tests.factories import make_reply, make_topic
from tests.plans import recorded_statements, sqlite_plan

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "request_scoped_clients")

BUDGET = 10


def _files(post: Post, count: int, family: str = "pdf") -> None:
    """`count` file rows on a post, each newer than the last (their bytes are not read)."""
    before = db.session.scalar(select(func.count(Attachment.id)))
    for n in range(before + 1, before + count + 1):
        db.session.add(
            Attachment(
                post_id=post.id,
                uploader_id=post.author_id,
                filename=f"outil-{n:03d}.{family}",
                mime="application/pdf",
                label=family.upper(),
                family=family,
                size=1_000,
                key=f"{n:064x}",
                created_at=utcnow() - timedelta(days=1) + timedelta(seconds=n),
            )
        )
    db.session.commit()


def _opening(topic: Topic) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))


def _names(client: FlaskClient, url: str, status: int = 200) -> list[str]:
    response = client.get(url)
    assert response.status_code == status
    return re.findall(r">(outil-\d+\.\w+)</a>", response.text)


def _library(members: dict[str, Member]) -> dict[str, object]:
    """31 files in the hors pairs' rubrique, 5 in a pairs' one, 2 on a hidden post."""
    shared = make_topic(members["pair"], "echanges", title="Outils pour tous")
    _files(_opening(shared), 31)
    pairs_only = make_topic(members["pair"], title="Outils entre pairs")
    _files(_opening(pairs_only), 5, "sheet")
    hidden = make_reply(members["other_pair"], shared, "Des fichiers retirés.")
    _files(hidden, 2)
    moderation.hide_post(members["animation"], hidden, shared, "Test")
    db.session.commit()
    return {"hidden": hidden}


def test_the_library_pages_count_and_hide_what_they_should(
    members: dict[str, Member], client_for: Callable[[Member], FlaskClient]
) -> None:
    _library(members)
    pair, outsider = client_for(members["pair"]), client_for(members["hors_pair"])
    staff = client_for(members["animation"])

    first, second = _names(pair, "/outils"), _names(pair, "/outils?page=2")
    assert len(first) == 30
    assert len(second) == 6
    everything = first + second
    assert everything == sorted(everything, reverse=True)  # newest first, none twice
    assert "outil-037.pdf" not in everything
    assert "outil-038.pdf" not in everything
    assert 'href="/outils?page=2"' in pair.get("/outils").text
    assert _names(pair, "/outils?type=sheet") == [f"outil-0{n}.sheet" for n in range(36, 31, -1)]

    first, second = _names(outsider, "/outils"), _names(outsider, "/outils?page=2")
    assert len(first) == 30
    assert second == ["outil-001.pdf"]
    assert not any(name.endswith(".sheet") for name in first)
    assert _names(outsider, "/outils?type=sheet") == []

    assert len(_names(staff, "/outils")) + len(_names(staff, "/outils?page=2")) == 38
    assert "fichiers les plus récents" not in unescape(pair.get("/outils").text)


def test_past_the_cap_the_pager_stops_and_says_how_to_reach_older_files(
    members: dict[str, Member],
    client_for: Callable[[Member], FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _library(members)
    monkeypatch.setattr(knowledge, "TOOLS_COUNT_CAP", 30)
    pair = client_for(members["pair"])
    page = unescape(pair.get("/outils").text)
    assert "Les pages montrent les 30 fichiers les plus récents" in page
    assert 'href="/outils?page=2"' not in page
    assert len(_names(pair, "/outils")) == 30
    assert "fichiers les plus récents" not in unescape(pair.get("/outils?type=sheet").text)
    # A filter already chosen is not offered again.
    monkeypatch.setattr(knowledge, "TOOLS_COUNT_CAP", 1)
    typed = unescape(pair.get("/outils?type=sheet").text)
    assert "Les pages montrent les 1 fichiers les plus récents : filtrez aussi par mot-clé" in typed


def test_a_type_the_library_does_not_know_filters_nothing_and_is_not_taken_for_a_filter(
    members: dict[str, Member],
    client_for: Callable[[Member], FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`?type=` or `?mot-cle=` out of the list (a link typed by hand, a mot-clé since
    retired) lists every file, as « Tous » does, and says why in a 400: the page then
    offers both filters, and does not carry the unknown value in its links."""
    _library(members)
    monkeypatch.setattr(knowledge, "TOOLS_COUNT_CAP", 30)
    pair = client_for(members["pair"])
    said = {
        "/outils?type=inconnu": ["Type de fichier inconnu"],
        "/outils?mot-cle=inconnu": ["Mot-clé inconnu"],
        "/outils?type=inconnu&mot-cle=inconnu": ["Type de fichier inconnu", "Mot-clé inconnu"],
    }
    for url, errors in said.items():
        response = pair.get(url)
        assert response.status_code == 400
        page = unescape(response.text)
        assert "filtrez par type ou par mot-clé pour remonter plus loin" in page
        assert all(f"{error} : choisissez-le dans la liste." in page for error in errors)
        assert "=inconnu" not in page  # in no link
        assert _names(pair, url, 400) == _names(pair, "/outils")


@pytest.mark.parametrize("url", ["/outils", "/outils?type=pdf", "/outils?page=2"])
@pytest.mark.parametrize("who", ["pair", "hors_pair"])
def test_the_library_runs_the_same_few_statements_whatever_its_size(
    members: dict[str, Member],
    client_for: Callable[[Member], FlaskClient],
    count_queries: Callable,
    who: str,
    url: str,
) -> None:
    client = client_for(members[who])
    shared = make_topic(members["pair"], "echanges", title="Outils pour tous")
    _files(_opening(shared), 35)

    def measure() -> tuple[int, list[str]]:
        assert client.get(url).status_code == 200
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements), list(statements)

    small, small_statements = measure()
    for n in range(10):
        topic = make_topic(members["other_pair"], "echanges", title=f"Encore des outils {n}")
        _files(_opening(topic), 20, "pdf" if n % 2 else "sheet")
        _files(_opening(make_topic(members["pair"], title=f"Entre pairs {n}")), 20)
    big, big_statements = measure()
    assert big == small, "\n".join(big_statements)
    assert small <= BUDGET, "\n".join(small_statements)


def test_a_page_and_its_count_walk_the_files_by_date(
    members: dict[str, Member], client_for: Callable[[Member], FlaskClient]
) -> None:
    """Driven from the posts, SQLite joined every topic's posts to their files and sorted
    them all; from the files' own index a page stops at its last row."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    _library(members)
    for n in range(20):  # many posts, few files: what made SQLite start from the topics
        make_topic(members["pair"], title=f"Sans fichier {n}", replies=[(members["pair"], "R.")])
    db.session.connection().exec_driver_sql("ANALYZE")
    db.session.commit()
    for url, index in (("/outils", "ix_attachments_created"), ("/outils?type=pdf", "family")):
        with recorded_statements() as statements:
            assert client_for(members["hors_pair"]).get(url).status_code == 200
        listing = [(s, p) for s, p in statements if "JOIN posts ON posts.id = attachments" in s]
        assert len(listing) == 2, [s for s, _ in statements]  # the page and its count
        for statement, parameters in listing:
            plan = sqlite_plan(statement, parameters)
            assert "attachments USING INDEX ix_attachments_" in plan, plan
            assert index in plan, plan
            assert "SCAN topics" not in plan, plan
            assert "LIMIT" in statement, statement  # the count stops at the cap
