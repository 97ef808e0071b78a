"""The policy (SPEC §2): its SQL predicate and its Python checks agree, and each role sees
the thèmes written below by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import aliased, joinedload
from werkzeug.exceptions import Forbidden, NotFound

from comcep import policy
from comcep.extensions import db
from comcep.forum import queries
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member
from comcep.moderation import services as moderation
from comcep.policy import Viewer
from tests.factories import category, make_reply, make_topic

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

ROLES = [
    "anonymous",
    "pair",
    "other_pair",
    "pilot_pair",
    "hors_pair",
    "animation",
    "admin",
    "comite",
    "referent_apec",
    "pending",
    "suspended",
]

ALL_THEMES = {
    "accueil",
    "bienvenue",
    "echanges-de-pratiques",
    "se-professionnaliser",
    "outils-du-cep",
    "ameliorations-du-forum",
    "evenements-en-regions",
    "divers",
    "echanges-hors-pairs",
    "coin-des-animateurs",
    "groupe-pilote",
}
PAIR_THEMES = ALL_THEMES - {"coin-des-animateurs", "groupe-pilote"}

EXPECTED_THEMES: dict[str, set[str]] = {
    "anonymous": set(),
    "pending": set(),
    "suspended": set(),
    "pair": PAIR_THEMES,
    "other_pair": PAIR_THEMES,
    "referent_apec": PAIR_THEMES,
    "pilot_pair": PAIR_THEMES | {"groupe-pilote"},
    "hors_pair": {"echanges-hors-pairs"},
    "comite": {"echanges-hors-pairs"},
    "animation": ALL_THEMES,
    "admin": ALL_THEMES,
}

# Rubriques whose visibility differs between roles, and who sees them.
RESTRICTED_RUBRIQUES = {"premier-entretien", "echanges", "propositions-d-outils", "consultations"}
EXPECTED_RESTRICTED: dict[str, set[str]] = {
    "anonymous": set(),
    "pending": set(),
    "suspended": set(),
    "pair": {"premier-entretien", "echanges", "propositions-d-outils"},
    "other_pair": {"premier-entretien", "echanges", "propositions-d-outils"},
    "referent_apec": {"premier-entretien", "echanges", "propositions-d-outils"},
    "pilot_pair": RESTRICTED_RUBRIQUES,
    "hors_pair": {"echanges", "propositions-d-outils"},
    "comite": {"echanges", "propositions-d-outils"},
    "animation": RESTRICTED_RUBRIQUES,
    "admin": RESTRICTED_RUBRIQUES,
}


@contextmanager
def fresh_request(app: Flask) -> Iterator[None]:
    """A request of its own: `visible_category_ids` caches on `g`, and `g` lives on the
    application context, which the tests' own context would otherwise share."""
    with app.app_context(), app.test_request_context():
        yield


def _viewer(members: dict[str, Member], role: str) -> Viewer:
    return Viewer.for_member(None if role == "anonymous" else members[role])


def _slugs(ids: set[int] | frozenset[int]) -> set[str]:
    return set(db.session.scalars(select(Category.slug).where(Category.id.in_(ids))))


def _sql_visible(viewer: Viewer) -> set[int]:
    """SPEC §2 written independently of the policy, as one SQL query: a category is visible
    when its own flags and its thème's admit the viewer (staff see everything)."""
    if not viewer.is_authenticated:
        return set()
    if viewer.is_staff:
        return set(db.session.scalars(select(Category.id)))

    def rule(table: type[Category]) -> ColumnElement[bool]:
        group_ok = or_(table.group_id.is_(None), table.group_id.in_(viewer.group_ids))
        own = and_(table.staff_only.is_(False), group_ok)
        return own if viewer.is_pair else and_(own, table.open_to_hors_pairs.is_(True))

    parent = aliased(Category)
    parent_ok = select(parent.id).where(parent.id == Category.parent_id, rule(parent)).exists()
    query = select(Category.id).where(rule(Category), or_(Category.parent_id.is_(None), parent_ok))
    return set(db.session.scalars(query))


def _python_visible(viewer: Viewer) -> set[int]:
    categories = db.session.scalars(select(Category)).all()
    return {c.id for c in categories if policy.can(policy.check_see_category, viewer, c)}


def _load_topic(topic_id: int) -> Topic:
    return db.session.scalar(
        select(Topic).options(joinedload(Topic.category)).where(Topic.id == topic_id)
    )


