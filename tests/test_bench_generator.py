"""The benchmark generator at tiny size: its denormalised counters are those the app itself
computes, post numbers run 1..n in every topic, and its data respects the wall."""

from __future__ import annotations

import random

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from bench.generate import BENCH_ACCOUNTS, BENCH_PASSWORD, plan_and_insert
from comcep import policy
from comcep.extensions import db, utcnow
from comcep.forum import queries, services
from comcep.forum.models import Category, Post, PostThanks, Topic, TopicRead
from comcep.members.models import Member
from comcep.moderation.models import ModerationLog, Report
from comcep.policy import Viewer
from comcep.rendering import render_markdown

POSTS = 600
TOPIC_COLUMNS = (
    "post_count",
    "last_number",
    "last_post_id",
    "last_post_number",
    "last_post_at",
    "last_poster_id",
    "first_reply_at",
    "first_reply_author_id",
)


@pytest.fixture
def generated(app: Flask) -> dict:
    with db.engine.begin() as conn:
        report = plan_and_insert(conn, POSTS, seed=7, log=lambda _line: None)
    db.session.expire_all()
    return report.as_dict()


def _topic_state() -> dict[int, tuple]:
    columns = [getattr(Topic, name) for name in TOPIC_COLUMNS]
    return {row[0]: tuple(row[1:]) for row in db.session.execute(select(Topic.id, *columns))}


