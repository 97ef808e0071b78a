"""The wall between pairs and hors pairs (SPEC §2): every role against every page, written
by hand, plus a canary leak scan over the listings a hors pair can reach."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from comcep import outbox
from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import Post, PostThanks, Topic
from comcep.members.models import Member
from comcep.notifications.models import Notification
from tests.clients import RequestScopedClient
from tests.factories import category, make_reply, make_topic
from tests.pages import without_csrf

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PAIRS_TOKEN = "CANARI7731"  # pairs only
STAFF_TOKEN = "CANARI7732"  # « Le coin des animateurs »
PILOT_TOKEN = "CANARI7733"  # « Groupe pilote »
UNPLANTED_TOKEN = "CANARI0000"  # written nowhere
LOGIN = "login"  # a 302 to /connexion
MISSING_ID = 999_999


@pytest.fixture
def client_as(app: Flask) -> Callable[[Member | None], FlaskClient]:
    def make(member: Member | None) -> FlaskClient:
        if member is None:
            return RequestScopedClient(app, app.response_class, use_cookies=True)
        return RequestScopedClient(app, app.response_class, use_cookies=True, user=member)

    return make


@dataclass
class Wall:
    """One topic on each side of the wall, and the values the URL templates use."""

    members: dict[str, Member]
    topics: dict[str, Topic]
    values: dict[str, object]

    def url(self, template: str) -> str:
        return template.format(**self.values)


def _first_post_id(topic: Topic) -> int:
    return db.session.scalar(select(Post.id).where(Post.topic_id == topic.id, Post.number == 1))


@pytest.fixture
def wall(members: dict[str, Member]) -> Wall:
    """« pair » writes only in the pairs' rubriques; « other_pair » answers on both sides."""
    topics = {
        "accueil": make_topic(
            members["animation"],
            "accueil",
            title="Bienvenue sur la ComCEP",
            body="Comment rejoindre la communauté.",
        ),
        "staff": make_topic(
            members["animation"],
            "coin-des-animateurs",
            title=f"{STAFF_TOKEN} entre animatrices",
            body=f"Préparation de la réunion {STAFF_TOKEN}.",
        ),
        "pilot": make_topic(
            members["pilot_pair"],
            "consultations",
            title=f"{PILOT_TOKEN} consultation du groupe pilote",
            body=f"Votre avis sur la grille {PILOT_TOKEN}.",
        ),
        "hors_pairs": make_topic(
            members["hors_pair"],
            "echanges",
            title="Les chiffres régionaux de la formation",
            body="Le Carif-Oref publie ses tableaux de bord.",
            replies=[(members["other_pair"], "Merci, très utile pour nos entretiens.")],
        ),
        "pairs": make_topic(
            members["pair"],
            "premier-entretien",
            title=f"{PAIRS_TOKEN} : un bénéficiaire en arrêt maladie",
            body=f"Comment conduire ce premier entretien {PAIRS_TOKEN} ?",
            replies=[(members["other_pair"], f"J'ai eu le même cas {PAIRS_TOKEN}.")],
        ),
    }
    values: dict[str, object] = {"missing": MISSING_ID}
    for key, topic in topics.items():
        values[key] = topic.id
        values[f"{key}_slug"] = topic.slug
        values[f"{key}_post"] = _first_post_id(topic)
    for key, member in members.items():
        values[f"{key}_id"] = member.id
    return Wall(members=members, topics=topics, values=values)


# --- The matrix -----------------------------------------------------------------------

COLUMNS = (
    "anonymous",
    "pair",
    "other_pair",
    "pilot_pair",
    "hors_pair",
    "animation",
    "admin",
    "comite",
    "referent_apec",
)

