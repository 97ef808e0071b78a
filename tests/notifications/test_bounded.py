"""The header's counters and the notifications page cost the same whatever the member's
history (issue 8): the bell reads the unread ones among the latest 200 notifications (what
the page shows) and shows « 99+ » past 99 lines, the messages count at most 100 unread
conversations, and the page shows the latest 200 notifications; through the wall exactly as
before, and with the numbers right."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert, select

from comcep.extensions import db, utcnow
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.messages.models import Conversation, ConversationMember
from comcep.notifications.models import Notification
from comcep.notifications.services import NOTIFICATIONS_PER_PAGE, SHOWN_NOTIFICATIONS
from tests.factories import make_topic

BADGE = r'(?: <span class="badge badge--count">(\d+\+?))?'
BELL = re.compile(r'class="bell">Notifications' + BADGE)
MESSAGES = re.compile(r">Messages" + BADGE)
LINE = re.compile(r'<li class="notification[ "]')
OLDER = "Seules vos 200 dernières notifications sont présentées ici."


def _badge(pattern: re.Pattern[str], html: str) -> str:
    match = pattern.search(html)
    assert match is not None, "no such link in the header"
    return match.group(1) or ""


def _tell(
    member: Member, topic: Topic, count: int, *, kind: str = "mention", read: bool = False
) -> None:
    """`count` notifications about the topic's first post, each its own line (a mention)
    unless `kind` groups them."""
    if not count:
        return
    post_id = db.session.scalar(select(Post.id).where(Post.topic_id == topic.id, Post.number == 1))
    now = utcnow()
    db.session.execute(
        insert(Notification),
        [
            {
                "member_id": member.id,
                "kind": kind,
                "topic_id": topic.id,
                "post_id": post_id,
                "created_at": now,
                "read_at": now if read else None,
            }
            for _ in range(count)
        ],
    )
    db.session.commit()


def _conversations(member: Member, other: Member, count: int, *, unread: bool) -> None:
    now = utcnow()
    for _ in range(count):
        conversation = Conversation(
            subject="Un échange", created_by_id=other.id, created_at=now, last_message_at=now
        )
        db.session.add(conversation)
        db.session.flush()
        db.session.add_all(
            [
                ConversationMember(
                    conversation_id=conversation.id, member_id=member.id, unread=unread
                ),
                ConversationMember(
                    conversation_id=conversation.id, member_id=other.id, unread=False
                ),
            ]
        )
    db.session.commit()


@pytest.mark.parametrize(("unread", "shown"), [(0, ""), (7, "7"), (99, "99"), (130, "99+")])
def test_the_bell_counts_up_to_99_then_reads_99_plus(members, client_for, unread, shown) -> None:
    """Each unread mention is a line: counted exactly up to 99, « 99+ » beyond (among the
    latest notifications the page shows: older read ones count for nothing)."""
    pair = members["pair"]
    _tell(pair, make_topic(members["other_pair"]), 300, read=True)  # read ones: no count
    _tell(pair, make_topic(members["other_pair"]), unread)
    assert _badge(BELL, client_for(pair).get("/").text) == shown


def test_the_bell_counts_the_lines_the_page_shows_however_many_replies_make_them(
    members, client_for
) -> None:
    """Many unread replies in two topics make two lines on the page (the latest 200 hold
    replies of both): the bell says 2, not « 1+ » (it once stopped at 100 notifications,
    all of the newer topic)."""
    pair = members["pair"]
    _tell(pair, make_topic(members["other_pair"], title="Premier"), 150, kind="reply")
    _tell(pair, make_topic(members["other_pair"], title="Second"), 150, kind="reply")
    client = client_for(pair)
    page = client.get("/notifications").text
    assert len(LINE.findall(page)) == 2
    assert _badge(BELL, page) == "2"


def test_the_bell_of_a_hors_pair_counts_nothing_beyond_the_wall_however_many(
    members, client_for
) -> None:
    """Unread notifications about a pairs-only topic (told before a move, say) count for
    nothing, whatever their number: the wall is applied before the cap, not after."""
    hors_pair = members["hors_pair"]
    _tell(hors_pair, make_topic(members["pair"], "premier-entretien"), 250)
    _tell(hors_pair, make_topic(members["pair"], "echanges"), 3)
    assert _badge(BELL, client_for(hors_pair).get("/").text) == "3"


@pytest.mark.parametrize(("unread", "shown"), [(0, ""), (4, "4"), (101, "99+")])
def test_the_messages_link_counts_unread_conversations_up_to_99(
    members, client_for, unread, shown
) -> None:
    pair = members["pair"]
    _conversations(pair, members["other_pair"], unread, unread=True)
    _conversations(pair, members["other_pair"], 5, unread=False)
    assert _badge(MESSAGES, client_for(pair).get("/").text) == shown


def test_the_page_shows_the_latest_200_notifications_in_pages_of_30(members, client_for) -> None:
    """Past 200 notifications, the oldest are left out and the last page says so; the
    pages and their count are those of the 200 shown."""
    pair = members["pair"]
    oldest = make_topic(members["other_pair"], "echanges", title="Tout premier sujet")
    _tell(pair, oldest, 10)
    _tell(pair, make_topic(members["other_pair"], "echanges", title="Sujet récent"), 200)
    client = client_for(pair)
    first = client.get("/notifications")
    assert len(LINE.findall(first.text)) == NOTIFICATIONS_PER_PAGE
    assert OLDER not in first.text
    pages = -(-SHOWN_NOTIFICATIONS // NOTIFICATIONS_PER_PAGE)
    assert f'page={pages}">{pages}</a>' in first.text
    last = client.get(f"/notifications?page={pages}")
    assert len(LINE.findall(last.text)) == SHOWN_NOTIFICATIONS % NOTIFICATIONS_PER_PAGE
    assert OLDER in last.text
    assert "Tout premier sujet" not in first.text + last.text
    beyond = client.get(f"/notifications?page={pages + 1}")
    assert f"Cette page n'existe pas : il y en a {pages}." in beyond.text


def test_the_page_still_groups_the_replies_of_a_topic(members, client_for) -> None:
    pair = members["pair"]
    _tell(pair, make_topic(members["other_pair"]), 40, kind="reply")
    page = client_for(pair).get("/notifications")
    assert len(LINE.findall(page.text)) == 1
    assert "(40 messages)" in page.text


def test_the_page_of_a_hors_pair_leaves_out_what_is_beyond_the_wall(members, client_for) -> None:
    hors_pair = members["hors_pair"]
    _tell(hors_pair, make_topic(members["pair"], "premier-entretien", title="Entre pairs"), 5)
    _tell(hors_pair, make_topic(members["pair"], "echanges", title="Ouvert"), 2)
    page = client_for(hors_pair).get("/notifications")
    assert len(LINE.findall(page.text)) == 2
    assert "Entre pairs" not in page.text


@pytest.mark.parametrize("url", ["/", "/notifications", "/notifications?page=3"])
def test_the_statements_do_not_grow_with_the_member_s_history(
    members, client_for, count_queries, url
) -> None:
    """The same statements with a short history and a long one (past every cap), and at
    most 10; the header's counters folded in one of them."""
    pair = members["pair"]
    topic = make_topic(members["other_pair"], "echanges")
    client = client_for(pair)
    found = []
    for notifications, conversations in ((70, 2), (400, 120)):
        _tell(pair, topic, notifications, kind="reply", read=True)
        _tell(pair, topic, notifications)  # the latest: a line each
        _conversations(pair, members["other_pair"], conversations, unread=True)
        client.get(url)  # the first visit may write (a session, a read mark)
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        found.append(len(statements))
        assert (
            sum("FROM notifications" in s and "conversation_members" in s for s in statements) == 1
        )
    assert found[0] == found[1] <= 10
