"""Who reaches the moderation tools: the animatrice and admins only. Every moderation URL,
GET and POST, answers 404 to pairs, hors pairs, the comité and network référents, and sends
visitors who are not logged in to /connexion; nothing changes. The table is written by hand
(never derived from the policy) and checked against the blueprint's routes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member
from tests.factories import category, make_topic
from tests.moderation.helpers import location, log_entries, posts_of, reload, text_of


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    url: str  # {post}, {topic}, {other} (another topic), {member}
    data: tuple[tuple[str, str], ...] = ()


ROUTES = [
    Route("queue", "GET", "/moderation"),
    Route(
        "decide_reports",
        "POST",
        "/moderation/signalements/{post}",
        (("decision", "hidden"), ("reason", "x")),
    ),
    Route(
        "decide_message",
        "POST",
        "/moderation/messages/1",
        (("decision", "hidden"), ("reason", "x")),
    ),
    Route("hide_form", "GET", "/p/{post}/masquer"),
    Route("hide", "POST", "/p/{post}/masquer", (("reason", "Raison."),)),
    Route("restore", "POST", "/p/{post}/restaurer"),
    Route("hide_revisions", "POST", "/p/{post}/historique/masquer", (("reason", "x"),)),
    Route("restore_revisions", "POST", "/p/{post}/historique/retablir"),
    Route("lock", "POST", "/t/{topic}/moderer", (("action", "lock"),)),
    Route("pin", "POST", "/t/{topic}/moderer", (("action", "pin"),)),
    Route("move_form", "GET", "/t/{topic}/deplacer"),
    Route("move", "POST", "/t/{topic}/deplacer", (("category", "{premier}"),)),
    Route("rename_form", "GET", "/t/{topic}/renommer"),
    Route("rename", "POST", "/t/{topic}/renommer", (("title", "Un titre détourné"),)),
    Route("split_form", "GET", "/t/{topic}/diviser"),
    Route(
        "split",
        "POST",
        "/t/{topic}/diviser",
        (("posts", "{post}"), ("title", "Un titre volé"), ("category", "{echanges}")),
    ),
    Route("merge_form", "GET", "/t/{topic}/fusionner"),
    Route("merge_candidates", "GET", "/t/{topic}/fusionner/sujets?q=cas"),
    Route("merge", "POST", "/t/{topic}/fusionner", (("target", "{other}"),)),
    Route("relay_form", "GET", "/t/{topic}/relayer"),
    Route(
        "relay", "POST", "/t/{topic}/relayer", (("category", "{premier}"), ("summary", "Résumé."))
    ),
    Route("member_form", "GET", "/membres/{member}/moderer"),
    Route("suspend", "POST", "/membres/{member}/moderer", (("action", "suspend"), ("reason", "x"))),
    Route("journal", "GET", "/moderation/journal"),
    Route("journal_filtered", "GET", "/moderation/journal?action=hide_post"),
    Route("settings_form", "GET", "/moderation/reglages"),
    Route("settings", "POST", "/moderation/reglages", (("premoderation_posts", "5"),)),
    Route("categories_form", "GET", "/admin/rubriques"),
    Route("update_category", "POST", "/admin/rubriques/{premier}", (("accepts_solutions", "y"),)),
    Route("edit_category_form", "GET", "/admin/rubriques/{premier}/modifier"),
    Route(
        "edit_category",
        "POST",
        "/admin/rubriques/{premier}/modifier",
        (("name", "Un nom détourné"), ("open_to_hors_pairs", "y"), ("confirm_opening", "y")),
    ),
    Route("new_category_form", "GET", "/admin/rubriques/nouvelle"),
    Route("new_category", "POST", "/admin/rubriques/nouvelle", (("name", "Une rubrique volée"),)),
]

REFUSED_ROLES = ["pair", "hors_pair", "comite", "referent_apec"]

# Routes of the moderation blueprint open to every member (they report, and read their reports).
MEMBER_ENDPOINTS = {"moderation.report", "moderation.report_message", "moderation.my_reports"}


@pytest.fixture
def scene(members) -> dict[str, str]:
    """A topic the hors pair can read (so that a 404 comes from the moderation check,
    not from the wall), another topic, and a member to act on."""
    topic = make_topic(
        members["other_pair"],
        slug="echanges",
        title="Un échange ouvert aux partenaires",
        replies=[(members["pair"], "Une réponse.")],
    )
    other = make_topic(members["other_pair"], slug="echanges", title="Un autre échange ouvert")
    return {
        "post": str(posts_of(topic.id)[1].id),
        "topic": str(topic.id),
        "other": str(other.id),
        "member": str(members["other_pair"].id),
        "premier": str(category("premier-entretien").id),
        "echanges": str(category("echanges").id),
    }


def call(client, route: Route, scene: dict[str, str]):  # noqa: ANN001, ANN201
    url = route.url.format(**scene)
    if route.method == "GET":
        return client.get(url)
    data: dict[str, str] = {key: value.format(**scene) for key, value in route.data}
    return client.post(url, data=data)


def assert_nothing_changed(scene: dict[str, str]) -> None:
    assert log_entries() == []
    post = reload(Post, int(scene["post"]))
    assert not post.is_hidden
    topic = reload(Topic, int(scene["topic"]))
    assert (topic.is_locked, topic.is_pinned, topic.merged_into_id) == (False, False, None)
    assert topic.title == "Un échange ouvert aux partenaires"
    assert topic.category_id == int(scene["echanges"])
    assert len(posts_of(topic.id)) == 2
    assert reload(Member, int(scene["member"])).state == "active"
    rubrique = reload(Category, int(scene["premier"]))
    assert (rubrique.name, rubrique.open_to_hors_pairs) == ("Le premier entretien", False)
    assert (
        db.session.scalar(select(Category.id).where(Category.name == "Une rubrique volée")) is None
    )


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_members_without_a_staff_role_get_404_on_every_moderation_url(
    members, client_for, scene, role, route
) -> None:
    response = call(client_for(members[role]), route, scene)
    assert response.status_code == 404
    assert_nothing_changed(scene)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_anonymous_visitors_are_sent_to_the_login_page_on_every_moderation_url(
    app, scene, route
) -> None:
    response = call(app.test_client(), route, scene)
    assert response.status_code == 302
    assert location(response).startswith("/connexion")
    assert_nothing_changed(scene)


@pytest.mark.parametrize("who", ["pending", "suspended"])
def test_pending_and_suspended_accounts_are_treated_as_logged_out_on_every_moderation_url(
    members, client_for, scene, who
) -> None:
    client = client_for(members[who])
    for route in ROUTES:
        response = call(client, route, scene)
        assert response.status_code == 302, route.name
        assert location(response).startswith("/connexion"), route.name
    assert_nothing_changed(scene)


ADMIN_PAGES = {"settings_form", "categories_form", "edit_category_form", "new_category_form"}
STAFF_PAGES = [r for r in ROUTES if r.method == "GET" and r.name not in ADMIN_PAGES]


@pytest.mark.parametrize("route", STAFF_PAGES, ids=[r.name for r in STAFF_PAGES])
@pytest.mark.parametrize("role", ["animation", "admin"])
def test_staff_reach_every_moderation_page(members, client_for, scene, role, route) -> None:
    assert call(client_for(members[role]), route, scene).status_code == 200


def test_the_table_covers_every_staff_route_of_the_moderation_blueprint(app: Flask) -> None:
    covered = {(r.method, r.url.split("?")[0]) for r in ROUTES}
    placeholders = {
        "post_id": "{post}",
        "topic_id": "{topic}",
        "member_id": "{member}",
        "message_id": "1",
        "category_id": "{premier}",
    }
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("moderation.") or rule.endpoint in MEMBER_ENDPOINTS:
            continue
        url = rule.rule
        for name, value in placeholders.items():
            url = url.replace(f"<int:{name}>", value)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, url) in covered, f"{method} {rule.rule} missing from ROUTES"


def test_a_moderation_post_without_csrf_token_is_refused(
    members, client_for, scene, app, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = client_for(members["animation"])
    hide = client.post(f"/p/{scene['post']}/masquer", data={"reason": "Sans jeton."})
    assert hide.status_code == 400
    assert "jeton de sécurité" in text_of(hide)
    lock = client.post(f"/t/{scene['topic']}/moderer", data={"action": "lock"})
    assert lock.status_code == 400
    suspend = client.post(
        f"/membres/{scene['member']}/moderer", data={"action": "suspend", "reason": "x"}
    )
    assert suspend.status_code == 400
    assert_nothing_changed(scene)


def test_a_moderation_post_with_its_csrf_token_goes_through(
    members, client_for, scene, app, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = client_for(members["animation"])
    page = client.get(f"/p/{scene['post']}/masquer")
    token = page.text.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        f"/p/{scene['post']}/masquer", data={"reason": "Avec jeton.", "csrf_token": token}
    )
    assert response.status_code == 302
    assert reload(Post, int(scene["post"])).is_hidden
