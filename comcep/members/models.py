"""Member accounts and the reference tables they point to (networks, regions, groups)."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from comcep.extensions import UTCDateTime, db, utcnow

STATUTS = ("pair", "hors_pair")
ROLES = ("animation", "validation", "comite", "admin")
STATES = ("pending", "active", "suspended", "left")
STAFF_ROLES = frozenset({"animation", "admin"})
PAIRS_ONLY_ROLES = frozenset({"animation"})  # see `Member.role_set`
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'"})


# One hash per hashing method, of a password nobody knows, made on first use.
_DUMMY_HASHES: dict[str, str] = {}


def _password_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def check_dummy_password(password: str) -> bool:
    """Check a password against a hash that no password matches, and answer False: an
    address with no password to check (unknown, or an account without one) costs the same
    hash as a member's, so the time of the answer does not tell who is a member."""
    method = _password_method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(32), method=method)
    check_password_hash(_DUMMY_HASHES[method], password)
    return False


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def is_email_address(text: str) -> bool:
    """The shape the forms and the command line accept: something@domain.tld, no spaces."""
    return len(text) <= 254 and _EMAIL.match(text) is not None


def fold_name(text: str) -> str:
    """A name or a query without case or accents, spaces collapsed (« Hélène » → « helene »):
    the same on SQLite and PostgreSQL, computed in Python, compared with plain LIKE."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(folded.split())[:80]


class Network(db.Model):
    """A network of pairs (`kind="pair"`) or an organisation type of hors pairs."""

    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))  # "pair" or "hors_pair"
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Region(db.Model):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Group(db.Model):
    """A named group of members that a rubrique may be restricted to (« Groupe pilote »)."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


member_groups = Table(
    "member_groups",
    db.metadata,
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Member(UserMixin, db.Model):
    """A person with an account; `statut` decides which side of the wall they stand on."""

    __tablename__ = "members"
    # When a member was admitted (`analytics.queries.joined_between`): the comité's figures
    # count the admissions of a partial month at a period's edge through it.
    # The directory (« Membres ») pages through members in name order
    # (`members.queries.member_list`): this index gives that order, ties by id.
    __table_args__ = (
        Index("ix_members_joined", "decided_at", "created_at"),
        Index("ix_members_directory", "display_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    display_name: Mapped[str] = mapped_column(String(80))
    # The name folded (no case, no accents) for searches: kept in step by `_fold_name`.
    name_key: Mapped[str] = mapped_column(String(80), default="", index=True)
    statut: Mapped[str] = mapped_column(String(10), default="pair")
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    organisation: Mapped[str] = mapped_column(String(160), default="")
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    roles: Mapped[str] = mapped_column(String(80), default="")  # space-separated role names
    validation_network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="active", index=True)
    motivation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    marked_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # unconfirmed → awaiting (validation) → approved | refused | expired; invited → approved
    registration_status: Mapped[str] = mapped_column(String(12), default="approved")
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pending_email: Mapped[str] = mapped_column(String(254), default="")
    token_nonce: Mapped[str] = mapped_column(String(40), default="")
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    email_frequency: Mapped[str] = mapped_column(String(10), default="immediate")
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moderation_reason: Mapped[str] = mapped_column(Text, default="")

    network: Mapped[Network | None] = relationship(foreign_keys=[network_id], lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")
    groups: Mapped[list[Group]] = relationship(secondary=member_groups, lazy="select")

    # The ids of the member's groups as the session loader read them with the member
    # (`members.queries.load_member`), so that the viewer of each request costs no second
    # query; None when the member was read otherwise. Not a column.
    loaded_group_ids = None

    @property
    def group_id_set(self) -> frozenset[int]:
        """The member's group ids: from `groups` once it is loaded (it may have changed in
        this request), else as read by the session loader, else by loading `groups`."""
        if "groups" not in self.__dict__ and self.loaded_group_ids is not None:
            return self.loaded_group_ids
        return frozenset(group.id for group in self.groups)

    @validates("display_name")
    def _fold_name(self, _key: str, value: str) -> str:
        self.name_key = fold_name(value or "")
        return value

    @property
    def role_set(self) -> frozenset[str]:
        """The roles the member holds. `animation` is a pair's only (SPEC §1: the animatrice
        is « pair + role animation »): staff read every rubrique, so a hors pair's row that
        still carried it (an SQL edit, a statut changed by hand) must not open the wall."""
        roles = frozenset(self.roles.split())
        return roles if self.statut == "pair" else roles - PAIRS_ONLY_ROLES

    def set_roles(self, roles: set[str] | frozenset[str] | list[str]) -> None:
        self.roles = " ".join(sorted(set(roles)))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=_password_method())

    def check_password(self, password: str) -> bool:
        if not self.password_hash:  # invited, or left: no password, but the same delay
            return check_dummy_password(password)
        return check_password_hash(self.password_hash, password)

    @property
    def session_key(self) -> str:
        """A digest of the password hash: sessions and « rester connecté » cookies carry it
        (`get_id`), so that a new password ends every other session, as a reset should."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def get_id(self) -> str:  # Flask-Login: what the session and the cookie hold
        return f"{self.id}.{self.session_key}"

    @property
    def is_active(self) -> bool:  # Flask-Login: only active members hold a session
        if self.state == "suspended" and self.suspended_until is not None:
            return self.suspended_until <= utcnow()  # a suspension for a period ends by itself
        return self.state == "active"

    @classmethod
    def active(cls) -> ColumnElement[bool]:
        """`is_active` in SQL: a member whose suspension for a period ran out is active
        again everywhere (told of replies, sent digests and messages), not only at login."""
        ended = and_(
            cls.state == "suspended",
            cls.suspended_until.is_not(None),
            cls.suspended_until <= utcnow(),
        )
        return or_(cls.state == "active", ended)

    @property
    def is_silenced(self) -> bool:
        return self.silenced_until is not None and self.silenced_until > utcnow()

    @property
    def is_staff(self) -> bool:
        return bool(self.role_set & STAFF_ROLES)

    @property
    def statut_label(self) -> str:
        return "pair" if self.statut == "pair" else "hors pair"


class Invitation(db.Model):
    """An invitation to join (SPEC §4), kept as a row so that the staff see those pending,
    send them again or withdraw them; nothing is deleted. Its link is the invited member's
    `invite` token, signed at `sent_at` and valid until `expires_at`."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="raise")
    invited_by: Mapped[Member | None] = relationship(foreign_keys=[invited_by_id], lazy="raise")

    @property
    def is_pending(self) -> bool:
        """Neither accepted nor withdrawn, and its link still valid."""
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > utcnow()
