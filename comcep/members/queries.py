"""Reads about members, each filtered by what the viewer may see."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Iterable

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ScalarSelect, Select, String, bindparam, cast, func, select
from sqlalchemy.orm import joinedload, lazyload
from werkzeug.exceptions import NotFound

from comcep import policy
from comcep.dialects import COMMA
from comcep.extensions import db, utcnow
from comcep.forum.models import MemberCategoryStats, Post, Topic
from comcep.members.models import (
    Group,
    Invitation,
    Member,
    Network,
    Region,
    fold_name,
    member_groups,
)
from comcep.policy import Viewer
from comcep.rendering import MentionResolver


@functools.cache
def _member_statement() -> Select:
    """Built once: it runs on every request, and building costs more than running it. The
    ids of the member's groups (the viewer needs them) come as one aggregated column: a
    joined load of `groups` doubled the cost of this, the one mapped object of most pages.
    The network and region, which the model joins elsewhere, are read only on the pages that
    show them (1 % of a topic page)."""
    group_ids = (
        select(func.aggregate_strings(cast(member_groups.c.group_id, String), COMMA))
        .where(member_groups.c.member_id == Member.id)
        .scalar_subquery()
    )
    return (
        select(Member, group_ids)
        .options(lazyload(Member.network), lazyload(Member.region))
        .where(Member.id == bindparam("member_id"))
    )


def load_member(session_id: str) -> Member | None:
    """Flask-Login's loader: one query, the member with their groups' ids. The session holds
    `Member.get_id()`: a session opened before the password changed ends."""
    member_id, _dot, session_key = str(session_id).partition(".")
    try:
        key = int(member_id)
    except (TypeError, ValueError):
        return None
    row = db.session.execute(_member_statement(), {"member_id": key}).one_or_none()
    if row is None or not hmac.compare_digest(row[0].session_key, session_key):
        return None
    member, group_ids = row
    member.loaded_group_ids = frozenset(int(id_) for id_ in (group_ids or "").split(",") if id_)
    # A session ends as soon as its member is suspended or leaves.
    return member if member.is_active else None


def get_member_by_email(email: str) -> Member | None:
    return db.session.scalar(select(Member).where(Member.email == email.strip().lower()))


def networks(kind: str | None = None, *, active_only: bool = False) -> list[Network]:
    """Networks in their order; `active_only` leaves out those that no longer exist (they
    stay for their members, filters and analyses, never for newcomers)."""
    query = select(Network).order_by(Network.position)
    if kind:
        query = query.where(Network.kind == kind)
    if active_only:
        query = query.where(Network.active.is_(True))
    return list(db.session.scalars(query))


def network_member_counts() -> dict[int, int]:
    """Members of each network who were admitted and have not left (the administration's
    list): one GROUP BY."""
    rows = db.session.execute(
        select(Member.network_id, func.count(Member.id))
        .where(Member.state.in_(("active", "suspended")), Member.network_id.is_not(None))
        .group_by(Member.network_id)
    )
    return {network_id: count for network_id, count in rows}


def regions() -> list[Region]:
    return list(db.session.scalars(select(Region).order_by(Region.position)))


def member_list(
    viewer: Viewer,
    page: int,
    network_code: str | None = None,
    region_code: str | None = None,
    name: str | None = None,
) -> Pagination:
    """A page of the directory, in name order (ties by id, so that pages do not overlap):
    the (display_name, id) index gives that order and OFFSET stops at the page, instead of
    sorting every member; for a hors pair, each member's « posted where I read » is a look-up
    of the kept counts (`policy.visible_members`). The count reads the members, never the
    posts (the directory holds far fewer members than the forum posts)."""
    query = (
        select(Member)
        .where(policy.visible_members(viewer))
        .order_by(Member.display_name, Member.id)
    )
    if network_code:
        query = query.where(Member.network.has(Network.code == network_code))
    if region_code:
        query = query.where(Member.region.has(Region.code == region_code))
    if name:
        pattern = "%" + fold_name(name).replace("%", "").replace("_", "") + "%"
        query = query.where(Member.name_key.like(pattern))
    return db.paginate(
        query, page=page, per_page=current_app.config["MEMBERS_PER_PAGE"], error_out=False
    )


def get_visible_member_or_404(viewer: Viewer, member_id: int) -> Member:
    member = find_visible_member(viewer, member_id)
    if member is None:
        raise NotFound()
    return member


@functools.cache
def _profile_counts_statement(staff: bool) -> Select:
    stats = MemberCategoryStats
    topics, posts = stats.topic_count, stats.post_count
    if staff:  # the staff see hidden posts too
        topics, posts = topics + stats.hidden_topic_count, posts + stats.hidden_post_count
    return select(func.coalesce(func.sum(topics), 0), func.coalesce(func.sum(posts), 0)).where(
        stats.member_id == bindparam("member_id"),
        stats.category_id.in_(bindparam(policy.VISIBLE, expanding=True)),
    )


def profile_counts(viewer: Viewer, member_id: int) -> tuple[int, int]:
    """Topics and posts of a member that the viewer may see: the member's kept counts of
    the rubriques the viewer reads (one small query, whatever the member wrote)."""
    params = {"member_id": member_id, **policy.visibility_params(viewer)}
    topics, posts = db.session.execute(_profile_counts_statement(viewer.is_staff), params).one()
    return int(topics), int(posts)


def recent_posts(viewer: Viewer, member_id: int, limit: int = 10) -> list[tuple[Post, Topic]]:
    rows = db.session.execute(
        select(Post, Topic)
        .join(Topic, Topic.id == Post.topic_id)
        .where(Post.author_id == member_id, policy.visible_posts(viewer))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return [(post, topic) for post, topic in rows]


def find_visible_member(viewer: Viewer, member_id: int) -> Member | None:
    return db.session.scalar(
        select(Member).where(Member.id == member_id, policy.visible_members(viewer))
    )


def visible_members_named(viewer: Viewer, name: str, limit: int = 2) -> list[Member]:
    """Members the viewer may see whose name is `name` (case and accents aside): one is the
    member meant; more are homonyms (up to `limit`, enough to tell)."""
    key = fold_name(name)
    if not key:
        return []
    return list(
        db.session.scalars(
            select(Member)
            .where(Member.name_key == key, policy.visible_members(viewer))
            .order_by(Member.id)
            .limit(limit)
        )
    )


def get_member_any_state_or_404(member_id: int) -> Member:
    """For staff tools: a member whatever their state (suspended ones included)."""
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound()
    return member


def registrations(viewer: Viewer) -> list[Member]:
    """Confirmed requests waiting for a decision that this validator may take."""
    return list(
        db.session.scalars(
            select(Member)
            .where(
                Member.state == "pending",
                Member.registration_status == "awaiting",
                policy.visible_registrations(viewer),
            )
            .order_by(Member.created_at)
        )
    )


def waiting_registrations_count_column(staff: bool) -> ScalarSelect[int]:
    """How many requests wait for a decision of the viewer (`registrations`), as a
    subquery for the header's single statement: the staff's count all, a référent's those
    of the network bound by `policy.registration_params`."""
    return (
        select(func.count(Member.id))
        .where(
            Member.state == "pending",
            Member.registration_status == "awaiting",
            policy.visible_registrations_param(staff),
        )
        .scalar_subquery()
    )


def pending_invitations() -> list[Invitation]:
    """Invitations neither accepted, withdrawn nor run out, newest first, with the invited
    member and who invited them (one statement)."""
    return list(
        db.session.scalars(
            select(Invitation)
            .options(joinedload(Invitation.member), joinedload(Invitation.invited_by))
            .where(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def get_invitation_or_404(invitation_id: int) -> Invitation:
    """An invitation with its invited member, for the staff's « Renvoyer » and « Retirer »."""
    invitation = db.session.scalar(
        select(Invitation)
        .options(joinedload(Invitation.member))
        .where(Invitation.id == invitation_id)
    )
    if invitation is None:
        raise NotFound()
    return invitation


