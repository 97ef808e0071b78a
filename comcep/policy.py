"""Who may see and do what (SPEC §2): the only module that decides visibility.

Every listing, count and « dernier message » asks these predicates and applies them in
SQL; hidden content raises the same 404 as content that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from flask import Flask, current_app, g, has_request_context
from flask_login import current_user
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    false,
    literal_column,
    or_,
    select,
    true,
)
from werkzeug.exceptions import Forbidden, NotFound

from comcep.extensions import db, inline_list_param, read_columns, utcnow
from comcep.filters import date_fr
from comcep.forum.models import Category, MemberCategoryStats, Post, PostRevision, Topic
from comcep.members.models import PAIRS_ONLY_ROLES, STAFF_ROLES, Member, member_groups

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from comcep.forum.queries import PageCategory, PagePost, PageTopic
    from comcep.messages.models import PrivateMessage

# A mapped topic, or the plain one the topic page reads (`forum.queries.PageTopic`).
TopicT = TypeVar("TopicT", "Topic", "PageTopic")


@dataclass(frozen=True)
class Viewer:
    """What the policy needs to know about the person asking, built once per request."""

    member_id: int | None = None
    statut: str | None = None
    roles: frozenset[str] = frozenset()
    group_ids: frozenset[int] = frozenset()
    validation_network_id: int | None = None
    silenced_until: datetime | None = None  # set only while the member is read-only

    @classmethod
    def for_member(cls, member: Member | None) -> Viewer:
        if member is None or not member.is_active:
            return ANONYMOUS
        return cls(
            member_id=member.id,
            statut=member.statut,
            roles=member.role_set,
            group_ids=member.group_id_set,
            validation_network_id=member.validation_network_id,
            silenced_until=member.silenced_until if member.is_silenced else None,
        )

    @property
    def is_silenced(self) -> bool:
        return self.silenced_until is not None

    @property
    def is_authenticated(self) -> bool:
        return self.member_id is not None

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_pair(self) -> bool:
        return self.statut == "pair"


ANONYMOUS = Viewer()
# A hors pair as such, without an account's own posts, groups or roles: what every hors pair
# may see (no member has the id 0).
HORS_PAIR = Viewer(member_id=0, statut="hors_pair")

_CACHE_KEYS = (
    "_comcep_viewer",
    "_comcep_visible_ids",
    "_comcep_header_counts",
    "_comcep_category_flags",
)


def clear_request_cache(*_args: object) -> None:
    """Forget the viewer and its visible rubriques: they hold for one request only."""
    for key in _CACHE_KEYS:
        g.pop(key, None)


def init_app(app: Flask) -> None:
    app.before_request(clear_request_cache)
    app.teardown_request(clear_request_cache)


def current_viewer() -> Viewer:
    """The viewer of the current request, computed once and kept on `g`."""
    if not has_request_context():  # CLI and workers render e-mails for nobody in particular
        return ANONYMOUS
    viewer = g.get("_comcep_viewer")
    if viewer is None:
        member = current_user._get_current_object() if current_user.is_authenticated else None
        viewer = Viewer.for_member(member)
        g._comcep_viewer = viewer
    return viewer


# --- SQL predicates -----------------------------------------------------------------


# The flags of every category: a few dozen rows, read with one statement built once (the
# rule below runs on them in Python: building and compiling a correlated SQL predicate on
# every request cost more than the rest of a topic page's queries together).
_CATEGORY_FLAGS = select(
    Category.id,
    Category.parent_id,
    Category.staff_only,
    Category.group_id,
    Category.open_to_hors_pairs,
)


def _admits(
    viewer: Viewer, staff_only: bool, group_id: int | None, open_to_hors_pairs: bool
) -> bool:
    """One category's own flags against the viewer (SPEC §2: staff only, group, hors pairs)."""
    if not viewer.is_authenticated:
        return False
    if viewer.is_staff:
        return True
    if staff_only or (group_id is not None and group_id not in viewer.group_ids):
        return False
    return viewer.statut == "pair" or bool(open_to_hors_pairs)


