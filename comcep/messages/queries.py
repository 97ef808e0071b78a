"""Private message reads: always scoped to the viewer's own conversations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    bindparam,
    func,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.orm import aliased, joinedload

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
    # When each participant last read it, by member id (where their first unread is).
    read_at: dict[int, datetime | None] = field(default_factory=dict)
    # Whose header counts it unread (`ConversationMember.unread`).
    unread: dict[int, bool] = field(default_factory=dict)


def _participants(conversation_ids: list[int]) -> dict[int, People]:
    if not conversation_ids:
        return {}
    rows = db.session.execute(
        select(
            ConversationMember.conversation_id,
            ConversationMember.left_at,
            ConversationMember.last_read_at,
            ConversationMember.unread,
            Member,
        )
        .join(Member, Member.id == ConversationMember.member_id)
        .where(ConversationMember.conversation_id.in_(conversation_ids))
        .order_by(Member.display_name)
    ).all()
    result: dict[int, People] = {}
    for conversation_id, left_at, read_at, unread, member in rows:
        people = result.setdefault(conversation_id, People())
        (people.current if left_at is None else people.former).append(member)
        people.read_at[member.id] = read_at
        people.unread[member.id] = unread
    return result


def get_conversation_or_404(viewer: Viewer, conversation_id: int) -> tuple[Conversation, People]:
    """The conversation and its people, for a current participant only (one who left it
    gets the same 404 as anyone else)."""
    conversation = db.session.get(Conversation, conversation_id)
    people = _participants([conversation_id]).get(conversation_id, People())
    policy.check_see_conversation(viewer, {m.id for m in people.current})
    return conversation, people


@dataclass
class MessagePage:
    """A page of a conversation, in the order written: its messages, and where the pages
    before and after it start (the `avant` and `depuis` of their links; None at an end)."""

    messages: list[PrivateMessage]
    older_before: int | None = None
    newer_from: int | None = None
    # Messages before the page are still unread for the reader (a link landed past them):
    # the read mark is one date, so this page cannot move it without skipping them.
    unread_before: bool = False

    @property
    def is_last(self) -> bool:
        return self.newer_from is None


def _neighbour(
    conversation_id: int, before: bool, key: ColumnElement[int], column: str = "id"
) -> ScalarSelect:
    """The id (or another `column`) of the message next to a page: the last one before
    `key` or the first one from `key` on (None at an end), one look-up of the
    (conversation_id, id) index read with the page."""
    other = aliased(PrivateMessage)
    return (
        select(getattr(other, column))
        .where(
            other.conversation_id == conversation_id, other.id < key if before else other.id >= key
        )
        .order_by(other.id.desc() if before else other.id)
        .limit(1)
        .scalar_subquery()
    )


def _page_rows(
    conversation_id: int,
    per_page: int,
    bound: ColumnElement[bool] | None,
    newest_first: bool,
    beyond: ScalarSelect | None = None,
    beyond_at: ScalarSelect | None = None,
) -> tuple[list[PrivateMessage], int | None, datetime | None]:
    """Up to `per_page` + 1 messages within `bound`, walking (conversation_id, id) one way
    (the one more says whether the list goes on past the page), and the `beyond` id on
    the page's other side (with its date, `beyond_at`): one statement."""
    query = (
        select(
            PrivateMessage,
            beyond if beyond is not None else null(),
            beyond_at if beyond_at is not None else null(),
        )
        .options(joinedload(PrivateMessage.author))
        .where(PrivateMessage.conversation_id == conversation_id)
        .order_by(PrivateMessage.id.desc() if newest_first else PrivateMessage.id)
        .limit(per_page + 1)
    )
    if bound is not None:
        query = query.where(bound)
    rows = db.session.execute(query).all()
    messages = [message for message, _, _ in rows]
    return messages, (rows[0][1] if rows else None), (rows[0][2] if rows else None)


def _after_last_read(conversation_id: int, read_at: datetime) -> ColumnElement[int]:
    """The id just after the last message read by `read_at` (1 when none was): walking back
    from the end over the unread messages, never over those read before."""
    last_read = (
        select(PrivateMessage.id)
        .where(
            PrivateMessage.conversation_id == conversation_id,
            PrivateMessage.created_at <= read_at,
        )
        .order_by(PrivateMessage.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(last_read, 0) + 1


def message_page(
    conversation_id: int,
    read_at: datetime | None,
    per_page: int,
    *,
    before: int | None = None,
    since: int | None = None,
) -> MessagePage:
    """A page of `per_page` messages, found on the (conversation_id, id) index whatever the
    conversation's length (one statement, two when the reader has more than a page
    unread): those before the message `before`, or from the message `since` on (a link
    to a message lands on the page that opens with it); by default the page holding the
    reader's first unread message (opening with it when more than a page is unread), else
    the last one, as a topic opens."""
    start: ColumnElement[int] | None = None
    if since is not None:
        start = literal(since)
    elif before is None:
        rows, _, _ = _page_rows(conversation_id, per_page, None, newest_first=True)
        more = len(rows) > per_page
        if more and read_at is None:
            start = literal(1)  # never read: from the start
        elif more and rows[per_page].created_at > read_at:
            # The message before the last page is unread too: the first unread lies earlier.
            start = _after_last_read(conversation_id, read_at)
        else:
            shown = rows[:per_page][::-1]
            return MessagePage(shown, older_before=shown[0].id if more else None)
    if start is not None:
        older = _neighbour(conversation_id, True, start)
        older_at = _neighbour(conversation_id, True, start, "created_at")
        rows, previous, previous_at = _page_rows(
            conversation_id, per_page, PrivateMessage.id >= start, False, older, older_at
        )
        shown = rows[:per_page]
        if not shown and since is not None:  # past the end (a link to a message gone)
            return message_page(conversation_id, read_at, per_page)
        return MessagePage(
            shown,
            older_before=shown[0].id if shown and previous is not None else None,
            newer_from=rows[per_page].id if len(rows) > per_page else None,
            unread_before=_unread(previous_at, read_at),
        )
    newer = _neighbour(conversation_id, False, literal(before))
    rows, following, _ = _page_rows(
        conversation_id, per_page, PrivateMessage.id < before, True, newer
    )
    shown = rows[:per_page][::-1]
    if not shown:  # before the first message
        return message_page(conversation_id, read_at, per_page)
    previous_at = rows[per_page].created_at if len(rows) > per_page else None
    return MessagePage(
        shown,
        older_before=shown[0].id if len(rows) > per_page else None,
        newer_from=following,
        unread_before=_unread(previous_at, read_at),
    )


def _unread(written_at: datetime | None, read_at: datetime | None) -> bool:
    """Whether a message written at `written_at` (None: there is none) is past `read_at`."""
    return written_at is not None and (read_at is None or written_at > read_at)


def get_message_or_404(viewer: Viewer, message_id: int) -> tuple[PrivateMessage, Conversation]:
    message = db.session.get(
        PrivateMessage, message_id, options=[joinedload(PrivateMessage.author)]
    )  # the report form names the author
    if message is None:
        policy.check_see_conversation(viewer, set())
    conversation, _ = get_conversation_or_404(viewer, message.conversation_id)
    return message, conversation
