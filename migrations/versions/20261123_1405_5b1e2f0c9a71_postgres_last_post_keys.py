"""The two « dernier message » foreign keys declared with use_alter in the initial revision:
SQLite built them inline, PostgreSQL skipped them; create them there.

Revision ID: 5b1e2f0c9a71
Revises: 4763df06edd7
Create Date: 2026-11-23 14:05:00

"""
from alembic import op

revision = "5b1e2f0c9a71"
down_revision = "4763df06edd7"
branch_labels = None
depends_on = None

KEYS = [
    ("fk_categories_last_post_id_posts", "categories"),
    ("fk_topics_last_post_id_posts", "topics"),
]


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, table in KEYS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")
        op.create_foreign_key(name, table, "posts", ["last_post_id"], ["id"], ondelete="SET NULL")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, table in KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
