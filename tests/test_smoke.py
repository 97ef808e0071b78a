"""The walking skeleton: a migrated database holds the tree, and a pair can post."""

from __future__ import annotations

from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Category
from comcep.members.models import Network, Region
from tests.factories import make_topic


def test_migrated_database_holds_default_tree_networks_and_regions() -> None:
    assert (
        db.session.scalar(select(func.count(Category.id)).where(Category.parent_id.is_(None))) == 11
    )
    assert db.session.scalar(select(func.count(Region.id))) == 18
    codes = set(db.session.scalars(select(Network.code)))
    assert {"apec", "cap-emploi", "france-travail", "missions-locales", "avenir-actifs"} <= codes
    hors = db.session.scalars(select(Category.slug).where(Category.open_to_hors_pairs))
    assert set(hors) == {"echanges-hors-pairs", "echanges", "propositions-d-outils"}


def test_pair_sees_topic_on_index_and_topic_page(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Combien de temps pour un entretien ?")
    client = client_for(members["other_pair"])
    assert "Combien de temps pour un entretien" in client.get("/").text
    page = client.get(f"/t/{topic.id}")
    assert page.status_code == 200
    assert "Le premier message du sujet." in page.text
