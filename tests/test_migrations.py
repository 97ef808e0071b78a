"""Alembic revisions and models agree (STYLE §4): the schema the migrations build is the one
the models describe, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import ANY

import numpy as np
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, func, inspect, select, text

from comcep import MIGRATIONS_DIR, create_app
from comcep.extensions import db
from comcep.forum.models import Category
from config import TestConfig


def _differences(connection) -> list[str]:  # noqa: ANN001 - a SQLAlchemy Connection
    """What autogenerate would write, one readable line per operation."""
    context = MigrationContext.configure(
        connection, opts={"render_as_batch": True, "compare_type": True}
    )
    return [_describe(diff) for diff in compare_metadata(context, db.metadata)]


def _describe(diff: object) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(tuple(item)) for item in diff)
    kind, *rest = diff
    if kind in ("add_fk", "remove_fk"):
        fk = rest[0]
        columns = ",".join(column.name for column in fk.columns)
        return f"{kind} {fk.table.name}.{columns} -> {fk.referred_table.name} ({fk.name})"
    if kind in ("add_column", "remove_column"):
        return f"{kind} {rest[1]}.{rest[2].name}"
    if kind in ("add_index", "remove_index"):
        return f"{kind} {rest[0].table.name}.{rest[0].name}"
    if kind in ("add_table", "remove_table"):
        return f"{kind} {rest[0].name}"
    return repr(diff)


def test_autogenerate_finds_no_difference_between_models_and_migrated_schema(app: Flask) -> None:
    # Nothing is ignored: a model change without its revision must fail here.
    with db.engine.connect() as connection:
        assert _differences(connection) == []


def test_test_database_is_at_the_single_head_revision(app: Flask) -> None:
    heads = ScriptDirectory(str(Path(MIGRATIONS_DIR))).get_heads()
    assert len(heads) == 1, f"several heads: {heads}"
    with db.engine.connect() as connection:
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        assert list(current) == heads


def test_every_foreign_key_is_indexed(app: Flask) -> None:
    """STYLE §5.3: a foreign key without an index makes deletes and joins scan the table."""
    with db.engine.connect() as connection:
        inspector = inspect(connection)
        unindexed = []
        for table in inspector.get_table_names():
            covered = [tuple(index["column_names"]) for index in inspector.get_indexes(table)]
            covered += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
            covered.append(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
            for fk in inspector.get_foreign_keys(table):
                columns = tuple(fk["constrained_columns"])
                if not any(cols[: len(columns)] == columns for cols in covered):
                    unindexed.append(f"{table}.{','.join(columns)}")
        assert unindexed == []


def _moment(value: object) -> object:
    """A date read by plain SQL, as SQLite stores it (text, UTC): PostgreSQL gives a
    `datetime`, spelled here as SQLite would store it; anything else as it is. On SQLite the
    text itself is compared, format included (its dates compare as text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _fresh_app(tmp_path: Path, url: str) -> Flask:
    """An app on a SQLite file of its own: the shared test database is left alone."""
    return create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        INSTANCE_PATH=str(tmp_path),
        SEARCH_INDEX_PATH=str(tmp_path / "search-index"),
        UPLOAD_PATH=str(tmp_path / "uploads"),
    )