def visible_category_ids(viewer: Viewer) -> frozenset[int]:
    """Ids of the categories the viewer may read: a rubrique is visible when its own flags
    and those of its thème admit the viewer. One small query, cached for the request;
    listings then apply it in SQL as `category_id IN (…)`."""
    cache = g.setdefault("_comcep_visible_ids", {})
    ids = cache.get(viewer)
    if ids is None:
        ids = cache[viewer] = _visible_ids(viewer)
    return ids


def _visible_ids(viewer: Viewer) -> frozenset[int]:
    if not viewer.is_authenticated:
        return frozenset()
    rows = [tuple(row) for row in _category_flags()]  # plain tuples: read by position
    flags = {row[0]: row[2:] for row in rows}
    return frozenset(
        id_
        for id_, parent_id, *own in rows
        if _sees(viewer, own, None if parent_id is None else flags.get(parent_id, _CLOSED))
    )


Flags = tuple[bool, int | None, bool]  # staff_only, group_id, open_to_hors_pairs
_CLOSED: Flags = (True, None, False)  # a thème that cannot be read: nobody but staff


def _sees(viewer: Viewer, own: Flags, theme: Flags | None) -> bool:
    """A rubrique is visible when its own flags and those of its thème admit the viewer."""
    return _admits(viewer, *own) and (theme is None or _admits(viewer, *theme))


def _loaded_flags(topic: Topic | PageTopic) -> tuple[Flags, Flags | None] | None:
    """The flags of the topic's rubrique and thème when the topic was read with them (the
    topic pages, `get_topic_or_404`), without loading anything; None otherwise. They are
    the values `visible_category_ids` would read, from the same database, so both ways
    decide alike (tests/test_policy.py compares them on every category and role)."""
    # A mapped topic's rubrique counts only if loaded with it (else it would cost a query).
    category = topic.__dict__.get("category") if isinstance(topic, Topic) else topic.category
    own = _flags_of(category, topic.category_id)
    if own is None:
        return None
    if isinstance(category, Category):
        parent_id = category.__dict__["parent_id"]
        theme = category.__dict__.get("parent") if parent_id is not None else None
    else:
        theme = category.parent
        parent_id = None if theme is None else theme.id
    if parent_id is None:
        return own, None
    theme_flags = _flags_of(theme, parent_id)
    return None if theme_flags is None else (own, theme_flags)


_FLAG_NAMES = ("parent_id", "staff_only", "group_id", "open_to_hors_pairs")


def _flags_of(category: Category | PageCategory | None, expected_id: int) -> Flags | None:
    """A loaded category's flags, or None when it is missing, expired (`Session.expire`,
    a refresh) or not the one expected (a topic moved in this request): the caller then
    asks the table."""
    if isinstance(category, Category):
        values = category.__dict__
        if values.get("id") != expected_id or any(n not in values for n in _FLAG_NAMES):
            return None
        return values["staff_only"], values["group_id"], values["open_to_hors_pairs"]
    if category is None or category.id != expected_id:
        return None
    return category.staff_only, category.group_id, category.open_to_hors_pairs


def _category_flags() -> list:
    """The flags of every category, read once per request."""
    if "_comcep_category_flags" not in g:
        g._comcep_category_flags = read_columns(_CATEGORY_FLAGS).all()
    return g._comcep_category_flags


def themes_with_rubriques() -> frozenset[int]:
    """Thèmes that have rubriques: their topics go in the rubriques (SPEC §3)."""
    return frozenset(row.parent_id for row in _category_flags() if row.parent_id is not None)


def visible_categories(viewer: Viewer) -> ColumnElement[bool]:
    """The visible categories as a SQL predicate on `Category`."""
    return Category.id.in_(sorted(visible_category_ids(viewer)))


