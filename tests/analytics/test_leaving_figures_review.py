"""The comité's kept cells, the counters and search agree after a member leaves with their
posts removed (review D of stop 52), whoever leaves: an opener, a replier, a solver, a hors pair."""

from __future__ import annotations

import pytest

from comcep.analytics import report
from comcep.extensions import db
from comcep.forum.models import Topic
from comcep.members import membership
from tests.analytics.conftest import Q1_2025, Forum, solved_forum
from tests.moderation.helpers import assert_counters_right


@pytest.mark.parametrize("who", ["ft1", "ap1", "ft2", "hp2"])
def test_kept_cells_and_counters_agree_after_a_member_leaves_with_their_posts(
    forum: Forum,
    runner,
    who: str,  # noqa: ANN001
) -> None:
    solved_forum(forum)
    from comcep.forum import services as forum_services

    forum_services.refresh_topic_stats(list(db.session.scalars(db.select(Topic.id))))
    forum_services.refresh_category_counters()
    db.session.commit()
    assert_counters_right()  # the fixture's rows, placed in time, counted afresh
    before = report.build_report(Q1_2025)  # the cells are kept
    assert before
    membership.leave(forum.members[who], remove_posts=True)
    db.session.commit()
    assert_counters_right()
    for topic in db.session.scalars(db.select(Topic)):
        if topic.solution_post_id:
            from comcep.forum.models import Post

            solution = db.session.get(Post, topic.solution_post_id)
            assert solution.author_id != forum.members[who].id
    result = runner.invoke(args=["analytics", "check"])
    assert result.exit_code == 0, result.output
