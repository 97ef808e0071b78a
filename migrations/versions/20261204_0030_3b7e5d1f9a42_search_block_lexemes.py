"""PostgreSQL search: each post's vector also holds its rubrique and its block of ids as one
lexeme (`#r<rubrique>b<id // 12 500>`), so that a search over a few rubriques asks the index
for the recent blocks only (see comcep/search/postgres_backend.py, `_window`). The lexeme is
added to the vectors in place; nothing is parsed again, and the fingerprints do not change
(a post's id never does). At a million posts it rewrites every row (about a minute here);
autovacuum then reclaims the old versions. Nothing to do on SQLite, where Whoosh serves search.

Revision ID: 3b7e5d1f9a42
Revises: 8a4f1c7e2d90
Create Date: 2026-12-04 00:30:00

"""

from alembic import op

revision = "3b7e5d1f9a42"
down_revision = "8a4f1c7e2d90"
branch_labels = None
depends_on = None

BLOCK_IDS = 12_500  # postgres_backend.BLOCK_IDS when this revision was written


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        UPDATE posts AS p SET
          search_vector = p.search_vector
            || array_to_tsvector(ARRAY['#r' || t.category_id || 'b' || (p.id / {BLOCK_IDS})])
        FROM topics AS t
        WHERE t.id = p.topic_id AND p.search_vector IS NOT NULL
        """
    )
    op.execute("ANALYZE posts")  # the planner's estimates of the new lexemes


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        UPDATE posts AS p SET
          search_vector = ts_delete(
            p.search_vector,
            ARRAY(SELECT u.lexeme FROM unnest(p.search_vector) AS u
                  WHERE u.lexeme ~ '^#r[0-9]+b[0-9]+$')
          )
        WHERE p.search_vector IS NOT NULL
        """
    )
