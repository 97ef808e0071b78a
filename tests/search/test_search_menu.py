"""The search page's rubrique menu: built from plain rows (`category_menu`), it lists what
the moderators' menus list from mapped categories, for every kind of member, and nothing
behind the wall."""

from __future__ import annotations

import html
import itertools
import re

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum import queries
from comcep.forum.models import Category
from comcep.policy import Viewer
from tests.test_policy import fresh_request


def _options(page: str) -> list[tuple[str, str]]:
    menu = re.search(r'<select[^>]*name="rubrique"[^>]*>(.*?)</select>', page, re.S)
    assert menu is not None
    found = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', menu.group(1))
    return [(html.unescape(value), html.unescape(label)) for value, label in found]


@pytest.mark.parametrize(
    "role", ["pair", "pilot_pair", "hors_pair", "animation", "referent_apec", "comite", "admin"]
)
def test_the_menu_lists_the_visible_themes_then_their_rubriques(app, members, client_for, role):
    # Two rubriques of a thème swap places: the menu follows positions, not ids.
    rubriques = db.session.scalars(
        select(Category)
        .where(Category.parent_id.is_not(None))
        .order_by(Category.parent_id, Category.position)
    ).all()
    first, second = next(
        (a, b) for a, b in itertools.pairwise(rubriques) if a.parent_id == b.parent_id
    )
    first.position, second.position = second.position, first.position
    db.session.commit()
    page = client_for(members[role]).get("/recherche").get_data(as_text=True)
    with fresh_request(app):
        expected = queries.visible_categories_flat(Viewer.for_member(members[role]))
        assert [
            (row.id, row.slug) for row in queries.category_menu(Viewer.for_member(members[role]))
        ] == [(category.id, category.slug) for category in expected]
    assert _options(page) == [("", "Toutes les rubriques")] + [
        (c.slug, ("— " if c.parent_id else "") + c.name) for c in expected
    ]
    slugs = {slug for slug, _ in _options(page)}
    if role == "hors_pair":
        assert "echanges" in slugs
        assert "premier-entretien" not in slugs
    elif role == "pair":
        assert {"echanges", "premier-entretien"} <= slugs
        order = [slug for slug, _ in _options(page)]
        assert order.index(second.slug) < order.index(first.slug)
