"""A long conversation comes a page at a time, as a topic does: it opens on the reader's
first unread message (else its last page), a page read is all that is marked read, and a
link to a message (e-mails, a report sent) lands on the page holding it. Each page costs
the same few statements whatever the conversation's length."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from comcep.extensions import db
from comcep.members.models import Member
from comcep.messages import queries, services
from comcep.messages.models import Conversation, ConversationMember, PrivateMessage
from comcep.notifications import services as notifications
from tests.forum.test_query_budget import GET_BUDGET
from tests.messages.test_views import unread_messages

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

_SHOWN = re.compile(r"Message numéro (\d+)\.")


def conversation_of(writer: Member, reader: Member, length: int) -> tuple[int, list[int]]:
    """A conversation of `length` messages (« Message numéro n. », a second apart, the
    writer and the reader in turn), every one read by both; its id and its message ids."""
    conversation = services.start_conversation(
        writer, [reader], "Un long échange", "Message numéro 1."
    )
    first = db.session.scalar(
        select(PrivateMessage).where(PrivateMessage.conversation_id == conversation.id)
    )
    start = first.created_at - timedelta(days=1)  # all in the past, a second apart
    first.created_at = start + timedelta(seconds=1)
    for n in range(2, length + 1):
        db.session.add(
            PrivateMessage(
                conversation_id=conversation.id,
                author_id=(writer if n % 2 else reader).id,
                body_source=f"Message numéro {n}.",
                body_html=f"<p>Message numéro {n}.</p>",
                created_at=start + timedelta(seconds=n),
            )
        )
    last = start + timedelta(seconds=length)
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_message_at=last, message_count=length)
    )
    read_up_to(conversation.id, [writer, reader], last + timedelta(seconds=1))
    db.session.commit()
    ids = list(
        db.session.scalars(
            select(PrivateMessage.id)
            .where(PrivateMessage.conversation_id == conversation.id)
            .order_by(PrivateMessage.id)
        )
    )
    return conversation.id, ids


def read_up_to(conversation_id: int, members: list[Member], when: object) -> None:
    db.session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.member_id.in_([m.id for m in members]),
        )
        .values(last_read_at=when)
    )


def created_at(message_id: int) -> object:
    return db.session.get(PrivateMessage, message_id).created_at


def shown(response) -> list[int]:  # noqa: ANN001
    assert response.status_code == 200
    return [int(n) for n in _SHOWN.findall(response.get_data(as_text=True))]


def link(response, rel: str) -> str | None:  # noqa: ANN001
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.get_data(as_text=True))
    return found.group(1).replace("&amp;", "&") if found else None


def test_a_long_conversation_opens_on_its_last_page_and_pages_back_to_its_start(
    app: Flask, members, client_for
) -> None:
    per_page = app.config["MESSAGES_PER_PAGE"]
    length = 2 * per_page + 5
    conversation_id, ids = conversation_of(members["pair"], members["other_pair"], length)
    client = client_for(members["other_pair"])

    last = client.get(f"/messages/{conversation_id}")
    assert shown(last) == list(range(length - per_page + 1, length + 1))
    assert link(last, "next") is None
    middle = client.get(link(last, "prev"))
    assert shown(middle) == list(range(length - 2 * per_page + 1, length - per_page + 1))
    first = client.get(link(middle, "prev"))
    assert shown(first) == list(range(1, length - 2 * per_page + 1))
    assert link(first, "prev") is None
    # Forward again, page by page, to the end.
    assert shown(client.get(link(first, "next"))) == shown(middle)
    assert shown(client.get(link(middle, "next"))) == shown(last)


def test_reading_the_first_of_several_unread_pages_marks_that_page_read_only(
    app: Flask, members, client_for
) -> None:
    per_page = app.config["MESSAGES_PER_PAGE"]
    length = 2 * per_page + 5
    reader = members["other_pair"]
    conversation_id, ids = conversation_of(members["pair"], reader, length)
    read_up_to(conversation_id, [reader], created_at(ids[4]))  # read 1 to 5
    db.session.commit()
    client = client_for(reader)
    assert unread_messages(client) == 1

    # It opens on the first unread message, and reading that page leaves the rest unread.
    page = client.get(f"/messages/{conversation_id}")
    assert shown(page) == list(range(6, 6 + per_page))
    assert link(page, "prev") is not None
    assert unread_messages(client) == 1
    # Opened again, it goes on where the reader stopped; the last page reads it all.
    again = client.get(f"/messages/{conversation_id}")
    assert shown(again) == list(range(length - per_page + 1, length + 1))
    assert unread_messages(client) == 0
    # Going back to an earlier page marks nothing unread again.
    client.get(f"/messages/{conversation_id}?avant={ids[10]}")
    assert unread_messages(client) == 0


def test_a_member_who_never_read_it_starts_at_its_first_message(
    app: Flask, members, client_for
) -> None:
    per_page = app.config["MESSAGES_PER_PAGE"]
    reader = members["other_pair"]
    conversation_id, _ids = conversation_of(members["pair"], reader, per_page + 3)
    read_up_to(conversation_id, [reader], None)
    db.session.commit()

    assert shown(client_for(reader).get(f"/messages/{conversation_id}"))[:2] == [1, 2]


def test_a_link_to_a_message_lands_on_the_page_holding_it(app: Flask, members, client_for) -> None:
    per_page = app.config["MESSAGES_PER_PAGE"]
    writer, reader = members["pair"], members["other_pair"]
    conversation_id, ids = conversation_of(writer, reader, 2 * per_page + 5)
    # The e-mail of an early message, still unread (as when the digest goes out).
    read_up_to(conversation_id, [reader], created_at(ids[1]))
    db.session.commit()
    with app.test_request_context():
        items = notifications._private_message_items(PrivateMessage.id == ids[2])
    (item,) = items[reader.id]
    url = item["link"].removeprefix("http://localhost")
    assert url.endswith(f"#m{ids[2]}")

    client = client_for(reader)
    assert 3 in shown(client.get(url))
    # A report sent leads back to the reported message too.
    sent = client.post(
        f"/messages/m/{ids[4]}/signaler", data={"reason": "other", "comment": "Non."}
    )
    assert sent.status_code == 302
    target = sent.headers["Location"]
    assert target.endswith(f"#m{ids[4]}")
    assert 5 in shown(client.get(target))
    # A link to a message that no longer leads anywhere opens the conversation as usual.
    assert shown(client.get(f"/messages/{conversation_id}?depuis=999999"))


@pytest.mark.parametrize("where", ["default", "depuis", "avant", "unread"])
def test_a_conversation_page_runs_the_same_few_statements_whatever_its_length(
    app: Flask, members, count_queries: Callable, client_for, where: str
) -> None:
    per_page = app.config["MESSAGES_PER_PAGE"]
    reader = members["other_pair"]
    client = client_for(reader)

    def measure(length: int) -> int:
        conversation_id, ids = conversation_of(members["pair"], reader, length)
        url = f"/messages/{conversation_id}"
        if where == "depuis":
            url += f"?depuis={ids[1]}"
        elif where == "avant":
            url += f"?avant={ids[-2]}"
        client.get(url)
        if where == "unread":  # more than a page unread: it opens on the first of them
            read_up_to(conversation_id, [reader], created_at(ids[0]))
            db.session.commit()
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    small, big = measure(per_page + 2), measure(4 * per_page)

    assert big == small
    assert small <= GET_BUDGET


def test_a_message_written_while_the_last_page_is_read_stays_unread(
    app: Flask, members, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last page marks read what it shows, not « everything until now »: a message
    that arrives between the page's read and its read mark (another participant answering
    at that moment) was not shown, and stays unread (it was marked read with the clock)."""
    writer, reader = members["pair"], members["other_pair"]
    conversation_id, _ids = conversation_of(writer, reader, 3)
    services.add_message(writer, db.session.get(Conversation, conversation_id), "Message numéro 4.")
    db.session.commit()
    client = client_for(reader)
    assert unread_messages(client) == 1
    real_page = queries.message_page

    def page_then_an_answer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        page = real_page(*args, **kwargs)
        late = db.session.get(Conversation, conversation_id)
        services.add_message(writer, late, "Message numéro 5.")
        return page

    monkeypatch.setattr(queries, "message_page", page_then_an_answer)
    assert shown(client.get(f"/messages/{conversation_id}")) == [1, 2, 3, 4]
    monkeypatch.setattr(queries, "message_page", real_page)

    assert unread_messages(client) == 1
    assert shown(client.get(f"/messages/{conversation_id}"))[-1] == 5
    assert unread_messages(client) == 0


