"""PostgreSQL search: each post's vector holds its rubrique as a lexeme (`#r<id>`), and its
fingerprint the rubrique's id (see comcep/search/postgres_backend.py). Nothing to do on
SQLite, where Whoosh serves search.

Revision ID: 5a506c3cc5a8
Revises: 7c2d9e4a1b35
Create Date: 2026-12-03 00:10:00

"""

from alembic import op

revision = "5a506c3cc5a8"
down_revision = "7c2d9e4a1b35"
branch_labels = None
depends_on = None

# Every rubrique lexeme a vector may hold, whatever rubrique it was written for.
_ALL_LEXEMES = "ARRAY(SELECT '#r' || c.id FROM categories AS c)"
_TITLE = "CASE WHEN p.number = 1 THEN t.title ELSE '' END"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        UPDATE posts AS p SET
          search_vector = ts_delete(p.search_vector, {_ALL_LEXEMES})
                          || array_to_tsvector(ARRAY['#r' || t.category_id]),
          search_fp = md5(concat({_TITLE}, chr(31), p.body_html, chr(31), t.category_id))
        FROM topics AS t
        WHERE t.id = p.topic_id AND p.search_vector IS NOT NULL
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        UPDATE posts AS p SET
          search_vector = ts_delete(p.search_vector, {_ALL_LEXEMES}),
          search_fp = md5(concat({_TITLE}, chr(31), p.body_html))
        FROM topics AS t
        WHERE t.id = p.topic_id AND p.search_vector IS NOT NULL
        """
    )