# Hot pages run statements built once (building and compiling one costs more than running
# it): these predicates take the viewer's visible rubriques as the bound parameter
# VISIBLE, filled in by `visibility_params(viewer)`; `staff` picks the variant.
VISIBLE = "visible_category_ids"
inline_list_param(VISIBLE)  # `read_columns` writes the ids into the statement


def visibility_params(viewer: Viewer) -> dict[str, list[int]]:
    return {VISIBLE: sorted(visible_category_ids(viewer))}


def _visible_ids_param() -> BindParameter[list[int]]:
    return bindparam(VISIBLE, expanding=True)


def visible_topics_param(staff: bool, by_rubrique: bool = True) -> ColumnElement[bool]:
    """`visible_topics` for a prebuilt statement (see VISIBLE). Without `by_rubrique`, the
    same rule on `category_id + 0`, which no index serves: a list ordered by activity then
    walks that order (skipping the rest) instead of sorting every visible topic."""
    rubrique = Topic.category_id if by_rubrique else Topic.category_id + literal_column("0")
    rule = rubrique.in_(_visible_ids_param())
    return rule if staff else and_(rule, Topic.is_hidden.is_(False))


def visible_posts_param(staff: bool) -> ColumnElement[bool]:
    """`visible_posts` for a prebuilt statement (see VISIBLE); to be joined with Topic."""
    rule = visible_topics_param(staff)
    return rule if staff else and_(rule, Post.is_hidden.is_(False))


def visible_topics(viewer: Viewer) -> ColumnElement[bool]:
    """Topics in visible rubriques; moderated (hidden) topics only for staff."""
    rule = Topic.category_id.in_(sorted(visible_category_ids(viewer)))
    if not viewer.is_staff:
        rule = and_(rule, Topic.is_hidden.is_(False))
    return rule


def openable_topics(viewer: Viewer) -> ColumnElement[bool]:
    """Topics whose page opens for the viewer (`check_see_topic` in SQL): `visible_topics`,
    plus their own hidden or pending ones; never a merged one."""
    if viewer.member_id is None:
        return false()
    own_hidden = and_(
        Topic.author_id == viewer.member_id,
        Topic.category_id.in_(sorted(visible_category_ids(viewer))),
    )
    return and_(Topic.merged_into_id.is_(None), or_(visible_topics(viewer), own_hidden))


def own_topics_param() -> ColumnElement[bool]:
    """For a prebuilt statement: the topics of the member bound as `member_id` that
    `openable_topics` adds to `visible_topics` (their own hidden or pending ones, in the
    rubriques bound as VISIBLE), never a merged one."""
    return and_(
        Topic.author_id == bindparam("member_id"),
        Topic.category_id.in_(_visible_ids_param()),
        Topic.merged_into_id.is_(None),
    )


def visible_posts(viewer: Viewer) -> ColumnElement[bool]:
    """Posts of visible topics, hidden ones only for staff; to be joined with Topic. (A
    pending or refused post is hidden too: `listed_posts` is the narrower rule of the
    topic page, which shows a hidden post's place.)"""
    rule = visible_topics(viewer)
    if not viewer.is_staff:
        rule = and_(rule, Post.is_hidden.is_(False))
    return rule


def published_posts() -> ColumnElement[bool]:
    """Posts that were published: neither awaiting pre-moderation nor refused there. Only
    these exist for readers other than their author and the staff (`lists_post`)."""
    return and_(Post.is_pending.is_(False), Post.is_refused.is_(False))


def listed_posts(viewer: Viewer) -> ColumnElement[bool]:
    """`lists_post` in SQL: the posts whose place a topic page shows the viewer (the text
    of a hidden one aside), given they may open the topic."""
    if viewer.is_staff:
        return true()
    if viewer.member_id is None:
        return published_posts()
    return or_(published_posts(), Post.author_id == viewer.member_id)


