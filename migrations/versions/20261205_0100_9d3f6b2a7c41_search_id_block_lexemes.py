"""PostgreSQL search: each post's vector also holds its block of ids as one lexeme
(`#b<id // 2 500>`, whatever its rubrique), so that a pair's search by relevance asks the
index for the most recent blocks first (see comcep/search/postgres_backend.py, `_window`)
instead of leaving the planner to guess how common a phrase is (at 100 000 posts it took a
phrase for five times rarer than it was, and fetched its 15 700 matches: 115 ms). Added in
place, as 3b7e5d1f9a42 did; fingerprints do not change. Nothing to do on SQLite.

Revision ID: 9d3f6b2a7c41
Revises: 3b7e5d1f9a42
Create Date: 2026-12-05 01:00:00

"""

from alembic import op

revision = "9d3f6b2a7c41"
down_revision = "3b7e5d1f9a42"
branch_labels = None
depends_on = None

ALL_BLOCK_IDS = 2_500  # postgres_backend.ALL_BLOCK_IDS when this revision was written


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        UPDATE posts SET
          search_vector = search_vector || array_to_tsvector(ARRAY['#b' || (id / {ALL_BLOCK_IDS})])
        WHERE search_vector IS NOT NULL
        """
    )
    op.execute("ANALYZE posts")  # the planner's estimates of the new lexemes


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        UPDATE posts SET
          search_vector = ts_delete(
            search_vector,
            ARRAY(SELECT u.lexeme FROM unnest(search_vector) AS u WHERE u.lexeme ~ '^#b[0-9]+$')
          )
        WHERE search_vector IS NOT NULL
        """
    )