def groups() -> list[Group]:
    return list(db.session.scalars(select(Group).order_by(Group.name)))


def mention_targets(
    viewer: Viewer, names: set[str], readers: Iterable[Viewer] = ()
) -> dict[str, int]:
    """The members these « @names » name, in one query: a name names a member when exactly
    one of those the writer may see bears it (the wall as on « Membres » and in the names
    offered while typing, so that a link tells nobody of a member they may not see), and
    each of the `readers` too (`policy.mention_readers`)."""
    folded = {name: fold_name(name) for name in names}
    seen_by = [policy.visible_members(viewer), *(policy.visible_members(r) for r in readers)]
    rows = db.session.execute(
        select(Member.name_key, func.min(Member.id))
        .where(Member.name_key.in_(sorted(set(folded.values()))), *seen_by)
        .group_by(Member.name_key)
        .having(func.count(Member.id) == 1)
    ).all()
    ids = dict(rows)
    return {name: ids[key] for name, key in folded.items() if key in ids}


def mentions_by(
    member: Member | None, readers: Callable[[], Iterable[Viewer]] = tuple
) -> MentionResolver:
    """The mention lookup of a text `member` writes (none links for a former member), read
    by `readers()` besides (asked only when the text names someone)."""
    viewer = policy.Viewer.for_member(member)
    return lambda names: mention_targets(viewer, names, readers())


def post_mentions(author: Member | None, category_id: int) -> MentionResolver:
    """The mention lookup of a post in this rubrique: its author's view, bounded by the
    hors pairs' where they read (`policy.mention_readers`)."""
    return mentions_by(author, lambda: policy.mention_readers(category_id))