def listed_posts_param(staff: bool, reader: str = "reader") -> ColumnElement[bool]:
    """`listed_posts` for a prebuilt statement: the viewer's member id bound as `reader`
    (0 for nobody)."""
    if staff:
        return true()
    return or_(published_posts(), Post.author_id == bindparam(reader))


def staff_members() -> ColumnElement[bool]:
    """Members holding a staff role (animation, admin), as a SQL predicate: `animation`
    only on a pair, as `Member.role_set` reads it."""
    padded = " " + Member.roles + " "
    return or_(
        *(
            and_(padded.contains(f" {role} "), Member.statut == "pair")
            if role in PAIRS_ONLY_ROLES
            else padded.contains(f" {role} ")
            for role in sorted(STAFF_ROLES)
        )
    )


def _member_rule(category: Category) -> ColumnElement[bool]:
    """The same rule as `_admits`, seen from the members' side (SPEC §2)."""
    rule = true()
    if category.staff_only:
        rule = false()
    if category.group_id is not None:
        in_group = (
            select(member_groups.c.member_id)
            .where(
                member_groups.c.member_id == Member.id,
                member_groups.c.group_id == category.group_id,
            )
            .exists()
        )
        rule = and_(rule, in_group)
    if not category.open_to_hors_pairs:
        rule = and_(rule, Member.statut == "pair")
    return rule


@dataclass(frozen=True)
class _Readers:
    """Who reads a rubrique, its thème's flags included (see `_sees`)."""

    staff_only: bool
    group_ids: frozenset[int]
    hors_pairs: bool

    @classmethod
    def of(cls, category: Category) -> _Readers:
        chain = [category] if category.parent is None else [category, category.parent]
        return cls(
            staff_only=any(c.staff_only for c in chain),
            group_ids=frozenset(c.group_id for c in chain if c.group_id is not None),
            hors_pairs=all(c.open_to_hors_pairs for c in chain),
        )


def admits_hors_pairs(category: Category) -> bool:
    """Whether hors pairs read the rubrique (its thème too must admit them)."""
    readers = _Readers.of(category)
    return readers.hors_pairs and not readers.staff_only


def widened_readers(source: Category, target: Category) -> str | None:
    """Who would read posts moved from `source` to `target` that could not read them there
    (« les hors pairs », « d'autres membres »), or None when the target's readers are among
    the source's: a move, split or merge across the wall must be said in words."""
    before, after = _Readers.of(source), _Readers.of(target)
    if after.staff_only:
        return None
    if after.hors_pairs and not before.hors_pairs:
        return "les hors pairs"
    if before.staff_only or not before.group_ids <= after.group_ids:
        return "d'autres membres"
    return None


def mention_readers(category_id: int) -> tuple[Viewer, ...]:
    """Readers whose view bounds, besides its writer's, the names a post in this rubrique
    links (a link to a profile tells that a member exists, and their id): where hors pairs
    read, a name links only a member a hors pair reading there may see (one of the
    rubrique's group, if it has one)."""
    flags = {row[0]: (row[1], tuple(row[2:])) for row in _category_flags()}
    chain = []
    current = flags.get(category_id)
    while current is not None and len(chain) < 2:  # a rubrique and its thème
        chain.append(current[1])
        current = flags.get(current[0]) if current[0] is not None else None
    if not chain or any(staff_only or not open_ for staff_only, _, open_ in chain):
        return ()
    groups = frozenset(group_id for _, group_id, _ in chain if group_id is not None)
    return (HORS_PAIR if not groups else replace(HORS_PAIR, group_ids=groups),)


def conversation_mention_readers(participants: Iterable[Member]) -> tuple[Viewer, ...]:
    """The same for a private message: its hors pairs participants."""
    return tuple(Viewer.for_member(m) for m in participants if m.statut == "hors_pair")


