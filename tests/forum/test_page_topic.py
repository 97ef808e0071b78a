"""The topic page reads its topic as plain values (`queries.page_topic_or_404`): the same
values as the mapped `Topic`, through the same rule."""

from __future__ import annotations

from dataclasses import fields

import pytest
from werkzeug.exceptions import NotFound

from comcep.extensions import db
from comcep.forum import queries
from comcep.forum.models import Category, Topic
from comcep.policy import Viewer
from tests.factories import make_topic


def _same_category(page, mapped) -> None:  # noqa: ANN001
    for field in fields(page):
        if field.name != "parent":
            assert getattr(page, field.name) == getattr(mapped, field.name), field.name


@pytest.mark.parametrize(
    ("slug", "in_a_theme"), [("premier-entretien", True), ("echanges", True), ("accueil", False)]
)
def test_the_values_are_those_of_the_mapped_topic(app, members, slug, in_a_theme) -> None:
    topic = make_topic(members["pair"], slug)
    page = queries.page_topic_or_404(Viewer.for_member(members["animation"]), topic.id)
    db.session.expire_all()
    mapped = db.session.get(Topic, topic.id)
    category = db.session.get(Category, mapped.category_id)
    for field in fields(page):
        if field.name != "category":
            assert getattr(page, field.name) == getattr(mapped, field.name), field.name
    assert page.reply_count == mapped.reply_count
    _same_category(page.category, category)
    parent = db.session.get(Category, category.parent_id or -1)
    assert (parent is not None) is in_a_theme
    if parent is None:
        assert page.category.parent is None
    else:
        _same_category(page.category.parent, parent)


def test_the_wall_applies(app, members) -> None:
    pairs_only = make_topic(members["pair"], "premier-entretien")
    hidden = make_topic(members["pair"], "premier-entretien")
    hidden.is_hidden = True  # as moderation leaves it (the rule reads this column)
    db.session.commit()
    read = queries.page_topic_or_404
    with pytest.raises(NotFound):
        read(Viewer.for_member(members["hors_pair"]), pairs_only.id)
    with pytest.raises(NotFound):
        read(Viewer.for_member(members["other_pair"]), hidden.id)
    with pytest.raises(NotFound):
        read(Viewer.for_member(members["pair"]), 987654)
    assert read(Viewer.for_member(members["pair"]), hidden.id).is_hidden  # its author
    assert read(Viewer.for_member(members["animation"]), hidden.id).is_hidden
    assert read(Viewer.for_member(members["pair"]), pairs_only.id).id == pairs_only.id
