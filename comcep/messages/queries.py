"""Private message reads: always scoped to the viewer's own conversations."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ScalarSelect, bindparam, func, select, true
from sqlalchemy.orm import joinedload

from comcep import policy
from comcep.extensions import db
from comcep.members.models import Member
from comcep.messages.models import Conversation, ConversationMember, PrivateMessage
from comcep.policy import Viewer


@dataclass
class ConversationRow:
    conversation: Conversation
    unread: bool
    participants: list[Member]


def unread_count_column(cap: int) -> ScalarSelect[int]:
    """Unread conversations of the member bound as `member_id`, counted up to `cap` + 1 (a
    range of `ix_conversation_members_unread`, whatever the member's history: more than
    `cap` reads « cap+ »), as a subquery the header folds into its single prebuilt query."""
    unread = (
        select(ConversationMember.conversation_id)
        .where(
            ConversationMember.member_id == bindparam("member_id"),
            ConversationMember.unread == true(),
            ConversationMember.left_at.is_(None),
        )
        .limit(cap + 1)
        .subquery("unread_conversations")
    )
    return select(func.count()).select_from(unread).scalar_subquery()


def conversations(viewer: Viewer, page: int):  # noqa: ANN201 - a Pagination
    query = (
        select(Conversation, ConversationMember.unread)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(
            ConversationMember.member_id == viewer.member_id, ConversationMember.left_at.is_(None)
        )
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(query.limit(30).offset((page - 1) * 30)).all()
    ids = [conversation.id for conversation, _ in rows]
    members = _participants(ids)
    return total, [
        ConversationRow(c, unread, members.get(c.id, People()).current) for c, unread in rows
    ]


@dataclass
class People:
    """Who takes part in a conversation, and who took part then left it."""

    current: list[Member] = field(default_factory=list)
    former: list[Member] = field(default_factory=list)


def _participants(conversation_ids: list[int]) -> dict[int, People]:
    if not conversation_ids:
        return {}
    rows = db.session.execute(
        select(ConversationMember.conversation_id, ConversationMember.left_at, Member)
        .join(Member, Member.id == ConversationMember.member_id)
        .where(ConversationMember.conversation_id.in_(conversation_ids))
        .order_by(Member.display_name)
    ).all()
    result: dict[int, People] = {}
    for conversation_id, left_at, member in rows:
        people = result.setdefault(conversation_id, People())
        (people.current if left_at is None else people.former).append(member)
    return result


def get_conversation_or_404(viewer: Viewer, conversation_id: int) -> tuple[Conversation, People]:
    """The conversation and its people, for a current participant only (one who left it
    gets the same 404 as anyone else)."""
    conversation = db.session.get(Conversation, conversation_id)
    people = _participants([conversation_id]).get(conversation_id, People())
    policy.check_see_conversation(viewer, {m.id for m in people.current})
    return conversation, people


def messages(conversation: Conversation) -> list[PrivateMessage]:
    return list(
        db.session.scalars(
            select(PrivateMessage)
            .options(joinedload(PrivateMessage.author))
            .where(PrivateMessage.conversation_id == conversation.id)
            .order_by(PrivateMessage.id)
        )
    )


def get_message_or_404(viewer: Viewer, message_id: int) -> tuple[PrivateMessage, Conversation]:
    message = db.session.get(
        PrivateMessage, message_id, options=[joinedload(PrivateMessage.author)]
    )  # the report form names the author
    if message is None:
        policy.check_see_conversation(viewer, set())
    conversation, _ = get_conversation_or_404(viewer, message.conversation_id)
    return message, conversation
