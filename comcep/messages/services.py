"""Private message writes; callers commit."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, or_, select, update

from comcep.dialects import upsert
from comcep.errors import ComcepError
from comcep.extensions import db, utcnow
from comcep.forum.services import conversation_mention_readers, render_rows_again
from comcep.members.models import Member, fold_name
from comcep.members.queries import mentions_by
from comcep.messages.models import Conversation, ConversationMember, PrivateMessage
from comcep.notifications import services as notifications
from comcep.rendering import render_markdown

MAX_RECIPIENTS = 20
UNKNOWN_RECIPIENT = "Aucun membre ne correspond à ce destinataire."
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nobody


def resolve_recipients(
    actor: Member, names: str, ids: list[int], visible: ColumnElement[bool]
) -> list[Member]:
    """Members named in the form (comma-separated display names) or given by id, among the
    `visible` ones: a member the writer may not see answers exactly as one who does not
    exist (SPEC §2), by name, by id and by homonyms alike."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    members: dict[int, Member] = {}
    if any(not 0 < i <= MAX_ID for i in ids):
        raise ComcepError(UNKNOWN_RECIPIENT)  # never reaches the database (a DataError)
    if ids:
        for member in db.session.scalars(select(Member).where(Member.id.in_(ids), visible)):
            members[member.id] = member
        if set(ids) - set(members):
            raise ComcepError(UNKNOWN_RECIPIENT)
    for name in wanted:
        found = list(
            db.session.scalars(
                select(Member).where(Member.name_key == fold_name(name), Member.active(), visible)
            )
        )
        if not found:
            raise ComcepError(UNKNOWN_RECIPIENT)
        if len(found) > 1:
            raise ComcepError(
                f"Plusieurs membres s'appellent « {name} » : écrivez-leur depuis leur profil."
            )
        members[found[0].id] = found[0]
    members.pop(actor.id, None)
    if not members:
        raise ComcepError("Indiquez au moins un destinataire.")
    if len(members) > MAX_RECIPIENTS:
        raise ComcepError(f"{MAX_RECIPIENTS} destinataires au plus.")
    if any(not m.is_active for m in members.values()):
        raise ComcepError("Un des destinataires n'est plus membre actif.")
    return list(members.values())


def start_conversation(
    actor: Member, recipients: list[Member], subject: str, body: str
) -> Conversation:
    now = utcnow()
    conversation = Conversation(
        subject=subject.strip(), created_by_id=actor.id, created_at=now, last_message_at=now
    )
    db.session.add(conversation)
    db.session.flush()
    for member in [actor, *recipients]:
        db.session.add(ConversationMember(conversation_id=conversation.id, member_id=member.id))
    db.session.flush()
    add_message(actor, conversation, body)
    return conversation


def add_participants(
    conversation: Conversation, members: list[Member], already: list[Member]
) -> list[Member]:
    """Members joining a conversation (as in Discourse, they read it from its start), or
    coming back to one they left; those in it are left as they are. The ones added; none
    is a refusal."""
    present = {m.id for m in already}
    added = [m for m in members if m.id not in present]
    if not added:
        raise ComcepError("Ces membres participent déjà à la conversation.")
    if len(present) + len(added) > MAX_RECIPIENTS + 1:
        raise ComcepError(f"Une conversation réunit {MAX_RECIPIENTS + 1} membres au plus.")
    # One INSERT … ON CONFLICT: a member who left comes back, and two participants adding
    # the same member at the same moment (each page read before the other's) both succeed,
    # where the second INSERT broke the primary key (a 500).
    statement = upsert(ConversationMember).values(
        [{"conversation_id": conversation.id, "member_id": m.id, "unread": True} for m in added]
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["conversation_id", "member_id"], set_={"left_at": None}
        )
    )
    db.session.flush()
    if any(m.statut == "hors_pair" for m in added):
        # They read it from its start: its @mentions are linked again for them.
        render_rows_again(PrivateMessage, PrivateMessage.conversation_id == conversation.id)
    return added


def leave(member: Member, conversation: Conversation) -> None:
    """The member leaves: the conversation drops out of their list and count, and they can
    no longer open it, until a participant adds them again. Nothing is deleted: the others
    keep the messages, and read who left."""
    db.session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation.id,
            ConversationMember.member_id == member.id,
            ConversationMember.left_at.is_(None),
        )
        .values(left_at=utcnow())
    )


def _readers(conversation: Conversation) -> tuple:
    """Those whose view bounds the names a message links (`policy.conversation_mention_readers`)."""
    db.session.flush()  # participants just added
    return conversation_mention_readers({conversation.id}).get(conversation.id, ())


def add_message(actor: Member, conversation: Conversation, body: str) -> PrivateMessage:
    now = utcnow()
    message = PrivateMessage(
        conversation_id=conversation.id,
        author_id=actor.id,
        body_source=body,
        body_html=render_markdown(body, mentions_by(actor, lambda: _readers(conversation))),
        created_at=now,
    )
    db.session.add(message)
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_message_at=now, message_count=Conversation.message_count + 1)
    )
    # Unread by everyone else, those who left included (what they find if brought back).
    db.session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation.id,
            ConversationMember.member_id != actor.id,
        )
        .values(unread=True)
    )
    mark_read(actor, conversation.id)
    db.session.flush()
    notifications.enqueue_private_message(message.id)
    return message


def mark_read_up_to(
    member: Member, conversation_id: int, last_shown: PrivateMessage, *, last_page: bool = False
) -> None:
    """The conversation read up to the last message of the page shown, no further (reading
    page 1 of 3 leaves the rest unread), and never back. The last page clears the unread
    flag, unless a message came after those shown (written while the page was read: it
    was not shown, and stays to read), which the clock of `mark_read` would have covered."""
    read_at = ConversationMember.last_read_at
    behind = or_(read_at.is_(None), read_at < last_shown.created_at)
    values: dict = {
        "last_read_at": case(
            (behind, last_shown.created_at),
            else_=read_at,
        )
    }
    if last_page:
        values["unread"] = (
            select(PrivateMessage.id)
            .where(
                PrivateMessage.conversation_id == conversation_id,
                PrivateMessage.id > last_shown.id,
                or_(PrivateMessage.author_id.is_(None), PrivateMessage.author_id != member.id),
            )
            .exists()
        )
    db.session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.member_id == member.id,
            # A page read again changes nothing: it writes nothing (no write lock taken).
            or_(behind, ConversationMember.unread.is_(True)) if last_page else behind,
        )
        .values(**values)
    )


def mark_read(member: Member, conversation_id: int) -> None:
    """The whole conversation read (its last page shown, or the member's own message): its
    date, and its unread flag off."""
    statement = upsert(ConversationMember).values(
        conversation_id=conversation_id, member_id=member.id, last_read_at=utcnow(), unread=False
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["conversation_id", "member_id"],
            set_={"last_read_at": statement.excluded.last_read_at, "unread": False},
        )
    )