def _category_state() -> dict[int, tuple]:
    rows = db.session.execute(
        select(Category.id, Category.topic_count, Category.post_count, Category.last_post_id)
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def test_generator_writes_the_requested_forum(generated: dict) -> None:
    assert db.session.scalar(select(func.count(Post.id))) == POSTS
    assert generated["posts"] == POSTS
    assert db.session.scalar(select(func.count(Topic.id))) == generated["topics"]
    assert db.session.scalar(select(func.count(TopicRead.topic_id))) == generated["reads"] > 0
    assert db.session.scalar(select(func.count(Report.id))) == generated["reports"] > 0
    assert db.session.scalar(select(func.count(ModerationLog.id))) > 0
    hidden = db.session.scalar(select(func.count(Post.id)).where(Post.is_hidden.is_(True)))
    assert hidden == generated["hidden_posts"]


def test_post_numbers_run_from_one_to_n_in_every_topic(generated: dict) -> None:
    rows = db.session.execute(
        select(
            Post.topic_id,
            func.count(Post.id),
            func.min(Post.number),
            func.max(Post.number),
            func.count(func.distinct(Post.number)),
        ).group_by(Post.topic_id)
    ).all()
    assert len(rows) == generated["topics"]
    for _topic_id, count, first, last, distinct in rows:
        assert (first, last, distinct) == (1, count, count)
        assert 1 <= count <= 200
    sizes = {count for _, count, *_ in rows}
    assert 200 in sizes
    big = db.session.get(Topic, generated["bench_topic_id"])
    assert big.last_number == 200


def test_topic_counters_equal_what_the_app_recomputes(generated: dict) -> None:
    before = _topic_state()
    services.refresh_topic_stats(list(before))
    db.session.flush()
    db.session.expire_all()
    assert _topic_state() == before
    # and the last post is the last visible one, by number
    for topic in db.session.scalars(select(Topic)):
        last = db.session.scalar(
            select(Post)
            .where(Post.topic_id == topic.id, Post.is_hidden.is_(False))
            .order_by(Post.number.desc())
            .limit(1)
        )
        assert topic.last_post_id == last.id
        assert topic.last_post_at == last.created_at == topic.last_post_at
        assert topic.created_at <= topic.last_post_at
    db.session.rollback()


def test_category_counters_equal_what_the_app_recomputes(generated: dict) -> None:
    before = _category_state()
    services.refresh_category_counters()
    db.session.flush()
    db.session.expire_all()
    assert _category_state() == before
    assert sum(posts for _, posts, _ in before.values()) == POSTS - generated["hidden_posts"]
    db.session.rollback()


def test_member_counts_equal_the_posts(generated: dict) -> None:
    from tests.forum.test_member_stats import _from_posts, _kept

    assert _kept() == _from_posts()


def test_post_ids_follow_time_and_bodies_are_their_rendered_markdown(generated: dict) -> None:
    rows = db.session.execute(select(Post.id, Post.created_at).order_by(Post.id)).all()
    assert [created for _, created in rows] == sorted(created for _, created in rows)
    posts = db.session.scalars(select(Post).order_by(Post.id)).all()
    for post in random.Random(1).sample(posts, 40):
        assert render_markdown(post.body_source) == post.body_html


def test_generated_data_respects_the_wall(generated: dict) -> None:
    parent = db.aliased(Category)
    open_ids = set(
        db.session.scalars(
            select(Category.id)
            .outerjoin(parent, parent.id == Category.parent_id)
            .where(
                Category.open_to_hors_pairs.is_(True),
                (parent.id.is_(None)) | (parent.open_to_hors_pairs.is_(True)),
            )
        )
    )
    hors_pair_categories = set(
        db.session.scalars(
            select(Topic.category_id)
            .join(Post, Post.topic_id == Topic.id)
            .join(Member, Member.id == Post.author_id)
            .where(Member.statut == "hors_pair", Member.roles == "")
            .distinct()
        )
    )
    assert hors_pair_categories
    assert hors_pair_categories <= open_ids
    over_read = db.session.scalar(
        select(func.count())
        .select_from(TopicRead)
        .join(Topic, Topic.id == TopicRead.topic_id)
        .where(TopicRead.last_read_number > Topic.last_number)
    )
    assert over_read == 0


def test_bench_accounts_log_in_with_the_documented_password(generated: dict) -> None:
    for spec in BENCH_ACCOUNTS.values():
        member = db.session.scalar(select(Member).where(Member.email == spec["email"]))
        assert member is not None
        assert member.is_active
        assert check_password_hash(member.password_hash, BENCH_PASSWORD)


@pytest.mark.parametrize("kind", ["pair", "hors_pair", "animation"])
def test_topic_lists_count_exactly_the_topics_the_viewer_sees(
    app: Flask, generated: dict, kind: str
) -> None:
    hidden = db.session.scalar(
        select(Topic).join(Category).where(Category.slug == "echanges").order_by(Topic.id)
    )
    hidden.is_hidden = True
    services.refresh_category_counters([hidden.category_id])
    db.session.commit()
    member = db.session.scalar(select(Member).where(Member.email == BENCH_ACCOUNTS[kind]["email"]))
    with app.test_request_context():
        viewer = Viewer.for_member(member)
        visible = select(func.count(Topic.id)).where(policy.visible_topics(viewer))
        active = queries.active_topics(viewer, member, 1)
        assert active.total == db.session.scalar(visible)
        last = queries.active_topics(viewer, member, active.pages)
        assert len(last.items) == active.total - (active.pages - 1) * active.per_page
        for category_id in sorted(policy.visible_category_ids(viewer)):
            category = db.session.get(Category, category_id)
            listed = queries.category_topics(viewer, member, category, 1)
            assert listed.total == db.session.scalar(
                visible.where(Topic.category_id == category_id)
            )
        unread = queries.unread_topics(viewer, member, 1)
        read = func.coalesce(TopicRead.last_read_number, 0)
        expected = db.session.scalar(
            visible.outerjoin(
                TopicRead,
                (TopicRead.topic_id == Topic.id) & (TopicRead.member_id == member.id),
            ).where(read < Topic.last_post_number)
        )
        assert unread.total == min(expected, queries.UNREAD_COUNT_CAP)
        assert len(unread.items) == min(expected, unread.per_page)


def test_the_comites_member_counts_equal_the_members(generated: dict) -> None:
    from comcep.analytics import member_months, report

    for preset in ("lancement", "trimestre"):
        period = report.preset_period(preset, report.paris_today())
        assert member_months.disagreements(period.start, period.end) == []
    assert sum(row.members for row in member_months.members_by_network(utcnow())) > 0


def test_a_reused_forum_s_index_gets_its_kept_postings(tmp_path, monkeypatch) -> None:
    """`make bench` reuses a forum generated before the kept postings: its index gets the
    files the first commit after an upgrade would write, once; no index, nothing."""
    from bench import generate
    from comcep.search import whoosh_kept
    from comcep.search.whoosh_backend import WhooshBackend
    from tests.search.test_whoosh_backend import make_doc

    assert generate.keep_search_postings(str(tmp_path)) == 0
    assert not (tmp_path / "search-index").exists()
    old = WhooshBackend(tmp_path / "search-index", kept_min_docs=10**9)  # as before them
    old.upsert([make_doc(n, body="Un bilan de compétences.") for n in range(1, 31)])
    old.close()
    assert not list((tmp_path / "search-index").glob("*.ids"))
    monkeypatch.setattr(whoosh_kept, "MIN_DOCS", 10)
    monkeypatch.setattr(whoosh_kept, "MIN_POSTINGS", 2)
    assert generate.keep_search_postings(str(tmp_path)) == 1
    assert len(list((tmp_path / "search-index").glob("*.ids"))) == 1
    assert generate.keep_search_postings(str(tmp_path)) == 0


def test_a_forum_is_vacuumed_once_its_search_index_is_rebuilt(generated: dict) -> None:
    """`comcep search rebuild` on PostgreSQL rewrites every post (its vector); the benchmark
    then vacuums, so that it measures a settled forum and not one dead version of each post
    (where autovacuum is off). On SQLite there is nothing to do."""
    from bench import generate

    url = db.engine.url.render_as_string(hide_password=False)
    db.session.execute(Post.__table__.update().values(search_fp=""))  # a dead version of each
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    before = db.session.scalar(select(func.clock_timestamp())) if postgres else None
    db.session.commit()
    generate.settle(url)
    if not postgres:
        return
    vacuumed = db.session.scalar(
        select(func.pg_stat_get_last_vacuum_time(func.to_regclass("posts")))
    )
    assert vacuumed is not None
    assert vacuumed > before


def test_thanks_are_counted_on_their_posts_and_given_by_readers_not_authors(
    generated: dict,
) -> None:
    """« Merci » rows as the app writes them: each post's kept count is its rows, no author
    thanks their own post, a hidden post has none, and every giver may read the post."""
    counted = dict(
        db.session.execute(
            select(PostThanks.post_id, func.count()).group_by(PostThanks.post_id)
        ).all()
    )
    kept = dict(db.session.execute(select(Post.id, Post.thanks_count)).all())
    assert sum(counted.values()) == generated["thanks"] > 0
    assert {pid: n for pid, n in kept.items() if n} == counted
    own = db.session.scalar(
        select(func.count())
        .select_from(PostThanks)
        .join(Post, Post.id == PostThanks.post_id)
        .where(Post.author_id == PostThanks.member_id)
    )
    assert own == 0
    hidden = db.session.scalar(
        select(func.count())
        .select_from(PostThanks)
        .join(Post, Post.id == PostThanks.post_id)
        .where(Post.is_hidden.is_(True))
    )
    assert hidden == 0
    givers = {m.id: m for m in db.session.scalars(select(Member))}
    for post_id, member_id in db.session.execute(select(PostThanks.post_id, PostThanks.member_id)):
        post = db.session.get(Post, post_id)
        topic = db.session.get(Topic, post.topic_id)
        viewer = Viewer.for_member(givers[member_id])
        if viewer.is_authenticated:  # an active giver (some were suspended since)
            assert topic.category_id in policy.visible_category_ids(viewer), (post_id, member_id)