def _load_post(post_id: int) -> tuple[Post, Topic]:
    post = db.session.get(Post, post_id)
    return post, _load_topic(post.topic_id)


# --- Visibility of categories ---------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_sql_predicate_and_python_check_agree_on_every_category(
    app: Flask, members: dict[str, Member], role: str
) -> None:
    viewer = _viewer(members, role)
    with fresh_request(app):
        assert _sql_visible(viewer) == _python_visible(viewer)
        listed = db.session.scalars(select(Category.id).where(policy.visible_categories(viewer)))
        assert set(listed) == _sql_visible(viewer)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_themes_written_in_the_table(
    app: Flask, members: dict[str, Member], role: str
) -> None:
    viewer = _viewer(members, role)
    with fresh_request(app):
        visible = _slugs(policy.visible_category_ids(viewer))
        assert visible & ALL_THEMES == EXPECTED_THEMES[role]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_restricted_rubriques_written_in_the_table(
    app: Flask, members: dict[str, Member], role: str
) -> None:
    viewer = _viewer(members, role)
    with fresh_request(app):
        visible = _slugs(policy.visible_category_ids(viewer))
        assert visible & RESTRICTED_RUBRIQUES == EXPECTED_RESTRICTED[role]


@pytest.mark.parametrize("role", ["hors_pair", "comite"])
def test_hors_pair_sees_only_the_hors_pairs_theme_and_its_rubriques(
    app: Flask, members: dict[str, Member], role: str
) -> None:
    with fresh_request(app):
        visible = _slugs(policy.visible_category_ids(_viewer(members, role)))
        assert visible == {"echanges-hors-pairs", "echanges", "propositions-d-outils"}


def test_rubrique_opened_to_hors_pairs_stays_hidden_under_a_closed_theme(
    app: Flask, members: dict[str, Member]
) -> None:
    category("premier-entretien").open_to_hors_pairs = True
    db.session.commit()
    with fresh_request(app):
        viewer = _viewer(members, "hors_pair")
        assert "premier-entretien" not in _slugs(_sql_visible(viewer))
        assert _sql_visible(viewer) == _python_visible(viewer)


def test_staff_only_rubrique_under_an_open_theme_is_hidden_from_pairs_and_hors_pairs(
    app: Flask, members: dict[str, Member]
) -> None:
    category("propositions-d-outils").staff_only = True
    db.session.commit()
    expected = {"pair": False, "hors_pair": False, "pilot_pair": False, "animation": True}
    for role, sees in expected.items():
        with fresh_request(app):
            viewer = _viewer(members, role)
            assert ("propositions-d-outils" in _slugs(_sql_visible(viewer))) is sees, role
            assert _sql_visible(viewer) == _python_visible(viewer), role


def test_group_restriction_on_a_theme_reaches_its_rubriques(
    app: Flask, members: dict[str, Member]
) -> None:
    category("echanges-hors-pairs").group_id = category("groupe-pilote").group_id
    db.session.commit()
    expected = {"pair": False, "hors_pair": False, "pilot_pair": True, "admin": True}
    for role, sees in expected.items():
        with fresh_request(app):
            viewer = _viewer(members, role)
            assert ("echanges" in _slugs(_sql_visible(viewer))) is sees, role
            assert _sql_visible(viewer) == _python_visible(viewer), role


def _restricted_themes_and_rubriques() -> None:
    """Flags the seed does not combine: an open rubrique under a closed thème, a staff-only
    rubrique under an open one, a group on a thème."""
    category("premier-entretien").open_to_hors_pairs = True
    category("propositions-d-outils").staff_only = True
    category("echanges-hors-pairs").group_id = category("groupe-pilote").group_id
    db.session.commit()


def test_a_topic_read_with_its_rubrique_is_judged_on_those_flags_as_on_the_table(
    app: Flask, members: dict[str, Member], count_queries: Callable
) -> None:
    """The topic pages and `get_topic_or_404` read the rubrique and thème with the topic:
    `check_see_topic` then decides on those flags with no query of its own. Every category,
    every role: the same answer as the independent SQL rule, on both kinds of topic."""
    _restricted_themes_and_rubriques()
    topic = make_topic(members["animation"], "premier-entretien")
    for category_id, slug in db.session.execute(select(Category.id, Category.slug)).all():
        moved = update(Topic).where(Topic.id == topic.id).values(category_id=category_id)
        db.session.execute(moved)
        db.session.commit()
        for role in ROLES:
            viewer = _viewer(members, role)
            with fresh_request(app):
                expected = category_id in _sql_visible(viewer)
            for read_topic in (queries.read_page_topic, queries.read_topic):
                with fresh_request(app):
                    read = read_topic(topic.id)
                    with count_queries() as statements:
                        sees = policy.can(policy.check_see_topic, viewer, read)
                    assert sees is expected, (slug, role, read_topic.__name__)
                    assert statements == [], (slug, role, read_topic.__name__)


