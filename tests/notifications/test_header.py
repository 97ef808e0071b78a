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
    "registrations": re.compile(r">Inscriptions(?: <span class=\"badge badge--count\">(\d+))?"),
}
# The registrations counter's subquery, as the header's statement carries it.
REGISTRATIONS_COUNT = "count(members.id)"


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


@pytest.mark.parametrize(
    ("who", "waiting"),
    [("pair", None), ("hors_pair", None), ("referent_apec", 2), ("animation", 3)],
    ids=["pair", "hors_pair", "referent_apec", "animation"],
)
def test_the_registrations_link_counts_the_requests_in_the_header_statement(
    members, make_member, client_for, count_queries, who, waiting
) -> None:
    """A référent sees how many requests of their network wait (the staff: all of them),
    counted within the header's one statement; other members' pages count nothing more."""
    for network, status in [
        ("apec", "awaiting"),
        ("apec", "awaiting"),
        ("france-travail", "awaiting"),
        ("apec", "unconfirmed"),  # not confirmed yet: nobody decides it
        ("apec", "refused"),
    ]:
        make_member(network=network, state="pending").registration_status = status
    db.session.commit()
    topic = make_topic(members["pair"], "echanges")
    client = client_for(members[who])
    client.get(f"/t/{topic.id}")  # the first visit writes its read mark
    for url in ("/", f"/t/{topic.id}", "/moderation/inscriptions" if waiting else "/actifs"):
        with count_queries() as statements:
            page = client.get(url)
        assert page.status_code == 200, url
        assert _counts(page.text)["registrations"] == waiting, url
        [counters] = [statement for statement in statements if "FROM notifications" in statement]
        counted = [statement for statement in statements if REGISTRATIONS_COUNT in statement]
        assert counted == ([] if waiting is None else [counters]), url
