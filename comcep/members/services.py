"""Writes about members; callers commit."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import func, or_, select

from comcep.analytics import rollups
from comcep.errors import ComcepError
from comcep.extensions import db, utcnow
from comcep.forum import services as forum_services
from comcep.forum.models import Topic
from comcep.members.models import ROLES, STATUTS, Group, Member, Network, Region, is_email_address


def create_member(
    *,
    email: str,
    name: str,
    statut: str,
    network_code: str,
    region_code: str,
    password: str,
    roles: list[str] | tuple[str, ...] = (),
    groups: list[str] | tuple[str, ...] = (),
    organisation: str = "",
    validates: str = "",
    new_groups: bool = False,
) -> Member:
    """Create an active member, checking every reference so the CLI can say what is wrong."""
    email = email.strip().lower()
    if not is_email_address(email):
        raise ComcepError(f"Adresse e-mail invalide : {email!r}.")
    if not name.strip() or len(name) > 80:
        raise ComcepError("Le nom est obligatoire (80 caractères au plus).")
    if len(organisation) > 160:
        raise ComcepError("La structure tient en 160 caractères au plus.")
    group_names = list(dict.fromkeys(g.strip() for g in groups))  # each group once
    if any(not g or len(g) > 80 for g in group_names):
        raise ComcepError("Un nom de groupe est obligatoire et tient en 80 caractères au plus.")
    if statut not in STATUTS:
        raise ComcepError(f"Statut inconnu : {statut!r} (attendu : pair ou hors_pair).")
    network = db.session.scalar(select(Network).where(Network.code == network_code))
    if network is None:
        raise ComcepError(f"Réseau ou organisation inconnu : {network_code!r}.")
    if not network.active:
        raise ComcepError(f"Ce réseau ou cette organisation n'existe plus : {network_code!r}.")
    if network.kind != statut:
        kind = "pairs" if statut == "pair" else "hors pairs"
        raise ComcepError(
            f"« {network_code} » n'est pas un réseau de {kind} : le réseau ou l'organisation "
            "ne correspond pas au statut."
        )
    region = db.session.scalar(select(Region).where(Region.code == region_code))
    if region is None:
        raise ComcepError(f"Région inconnue : {region_code!r}.")
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ComcepError(f"Rôle inconnu : {', '.join(unknown)} (attendu : {', '.join(ROLES)}).")
    validated = _validated_network(statut, network, roles, validates)
    from comcep.members.membership import check_password_strength  # noqa: PLC0415 - cycle

    check_password_strength(password, email, name.strip())  # the web forms' rule
    if db.session.scalar(select(Member.id).where(Member.email == email)) is not None:
        raise ComcepError(f"Un membre utilise déjà l'adresse {email}.")
    member = Member(
        email=email,
        display_name=name.strip(),
        statut=statut,
        network=network,
        region=region,
        organisation=organisation,
        state="active",
        created_at=utcnow(),
        marked_read_at=None,
    )
    member.set_roles(roles)
    member.validation_network_id = validated.id if validated else None
    member.set_password(password)
    existing = {g.name: g for g in db.session.scalars(select(Group).order_by(Group.name))}
    unknown_groups = [name for name in group_names if name not in existing]
    if unknown_groups and not new_groups:
        # A mistyped name made a new group of one, and the member never reached the rubrique
        # of the group meant (« Groupe pilot »): a new group is asked for by name.
        raise ComcepError(
            f"Groupe inconnu : {', '.join(unknown_groups)} (groupes existants : "
            f"{', '.join(existing) or 'aucun'}). Pour créer un groupe, ajoutez --new-group."
        )
    for group_name in group_names:
        group = existing.get(group_name)
        if group is None:
            group = Group(name=group_name)
            db.session.add(group)
        member.groups.append(group)
    db.session.add(member)
    db.session.flush()
    return member


def update_member(
    actor: Member,
    member: Member,
    *,
    statut: str,
    network_code: str,
    roles: list[str],
    group_ids: list[int],
    validates: str = "",
) -> bool:
    """Admin changes to statut, network, roles and groups, written to the log; False when
    the form changed nothing (then nothing is logged)."""
    from comcep.moderation.services import log

    if member.state == "left":
        raise ComcepError(
            "Ce membre a quitté la ComCEP : son compte anonymisé ne reçoit plus ni rôle, ni "
            "groupe, ni réseau."
        )
    network = db.session.scalar(select(Network).where(Network.code == network_code))
    if network is None or network.kind != statut:
        raise ComcepError("Le réseau ou l'organisation ne correspond pas au statut choisi.")
    if member.id == actor.id and "admin" not in roles:
        raise ComcepError("Vous ne pouvez pas retirer votre propre rôle d'administrateur.")
    roles = [role for role in roles if role in ROLES]
    validated = _validated_network(statut, network, roles, validates)
    before = _administered(member)
    network_changed = member.network_id != network.id
    member.statut = statut
    member.network = network
    member.set_roles(roles)
    member.validation_network_id = validated.id if validated else None
    member.groups = list(db.session.scalars(select(Group).where(Group.id.in_(group_ids))))
    if _administered(member) == before:
        return False
    log(actor, "update_member", "member", member.id, details={"avant": before})
    db.session.flush()
    if network_changed:  # the analyses count a member under their network
        _network_changed(member)
    return True


def _validated_network(
    statut: str, network: Network, roles: list[str] | tuple[str, ...], validates: str
) -> Network | None:
    """The pairs' network whose registrations the member will validate (SPEC §1: « any +
    role validation for one network »): the one chosen, else a pair's own network. A hors
    pair (a network's representative) names it; `animation` is refused to a hors pair, who
    would read every rubrique as staff."""
    if "animation" in roles and statut != "pair":
        raise ComcepError(
            "Le rôle « animation » est réservé aux pairs : l'animatrice lit et modère les "
            "rubriques des pairs, qu'un hors pair ne lit pas.",
            "roles",
        )
    if "validation" not in roles:
        return None
    code = validates or (network.code if statut == "pair" else "")
    if not code:
        raise ComcepError(
            "Choisissez le réseau de pairs dont ce membre validera les inscriptions.",
            "validates",
        )
    validated = db.session.scalar(select(Network).where(Network.code == code))
    if validated is None or validated.kind != "pair":
        raise ComcepError(
            f"« {code} » n'est pas un réseau de pairs : un référent valide les inscriptions "
            "des conseillers d'un réseau.",
            "validates",
        )
    return validated


def _administered(member: Member) -> dict[str, Any]:
    """What the member administration sets, as the journal records it."""
    validated = (
        db.session.get(Network, member.validation_network_id)
        if member.validation_network_id
        else None
    )
    return {
        "statut": member.statut,
        "reseau": member.network.code if member.network else None,
        # As stored: a role that `role_set` does not count (`animation` on a hors pair's
        # row) is journaled when the form takes it away.
        "roles": sorted(member.roles.split()),
        "valide": validated.code if validated else None,
        "groupes": sorted(g.id for g in member.groups),
    }


def anonymise_member(
    actor: Member, member: Member, *, confirmed: bool, remove_posts: bool = False
) -> None:
    """An admin anonymises a member at their request, once they confirmed it: nothing can
    undo it. Not their own account: that one closes from « Mon compte », which asks for the
    password (a click on the wrong profile must not end the admin's own account)."""
    from comcep.members import membership

    if member.id == actor.id:
        raise ComcepError(
            "Vous ne pouvez pas anonymiser votre propre compte ici : pour le fermer, passez "
            "par « Mon compte », qui vous demande votre mot de passe."
        )
    if not confirmed:
        raise ComcepError(
            "Cochez la case pour confirmer l'anonymisation : elle ne peut pas être annulée. "
            "Rien n'a été modifié.",
            field="confirm",
        )
    if remove_posts:  # at the member's request, as their own « Quitter la ComCEP » offers
        from comcep.moderation.services import hide_member_posts  # noqa: PLC0415 - cycle

        hide_member_posts(actor, member)
    membership.anonymise(member, actor)


def _network_changed(member: Member) -> None:
    """The comité's figures by network: the months of the member's posts are counted again,
    and the first replies they asked or gave are checked again for crossing networks."""
    rollups.mark_member_changed(member.id)
    topic_ids = db.session.scalars(
        select(Topic.id).where(
            or_(Topic.author_id == member.id, Topic.first_reply_author_id == member.id)
        )
    )
    db.session.execute(forum_services.first_reply_update(list(topic_ids)))


NETWORK_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def create_network(actor: Member, *, kind: str, name: str, code: str) -> Network:
    """A new network of pairs or organisation of hors pairs, listed last of its kind. Its
    code is for good: links, exports and the command line name it."""
    from comcep.moderation.services import log

    if kind not in STATUTS:
        raise ComcepError("Choisissez pour qui.", "kind")
    code = code.strip().lower()
    if not 2 <= len(code) <= 40 or not NETWORK_CODE.match(code):
        raise ComcepError(
            "Le code s'écrit en minuscules, chiffres et tirets (2 à 40), sans accent.", "code"
        )
    if db.session.scalar(select(Network.id).where(Network.code == code)) is not None:
        raise ComcepError("Ce code est déjà pris.", "code")
    name = _network_name(name)
    last = db.session.scalar(select(func.max(Network.position))) or 0
    network = Network(code=code, name=name, kind=kind, position=last + 1, active=True)
    db.session.add(network)
    db.session.flush()
    log(actor, "network_create", "network", network.id, details={"code": code, "nom": name})
    return network


def update_network(
    actor: Member, network: Network, *, name: str | None = None, active: bool | None = None
) -> bool:
    """Rename a network, or close it (newcomers no longer choose it; its members keep it,
    with their figures) or open it again; False when nothing changed."""
    from comcep.moderation.services import log

    before = {"nom": network.name, "ouvert": network.active}
    if active is False and network.active and not _another_open(network):
        what = "réseau de pairs" if network.kind == "pair" else "organisation de hors pairs"
        raise ComcepError(
            f"« {network.name} » est le dernier {what} ouvert : personne ne pourrait plus "
            "s'inscrire ou être invité avec ce statut. Ouvrez-en un autre d'abord.",
            "name",
        )
    if name is not None:
        name = _network_name(name, network)
        network.name = name
    if active is not None:
        network.active = active
    if {"nom": network.name, "ouvert": network.active} == before:
        return False
    log(actor, "network_update", "network", network.id, details={"avant": before})
    db.session.flush()
    return True


def _another_open(network: Network) -> bool:
    others = select(Network.id).where(
        Network.kind == network.kind, Network.active.is_(True), Network.id != network.id
    )
    return db.session.scalar(others.limit(1)) is not None


def _network_name(name: str, network: Network | None = None) -> str:
    """A name shown in every list and select: no invisible or control character (a
    right-to-left override would turn the text around), NFC, unique whatever its case or
    the way its accents were typed."""
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn") for ch in name):
        raise ComcepError("Le nom contient un caractère invisible ou de contrôle.", "name")
    if not 2 <= len(name) <= 120:
        raise ComcepError("Le nom compte de 2 à 120 caractères.", "name")
    key = _name_key(name)
    # compared in Python: SQLite's lower() leaves « É » as it is (a few dozen rows)
    others = db.session.execute(select(Network.id, Network.name)).all()
    if any(_name_key(n) == key for i, n in others if network is None or i != network.id):
        raise ComcepError("Ce nom est déjà celui d'un autre réseau ou organisation.", "name")
    return name


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()
