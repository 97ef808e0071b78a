"""The membership life cycle (SPEC §4): registration request, e-mail confirmation,
validation by the network, invitations, password reset, e-mail change, leaving (RGPD).

Services flush, never commit; every e-mail is queued in the same transaction.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from comcep import policy
from comcep.errors import ComcepError
from comcep.extensions import db, utcnow
from comcep.forum.models import Post, PostRevision, PostThanks, Topic
from comcep.mail import MailMessage, queue_mail
from comcep.members.models import (
    Group,
    Invitation,
    Member,
    Network,
    Region,
    check_dummy_password,
    member_groups,
)
from comcep.members.queries import post_mentions
from comcep.members.tokens import (
    MAX_AGE,
    DeadLink,
    check_token,
    make_token,
    new_nonce,
    signed_member_id,
    use_token,
)
from comcep.messages.models import Conversation, PrivateMessage
from comcep.moderation.models import Report
from comcep.moderation.services import log
from comcep.notifications import services as notifications
from comcep.policy import staff_members
from comcep.rendering import MentionResolver, render_markdown
from comcep.search import indexing

REGISTRATION_DAYS = 7
FORMER_MEMBER = "Ancien membre"
_COMMON_PASSWORDS = {
    "motdepasse",
    "motdepasse1",
    "azertyuiop",
    "123456789",
    "1234567890",
    "password123",
    "azerty123",
    "soleil123",
    "bonjour123",
    "comcep2026",
    "conseiller1",
}


def check_password_strength(password: str, email: str = "", name: str = "") -> None:
    """At least 10 characters, three kinds of characters (or 16+), nothing obvious."""
    if len(password) < 10:
        raise ComcepError("Le mot de passe doit compter au moins 10 caractères.")
    if len(password) > 200:
        raise ComcepError("Le mot de passe ne peut pas dépasser 200 caractères.")
    kinds = sum(
        bool(re.search(pattern, password))
        for pattern in (r"[a-zà-ÿ]", r"[A-ZÀ-Ý]", r"[0-9]", r"[^A-Za-zÀ-ÿ0-9]")
    )
    if kinds < 3 and len(password) < 16:
        raise ComcepError(
            "Le mot de passe doit mêler au moins trois sortes de caractères (minuscules, "
            "majuscules, chiffres, symboles), ou compter 16 caractères ou plus."
        )
    lowered = password.lower()
    local = email.split("@")[0].lower()
    if lowered in _COMMON_PASSWORDS or (len(local) >= 4 and local in lowered):
        raise ComcepError("Ce mot de passe est trop facile à deviner.")
    if name and len(name) >= 4 and name.lower().replace(" ", "") in lowered.replace(" ", ""):
        raise ComcepError("Le mot de passe ne doit pas contenir votre nom.")


def _lookup(model: type, code: str, label: str, field: str) -> Network | Region:
    row = db.session.scalar(select(model).where(model.code == code))
    if row is None:
        raise ComcepError(f"{label} inconnu·e : choisissez dans la liste.", field)
    return row


def register(
    *,
    name: str,
    email: str,
    network_code: str,
    organisation: str,
    region_code: str,
    motivation: str,
    password: str,
) -> Member | None:
    """A pair's registration request; the confirmation e-mail is queued.

    Returns None when the address is already taken: that person gets an e-mail instead,
    so the page never reveals whether an address is registered.
    """
    email = email.strip().lower()
    network = _lookup(Network, network_code, "Réseau", "network")
    if network.kind != "pair":
        raise ComcepError(
            "L'inscription est réservée aux conseillers des réseaux du CEP.", "network"
        )
    if not network.active:
        raise ComcepError(
            "Ce réseau n'existe plus et n'accueille plus d'inscriptions : choisissez votre "
            "réseau actuel.",
            "network",
        )
    region = _lookup(Region, region_code, "Région", "region")
    check_password_strength(password, email, name)
    existing = db.session.scalar(select(Member).where(Member.email == email))
    if existing is not None and not (
        existing.state == "pending" and existing.registration_status in ("unconfirmed", "expired")
    ):
        # A new address costs a password hash: so does this one, or the time of the answer
        # would tell who is a member.
        check_dummy_password(password)
        queue_mail(
            email,
            "Votre compte ComCEP existe déjà",
            "already_registered",
            member=existing,
            login_url=url_for("members.login", _external=True),
        )
        return None
    if (
        existing is not None
        and existing.registration_status == "unconfirmed"
        and not existing.check_password(password)
    ):
        # A request waits for this address's confirmation, and someone asks again with
        # another password: perhaps not the mailbox's owner, who would confirm a request
        # whose password someone else chose. Nothing of the request changes; the mailbox
        # gets its link again (its earlier links still work). With the same password, the
        # owner may correct the request below (a name mistyped, another network).
        link = url_for("members.confirm", token=make_token(existing, "confirm"), _external=True)
        queue_mail(email, "Confirmez votre adresse e-mail", "confirm", member=existing, link=link)
        return None
    member = existing or Member(email=email, created_at=utcnow())
    member.display_name = name.strip()
    member.statut = "pair"
    member.network = network
    member.region = region
    member.organisation = organisation.strip()
    member.motivation = motivation.strip()
    member.state = "pending"
    member.registration_status = "unconfirmed"
    member.created_at = utcnow()
    member.token_nonce = new_nonce()
    member.set_password(password)
    if existing is None:
        db.session.add(member)
    db.session.flush()
    link = url_for("members.confirm", token=make_token(member, "confirm"), _external=True)
    queue_mail(email, "Confirmez votre adresse e-mail", "confirm", member=member, link=link)
    return member


def check_confirm_link(token: str) -> Member:
    """The member of a usable address confirmation link, without consuming it."""
    member, _ = check_token(token, "confirm")
    _check_unconfirmed(member)
    return member


def _check_unconfirmed(member: Member) -> None:
    if member.registration_status != "unconfirmed":
        raise DeadLink("Cette adresse est déjà confirmée.")


def confirm_email(token: str) -> Member:
    member, _ = use_token(token, "confirm")
    _check_unconfirmed(member)
    member.email_confirmed_at = utcnow()
    member.registration_status = "awaiting"
    referents = list(
        db.session.scalars(
            select(Member).where(Member.validation_network_id == member.network_id, Member.active())
        )
    )
    if not referents:  # a network without référent: the animation team decides
        referents = list(db.session.scalars(select(Member).where(Member.active(), staff_members())))
    for referent in referents:
        queue_mail(
            referent.email,
            "Une demande d'inscription attend votre validation",
            "to_validate",
            member=member,
            link=url_for("members.registrations", _external=True),
        )
    db.session.flush()
    return member


def expire_registrations() -> int:
    """Requests left unconfirmed for 7 days expire (the address may register again)."""
    limit = utcnow() - timedelta(days=REGISTRATION_DAYS)
    result = db.session.execute(
        update(Member)
        .where(Member.registration_status == "unconfirmed", Member.created_at < limit)
        .values(registration_status="expired", token_nonce="")
    )
    return result.rowcount or 0


def _check_awaiting(member: Member) -> None:
    """A request still waiting for a decision: confirmed, and the account still pending (an
    applicant anonymised at their request has left; approving them would list a former
    member, « Ancien membre », among the active ones)."""
    if member.state != "pending" or member.registration_status != "awaiting":
        raise ComcepError("Cette demande n'attend pas de validation.")


def _take_decision(member: Member, status: str) -> None:
    """Decide the request once, on its row. Its référents and the staff are e-mailed at the
    same moment, and two may decide it together (or one click twice): the second's copy,
    read before the first committed, still says « awaiting ». Without this, both applied
    (two welcomes; or a refusal over an approval, an active member « refused »)."""
    taken = db.session.execute(
        update(Member)
        .where(
            Member.id == member.id,
            Member.state == "pending",
            Member.registration_status == "awaiting",
        )
        .values(registration_status=status)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise ComcepError(
            "Cette demande vient d'être traitée par quelqu'un d'autre : elle n'attend plus "
            "de validation."
        )


def approve_registration(actor: Member, member: Member) -> None:
    _check_awaiting(member)
    _take_decision(member, "approved")
    member.state = "active"
    member.registration_status = "approved"
    member.decided_by_id = actor.id
    member.decided_at = utcnow()
    member.marked_read_at = None
    log(actor, "approve_registration", "member", member.id)
    db.session.flush()
    # On the bell; by e-mail, the welcome below tells it (not a second e-mail saying it).
    notifications.notify(member, "registration", actor=actor, email=False)
    queue_mail(
        member.email,
        "Bienvenue sur la ComCEP",
        "approved",
        member=member,
        login_url=url_for("members.login", _external=True),
    )


def refuse_registration(actor: Member, member: Member, reason: str) -> None:
    _check_awaiting(member)
    if not reason.strip():
        raise ComcepError("Indiquez la raison du refus : elle est envoyée au demandeur.")
    _take_decision(member, "refused")
    member.registration_status = "refused"
    member.refusal_reason = reason.strip()
    member.decided_by_id = actor.id
    member.decided_at = utcnow()
    log(actor, "refuse_registration", "member", member.id, reason=reason)
    queue_mail(
        member.email,
        "Votre demande d'inscription à la ComCEP",
        "refused",
        member=member,
        reason=reason.strip(),
    )


def invite(
    actor: Member,
    *,
    email: str,
    name: str,
    statut: str,
    network_code: str,
    region_code: str,
    organisation: str,
    groups: list[str] | None = None,
) -> Member:
    """An administrator invites a hors pair (or a pair); the link lets them set a password.

    An address whose invitation was withdrawn or ran out may be invited again: its account
    never opened, so it is set afresh (groups included) rather than blocking the address.
    """
    email = email.strip().lower()
    if not policy.can(policy.check_invite, policy.Viewer.for_member(actor)):
        raise ComcepError("Seul un administrateur peut inviter un membre.")
    network = _lookup(Network, network_code, "Réseau ou organisation", "network")
    if network.kind != statut:
        raise ComcepError(
            "Le réseau ou l'organisation ne correspond pas au statut choisi.", "network"
        )
    if not network.active:
        raise ComcepError("Ce réseau ou cette organisation n'existe plus.", "network")
    region = _lookup(Region, region_code, "Région", "region")
    member = db.session.scalar(select(Member).where(Member.email == email))
    if member is not None:
        _check_invitable_again(member)
    else:
        member = Member(email=email)
        db.session.add(member)
    member.display_name = name.strip()
    member.statut = statut
    member.network = network
    member.region = region
    member.organisation = organisation.strip()
    member.state = "pending"
    member.registration_status = "invited"
    member.password_hash = ""  # chosen from the invitation's link (an expired request had one)
    member.created_at = utcnow()
    member.token_nonce = new_nonce()
    member.groups = [
        group
        for group_name in groups or []
        if (group := db.session.scalar(select(Group).where(Group.name == group_name)))
    ]
    db.session.flush()
    now = utcnow()
    invitation = Invitation(member_id=member.id, invited_by_id=actor.id, created_at=now)
    db.session.add(invitation)
    log(actor, "invite", "member", member.id, details={"statut": statut})
    _send_invitation(actor, invitation, member, now)
    return member


def _check_invitable_again(member: Member) -> None:
    """An address already known may be invited only if it never opened an account (its
    invitation withdrawn or run out, or a registration request left unconfirmed until it
    expired: the address may register again, so it may be invited) and no invitation is
    pending (that one is sent again from the list instead)."""
    if member.state != "pending" or member.registration_status not in (
        "invited",
        "revoked",
        "expired",
    ):
        raise ComcepError("Un membre utilise déjà cette adresse.")
    latest = _latest_invitation(member.id)
    if latest is not None and latest.is_pending:
        raise ComcepError(
            "Une invitation attend déjà cette adresse : renvoyez-la depuis la liste des "
            "invitations en cours."
        )


def _send_invitation(actor: Member, invitation: Invitation, member: Member, now: datetime) -> None:
    """Queue the e-mail with a fresh link (the member's nonce was just renewed), valid
    `MAX_AGE["invite"]` from now."""
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(seconds=MAX_AGE["invite"])
    link = url_for("members.accept_invitation", token=make_token(member, "invite"), _external=True)
    queue_mail(
        member.email,
        "Invitation à rejoindre la ComCEP",
        "invitation",
        member=member,
        inviter=actor,
        link=link,
    )


def leave(member: Member, *, remove_posts: bool = False) -> None:
    """« Quitter la ComCEP »: the member's own account is closed and anonymised; with
    `remove_posts`, their posts are hidden too (SPEC §4: they stay unless one asks).

    An administrator leaves only if another one is active, else nobody could manage the
    rubriques, the roles or the invitations any more. The check holds against another
    administrator leaving at the same moment: on PostgreSQL the administrators' rows are
    locked first, in one order, so the second waits and then sees the first gone; SQLite
    has one writer, whose lock is taken (by a write to the member's own row) before the
    check."""
    if "admin" in member.role_set:
        padded = " " + Member.roles + " "
        admins = select(Member.id).where(Member.active(), padded.contains(" admin "))
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(admins.order_by(Member.id).with_for_update())
        else:
            db.session.execute(
                update(Member).where(Member.id == member.id).values(state=Member.state)
            )
        if db.session.scalar(admins.where(Member.id != member.id).limit(1)) is None:
            raise ComcepError(
                "Vous êtes le seul administrateur en activité : nommez-en un autre avant de "
                "quitter la ComCEP, sinon personne ne pourrait plus gérer le site."
            )
    if remove_posts:
        from comcep.moderation.services import hide_member_posts  # noqa: PLC0415 - cycle

        hide_member_posts(member, member)
    anonymise(member)


def check_may_act_on(actor: Member, invitation: Invitation) -> None:
    """An invitation is the administrators' decision (`invite`): sending it again (with a
    new link) or withdrawing it is theirs too."""
    if not policy.can(policy.check_invite, policy.Viewer.for_member(actor)):
        raise ComcepError("Seul un administrateur peut renvoyer ou retirer une invitation.")


def _check_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise ComcepError("Cette invitation a déjà été acceptée : le compte est ouvert.")
    if invitation.revoked_at is not None:
        raise ComcepError("Cette invitation a déjà été retirée.")


def resend_invitation(actor: Member, invitation: Invitation) -> None:
    """Send the invitation again with a new link, valid anew; the earlier link stops
    working (links are single-use: one live link per invitation)."""
    check_may_act_on(actor, invitation)
    _check_open(invitation)
    member = invitation.member
    member.token_nonce = new_nonce()
    _send_invitation(actor, invitation, member, utcnow())
    log(actor, "resend_invitation", "member", member.id)
    db.session.flush()


def revoke_invitation(actor: Member, invitation: Invitation) -> None:
    """Withdraw an invitation: its link stops working and says so; the rows stay."""
    check_may_act_on(actor, invitation)
    _check_open(invitation)
    member = invitation.member
    invitation.revoked_at = utcnow()
    invitation.revoked_by_id = actor.id
    member.registration_status = "revoked"
    member.token_nonce = new_nonce()
    log(actor, "revoke_invitation", "member", member.id)
    db.session.flush()


def _latest_invitation(member_id: int | None) -> Invitation | None:
    if member_id is None:
        return None
    return db.session.scalar(
        select(Invitation)
        .where(Invitation.member_id == member_id)
        .order_by(Invitation.id.desc())
        .limit(1)
    )


def _dead_invitation(token: str, error: DeadLink) -> DeadLink:
    """Why an invitation link no longer serves, in words its reader can act on: withdrawn,
    accepted, sent again since, or run out (`error` when no invitation row tells more)."""
    invitation = _latest_invitation(signed_member_id(token, "invite"))
    if invitation is None:
        return error
    if invitation.revoked_at is not None:
        return DeadLink(
            "Cette invitation a été retirée : elle ne permet plus de rejoindre la ComCEP. "
            "Si vous pensez qu'il s'agit d'une erreur, écrivez à la personne qui vous a invité."
        )
    if invitation.accepted_at is not None:
        return DeadLink(
            "Ce lien a déjà été utilisé ou n'est plus valide : cette invitation a déjà été "
            "acceptée. Connectez-vous avec votre adresse e-mail et votre mot de passe."
        )
    if invitation.expires_at <= utcnow():
        return DeadLink(
            "Cette invitation a expiré : demandez à la personne qui vous a invité de vous "
            "l'envoyer de nouveau."
        )
    return DeadLink(
        "Ce lien a été remplacé par un plus récent : ouvrez celui du dernier e-mail "
        "d'invitation que vous avez reçu."
    )


def check_invitation(token: str) -> Member:
    """The invited member of a usable invitation link, without consuming it."""
    try:
        member, _ = check_token(token, "invite")
    except DeadLink as error:
        raise _dead_invitation(token, error) from error
    if member.registration_status != "invited":
        raise _dead_invitation(token, DeadLink("Cette invitation a déjà été utilisée."))
    return member


def check_reset_link(token: str) -> Member:
    return check_token(token, "reset")[0]


def accept_invitation(token: str, password: str) -> Member:
    try:
        member, _ = use_token(token, "invite")
    except DeadLink as error:
        raise _dead_invitation(token, error) from error
    if member.registration_status != "invited":
        raise _dead_invitation(token, DeadLink("Cette invitation a déjà été utilisée."))
    check_password_strength(password, member.email, member.display_name)
    member.set_password(password)
    member.state = "active"
    member.registration_status = "approved"
    member.email_confirmed_at = utcnow()
    # Admitted now (the comité's figures count members from `decided_at`): the invitation's
    # date, the account's `created_at`, counted them before they were members.
    member.decided_at = member.email_confirmed_at
    invitation = _latest_invitation(member.id)
    if invitation is not None:
        invitation.accepted_at = member.email_confirmed_at
    db.session.flush()
    return member


def request_password_reset(email: str) -> None:
    """Queue a reset link if the address belongs to an active member (one whose suspension
    for a period has run out is active again: `Member.is_active`); say nothing else."""
    member = db.session.scalar(select(Member).where(Member.email == email.strip().lower()))
    if member is None or not member.is_active:
        return
    link = url_for("members.reset_password", token=make_token(member, "reset"), _external=True)
    queue_mail(member.email, "Réinitialiser votre mot de passe", "reset", member=member, link=link)


def reset_password(token: str, password: str) -> Member:
    member, _ = use_token(token, "reset")
    check_password_strength(password, member.email, member.display_name)
    member.set_password(password)
    db.session.flush()
    return member


def change_password(member: Member, current: str, new: str) -> None:
    if not member.check_password(current):
        raise ComcepError("Le mot de passe actuel est incorrect.", field="current")
    check_password_strength(new, member.email, member.display_name)
    member.set_password(new)
    member.token_nonce = new_nonce()  # pending reset links stop working


def update_profile(member: Member, *, organisation: str, region_code: str) -> None:
    """A member's own structure and region. Not journaled: the member's word about
    themselves, like their registration; the network and statut stay with the staff."""
    region = _lookup(Region, region_code, "Région", "region")
    organisation = organisation.strip()
    if member.statut == "pair" and not organisation:
        raise ComcepError("Indiquez votre structure.", "organisation")
    member.organisation = organisation
    member.region = region
    db.session.flush()


def request_email_change(member: Member, new_email: str, password: str) -> None:
    """The new address becomes the login only once confirmed from that mailbox."""
    if not member.check_password(password):
        raise ComcepError("Le mot de passe est incorrect.", field="password")
    new_email = new_email.strip().lower()
    if new_email == member.email:
        raise ComcepError("C'est déjà votre adresse.")
    member.pending_email = new_email
    link = url_for(
        "members.confirm_email_change", token=make_token(member, "email", new_email), _external=True
    )
    if db.session.scalar(select(Member.id).where(Member.email == new_email)) is None:
        queue_mail(
            new_email, "Confirmez votre nouvelle adresse", "email_change", member=member, link=link
        )


def check_email_change_link(token: str) -> Member:
    """The member of a usable address change link, without consuming it."""
    member, new_email = check_token(token, "email")
    _check_pending_email(member, new_email)
    return member


def _check_pending_email(member: Member, new_email: str) -> None:
    if member.pending_email != new_email:
        raise DeadLink("Ce lien n'est plus valide.")


def confirm_email_change(token: str) -> Member:
    member, new_email = use_token(token, "email")
    _check_pending_email(member, new_email)
    if db.session.scalar(select(Member.id).where(Member.email == new_email)) is not None:
        raise ComcepError("Cette adresse est déjà utilisée par un autre membre.")
    member.email = new_email
    member.pending_email = ""
    db.session.flush()
    return member


def _post_state(post: Post) -> str:
    if post.is_pending:
        return "en_attente"
    if post.is_refused:
        return "non_publie"
    return "masque" if post.is_hidden else "visible"


def _profile_names(member_id: int) -> tuple[str | None, str | None, list[str]]:
    """The member's network and region codes and their groups' names, in one statement: the
    session's member comes without them (`members.queries.load_member`), and reading each
    on its own cost three."""
    rows = db.session.execute(
        select(Network.code, Region.code, Group.name)
        .select_from(Member)
        .outerjoin(Network, Network.id == Member.network_id)
        .outerjoin(Region, Region.id == Member.region_id)
        .outerjoin(member_groups, member_groups.c.member_id == Member.id)
        .outerjoin(Group, Group.id == member_groups.c.group_id)
        .where(Member.id == member_id)
    ).all()
    if not rows:
        return None, None, []
    network, region, _group = rows[0]
    return network, region, sorted(name for _n, _r, name in rows if name is not None)


def export_data(member: Member) -> dict:
    """Everything a member wrote and their profile (RGPD right of access, SPEC §4).

    Only the member's own words, whatever their state (hidden or awaiting moderation
    included), plus context they may read now: a topic's title is given only if its page
    opens for them today, even for a topic they opened (a pair turned hors pair gets no
    titles from the pairs' rubriques; a topic of theirs moved to the pairs, or made by the
    staff from their reply with a title of the staff's, keeps its title there), and of a
    conversation only its subject, since they take part in it. Other participants'
    private messages and any other member's name or address are left out: they are those
    people's data, not the member's.
    """
    viewer = policy.Viewer.for_member(member)
    title_seen = policy.openable_topics(viewer)
    topics = db.session.execute(
        select(Topic, case((title_seen, Topic.title)))
        .where(Topic.author_id == member.id)
        .order_by(Topic.created_at, Topic.id)
    ).all()
    posts = db.session.execute(
        select(Post, Topic.id, case((title_seen, Topic.title)))
        .join(Topic, Topic.id == Post.topic_id)
        .where(Post.author_id == member.id)
        .order_by(Post.created_at, Post.id)
    ).all()
    messages = db.session.execute(
        select(PrivateMessage, Conversation)
        .join(Conversation, Conversation.id == PrivateMessage.conversation_id)
        .where(PrivateMessage.author_id == member.id)
        .order_by(PrivateMessage.created_at, PrivateMessage.id)
    ).all()
    earlier: dict[int, list[dict]] = {}
    for revision in db.session.scalars(
        select(PostRevision)
        .join(Post, Post.id == PostRevision.post_id)
        .where(Post.author_id == member.id)
        .order_by(PostRevision.created_at, PostRevision.id)
    ):
        # As a hidden post, a version the moderation hid from readers is still the member's
        # own words: given, and said to be hidden.
        earlier.setdefault(revision.post_id, []).append(
            {
                "remplacee_le": revision.created_at.isoformat(),
                "texte": revision.body_source,
                "masquee_aux_lecteurs": revision.hidden_at is not None,
            }
        )
    reports = db.session.scalars(
        select(Report).where(Report.reporter_id == member.id).order_by(Report.created_at)
    ).all()
    thanks = db.session.scalars(
        select(PostThanks)
        .where(PostThanks.member_id == member.id)
        .order_by(PostThanks.created_at, PostThanks.post_id)
    ).all()
    network, region, group_names = _profile_names(member.id)
    return {
        "profil": {
            "nom": member.display_name,
            "email": member.email,
            "statut": member.statut,
            "reseau": network,
            "structure": member.organisation,
            "region": region,
            "motivation": member.motivation,
            "inscription": member.created_at.isoformat(),
            "roles": sorted(member.role_set),
            "groupes": group_names,
            "frequence_des_e_mails": member.email_frequency,
        },
        "sujets": [
            {
                "id": topic.id,
                "titre": title,
                "date": topic.created_at.isoformat(),
                "masque": topic.is_hidden,
                "verrouille": topic.is_locked,
            }
            for topic, title in topics
        ],
        "messages": [
            {
                "id": post.id,
                "sujet": title,
                "sujet_id": topic_id,
                "ouvre_le_sujet": post.number == 1,
                "date": post.created_at.isoformat(),
                "modifie": post.edited_at.isoformat() if post.edited_at else None,
                "etat": _post_state(post),
                "masque": post.is_hidden,
                "texte": post.body_source,
                "versions_precedentes": earlier.get(post.id, []),
                # As the title: only where the member reads the topic today.
                "remerciements_recus": post.thanks_count if title is not None else None,
            }
            for post, topic_id, title in posts
        ],
        "messages_prives": [
            {
                "conversation": conversation.subject,
                "conversation_id": conversation.id,
                "date": message.created_at.isoformat(),
                "masque": message.is_hidden,
                "texte": message.body_source,
            }
            for message, conversation in messages
        ],
        "signalements": [
            {
                "date": report.created_at.isoformat(),
                "message_id": report.post_id,
                "message_prive_id": report.message_id,
                "raison": report.reason_label,
                "commentaire": report.comment,
                "etat": "traite" if report.status == "closed" else "ouvert",
            }
            for report in reports
        ],
        # Whom they thanked is the member's own act; the post's text is its author's.
        "remerciements_donnes": [
            {"message_id": thanked.post_id, "date": thanked.created_at.isoformat()}
            for thanked in thanks
        ],
    }


def _post_mentions(post: Post) -> MentionResolver:
    """The post's mention lookup, as when it was written (`post_mentions`)."""
    author = db.session.get(Member, post.author_id) if post.author_id is not None else None
    category_id = db.session.scalar(select(Topic.category_id).where(Topic.id == post.topic_id))
    return post_mentions(author, category_id)


def _sign_quotes_as_former_member(member: Member) -> None:
    """Quoting writes the author's name into the reply (`[**Name**](/p/<id>) a écrit :`):
    in quotes of this member's posts, name « Ancien membre » instead, and re-index them."""
    marker = f"[**{member.display_name}**](/p/"
    own = set(db.session.scalars(select(Post.id).where(Post.author_id == member.id)))
    pattern = re.compile(rf"\[\*\*{re.escape(member.display_name)}\*\*\]\(/p/(\d+)\)")

    def sign(source: str) -> str:
        return pattern.sub(
            lambda m: f"[**{FORMER_MEMBER}**](/p/{m[1]})" if int(m[1]) in own else m[0], source
        )

    changed = []
    for post in db.session.scalars(
        select(Post).where(Post.body_source.contains(marker, autoescape=True))
    ):
        source = sign(post.body_source)
        if source != post.body_source:
            post.body_source, post.body_html = (
                source,
                render_markdown(source, _post_mentions(post)),
            )
            changed.append(post.id)
    for revision in db.session.scalars(
        select(PostRevision).where(PostRevision.body_source.contains(marker, autoescape=True))
    ):
        revision.body_source = sign(revision.body_source)
    indexing.enqueue_posts(changed)


def _unmention_former_member(member: Member) -> None:
    """An @mention writes the member's name into someone else's post (« @Prénom Nom »): in
    posts and their revisions, write « Ancien membre » instead, and re-index the posts.
    Skipped when another member bears the same name: the mention may be theirs."""
    name = member.display_name.strip()
    homonym = db.session.scalar(
        select(Member.id).where(
            func.lower(Member.display_name) == name.lower(),
            Member.id != member.id,
            Member.state != "left",
        )
    )
    if len(name) < 2 or homonym is not None:
        return
    pattern = re.compile(rf"(?<![\w@])@{re.escape(name)}(?![\w'’-])", re.IGNORECASE)

    def mentions(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        # SQLite's lower() folds ASCII only: look for the name as written too
        lowered = f"%@{name.lower()}%"
        return or_(column.contains(f"@{name}", autoescape=True), func.lower(column).like(lowered))

    changed = []
    for post in db.session.scalars(select(Post).where(mentions(Post.body_source))):
        source = pattern.sub(FORMER_MEMBER, post.body_source)
        if source != post.body_source:
            post.body_source, post.body_html = (
                source,
                render_markdown(source, _post_mentions(post)),
            )
            changed.append(post.id)
    for revision in db.session.scalars(
        select(PostRevision).where(mentions(PostRevision.body_source))
    ):
        revision.body_source = pattern.sub(FORMER_MEMBER, revision.body_source)
    indexing.enqueue_posts(changed)


def _forget_mail_of_former_member(member: Member) -> None:
    """The mail archive keeps every message sent: drop those addressed to the member, and
    the sent ones that carry their name or address (a référent's « demande à valider »,
    a digest naming them). Nothing else refers to these rows."""
    addresses = [a for a in (member.email, member.pending_email) if a]
    traces = [MailMessage.body_text.contains(a, autoescape=True) for a in addresses]
    if len(member.display_name.strip()) >= 4:
        traces.append(MailMessage.body_text.contains(member.display_name, autoescape=True))
    db.session.execute(
        delete(MailMessage)
        .where(
            or_(
                MailMessage.recipient.in_(addresses),
                and_(MailMessage.sent_at.is_not(None), or_(*traces)),
            )
        )
        .execution_options(synchronize_session=False)
    )


def anonymise(member: Member, actor: Member | None = None) -> None:
    """Leave ComCEP: name, e-mail and profile are erased; posts stay, signed « Ancien membre »."""
    _sign_quotes_as_former_member(member)
    _unmention_former_member(member)
    _forget_mail_of_former_member(member)
    member.display_name = FORMER_MEMBER
    member.email = f"ancien-membre-{member.id}@invalid.comcep"
    member.pending_email = ""
    member.organisation = ""
    member.motivation = ""
    member.refusal_reason = ""
    member.moderation_reason = ""  # the moderation log keeps it, for the audit
    member.suspended_until = member.silenced_until = None
    member.password_hash = ""
    member.token_nonce = ""
    member.set_roles([])
    member.validation_network_id = None
    member.groups.clear()
    member.state = "left"
    member.left_at = utcnow()
    # An invitation still open (an invitee forgotten at their request) is withdrawn: else
    # it stayed among the pending ones, as « Ancien membre », offered « Renvoyer », whose
    # fresh link would open the anonymised account.
    db.session.execute(
        update(Invitation)
        .where(
            Invitation.member_id == member.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=member.left_at, revoked_by_id=(actor or member).id)
    )
    if actor is not None and actor.id != member.id:
        log(actor, "anonymise", "member", member.id)
    db.session.flush()
    _unlink_former_member(member)


def _unlink_former_member(member: Member) -> None:
    """Links to the former member's profile (their @mentions, however the name was spelt)
    tie the old name to the account: render those posts and messages again, now that no
    mention names a former member."""
    from comcep.forum.services import render_rows_again  # the forum imports the members

    link = f'href="/membres/{member.id}"'
    for model in (Post, PrivateMessage):
        render_rows_again(model, model.body_html.contains(link, autoescape=True))