PAGES = {
    "index": "/",
    "pairs_theme": "/r/echanges-de-pratiques",
    "pairs_rubrique": "/r/premier-entretien",
    "accueil_rubrique": "/r/accueil",
    "hors_pairs_theme": "/r/echanges-hors-pairs",
    "hors_pairs_rubrique": "/r/echanges",
    "staff_rubrique": "/r/coin-des-animateurs",
    "pilot_theme": "/r/groupe-pilote",
    "pilot_rubrique": "/r/consultations",
    "unknown_rubrique": "/r/n-existe-pas",
    "pairs_topic": "/t/{pairs}",
    "pairs_topic_slug": "/t/{pairs}/{pairs_slug}",
    "pairs_post": "/p/{pairs_post}",
    "pairs_history": "/p/{pairs_post}/historique",
    "pairs_thanks": "/p/{pairs_post}/merci",
    "pairs_first_unread": "/t/{pairs}/premier-non-lu",
    "pairs_reply_form": "/t/{pairs}/repondre",
    "hors_pairs_topic": "/t/{hors_pairs}",
    "hors_pairs_topic_slug": "/t/{hors_pairs}/{hors_pairs_slug}",
    "hors_pairs_post": "/p/{hors_pairs_post}",
    "hors_pairs_history": "/p/{hors_pairs_post}/historique",
    "hors_pairs_thanks": "/p/{hors_pairs_post}/merci",
    "hors_pairs_first_unread": "/t/{hors_pairs}/premier-non-lu",
    "hors_pairs_reply_form": "/t/{hors_pairs}/repondre",
    "staff_topic": "/t/{staff}",
    "staff_topic_slug": "/t/{staff}/{staff_slug}",
    "staff_post": "/p/{staff_post}",
    "staff_history": "/p/{staff_post}/historique",
    "staff_thanks": "/p/{staff_post}/merci",
    "staff_first_unread": "/t/{staff}/premier-non-lu",
    "staff_reply_form": "/t/{staff}/repondre",
    "pilot_topic": "/t/{pilot}",
    "pilot_topic_slug": "/t/{pilot}/{pilot_slug}",
    "pilot_post": "/p/{pilot_post}",
    "pilot_history": "/p/{pilot_post}/historique",
    "pilot_thanks": "/p/{pilot_post}/merci",
    "pilot_first_unread": "/t/{pilot}/premier-non-lu",
    "pilot_reply_form": "/t/{pilot}/repondre",
    "accueil_topic": "/t/{accueil}",
    "accueil_topic_slug": "/t/{accueil}/{accueil_slug}",
    "accueil_post": "/p/{accueil_post}",
    "accueil_history": "/p/{accueil_post}/historique",
    "accueil_thanks": "/p/{accueil_post}/merci",
    "accueil_first_unread": "/t/{accueil}/premier-non-lu",
    "accueil_reply_form": "/t/{accueil}/repondre",
    "missing_topic": "/t/{missing}",
    "missing_post": "/p/{missing}",
    "missing_thanks": "/p/{missing}/merci",
    "new_topic_pairs": "/r/premier-entretien/nouveau-sujet",
    "new_topic_hors_pairs": "/r/echanges/nouveau-sujet",
    "new_topic_accueil": "/r/accueil/nouveau-sujet",
    "new_topic_staff": "/r/coin-des-animateurs/nouveau-sujet",
    "edit_pairs_post": "/p/{pairs_post}/modifier",  # written by « pair »
    "edit_hors_pairs_post": "/p/{hors_pairs_post}/modifier",  # written by « hors_pair »
    "edit_staff_post": "/p/{staff_post}/modifier",  # written by « animation »
    "edit_pilot_post": "/p/{pilot_post}/modifier",  # written by « pilot_pair »
    "active": "/actifs",
    "unread": "/non-lus",
    "members": "/membres",
    "pair_profile": "/membres/{pair_id}",  # wrote only in the pairs' rubriques
    "other_pair_profile": "/membres/{other_pair_id}",  # also answered in « Échanges »
    "hors_pair_profile": "/membres/{hors_pair_id}",
    "animation_profile": "/membres/{animation_id}",  # wrote in Accueil and the staff corner
    "comite_profile": "/membres/{comite_id}",  # never wrote
    "missing_profile": "/membres/{missing}",
}