def test_a_topic_without_its_rubrique_or_moved_is_judged_on_the_table(
    app: Flask, members: dict[str, Member], count_queries: Callable
) -> None:
    """No flags loaded, flags expired, or a topic moved during the request (its loaded
    rubrique is the old one): the check asks the rubriques' table."""
    topic = make_topic(members["hors_pair"], "echanges")
    hors_pair = _viewer(members, "hors_pair")
    with fresh_request(app):
        bare = db.session.get(Topic, topic.id)  # its rubrique not loaded
        with count_queries() as statements:
            policy.check_see_topic(hors_pair, bare)
        assert len(statements) == 1
        assert "FROM categories" in statements[0]
        assert "category" not in bare.__dict__  # the check loaded nothing into it
    with fresh_request(app):
        moved = queries.read_topic(topic.id)
        moved.category_id = category("premier-entretien").id  # the old rubrique stays loaded
        with pytest.raises(NotFound):
            policy.check_see_topic(hors_pair, moved)
    with fresh_request(app):
        read = queries.read_topic(topic.id)
        db.session.expire(read.category)  # as `Session.refresh` or a bulk update would
        with count_queries() as statements:
            policy.check_see_topic(hors_pair, read)
        assert any("FROM categories" in statement for statement in statements)
        with pytest.raises(NotFound):
            policy.check_see_topic(_viewer(members, "pending"), read)  # not active: nothing


@pytest.mark.parametrize("role", ["pending", "suspended"])
def test_member_who_is_not_active_is_an_anonymous_viewer(
    members: dict[str, Member], role: str
) -> None:
    assert Viewer.for_member(members[role]) == policy.ANONYMOUS


def test_moving_a_topic_changes_who_may_see_it_at_once(
    app: Flask, members: dict[str, Member]
) -> None:
    topic = make_topic(members["hors_pair"], "echanges")
    topic.category_id = category("premier-entretien").id
    db.session.commit()
    with fresh_request(app):
        hors_pair = _viewer(members, "hors_pair")
        with pytest.raises(NotFound):
            policy.check_see_topic(hors_pair, _load_topic(topic.id))
        visible = db.session.scalars(select(Topic.id).where(policy.visible_topics(hors_pair)))
        assert topic.id not in set(visible)


def test_readers_of_a_topic_are_exactly_the_members_who_may_see_it(
    app: Flask, members: dict[str, Member]
) -> None:
    """Notifications and e-mails ask the wall from the members' side, and the export asks
    which topics open for a member (`openable_topics`): the same answers as the checks,
    for a hidden topic, a merged one and a topic of each rubrique."""
    hidden = make_topic(members["pair"], "premier-entretien", title="Un sujet masqué")
    hidden.is_hidden = True
    merged = make_topic(members["pair"], "echanges", title="Un sujet fusionné")
    moderation.merge_topics(members["animation"], merged, make_topic(members["pair"], "echanges"))
    db.session.commit()
    topic_ids = [hidden.id, merged.id] + [
        make_topic(members["animation"], slug).id
        for slug in (
            "premier-entretien",
            "echanges-de-pratiques",
            "echanges",
            "echanges-hors-pairs",
            "accueil",
            "coin-des-animateurs",
            "consultations",
            "groupe-pilote",
        )
    ]
    for topic_id in topic_ids:
        with fresh_request(app):
            topic = db.session.scalar(
                select(Topic)
                .options(joinedload(Topic.category).joinedload(Category.parent))
                .where(Topic.id == topic_id)
            )
            readers = set(db.session.scalars(select(Member.id).where(policy.readers_of(topic))))
            for role, member in members.items():
                viewer = Viewer.for_member(member)
                sees = policy.can(policy.check_see_topic, viewer, topic)
                assert (member.id in readers) is sees, (role, topic.category.slug)
                opens = select(Topic.id).where(Topic.id == topic.id, policy.openable_topics(viewer))
                assert (db.session.scalar(opens) is not None) is sees, (role, topic.title)