def readers_of(topic: Topic) -> ColumnElement[bool]:
    """Members who may read a topic (for notifications and e-mails, applied in SQL);
    `topic.category` (and its parent) must be loaded."""
    category = topic.category
    rule = _member_rule(category)
    if category.parent is not None:
        rule = and_(rule, _member_rule(category.parent))
    if topic.merged_into_id is not None:  # a pointer: see `check_see_topic`
        return false()
    if topic.is_hidden:
        rule = and_(rule, Member.id == topic.author_id) if topic.author_id else false()

    return and_(Member.active(), or_(staff_members(), rule))


def visible_members(viewer: Viewer) -> ColumnElement[bool]:
    """Members listed to the viewer: pairs see every member; a hors pair sees members who
    posted where it can read, and itself (SPEC §4)."""
    if not viewer.is_authenticated:
        return false()
    listed = Member.state.in_(("active", "suspended"))
    if viewer.is_pair or viewer.is_staff:
        return listed
    # « Posted where it can read » is a post of `visible_posts`: neither hidden nor in a
    # hidden topic, in a rubrique it reads. `MemberCategoryStats.post_count` counts exactly
    # those, per rubrique: a look-up of a few keys per member, where walking the member's
    # posts grew with what they wrote.
    posted = (
        select(MemberCategoryStats.member_id)
        .where(
            MemberCategoryStats.member_id == Member.id,
            MemberCategoryStats.category_id.in_(sorted(visible_category_ids(viewer))),
            MemberCategoryStats.post_count > 0,
        )
        .exists()
    )
    return and_(listed, or_(Member.id == viewer.member_id, posted))


# --- Checks: raise NotFound to hide, Forbidden to refuse ------------------------------


def check_see_category(viewer: Viewer, category: Category | None) -> Category:
    if category is None or category.id not in visible_category_ids(viewer):
        raise NotFound()
    return category


def check_see_topic(viewer: Viewer, topic: TopicT | None) -> TopicT:
    """A merged topic is no topic any more, for anyone: its posts are read where they went
    (its old address leads there: `merged_target`); its title, perhaps one the moderation
    hid or a pending one, is shown nowhere, and nothing is written into it."""
    if (
        topic is None
        or topic.merged_into_id is not None
        or not _sees_rubrique_of(viewer, topic)
        or (
            topic.is_hidden
            and not viewer.is_staff
            # Authors still reach their own hidden or pending topic (and see why).
            and (topic.author_id is None or topic.author_id != viewer.member_id)
        )
    ):
        raise NotFound()
    return topic


def merged_target(viewer: Viewer, topic: Topic | PageTopic | None) -> int | None:
    """Where the posts of a merged topic went, for its old address (a permanent redirect)
    to those who may read its rubrique; None for any other topic."""
    if topic is None or topic.merged_into_id is None or not _sees_rubrique_of(viewer, topic):
        return None
    return topic.merged_into_id


def _sees_rubrique_of(viewer: Viewer, topic: Topic | PageTopic) -> bool:
    """Whether the viewer may read the topic's rubrique: from the flags read with the topic
    when it has them (a POST such as a reply needs no other list of rubriques: one
    statement fewer), else from the request's `visible_category_ids`."""
    loaded = _loaded_flags(topic)
    if loaded is not None:
        return _sees(viewer, *loaded)
    return topic.category_id in visible_category_ids(viewer)


def check_see_post(viewer: Viewer, post: Post | None, topic: Topic | None) -> Post:
    check_see_topic(viewer, topic)
    if post is None:
        raise NotFound()
    return post


def check_locate_post(viewer: Viewer, post: Post | None, topic: Topic | None) -> Post:
    """Where a post stands (its permalink, which leads to its place on its topic's page):
    whoever reads the topic, for a hidden post too (the page shows a notice in its place,
    so a quote of it does not lead to « page introuvable »); a pending or refused post
    only for those the page lists it to."""
    post = check_see_post(viewer, post, topic)
    if not lists_post(viewer, post):
        raise NotFound()
    return post