L = LOGIN
# Expected status per page (row) and role (column, in COLUMNS order), written by hand.
# fmt: off
EXPECTED: dict[str, tuple[int | str, ...]] = {
    #                          anon pair other pilot hors anim admin comite referent
    "index":                   (200, 200, 200, 200, 200, 200, 200, 200, 200),
    "pairs_theme":             (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "pairs_rubrique":          (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "accueil_rubrique":        (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "hors_pairs_theme":        (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "hors_pairs_rubrique":     (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "staff_rubrique":          (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "pilot_theme":             (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "pilot_rubrique":          (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "unknown_rubrique":        (L,   404, 404, 404, 404, 404, 404, 404, 404),
    "pairs_topic":             (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "pairs_topic_slug":        (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "pairs_post":              (L,   302, 302, 302, 404, 302, 302, 404, 302),
    "pairs_history":           (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "pairs_thanks":            (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "pairs_first_unread":      (L,   302, 302, 302, 404, 302, 302, 404, 302),
    "pairs_reply_form":        (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "hors_pairs_topic":        (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "hors_pairs_topic_slug":   (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "hors_pairs_post":         (L,   302, 302, 302, 302, 302, 302, 302, 302),
    "hors_pairs_history":      (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "hors_pairs_thanks":       (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "hors_pairs_first_unread": (L,   302, 302, 302, 302, 302, 302, 302, 302),
    "hors_pairs_reply_form":   (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "staff_topic":             (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "staff_topic_slug":        (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "staff_post":              (L,   404, 404, 404, 404, 302, 302, 404, 404),
    "staff_history":           (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "staff_thanks":            (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "staff_first_unread":      (L,   404, 404, 404, 404, 302, 302, 404, 404),
    "staff_reply_form":        (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "pilot_topic":             (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "pilot_topic_slug":        (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "pilot_post":              (L,   404, 404, 302, 404, 302, 302, 404, 404),
    "pilot_history":           (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "pilot_thanks":            (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "pilot_first_unread":      (L,   404, 404, 302, 404, 302, 302, 404, 404),
    "pilot_reply_form":        (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "accueil_topic":           (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "accueil_topic_slug":      (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "accueil_post":            (L,   302, 302, 302, 404, 302, 302, 404, 302),
    "accueil_history":         (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "accueil_thanks":          (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "accueil_first_unread":    (L,   302, 302, 302, 404, 302, 302, 404, 302),
    "accueil_reply_form":      (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "missing_topic":           (L,   404, 404, 404, 404, 404, 404, 404, 404),
    "missing_post":            (L,   404, 404, 404, 404, 404, 404, 404, 404),
    "missing_thanks":          (L,   404, 404, 404, 404, 404, 404, 404, 404),
    "new_topic_pairs":         (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "new_topic_hors_pairs":    (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "new_topic_accueil":       (L,   403, 403, 403, 404, 200, 200, 404, 403),
    "new_topic_staff":         (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "edit_pairs_post":         (L,   200, 403, 403, 404, 200, 200, 404, 403),
    "edit_hors_pairs_post":    (L,   403, 403, 403, 200, 200, 200, 403, 403),
    "edit_staff_post":         (L,   404, 404, 404, 404, 200, 200, 404, 404),
    "edit_pilot_post":         (L,   404, 404, 200, 404, 200, 200, 404, 404),
    "active":                  (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "unread":                  (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "members":                 (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "pair_profile":            (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "other_pair_profile":      (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "hors_pair_profile":       (L,   200, 200, 200, 200, 200, 200, 200, 200),
    "animation_profile":       (L,   200, 200, 200, 404, 200, 200, 404, 200),
    "comite_profile":          (L,   200, 200, 200, 404, 200, 200, 200, 200),
    "missing_profile":         (L,   404, 404, 404, 404, 404, 404, 404, 404),
}
# fmt: on

CELLS = [
    pytest.param(role, page, cells[column], id=f"{role}-{page}")
    for page, cells in EXPECTED.items()
    for column, role in enumerate(COLUMNS)
]


def test_matrix_has_one_cell_per_role_and_page() -> None:
    assert set(EXPECTED) == set(PAGES)
    assert all(len(cells) == len(COLUMNS) for cells in EXPECTED.values())


def _member(wall: Wall, role: str) -> Member | None:
    return None if role == "anonymous" else wall.members[role]


def _assert_status(response: Any, expected: int | str) -> None:
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        assert response.status_code == 302
        assert urlsplit(location).path == "/connexion"
    else:
        assert response.status_code == expected, response.text[:500]
        if expected == 302:
            assert urlsplit(location).path != "/connexion"


@pytest.mark.parametrize(("role", "page", "expected"), CELLS)
def test_each_role_gets_the_expected_status_on_each_page(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    wall: Wall,
    client_as: Callable,
    role: str,
    page: str,
    expected: int | str,
) -> None:
    # Statuses only: leave the fixture's outbox (search, notifications) to the canary tests.
    monkeypatch.setitem(app.config, "JOBS", "worker")
    response = client_as(_member(wall, role)).get(wall.url(PAGES[page]))
    _assert_status(response, expected)


@pytest.mark.parametrize("state", ["pending", "suspended"])
@pytest.mark.parametrize(
    "page",
    [
        "hors_pairs_rubrique",
        "hors_pairs_topic",
        "pairs_topic",
        "active",
        "members",
        "hors_pair_profile",
    ],
)
def test_member_who_is_not_active_is_treated_as_anonymous(
    wall: Wall, client_as: Callable, state: str, page: str
) -> None:
    response = client_as(wall.members[state]).get(wall.url(PAGES[page]))
    _assert_status(response, LOGIN)


@pytest.mark.parametrize("state", ["pending", "suspended"])
def test_member_who_is_not_active_sees_the_public_presentation(
    wall: Wall, client_as: Callable, state: str
) -> None:
    anonymous = client_as(None).get("/")
    response = client_as(wall.members[state]).get("/")
    assert response.status_code == 200
    assert wall.members[state].display_name not in response.text
    assert without_csrf(response.text) == without_csrf(anonymous.text)


def test_post_permalink_redirects_to_its_topic(wall: Wall, client_as: Callable) -> None:
    response = client_as(wall.members["hors_pair"]).get(wall.url("/p/{hors_pairs_post}"))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).path == wall.url("/t/{hors_pairs}/{hors_pairs_slug}")
    assert location.endswith(wall.url("#p{hors_pairs_post}"))


WRITES = [
    # role, URL, form, expected status
    pytest.param(
        "hors_pair", "/t/{pairs}/repondre", "reply", 404, id="hors_pair-reply_pairs_topic"
    ),
    pytest.param("comite", "/t/{pairs}/repondre", "reply", 404, id="comite-reply_pairs_topic"),
    pytest.param("pair", "/t/{staff}/repondre", "reply", 404, id="pair-reply_staff_topic"),
    pytest.param("pair", "/t/{pilot}/repondre", "reply", 404, id="pair-reply_pilot_topic"),
    pytest.param(
        "hors_pair",
        "/r/premier-entretien/nouveau-sujet",
        "topic",
        404,
        id="hors_pair-new_pairs_topic",
    ),
    pytest.param("pair", "/r/accueil/nouveau-sujet", "topic", 403, id="pair-new_accueil_topic"),
    pytest.param(
        "pair", "/r/coin-des-animateurs/nouveau-sujet", "topic", 404, id="pair-new_staff_topic"
    ),
    pytest.param(
        "hors_pair", "/p/{pairs_post}/modifier", "edit", 404, id="hors_pair-edit_pairs_post"
    ),
    pytest.param(
        "other_pair", "/p/{pairs_post}/modifier", "edit", 403, id="other_pair-edit_pairs_post"
    ),
    pytest.param("anonymous", "/t/{hors_pairs}/repondre", "reply", LOGIN, id="anonymous-reply"),
    pytest.param("hors_pair", "/p/{pairs_post}/merci", "thanks", 404, id="hors_pair-thank_pairs"),
    pytest.param("pair", "/p/{staff_post}/merci", "thanks", 404, id="pair-thank_staff_post"),
    pytest.param("pair", "/p/{pilot_post}/merci", "thanks", 404, id="pair-thank_pilot_post"),
    pytest.param("pair", "/p/{pairs_post}/merci", "thanks", 403, id="pair-thank_own_post"),
    pytest.param("anonymous", "/p/{pairs_post}/merci", "thanks", LOGIN, id="anonymous-thank"),
]
FORMS = {
    "reply": {"body": "Une réponse qui ne doit pas passer.", "submit": "1"},
    "topic": {"title": "Un sujet qui ne doit pas passer", "body": "Non.", "submit": "1"},
    "edit": {"title": "Titre réécrit", "body": "Corps réécrit.", "submit": "1"},
    "thanks": {"action": "donner"},
}


@pytest.mark.parametrize(("role", "url", "form", "expected"), WRITES)
def test_refused_write_answers_like_the_matrix_and_changes_nothing(
    wall: Wall, client_as: Callable, role: str, url: str, form: str, expected: int | str
) -> None:
    def snapshot() -> tuple[object, ...]:
        db.session.rollback()  # read what the requests committed
        return (
            db.session.scalar(select(func.count(Post.id))),
            db.session.scalar(select(func.count(Topic.id))),
            db.session.scalar(select(Post.body_source).where(Post.id == wall.values["pairs_post"])),
            db.session.scalar(select(func.count()).select_from(PostThanks)),
        )

    before = snapshot()
    response = client_as(_member(wall, role)).post(wall.url(url), data=FORMS[form])
    _assert_status(response, expected)
    assert snapshot() == before


# --- Canary: planted tokens never reach the other side ---------------------------------

# Listings of other domains: scanned too, whatever their status (200, 403 or 404).
OTHER_LISTINGS = [
    "/notifications",
    "/messages",
    "/messages/nouveau",
    "/membres/suggestions?q=pa",
    "/outils",
    "/mots-cles",
    "/moderation",
    "/analyses",
]

HORS_PAIR_PAGES = [
    "/",
    "/r/echanges-hors-pairs",
    "/r/echanges",
    "/r/propositions-d-outils",
    "/t/{hors_pairs}",
    "/actifs",
    "/non-lus",
    "/membres",
    "/membres?q=paire",
    "/membres/{hors_pair_id}",
    "/membres/{other_pair_id}",  # answered in the pairs' topic too
    "/membres/{pair_id}",
    "/membres/{animation_id}",
    "/membres/{pilot_pair_id}",
    "/t/{pairs}",
    "/t/{pairs}/{pairs_slug}",
    "/p/{pairs_post}",
    "/p/{pairs_post}/historique",
    "/p/{pairs_post}/merci",
    "/p/{hors_pairs_post}/merci",
    "/t/{pairs}/premier-non-lu",
    "/r/premier-entretien",
    "/t/{hors_pairs}/repondre?citer={pairs_post}",
    "/p/{pairs_post}/modifier",
    *OTHER_LISTINGS,
]

PAIR_PAGES = [
    "/",
    "/r/echanges-de-pratiques",
    "/r/accueil",
    "/actifs",
    "/non-lus",
    "/membres",
    "/membres/{animation_id}",
    "/membres/{pilot_pair_id}",
    "/t/{staff}",
    "/t/{pilot}",
    "/r/coin-des-animateurs",
    "/r/groupe-pilote",
    *OTHER_LISTINGS,
]

CANARIES = [
    pytest.param(
        "hors_pair", HORS_PAIR_PAGES, [PAIRS_TOKEN, STAFF_TOKEN, PILOT_TOKEN], id="hors_pair"
    ),
    pytest.param("comite", HORS_PAIR_PAGES, [PAIRS_TOKEN, STAFF_TOKEN, PILOT_TOKEN], id="comite"),
    pytest.param("pair", PAIR_PAGES, [STAFF_TOKEN, PILOT_TOKEN], id="pair"),
    pytest.param("referent_apec", PAIR_PAGES, [STAFF_TOKEN, PILOT_TOKEN], id="referent_apec"),
    pytest.param("pilot_pair", PAIR_PAGES, [STAFF_TOKEN], id="pilot_pair"),
]


@pytest.mark.parametrize(("role", "pages", "tokens"), CANARIES)
def test_planted_token_never_appears_on_the_other_side_of_the_wall(
    wall: Wall, client_as: Callable, role: str, pages: list[str], tokens: list[str]
) -> None:
    client = client_as(wall.members[role])
    for template in pages:
        url = wall.url(template)
        response = client.get(url)
        assert response.status_code in (200, 302, 403, 404), url
        text = (response.text + response.headers.get("Location", "")).lower()
        for token in tokens:
            assert token.lower() not in text, f"{token} leaked on {url} to {role}"


@pytest.mark.parametrize(("role", "pages", "tokens"), CANARIES)
def test_searching_a_hidden_token_looks_like_searching_a_word_nobody_wrote(
    wall: Wall, client_as: Callable, role: str, pages: list[str], tokens: list[str]
) -> None:
    # The results page echoes the query: compare with a search for a token never planted.
    client = client_as(wall.members[role])
    for token in tokens:
        found = client.get(f"/recherche?q={token}")
        nothing = client.get(f"/recherche?q={UNPLANTED_TOKEN}")
        assert found.status_code == nothing.status_code
        assert found.status_code in (200, 404)  # 404 while search is not wired
        expected = without_csrf(nothing.text).replace(UNPLANTED_TOKEN, token)
        assert without_csrf(found.text) == expected, f"{token} found by {role}"


def test_canary_is_visible_to_pairs_so_the_scan_can_see_a_leak(
    wall: Wall, client_as: Callable
) -> None:
    client = client_as(wall.members["referent_apec"])  # has read nothing yet
    for url in ("/", "/r/premier-entretien", "/actifs", "/non-lus", "/membres/{pair_id}"):
        assert PAIRS_TOKEN in client.get(wall.url(url)).text, url
    assert PAIRS_TOKEN in client.get(wall.url("/t/{pairs}")).text
    staff = client_as(wall.members["animation"])
    assert STAFF_TOKEN in staff.get("/actifs").text
    assert PILOT_TOKEN in staff.get("/actifs").text


@pytest.mark.parametrize("role", ["hors_pair", "comite"])
def test_hors_pair_never_sees_the_name_of_a_pair_who_wrote_only_behind_the_wall(
    wall: Wall, client_as: Callable, role: str
) -> None:
    client = client_as(wall.members[role])
    listings = [client.get("/membres").text, client.get("/membres/suggestions?q=pa").text]
    assert "Paire Deux" in listings[0]  # answered in « Échanges »: listed
    for text in listings:
        assert "Paire Un" not in text
        assert "Paire Pilote" not in text


def _mail_files(app: Flask) -> dict[Path, float]:
    folder = Path(app.instance_path) / "mail"
    return {path: path.stat().st_mtime for path in folder.glob("*.eml")} if folder.exists() else {}


def _mail_text(path: Path) -> tuple[str, str]:
    """Recipient and decoded text of an e-mail written by the file backend."""
    message = message_from_bytes(path.read_bytes(), policy=email_policy.default)
    parts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return str(message["To"]), str(message["Subject"]) + "\n".join(parts)


def test_mentioning_a_hors_pair_behind_the_wall_notifies_nobody_across_it(
    app: Flask, wall: Wall, client_as: Callable
) -> None:
    outbox.process()  # the fixture's own side effects first
    before = _mail_files(app)
    make_reply(
        wall.members["other_pair"],
        wall.topics["pairs"],
        f"@Hors Pair, @Comité et @Référent Apec : voyez {PAIRS_TOKEN}.",
    )
    outbox.process()

    def mentions(role: str) -> int:
        return db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.member_id == wall.members[role].id,
                Notification.topic_id == wall.topics["pairs"].id,
            )
        )

    assert mentions("referent_apec") == 1  # the mention works on this side of the wall
    hidden_from = {wall.members[role].email for role in ("hors_pair", "comite")}
    for role in ("hors_pair", "comite"):
        assert mentions(role) == 0
        response = client_as(wall.members[role]).get("/notifications")
        assert PAIRS_TOKEN.lower() not in response.text.lower()
    after = _mail_files(app)
    for path in (path for path, mtime in after.items() if before.get(path) != mtime):
        recipient, text = _mail_text(path)
        if any(address in recipient for address in hidden_from):
            assert PAIRS_TOKEN.lower() not in text.lower(), path


HIDDEN_VS_MISSING = [
    pytest.param("hors_pair", "/t/{pairs}", "/t/{missing}", id="hors_pair-topic"),
    pytest.param(
        "hors_pair", "/t/{pairs}/{pairs_slug}", "/t/{missing}/x", id="hors_pair-topic_slug"
    ),
    pytest.param("hors_pair", "/p/{pairs_post}", "/p/{missing}", id="hors_pair-post"),
    pytest.param(
        "hors_pair", "/p/{pairs_post}/modifier", "/p/{missing}/modifier", id="hors_pair-edit"
    ),
    pytest.param(
        "hors_pair", "/p/{pairs_post}/historique", "/p/{missing}/historique", id="hors_pair-history"
    ),
    pytest.param("hors_pair", "/p/{pairs_post}/merci", "/p/{missing}/merci", id="hors_pair-thanks"),
    pytest.param("hors_pair", "/t/{pairs}/repondre", "/t/{missing}/repondre", id="hors_pair-reply"),
    pytest.param(
        "hors_pair",
        "/t/{pairs}/premier-non-lu",
        "/t/{missing}/premier-non-lu",
        id="hors_pair-unread",
    ),
    pytest.param("hors_pair", "/r/premier-entretien", "/r/n-existe-pas", id="hors_pair-rubrique"),
    pytest.param(
        "hors_pair",
        "/r/premier-entretien/nouveau-sujet",
        "/r/n-existe-pas/nouveau-sujet",
        id="hors_pair-new_topic",
    ),
    pytest.param("hors_pair", "/membres/{pair_id}", "/membres/{missing}", id="hors_pair-profile"),
    pytest.param("pair", "/t/{staff}", "/t/{missing}", id="pair-staff_topic"),
    pytest.param("pair", "/t/{pilot}", "/t/{missing}", id="pair-pilot_topic"),
    pytest.param("pair", "/r/coin-des-animateurs", "/r/n-existe-pas", id="pair-staff_rubrique"),
]


@pytest.mark.parametrize(("role", "hidden", "missing"), HIDDEN_VS_MISSING)
def test_hidden_content_answers_exactly_like_missing_content(
    wall: Wall, client_as: Callable, role: str, hidden: str, missing: str
) -> None:
    client = client_as(wall.members[role])
    for headers in ({}, {"Accept": "application/json"}):
        hidden_response = client.get(wall.url(hidden), headers=headers)
        missing_response = client.get(wall.url(missing), headers=headers)
        assert hidden_response.status_code == missing_response.status_code == 404
        assert without_csrf(hidden_response.text) == without_csrf(missing_response.text)


# --- The index: only visible thèmes, counts and « dernier message » -------------------


class _IndexParser(HTMLParser):
    """Thème headings and the cells of each table row, as plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.themes: list[str] = []
        self.rows: list[list[str]] = []
        self._in_h2 = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_tbody = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._in_h2 = True
            self.themes.append("")
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False
        elif tag == "tbody":
            self._in_tbody = False
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.themes[-1] += data.strip()
        if self._cell is not None:
            self._cell.append(data)


def _index(html: str) -> _IndexParser:
    parser = _IndexParser()
    parser.feed(html)
    return parser


def _digits(cell: str) -> int:
    return int(re.sub(r"\D", "", cell))


def test_index_shows_a_hors_pair_only_the_hors_pairs_theme_and_its_counts(
    wall: Wall, client_as: Callable
) -> None:
    index = _index(client_as(wall.members["hors_pair"]).get("/").text)
    assert index.themes == ["Échanges hors pairs"]
    assert [row[0].split(" Ouvert")[0] for row in index.rows] == [
        "Échanges",
        "Propositions d'outils",
    ]
    counts = [(_digits(row[1]), _digits(row[2])) for row in index.rows]
    assert counts == [(1, 2), (0, 0)]
    assert "Les chiffres régionaux" in index.rows[0][3]
    assert "Aucun message" in index.rows[1][3]


def test_index_shows_a_pair_every_theme_but_the_staff_and_pilot_ones(
    wall: Wall, client_as: Callable
) -> None:
    index = _index(client_as(wall.members["pair"]).get("/").text)
    assert index.themes == [
        "Accueil",
        "Bienvenue aux nouveaux conseillers",
        "Les échanges de pratiques",
        "Se professionnaliser dans le métier",
        "Les outils du CEP",
        "Les améliorations du forum",
        "Les événements en régions",
        "Divers",
        "Échanges hors pairs",
    ]
    premier = next(row for row in index.rows if row[0].startswith("Le premier entretien"))
    assert (_digits(premier[1]), _digits(premier[2])) == (1, 2)
    assert PAIRS_TOKEN in premier[3]


def test_dernier_message_column_never_shows_a_pairs_title_to_a_hors_pair(
    wall: Wall, client_as: Callable
) -> None:
    # The pairs' topic is the forum's most recent activity, and its title heads the column.
    title = wall.topics["pairs"].title
    assert title[:20] in client_as(wall.members["pair"]).get("/").text
    for role in ("hors_pair", "comite"):
        text = client_as(wall.members[role]).get("/").text
        assert title[:20] not in text
        assert "arrêt maladie" not in text


def test_profile_counts_only_what_the_hors_pair_may_read(wall: Wall, client_as: Callable) -> None:
    # « other_pair » answered once in « Échanges » and once in the pairs' topic.
    url = wall.url("/membres/{other_pair_id}")
    seen_by_hors_pair = _facts(client_as(wall.members["hors_pair"]).get(url).text)
    assert (seen_by_hors_pair["Sujets"], seen_by_hors_pair["Messages"]) == ("0", "1")
    seen_by_pair = _facts(client_as(wall.members["pair"]).get(url).text)
    assert (seen_by_pair["Sujets"], seen_by_pair["Messages"]) == ("0", "2")


def _facts(html: str) -> dict[str, str]:
    """The profile's « dt / dd » pairs, as plain text."""
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", html, flags=re.S)
    return {term.strip(): re.sub(r"<[^>]+>", "", value).strip() for term, value in pairs}


# --- Moving a topic across the wall ---------------------------------------------------


def test_moving_a_topic_behind_the_wall_hides_it_from_hors_pairs_at_once(
    wall: Wall, client_as: Callable
) -> None:
    topic = wall.topics["hors_pairs"]
    hors_pair = client_as(wall.members["hors_pair"])
    assert hors_pair.get(wall.url("/t/{hors_pairs}")).status_code == 200
    assert topic.title in hors_pair.get("/actifs").text

    source = topic.category_id
    topic.category_id = category("premier-entretien").id
    services.refresh_category_counters([source, topic.category_id])
    db.session.commit()

    for url in ("/t/{hors_pairs}", "/t/{hors_pairs}/{hors_pairs_slug}", "/p/{hors_pairs_post}"):
        assert hors_pair.get(wall.url(url)).status_code == 404, url
    for url in ("/", "/actifs", "/non-lus", "/r/echanges", "/membres/{hors_pair_id}"):
        assert topic.title not in hors_pair.get(wall.url(url)).text, url
    index = _index(hors_pair.get("/").text)
    assert [(_digits(row[1]), _digits(row[2])) for row in index.rows] == [(0, 0), (0, 0)]
    # The pairs now find it in their rubrique.
    pair = client_as(wall.members["pair"])
    assert topic.title in pair.get("/r/premier-entretien").text
    assert pair.get(wall.url("/t/{hors_pairs}")).status_code == 200