# --- Checks on topics and posts -------------------------------------------------------


def test_hidden_topic_is_not_found_for_a_pair_and_seen_by_the_animatrice(
    app: Flask, members: dict[str, Member]
) -> None:
    topic = make_topic(members["pair"])
    topic.is_hidden = True
    db.session.commit()
    with fresh_request(app):
        with pytest.raises(NotFound):
            policy.check_see_topic(_viewer(members, "other_pair"), _load_topic(topic.id))
        policy.check_see_topic(_viewer(members, "animation"), _load_topic(topic.id))


def test_reply_on_a_locked_topic_is_forbidden_to_a_pair_and_allowed_to_the_animatrice(
    app: Flask, members: dict[str, Member]
) -> None:
    topic = make_topic(members["pair"])
    topic.is_locked = True
    db.session.commit()
    with fresh_request(app):
        with pytest.raises(Forbidden, match="verrouillé"):
            policy.check_reply(_viewer(members, "other_pair"), _load_topic(topic.id))
        policy.check_reply(_viewer(members, "animation"), _load_topic(topic.id))
        with pytest.raises(NotFound):
            policy.check_reply(_viewer(members, "hors_pair"), _load_topic(topic.id))


def test_reply_on_an_open_topic_is_allowed_to_a_pair(
    app: Flask, members: dict[str, Member]
) -> None:
    topic = make_topic(members["pair"])
    with fresh_request(app):
        policy.check_reply(_viewer(members, "other_pair"), _load_topic(topic.id))


def test_reply_in_a_read_only_rubrique_is_forbidden_to_a_pair(
    app: Flask, members: dict[str, Member]
) -> None:
    topic = make_topic(members["animation"], "divers")
    category("divers").read_only = True
    db.session.commit()
    with fresh_request(app), pytest.raises(Forbidden, match="lecture seule"):
        policy.check_reply(_viewer(members, "pair"), _load_topic(topic.id))


@pytest.mark.parametrize(
    ("role", "outcome"),
    [
        ("pair", Forbidden),
        ("referent_apec", Forbidden),
        ("hors_pair", NotFound),
        ("anonymous", NotFound),
        ("animation", None),
        ("admin", None),
    ],
)
def test_only_staff_open_topics_in_accueil(
    app: Flask, members: dict[str, Member], role: str, outcome: type[Exception] | None
) -> None:
    with fresh_request(app):
        viewer = _viewer(members, role)
        if outcome is None:
            policy.check_create_topic(viewer, category("accueil"))
        else:
            with pytest.raises(outcome):
                policy.check_create_topic(viewer, category("accueil"))


def test_new_topic_in_a_read_only_rubrique_is_forbidden_to_a_pair(
    app: Flask, members: dict[str, Member]
) -> None:
    category("divers").read_only = True
    db.session.commit()
    with fresh_request(app), pytest.raises(Forbidden, match="lecture seule"):
        policy.check_create_topic(_viewer(members, "pair"), category("divers"))


@pytest.mark.parametrize(
    ("role", "outcome"),
    [
        ("pair", None),  # the author
        ("other_pair", Forbidden),
        ("pilot_pair", Forbidden),
        ("referent_apec", Forbidden),
        ("hors_pair", NotFound),
        ("comite", NotFound),
        ("animation", None),
        ("admin", None),
    ],
)
def test_only_the_author_and_staff_may_edit_a_post(
    app: Flask, members: dict[str, Member], role: str, outcome: type[Exception] | None
) -> None:
    topic = make_topic(members["pair"])
    post_id = db.session.scalar(select(Post.id).where(Post.topic_id == topic.id))
    with fresh_request(app):
        viewer = _viewer(members, role)
        post, loaded = _load_post(post_id)
        if outcome is None:
            policy.check_edit_post(viewer, post, loaded)
        else:
            with pytest.raises(outcome):
                policy.check_edit_post(viewer, post, loaded)


def test_author_may_not_edit_a_post_once_its_topic_is_locked(
    app: Flask, members: dict[str, Member]
) -> None:
    topic = make_topic(members["pair"])
    reply = make_reply(members["other_pair"], topic)
    topic.is_locked = True
    db.session.commit()
    with fresh_request(app), pytest.raises(Forbidden, match="verrouillé"):
        policy.check_edit_post(_viewer(members, "other_pair"), *_load_post(reply.id))