def check_see_post_content(viewer: Viewer, post: Post | None, topic: Topic | None) -> Post:
    """A hidden or pending post's text, files and history: its author and the staff only,
    as the topic page shows them; anyone else gets the 404 of a missing post."""
    post = check_see_post(viewer, post, topic)
    if post.is_hidden and not viewer.is_staff and post.author_id != viewer.member_id:
        raise NotFound()
    return post


def visible_revisions(viewer: Viewer) -> ColumnElement[bool]:
    """A post's earlier versions the viewer reads on its history (given they may read the
    post): those the moderation hid (personal data edited out) are the staff's only."""
    if viewer.is_staff:
        return true()
    return PostRevision.hidden_at.is_(None)


def check_hide_revisions(viewer: Viewer, post: Post, topic: Topic) -> None:
    """Hiding a post's earlier versions, or showing them again: the moderation, on a post
    it may read."""
    check_moderate(viewer)
    check_see_post(viewer, post, topic)


def was_published(post: Post | PagePost) -> bool:
    """`published_posts` for one post: neither awaiting pre-moderation nor refused there,
    so readers other than its author and the staff know of it."""
    return not post.is_pending and not post.is_refused


def lists_post(viewer: Viewer, post: Post | PagePost) -> bool:
    """Whether a topic page lists the post (`listed_posts` in SQL): a pre-moderated post
    does not exist yet for anyone but its author and the staff, and one refused there never
    will (as Discourse drops a rejected queued post): no « Message masqué » in its place."""
    published = was_published(post)
    own = post.author_id is not None and post.author_id == viewer.member_id
    return published or viewer.is_staff or own


def silenced_notice(viewer: Viewer) -> str | None:
    """What a read-only member reads where the reply box or « Nouveau sujet » would be."""
    if viewer.silenced_until is None:
        return None
    return (
        "Votre compte est en lecture seule jusqu'au "
        f"{date_fr(viewer.silenced_until)} : vous pouvez lire, mais pas publier."
    )


def _check_not_silenced(viewer: Viewer) -> None:
    notice = silenced_notice(viewer)
    if notice:
        raise Forbidden(description=notice)


def check_create_topic(viewer: Viewer, category: Category) -> None:
    """A thème with rubriques takes no topic directly, even from staff (SPEC §3)."""
    check_see_category(viewer, category)
    if category.id in themes_with_rubriques():
        raise Forbidden(
            description="Ce thème est organisé en rubriques : ouvrez votre sujet dans "
            "l'une de ses rubriques."
        )
    if viewer.is_staff:
        return
    _check_not_silenced(viewer)
    if category.read_only:
        raise Forbidden(description="Cette rubrique est en lecture seule.")
    if category.staff_topics_only:
        raise Forbidden(
            description="Seule l'équipe d'animation ouvre des sujets dans cette rubrique."
        )


def check_reply(viewer: Viewer, topic: Topic | PageTopic) -> None:
    check_see_topic(viewer, topic)
    if viewer.is_staff:
        return
    _check_not_silenced(viewer)
    if topic.is_locked:
        raise Forbidden(description="Ce sujet est verrouillé : on ne peut plus y répondre.")
    if topic.category.read_only:
        raise Forbidden(description="Cette rubrique est en lecture seule.")


def check_edit_post(viewer: Viewer, post: Post, topic: Topic) -> None:
    check_see_post(viewer, post, topic)
    if viewer.is_staff:
        return
    if post.author_id is None or post.author_id != viewer.member_id:
        raise Forbidden(description="Vous ne pouvez modifier que vos propres messages.")
    _check_not_silenced(viewer)  # rewriting a post is publishing it again
    if post.is_pending:
        raise Forbidden(
            description="Ce message attend la validation de l'équipe d'animation : "
            "il se modifiera une fois publié."
        )
    if topic.is_locked:
        raise Forbidden(description="Ce sujet est verrouillé.")
    if post.is_hidden:
        # Hidden by the moderation: its author may correct it (a beneficiary's name taken
        # out), whatever its age; the correction goes to the moderation, which decides
        # whether to show it again (`moderation.services.ask_review`).
        return
    if edit_window_over(post):
        window = current_app.config["EDIT_WINDOW_HOURS"]
        raise Forbidden(description=f"Un message ne se modifie que dans les {window} heures.")