def test_migrations_go_down_to_base_and_up_again_on_an_empty_database(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """A database of its own (SQLite, or PostgreSQL in its pass): the shared test database is
    left alone."""
    url = fresh_database_url
    fresh = _fresh_app(tmp_path, url)
    with fresh.app_context():
        try:
            upgrade()
            assert db.session.scalar(select(func.count(Category.id))) > 0  # the tree is seeded
            db.session.remove()
            downgrade(revision="base")
            with db.engine.connect() as connection:
                assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
            upgrade()
            with db.engine.connect() as connection:
                assert _differences(connection) == []
        finally:
            db.session.remove()
            db.engine.dispose()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert "members" in inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_the_kept_cells_are_converted_in_place_and_back(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """Revision 8a4f1c7e2d90 writes the kept delays in hex and each month's total into its
    « month » cell: the figures stay exact and nothing has to be counted again."""
    from comcep.analytics import rollups

    fresh = _fresh_app(tmp_path, fresh_database_url)
    insert = text(
        "INSERT INTO analytics_month_cells (month, kind, key_id, items, extra, people, sample,"
        " delays) VALUES (:m, :k, :r, :n, 0, :p, :s, :d)"
    )
    cells = [
        ("2025-01", "answered", 0, 3, 3, "", "3600,-5,4000000000"),
        ("2025-01", "month", 0, 0, 0, "", None),
        ("2025-01", "message", 1, 4, 3, "7,8,9", None),
        ("2025-01", "message", 2, 2, 2, "8,10", None),
        ("2025-02", "month", 0, 0, 0, "", None),
        ("2025-02", "message", 1, 9, 3, "1,2,3", None),
        ("2025-02", "message", 2, 6, 5, "", None),
        ("2025-03", "month", 0, 0, 0, "", None),
    ]
    month_cells = text(
        "SELECT month, items, people, sample FROM analytics_month_cells WHERE kind = 'month'"
        " ORDER BY month"
    )
    answered = text("SELECT delays FROM analytics_month_cells WHERE kind = 'answered'")
    with fresh.app_context():
        try:
            upgrade(revision="4e8a2d6f0c19")
            for m, k, r, n, p, s, d in cells:
                db.session.execute(insert, {"m": m, "k": k, "r": r, "n": n, "p": p, "s": s, "d": d})
            db.session.commit()
            upgrade(revision="8a4f1c7e2d90")
            kept = db.session.scalar(answered)
            assert kept == "00000e10fffffffb7fffffff"
            assert rollups.kept_delays(kept).tolist() == [3600, -5, 2**31 - 1]
            assert db.session.execute(month_cells).all() == [
                ("2025-01", 6, 4, "7,8,9,10"),
                ("2025-02", 15, 5, ""),
                ("2025-03", 0, 0, ""),
            ]
            db.session.remove()
            downgrade(revision="4e8a2d6f0c19")
            assert db.session.scalar(answered) == "3600,-5,2147483647"
            assert {row.items for row in db.session.execute(month_cells)} == {0}
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_kept_delays_are_put_in_increasing_order(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """Revision 7c1e5a9d3b28 sorts the delays of the cells kept before `keep_delays` wrote
    them in order (its medians partition them quicker); a cell in order is left as it is."""
    from comcep.analytics import rollups

    fresh = _fresh_app(tmp_path, fresh_database_url)
    insert = text(
        "INSERT INTO analytics_month_cells (month, kind, key_id, items, extra, people, sample,"
        " delays) VALUES (:m, :k, 0, 1, 0, 1, '1', :d)"
    )
    kept = {
        ("2025-01", "answered"): [3600, -5, 2**31 - 1, 60],
        ("2025-02", "answered"): [1, 2, 3],
        ("2025-01", "solved"): [86_400, 7_200],
    }
    delays = text("SELECT month, kind, delays FROM analytics_month_cells")
    with fresh.app_context():
        try:
            upgrade(revision="2e6b8d4f1a73")
            for (m, k), values in kept.items():
                hexed = np.array(values, dtype=rollups.DELAY_TYPE).tobytes().hex()
                db.session.execute(insert, {"m": m, "k": k, "d": hexed})
            db.session.execute(insert, {"m": "2025-03", "k": "answered", "d": None})
            db.session.commit()
            upgrade()
            found = {
                (m, k): None if d is None else rollups.kept_delays(d).tolist()
                for m, k, d in db.session.execute(delays)
            }
            assert found == {key: sorted(values) for key, values in kept.items()} | {
                ("2025-03", "answered"): None
            }
            db.session.remove()
            downgrade(revision="2e6b8d4f1a73")
            assert {(m, k) for m, k, d in db.session.execute(delays) if d} == set(kept)
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_invitations_pending_before_their_table_get_a_row(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """Revision f743b57cebd0 gives each invitation pending at the time its row: who sent it
    (from the journal), when, and until when its link (14 days) is valid; an accepted one
    gets none."""
    fresh = _fresh_app(tmp_path, fresh_database_url)
    member = text(
        "INSERT INTO members (email, password_hash, display_name, name_key, statut,"
        " organisation, roles, state, motivation, created_at, registration_status,"
        " refusal_reason, pending_email, token_nonce, email_frequency, moderation_reason)"
        " VALUES (:email, '', :email, '', 'hors_pair', '', :roles, :state, '', :created,"
        " :status, '', '', 'n', 'immediate', '')"
    )
    entry = text(
        "INSERT INTO moderation_log (actor_id, action, target_type, target_id, reason, details,"
        " created_at) VALUES (:actor, 'invite', 'member', :target, '', '', :created)"
    )
    invited = "2026-12-01 10:00:00.000000"
    with fresh.app_context():
        try:
            upgrade(revision="3f9a7c2e5b14")
            rows = [
                ("admin@exemple.fr", "admin", "active", "approved"),
                ("invite@exemple.fr", "", "pending", "invited"),
                ("ancien@exemple.fr", "", "pending", "invited"),
                ("accepte@exemple.fr", "", "active", "approved"),
            ]
            for email, roles, state, status in rows:
                db.session.execute(
                    member,
                    {
                        "email": email,
                        "roles": roles,
                        "state": state,
                        "created": invited,
                        "status": status,
                    },
                )
            ids = dict(db.session.execute(text("SELECT email, id FROM members")).all())
            for target in ("invite@exemple.fr", "accepte@exemple.fr"):
                db.session.execute(
                    entry,
                    {"actor": ids["admin@exemple.fr"], "target": ids[target], "created": invited},
                )
            db.session.commit()
            upgrade()
            found = db.session.execute(
                text(
                    "SELECT member_id, invited_by_id, created_at, sent_at, expires_at,"
                    " accepted_at, revoked_at FROM invitations ORDER BY member_id"
                )
            ).all()
            assert [tuple(map(_moment, row)) for row in found] == [
                (
                    ids["invite@exemple.fr"],
                    ids["admin@exemple.fr"],
                    invited,
                    invited,
                    "2026-12-15 10:00:00.000000",
                    None,
                    None,
                ),
                (ids["ancien@exemple.fr"], None, invited, invited, ANY, None, None),
            ]
            db.session.remove()
            downgrade(revision="3f9a7c2e5b14")
            with db.engine.connect() as connection:
                assert "invitations" not in inspect(connection).get_table_names()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_posts_refused_before_publication_are_told_apart_from_hidden_ones(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """Revision a7d3e9f1c482 marks `is_refused` the hidden posts whose author was told
    « n'a pas publié votre message » (`post_refused`) and that no « restore_post » showed
    since; a post hidden after publication, a pending one and a refused one published
    since are left alone."""
    fresh = _fresh_app(tmp_path, fresh_database_url)
    member = text(
        "INSERT INTO members (email, password_hash, display_name, name_key, statut,"
        " organisation, roles, state, motivation, created_at, registration_status,"
        " refusal_reason, pending_email, token_nonce, email_frequency, moderation_reason)"
        " VALUES ('auteur@exemple.fr', '', 'Auteur', '', 'pair', '', '', 'active', '',"
        " :at, 'approved', '', '', 'n', 'immediate', '') RETURNING id"
    )
    topic = text(
        "INSERT INTO topics (category_id, author_id, title, slug, created_at, is_pinned,"
        " is_announcement, is_locked, is_hidden, post_count, last_number, last_post_number,"
        " last_post_at) VALUES ((SELECT min(id) FROM categories), :author, 'Sujet', 'sujet',"
        " :at, false, false, false, false, 1, 6, 1, :at) RETURNING id"
    )
    post = text(
        "INSERT INTO posts (topic_id, number, author_id, body_source, body_html, created_at,"
        " revision_count, is_hidden, hidden_reason, is_pending) VALUES (:topic, :number,"
        " :author, '', '', :at, 0, :hidden, '', :pending) RETURNING id"
    )
    told = text(
        "INSERT INTO notifications (member_id, kind, post_id, created_at)"
        " VALUES (:author, :kind, :post, :at)"
    )
    entry = text(
        "INSERT INTO moderation_log (action, target_type, target_id, reason, details,"
        " created_at) VALUES (:action, 'post', :post, '', '', :at)"
    )
    at = "2026-12-01 10:00:00.000000"
    # number: (hidden, pending, notification kind, journal action)
    rows = {
        1: (False, False, None, None),  # the opening post, shown
        2: (True, False, "post_refused", "hide_post"),  # refused: never published
        3: (True, False, "post_hidden", "hide_post"),  # hidden after publication
        4: (True, True, None, None),  # still pending
        5: (False, False, "post_refused", "restore_post"),  # refused, then published
        6: (True, False, "post_refused", "restore_post"),  # …and hidden again since
    }
    with fresh.app_context():
        try:
            upgrade(revision="e9b4a7c2d815")
            author = db.session.scalar(member, {"at": at})
            topic_id = db.session.scalar(topic, {"author": author, "at": at})
            ids = {}
            for number, (hidden, pending, kind, action) in rows.items():
                values = {"topic": topic_id, "number": number, "author": author, "at": at}
                values |= {"hidden": hidden, "pending": pending}
                ids[number] = db.session.scalar(post, values)
                if kind:
                    db.session.execute(
                        told, {"author": author, "kind": kind, "post": ids[number], "at": at}
                    )
                if action:
                    db.session.execute(entry, {"action": action, "post": ids[number], "at": at})
            db.session.commit()
            upgrade(revision="a7d3e9f1c482")  # the next one numbers them apart
            refused = db.session.scalars(
                text("SELECT number FROM posts WHERE is_refused ORDER BY number")
            ).all()
            assert refused == [2]
            db.session.remove()
            downgrade(revision="e9b4a7c2d815")
            with db.engine.connect() as connection:
                columns = {c["name"] for c in inspect(connection).get_columns("posts")}
            assert "is_refused" not in columns
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_replies_never_published_leave_their_places_in_the_numbers(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """Revision 63d5bfbd74e7 numbers the replies waiting or refused at pre-moderation -1,
    -2… in each topic in the order written; the places they held at the end of a topic are
    given back (`last_number`, read marks and notes past them come back to its last post
    still numbered); a post hidden after publication, and another topic, are left alone.
    Downgraded, they take places after the last post again. On SQLite, and on PostgreSQL in
    its pass."""
    fresh = _fresh_app(tmp_path, fresh_database_url)
    member = text(
        "INSERT INTO members (email, password_hash, display_name, name_key, statut,"
        " organisation, roles, state, motivation, created_at, registration_status,"
        " refusal_reason, pending_email, token_nonce, email_frequency, moderation_reason)"
        " VALUES (:email, '', :email, '', 'pair', '', '', 'active', '',"
        " :at, 'approved', '', '', 'n', 'immediate', '') RETURNING id"
    )
    topic = text(
        "INSERT INTO topics (category_id, author_id, title, slug, created_at, is_pinned,"
        " is_announcement, is_locked, is_hidden, post_count, last_number, last_post_number,"
        " last_post_at) VALUES ((SELECT min(id) FROM categories), :author, 'Sujet', 'sujet',"
        " :at, false, false, false, false, :count, :last, :shown, :at) RETURNING id"
    )
    post = text(
        "INSERT INTO posts (topic_id, number, author_id, body_source, body_html, created_at,"
        " revision_count, is_hidden, hidden_reason, is_pending, is_refused) VALUES (:topic,"
        " :number, :author, '', '', :at, 0, :hidden, '', :pending, :refused) RETURNING id"
    )
    read = text(
        "INSERT INTO topic_reads (member_id, topic_id, last_read_number, updated_at)"
        " VALUES (:member, :topic, :number, :at)"
    )
    note = text(
        "INSERT INTO topic_events (topic_id, after_number, kind, post_count, created_at)"
        " VALUES (:topic, :after, 'split_to', 1, :at)"
    )
    at = "2026-12-01 10:00:00.000000"
    # topic → number: (hidden, pending, refused), written in the order of the numbers
    rows = {
        "mixed": {
            1: (False, False, False),
            2: (True, False, True),  # refused, in the middle: its place stays a gap
            3: (True, False, False),  # hidden after publication: keeps its place
            4: (True, True, False),  # waiting, at the end…
            5: (True, False, True),  # …and refused after it
        },
        "other": {1: (False, False, False), 2: (False, False, False)},
    }

    def numbers() -> dict[tuple[int, int], int]:
        """(topic id, post id) → number."""
        found = db.session.execute(text("SELECT topic_id, id, number FROM posts")).all()
        return {(topic_id, post_id): number for topic_id, post_id, number in found}

    with fresh.app_context():
        try:
            upgrade(revision="c5f2a8d3e614")
            ids = {}
            for email in ("auteur@exemple.fr", "lecteur@exemple.fr"):
                ids[email] = db.session.scalar(member, {"email": email, "at": at})
            author, reader = ids["auteur@exemple.fr"], ids["lecteur@exemple.fr"]
            topics, posts = {}, {}
            for name, topic_rows in rows.items():
                shown = max(n for n, (hidden, *_) in topic_rows.items() if not hidden)
                values = {"author": author, "at": at, "count": 1, "last": len(topic_rows)}
                topics[name] = db.session.scalar(topic, values | {"shown": shown})
                for number, (hidden, pending, refused) in topic_rows.items():
                    values = {"topic": topics[name], "number": number, "author": author}
                    values |= {"hidden": hidden, "pending": pending, "refused": refused}
                    values["at"] = f"2026-12-01 10:00:0{number}.000000"
                    posts[name, number] = db.session.scalar(post, values)
            for member_id, topic_name, number in (
                (reader, "mixed", 3),
                (author, "mixed", 5),
                (author, "other", 2),
            ):
                values = {"member": member_id, "topic": topics[topic_name], "number": number}
                db.session.execute(read, values | {"at": at})
            for after in (1, 5):
                db.session.execute(note, {"topic": topics["mixed"], "after": after, "at": at})
            db.session.commit()
            before = numbers()
            upgrade()
            mixed, other = topics["mixed"], topics["other"]
            expected = {(mixed, posts["mixed", n]): new for n, new in ((2, -1), (4, -2), (5, -3))}
            assert numbers() == before | expected
            last_numbers = dict(
                db.session.execute(text("SELECT id, last_number FROM topics")).all()
            )
            assert last_numbers == {mixed: 3, other: 2}
            marks = db.session.execute(
                text("SELECT member_id, topic_id, last_read_number FROM topic_reads")
            ).all()
            assert sorted(marks) == sorted(
                [(reader, mixed, 3), (author, mixed, 3), (author, other, 2)]
            )
            anchors = db.session.scalars(
                text("SELECT after_number FROM topic_events ORDER BY after_number")
            ).all()
            assert anchors == [1, 3]
            db.session.remove()
            downgrade(revision="c5f2a8d3e614")
            again = {(mixed, posts["mixed", n]): new for n, new in ((2, 4), (4, 5), (5, 6))}
            assert numbers() == before | again
            last_numbers = dict(
                db.session.execute(text("SELECT id, last_number FROM topics")).all()
            )
            assert last_numbers == {mixed: 6, other: 2}
        finally:
            db.session.remove()
            db.engine.dispose()