def test_author_may_correct_a_post_hidden_by_moderation_but_not_one_awaiting_validation(
    app: Flask, members: dict[str, Member]
) -> None:
    """A post hidden by the moderation is its author's to correct, for review (it was
    closed to them: review of stop 52); a pending one is not edited before it is published;
    nobody else but the staff edits either."""
    topic = make_topic(members["pair"])
    reply = make_reply(members["other_pair"], topic)
    reply.is_hidden = True
    db.session.commit()
    with fresh_request(app):
        policy.check_edit_post(_viewer(members, "other_pair"), *_load_post(reply.id))
        policy.check_edit_post(_viewer(members, "animation"), *_load_post(reply.id))
        with pytest.raises(Forbidden):
            policy.check_edit_post(_viewer(members, "pair"), *_load_post(reply.id))
    reply.is_pending = True
    db.session.commit()
    with fresh_request(app), pytest.raises(Forbidden, match="attend la validation"):
        policy.check_edit_post(_viewer(members, "other_pair"), *_load_post(reply.id))


# Who a topic page lists a reply to, by the reply's state (written by hand): a hidden post
# keeps its place (« Message masqué »); one never published (pending, or refused at
# pre-moderation) is not there at all for other readers.
LISTED: dict[str, set[str]] = {
    "published": {"author", "reader", "staff"},
    "hidden": {"author", "reader", "staff"},
    "pending": {"author", "staff"},
    "refused": {"author", "staff"},
}
LISTED_ROLES = {"author": "other_pair", "reader": "pilot_pair", "staff": "animation"}


@pytest.mark.parametrize("state", sorted(LISTED))
def test_a_topic_page_lists_a_reply_by_its_state_alike_in_sql_and_in_python(
    app: Flask, members: dict[str, Member], state: str
) -> None:
    topic = make_topic(members["pair"])
    reply = make_reply(members["other_pair"], topic)
    reply.is_hidden = state != "published"
    reply.is_pending = state == "pending"
    reply.is_refused = state == "refused"
    db.session.commit()
    for who, role in LISTED_ROLES.items():
        viewer = _viewer(members, role)
        with fresh_request(app):
            post, loaded = _load_post(reply.id)
            in_python = policy.lists_post(viewer, post)
            in_sql = db.session.scalar(
                select(Post.id).where(Post.id == reply.id, policy.listed_posts(viewer))
            )
            prebuilt = db.session.scalar(
                select(Post.id).where(
                    Post.id == reply.id, policy.listed_posts_param(viewer.is_staff)
                ),
                {"reader": viewer.member_id or 0},
            )
            located = policy.can(policy.check_locate_post, viewer, post, loaded)
        expected = who in LISTED[state]
        assert (in_python, in_sql is not None, prebuilt is not None, located) == (expected,) * 4, (
            who
        )


def _space(staff_only: bool = False, group_id: int | None = None, hors: bool = False) -> Category:
    return Category(name="R", staff_only=staff_only, group_id=group_id, open_to_hors_pairs=hors)


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (_space(), _space(hors=True), "les hors pairs"),
        (_space(hors=True), _space(), None),
        (_space(), _space(), None),
        (_space(staff_only=True), _space(), "d'autres membres"),
        (_space(), _space(staff_only=True, hors=True), None),  # the staff read everything
        (_space(group_id=1), _space(), "d'autres membres"),
        (_space(group_id=1), _space(group_id=2), "d'autres membres"),
        (_space(group_id=1), _space(group_id=1), None),
        (_space(), _space(group_id=1), None),
        (_space(group_id=1, hors=True), _space(hors=True), "d'autres membres"),
    ],
)
def test_widened_readers_names_who_would_newly_read_moved_posts(source, target, expected) -> None:
    assert policy.widened_readers(source, target) == expected


def test_a_rubrique_admits_hors_pairs_only_if_its_theme_does_too() -> None:
    closed_theme, open_theme = _space(), _space(hors=True)
    assert not policy.admits_hors_pairs(
        Category(name="R", open_to_hors_pairs=True, parent=closed_theme)
    )
    assert policy.admits_hors_pairs(Category(name="R", open_to_hors_pairs=True, parent=open_theme))
    assert (
        policy.widened_readers(
            _space(), Category(name="R", open_to_hors_pairs=True, parent=closed_theme)
        )
        is None
    )
