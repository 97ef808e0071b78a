"""Moderation URLs given bad input answer a French 400 or 404 with the form kept, never a
500 (SPEC §9)."""

from __future__ import annotations

from html import unescape

import pytest

from comcep.extensions import db
from comcep.forum.models import Topic
from comcep.members.models import Member
from tests.factories import category, make_topic
from tests.moderation.helpers import log_entries, posts_of


@pytest.fixture
def scene(members) -> dict[str, int]:
    topic = make_topic(
        members["pair"],
        title="Un sujet à modérer",
        replies=[(members["other_pair"], "Réponse un."), (members["pair"], "Réponse deux.")],
    )
    return {"topic": topic.id, "reply": posts_of(topic.id)[1].id}


BAD_POSTS = [
    pytest.param("/t/{topic}/deplacer", {"category": "999999"}, 400, "choix", id="move-unknown"),
    pytest.param("/t/{topic}/deplacer", {"category": "abc"}, 400, "choix", id="move-not-a-number"),
    pytest.param("/t/{topic}/deplacer", {"category": ""}, 400, "rubrique", id="move-empty"),
    pytest.param(
        "/t/{topic}/deplacer", {"category": "{theme}"}, 400, "rubriques", id="move-into-theme"
    ),
    pytest.param(
        "/t/{topic}/diviser",
        {"title": "Un nouveau sujet", "category": "{rubrique}"},
        400,
        "Sélectionnez au moins un message",
        id="split-nothing-selected",
    ),
    pytest.param(
        "/t/{topic}/diviser",
        {"title": "Un nouveau sujet", "category": "{rubrique}", "posts": "999999"},
        400,
        "choix",
        id="split-unknown-post",
    ),
    pytest.param(
        "/t/{topic}/diviser",
        {"title": "Un nouveau sujet", "category": "{rubrique}", "posts": "abc"},
        400,
        "",
        id="split-not-a-number",
    ),
    pytest.param(
        "/t/{topic}/fusionner", {"target": "{topic}"}, 400, "deux sujets", id="merge-itself"
    ),
    pytest.param("/t/{topic}/fusionner", {"target": "999999"}, 400, "numéro", id="merge-unknown"),
    pytest.param("/t/{topic}/fusionner", {"target": "-4"}, 400, "", id="merge-negative"),
    pytest.param("/t/{topic}/fusionner", {"target": "x"}, 400, "", id="merge-not-a-number"),
    pytest.param(
        "/membres/{member}/moderer",
        {"action": "suspend", "days": "-3", "reason": "Insultes."},
        400,
        "Entre 1 et 3 650 jours",
        id="suspend-negative",
    ),
    pytest.param(
        "/membres/{member}/moderer",
        {"action": "suspend", "days": "99999999999999999999", "reason": "Insultes."},
        400,
        "",
        id="suspend-absurd",
    ),
    pytest.param(
        "/membres/{member}/moderer",
        {"action": "silence", "days": "100000", "reason": "Rafale."},
        400,
        "Entre 1 et 3 650 jours",
        id="silence-absurd",
    ),
    pytest.param(
        "/membres/{member}/moderer",
        {"action": "suspend", "days": "3", "reason": ""},
        400,
        "raison",
        id="suspend-without-reason",
    ),
    pytest.param(
        "/membres/{member}/moderer",
        {"action": "silence", "days": "3", "reason": "  "},
        400,
        "raison",
        id="silence-without-reason",
    ),
    pytest.param(
        "/membres/{member}/moderer", {"action": "explode"}, 400, "", id="member-unknown-action"
    ),
    pytest.param("/p/{reply}/masquer", {"reason": ""}, 400, "Indiquez la raison", id="hide-empty"),
    pytest.param(
        "/t/{topic}/relayer",
        {"category": "999999", "summary": "Résumé."},
        400,
        "",
        id="relay-unknown",
    ),
    pytest.param(
        "/t/{topic}/diviser",
        {"title": "Un nouveau sujet", "category": "{theme}", "posts": "{reply}"},
        400,
        "organisé en rubriques",
        id="split-into-theme",
    ),
    pytest.param("/t/{topic}/renommer", {"title": ""}, 400, "titre", id="rename-empty"),
    pytest.param("/t/999999/deplacer", {"category": "1"}, 404, "", id="move-unknown-topic"),
    pytest.param("/p/999999/masquer", {"reason": "x"}, 404, "", id="hide-unknown-post"),
    pytest.param("/membres/999999/moderer", {"action": "lift"}, 404, "", id="member-unknown"),
    pytest.param("/t/{topic}/moderer", {"action": "explode"}, 303, "", id="toggle-unknown"),
]


@pytest.mark.parametrize(("url", "data", "status", "message"), BAD_POSTS)
def test_bad_moderation_input_is_refused_in_french_never_a_500(
    members, client_for, scene, url, data, status, message
) -> None:
    values = {
        **scene,
        "member": members["other_pair"].id,
        "theme": category("echanges-de-pratiques").id,
        "rubrique": category("premier-entretien").id,
    }
    url = url.format(**values)
    data = {key: value.format(**values) for key, value in data.items()}
    response = client_for(members["animation"]).post(url, data=data)
    assert response.status_code == status
    text = unescape(response.text)
    assert message in text
    if status == 400:
        for key in ("reason", "title", "summary"):  # what was typed is shown back
            if data.get(key, "").strip():
                assert data[key] in text, key
    assert log_entries() == []
    assert db.session.get(Member, members["other_pair"].id).state == "active"
    assert db.session.get(Topic, scene["topic"]).category_id == category("premier-entretien").id