def edit_window_over(post: Post | PagePost) -> bool:
    """Whether its author's time to edit the post is over (EDIT_WINDOW_HOURS; 0: never). A
    post hidden by the moderation stays open to its author's correction."""
    if post.is_hidden and not post.is_pending:
        return False
    window = current_app.config.get("EDIT_WINDOW_HOURS", 0)
    return bool(window) and utcnow() - post.created_at > timedelta(hours=window)


def check_report(viewer: Viewer, post: Post, topic: Topic) -> None:
    """Any member who sees a post may flag it, except their own."""
    check_see_post(viewer, post, topic)
    if post.is_hidden and not viewer.is_staff:
        raise NotFound()
    if post.author_id == viewer.member_id:
        raise Forbidden(description="Vous ne pouvez pas signaler votre propre message.")


def check_thank(viewer: Viewer, post: Post, topic: Topic) -> None:
    """« Merci » for a post one reads, published and shown, not one's own. It publishes
    nothing: a member in read-only mode may thank."""
    check_see_post_content(viewer, post, topic)
    if not lists_post(viewer, post):
        raise NotFound()
    if post.is_hidden or post.is_pending:
        raise Forbidden(description="On ne remercie pas un message masqué ou en attente.")
    if post.author_id == viewer.member_id:
        raise Forbidden(description="Vous ne pouvez pas remercier votre propre message.")


def check_mark_solution(viewer: Viewer, topic: Topic | PageTopic) -> None:
    """The asker or the animatrice marks « réponse retenue », in rubriques that accept it."""
    check_see_topic(viewer, topic)
    if not topic.category.accepts_solutions:
        raise Forbidden(description="Cette rubrique n'accepte pas de réponse retenue.")
    if not viewer.is_staff and topic.author_id != viewer.member_id:
        raise Forbidden(description="Seul l'auteur du sujet ou l'animatrice choisit la réponse.")


def check_attach(viewer: Viewer, category: Category) -> None:
    if not category.attachments_enabled and not viewer.is_staff:
        raise Forbidden(description="Les pièces jointes sont désactivées dans cette rubrique.")


