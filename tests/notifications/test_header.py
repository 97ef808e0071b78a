"""The header's counters on the topic page, read within the page's own reader statement:
the same figures as on any other page, through the same wall, one statement fewer."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from comcep.extensions import db, utcnow
from comcep.forum.models import Post
from comcep.moderation.models import Report
from comcep.notifications.models import Notification
from tests.factories import make_topic

COUNTS = {
    "bell": re.compile(r'class="bell">Notifications(?: <span class="badge badge--count">(\d+))?'),
    "reports": re.compile(r">Modération(?: <span class=\"badge badge--count\">(\d+))?"),
}


def _counts(html: str) -> dict[str, int | None]:
    found = {}
    for name, pattern in COUNTS.items():
        match = pattern.search(html)
        found[name] = None if match is None else int(match.group(1) or 0)
    return found


@pytest.mark.parametrize("who", ["pair", "hors_pair", "animation"])
def test_the_topic_page_shows_the_counts_of_every_page(
    members, client_for, count_queries, who
) -> None:
    reader = members[who]
    pairs_only = make_topic(members["pair"], "premier-entretien")  # beyond a hors pair's wall
    open_topic = make_topic(members["pair"], "echanges")
    now = utcnow()
    post_id = db.session.scalar(select(Post.id).where(Post.topic_id == open_topic.id))
    db.session.add_all(
        [
            Notification(member_id=reader.id, kind="reply", topic_id=pairs_only.id, created_at=now),
            Notification(member_id=reader.id, kind="reply", topic_id=open_topic.id, created_at=now),
            Notification(member_id=reader.id, kind="quote", topic_id=open_topic.id, created_at=now),
            Report(
                post_id=post_id,
                reporter_id=members["other_pair"].id,
                reason="autre",
                created_at=now,
            ),
        ]
    )
    db.session.commit()
    client = client_for(reader)
    index = _counts(client.get("/").text)
    client.get(f"/t/{open_topic.id}")  # the first visit writes its read mark
    with count_queries() as statements:
        page = client.get(f"/t/{open_topic.id}")
    assert page.status_code == 200
    assert _counts(page.text) == index
    assert index["bell"] == (2 if who == "hors_pair" else 3)
    assert index["reports"] == (1 if who == "animation" else None)
    assert sum("FROM notifications" in statement for statement in statements) == 1
    assert sum("topic_reads" in statement for statement in statements) == 1
