"""The moderation queue (/moderation) costs what waits, not the forum (issue 8): the same
small number of statements on a small and a grown forum, and its lists read their partial
indexes (pending posts, open reports) instead of walking every post or report."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from comcep.extensions import db
from comcep.members.models import Member
from comcep.messages import services as messages
from comcep.moderation import services as moderation
from tests.factories import make_reply, make_topic
from tests.moderation.helpers import attach_file, posts_of, set_premoderation, text_of
from tests.plans import recorded_statements, sqlite_plan

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

BUDGET = 10


@pytest.fixture
def analyzed() -> Callable[[], None]:
    """ANALYZE as a live forum has run it (bench/generate.py does); `reset_database` drops
    the statistics afterwards, so that other tests plan as before."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")

    def analyze() -> None:
        db.session.commit()
        db.session.connection().exec_driver_sql("ANALYZE")
        db.session.commit()

    return analyze


def _waiting(
    members: dict[str, Member], make_member: Callable[..., Member], topics: int, tag: str
) -> None:
    """What the queue lists, `tag` naming it: a reported post, a pending post with a file,
    a reported private message; and `topics` topics of two posts, two of them reported and
    their reports closed (the reports table keeps those)."""
    pair, other, animation = members["pair"], members["other_pair"], members["animation"]
    for n in range(topics):
        topic = make_topic(pair, title=f"Sujet {tag} {n}", replies=[(other, "Une réponse.")])
        if n < 2:
            reply = posts_of(topic.id)[1]
            moderation.report_post(pair, reply, topic, "off_topic", "")
            moderation.close_reports(animation, reply, "kept")
    topic = make_topic(pair, title=f"Sujet signalé {tag}")
    reply = make_reply(other, topic, f"Une réponse signalée ({tag}).")
    moderation.report_post(pair, reply, topic, "personal_data", f"Signalé {tag}.")
    newcomer = make_member(name=f"Nouvelle {tag}")
    attach_file(make_reply(newcomer, topic, f"En attente ({tag})."), f"cv-{tag}.pdf", 2_000)
    talk = messages.start_conversation(other, [pair], f"Conversation {tag}", f"Bonjour ({tag}).")
    db.session.flush()
    message = messages.add_message(other, talk, f"Un message signalé ({tag}).")
    db.session.flush()
    moderation.report_message(pair, message, "spam", "")
    db.session.commit()


def _queue(client: FlaskClient, count_queries: Callable) -> tuple[int, list[str], str]:
    assert client.get("/moderation").status_code == 200  # warms up
    with count_queries() as statements:
        response = client.get("/moderation")
    assert response.status_code == 200
    return len(statements), list(statements), text_of(response)


def test_the_queue_runs_the_same_few_statements_on_a_small_and_a_grown_forum(
    members: dict[str, Member],
    make_member: Callable[..., Member],
    client_for: Callable[[Member], FlaskClient],
    count_queries: Callable,
) -> None:
    set_premoderation(client_for(members["admin"]), "1")
    staff = client_for(members["animation"])
    _waiting(members, make_member, 0, "petit")
    small, small_statements, page = _queue(staff, count_queries)
    for shown in ("Signalé petit.", "En attente (petit).", "cv-petit.pdf", "Un message signalé"):
        assert shown in page

    _waiting(members, make_member, 30, "grand")
    big, big_statements, page = _queue(staff, count_queries)
    for tag in ("petit", "grand"):  # both lists, oldest first
        assert page.index(f"Signalé {tag}.") > 0
        assert page.index(f"En attente ({tag}).") > 0
        assert page.index(f"Un message signalé ({tag}).") > 0
    assert page.index("Signalé petit.") < page.index("Signalé grand.")
    assert page.index("En attente (petit).") < page.index("En attente (grand).")
    assert "Sujet petit 0" not in page  # closed reports are not listed

    assert big == small, "\n".join(big_statements)
    assert small <= BUDGET, "\n".join(small_statements)


def test_the_queue_reads_the_pending_posts_and_open_reports_from_their_indexes(
    members: dict[str, Member],
    make_member: Callable[..., Member],
    client_for: Callable[[Member], FlaskClient],
    analyzed: Callable[[], None],
) -> None:
    """With no post pending and most reports closed, SQLite walked every post by date (the
    empty partial index has no statistics) and scanned every report."""
    _waiting(members, make_member, 30, "grand")  # no pre-moderation: nothing pending
    analyzed()
    with recorded_statements() as statements:
        assert client_for(members["animation"]).get("/moderation").status_code == 200
    plans = {s: sqlite_plan(s, p) for s, p in statements if s.lstrip().startswith("SELECT")}
    pending = [p for s, p in plans.items() if "posts.is_pending = 1" in s]
    assert pending, "\n\n".join(plans)
    for plan in pending:  # the header's count, the queue's list
        assert "ix_posts_pending" in plan, plan
        assert "ix_posts_created" not in plan, plan
    reports = [p for s, p in plans.items() if "FROM reports" in s and "ORDER BY" in s]
    assert reports, "\n\n".join(plans)
    for plan in reports:
        assert "SCAN reports\n" not in plan + "\n", plan