def check_manage_tags(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise NotFound()


def check_view_analytics(viewer: Viewer) -> None:
    """The comité's anonymised analyses (SPEC §8): role comite or admin only."""
    if not viewer.is_authenticated:
        raise NotFound()
    if not viewer.roles & {"comite", "admin"}:
        raise Forbidden(description="Les analyses sont réservées au comité opérationnel.")


def check_moderate(viewer: Viewer) -> None:
    """Moderation tools (SPEC §6): the animatrice and admins; others get a 404."""
    if not viewer.is_staff:
        raise NotFound()


def check_moderate_member(viewer: Viewer, member: Member) -> None:
    """Suspending or silencing: the staff, but an administrator answers to administrators
    only (else an animatrice could lock every administrator out)."""
    check_moderate(viewer)
    if "admin" in member.role_set and not viewer.is_admin:
        raise Forbidden(
            description="Seul un administrateur peut suspendre ou mettre en lecture seule "
            "un administrateur."
        )


def visible_registrations(viewer: Viewer) -> ColumnElement[bool]:
    """Registration requests a validator may decide: a référent sees only their network's."""
    if viewer.is_staff:
        return true()
    if "validation" in viewer.roles and viewer.validation_network_id is not None:
        return Member.network_id == viewer.validation_network_id
    return false()


# The network a référent validates for, bound in prebuilt statements (the header's counter).
VALIDATION_NETWORK = "validation_network_id"


def decides_registrations(viewer: Viewer) -> bool:
    """Whether registration requests may wait for this viewer (`visible_registrations` is
    not false): the staff, or a référent with a network."""
    return viewer.is_staff or (
        "validation" in viewer.roles and viewer.validation_network_id is not None
    )


def visible_registrations_param(staff: bool) -> ColumnElement[bool]:
    """`visible_registrations` for a prebuilt statement, for a viewer who
    `decides_registrations`: the référent's network bound as VALIDATION_NETWORK."""
    return true() if staff else Member.network_id == bindparam(VALIDATION_NETWORK)


def registration_params(viewer: Viewer) -> dict[str, int]:
    """What `visible_registrations_param(viewer.is_staff)` is bound to."""
    if viewer.is_staff or viewer.validation_network_id is None:
        return {}
    return {VALIDATION_NETWORK: viewer.validation_network_id}


def check_validate_registrations(viewer: Viewer) -> None:
    if not (viewer.is_staff or "validation" in viewer.roles):
        raise NotFound()


def check_decide_registration(viewer: Viewer, member: Member) -> None:
    check_validate_registrations(viewer)
    if not viewer.is_staff and member.network_id != viewer.validation_network_id:
        raise NotFound()


def check_invite(viewer: Viewer) -> None:
    """« Hors pairs join by invitation from an admin » (SPEC §4): letting outsiders in is
    the administrators' decision; the animatrice learns it is not hers."""
    if not viewer.is_staff:
        raise NotFound()
    if not viewer.is_admin:
        raise Forbidden(description="Les invitations sont réservées aux administrateurs.")


def check_manage_categories(viewer: Viewer) -> None:
    """Rubriques are set by administrators (SPEC §1); staff learn it is not theirs."""
    if not viewer.is_staff:
        raise NotFound()
    if not viewer.is_admin:
        raise Forbidden(description="La gestion des rubriques est réservée aux administrateurs.")


def check_administer(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise NotFound()


def check_see_conversation(viewer: Viewer, participant_ids: set[int]) -> None:
    """Only participants open a conversation; anyone else gets the same 404 as nothing."""
    if viewer.member_id is None or viewer.member_id not in participant_ids:
        raise NotFound()


def check_report_message(viewer: Viewer, message: PrivateMessage) -> None:
    """A participant flags a message while it shows: a hidden one is gone for them (its
    report form would show its text), as a hidden post is. Whose it is: `services`."""
    if message.is_hidden:
        raise NotFound()


def check_write_to(viewer: Viewer, recipients: list[Member]) -> None:
    """A member writes to members they may see (a hors pair: only those who posted where it
    reads, SPEC §4); the animatrice may open a conversation with any member."""
    if not viewer.is_authenticated:
        raise NotFound()
    _check_not_silenced(viewer)
    if viewer.is_staff:
        return
    ids = {m.id for m in recipients}
    if ids - visible_member_ids(viewer, ids):
        raise NotFound()


def visible_member_ids(viewer: Viewer, ids: Iterable[int]) -> set[int]:
    """Which of these members the viewer may see (whose profile opens for them)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(
        db.session.scalars(select(Member.id).where(Member.id.in_(wanted), visible_members(viewer)))
    )


def can(check: Callable[..., object], *args: object) -> bool:
    """Turn a check into a boolean for templates (computed once per page, in the view)."""
    try:
        check(*args)
    except (NotFound, Forbidden):
        return False
    return True


@dataclass(frozen=True)
class TopicActions:
    """What the viewer may do on a topic page, computed once for the template."""

    reply: bool
    moderate: bool
    edit_own: bool  # the topic-wide part of `check_edit_post`: not locked, viewer not silenced

    @classmethod
    def for_topic(cls, viewer: Viewer, topic: Topic | PageTopic) -> TopicActions:
        return cls(
            reply=can(check_reply, viewer, topic),
            moderate=viewer.is_staff,
            edit_own=not topic.is_locked and not viewer.is_silenced,
        )