def test_from_any_page_the_links_lead_through_the_whole_conversation_once(
    app: Flask, members, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever page a reader lands on (the default one, `?depuis=` or `?avant=` any
    message, or past the last), « Messages précédents » back to the start and « Messages
    suivants » on to the end show every message once, in order: no gap, no repeat."""
    monkeypatch.setitem(app.config, "MESSAGES_PER_PAGE", 5)
    conversation_id, ids = conversation_of(members["pair"], members["other_pair"], 23)
    client = client_for(members["other_pair"])
    url = f"/messages/{conversation_id}"
    starts = [url, *(f"{url}?depuis={i}" for i in ids)]
    starts += [f"{url}?avant={i}" for i in [*ids, ids[-1] + 1]]
    for start in starts:
        landed = client.get(start)
        before, after = [], []
        older = link(landed, "prev")
        while older:
            page = client.get(older)
            before = shown(page) + before
            older = link(page, "prev")
        newer = link(landed, "next")
        while newer:
            page = client.get(newer)
            after += shown(page)
            newer = link(page, "next")
        assert before + shown(landed) + after == list(range(1, 24)), start


@pytest.mark.parametrize("where", ["last", "earlier"])
def test_a_conversation_page_read_again_writes_nothing(
    app: Flask, members, count_queries: Callable, client_for, where: str
) -> None:
    """A GET writes at most its reader's read mark, and only when it moves: read again,
    a page takes no write lock."""
    per_page = app.config["MESSAGES_PER_PAGE"]
    reader = members["other_pair"]
    conversation_id, ids = conversation_of(members["pair"], reader, per_page + 3)
    url = f"/messages/{conversation_id}" + ("" if where == "last" else f"?avant={ids[-2]}")
    client = client_for(reader)
    assert client.get(url).status_code == 200
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    writes = ("INSERT", "UPDATE", "DELETE")
    assert [s for s in statements if s.lstrip().upper().startswith(writes)] == []


@pytest.mark.parametrize("arrival", ["depuis", "avant"])
def test_a_page_past_unread_messages_leaves_them_unread(
    app: Flask, members, client_for, arrival: str
) -> None:
    """An e-mail links to a later message (`?depuis=`), or the reader pages back from it
    (`?avant=`), over earlier messages not yet read: the read mark, one date, stays where
    it was (moving it would mark them read unseen), and the page says they wait above."""
    per_page = app.config["MESSAGES_PER_PAGE"]
    reader = members["other_pair"]
    conversation_id, ids = conversation_of(members["pair"], reader, 3 * per_page + 2)
    read_up_to(conversation_id, [reader], created_at(ids[1]))  # read 1 and 2
    db.session.execute(
        update(ConversationMember)
        .where(ConversationMember.member_id == reader.id)
        .values(unread=True)
    )
    db.session.commit()
    client = client_for(reader)
    url = f"/messages/{conversation_id}"
    if arrival == "depuis":
        landed = client.get(f"{url}?depuis={ids[-per_page]}")  # the last page
    else:
        landed = client.get(f"{url}?avant={ids[-per_page]}")  # the page before it
    assert 3 not in shown(landed)
    assert "Des messages plus anciens de cette conversation ne sont pas encore lus" in (
        landed.get_data(as_text=True)
    )
    assert unread_messages(client) == 1
    member = db.session.scalar(
        select(ConversationMember).where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.member_id == reader.id,
        )
    )
    db.session.refresh(member)
    assert member.last_read_at == created_at(ids[1])
    # Opened as usual, it starts at the first unread message.
    first = client.get(url)
    assert shown(first)[0] == 3
    assert "ne sont pas encore lus" not in first.get_data(as_text=True)
