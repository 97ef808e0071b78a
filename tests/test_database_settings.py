"""Settings given to each database connection (comcep/__init__.py)."""

from __future__ import annotations

import os

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from comcep import create_app
from comcep.extensions import db
from config import TestConfig, normalise_database_url

POSTGRES_URL = os.environ.get("COMCEP_TEST_DATABASE_URL", "")


def _setting(app: Flask, name: str) -> str:
    with app.app_context():
        try:
            return db.session.scalar(text(f"SHOW {name}"))
        finally:
            db.session.remove()
            db.engine.dispose()


# (app setting, PostgreSQL setting, value configured (None: the default), value expected
# (None: the server's own))
SETTINGS = [
    ("PG_RANDOM_PAGE_COST", "random_page_cost", None, "1.1"),
    ("PG_RANDOM_PAGE_COST", "random_page_cost", "2", "2"),
    ("PG_RANDOM_PAGE_COST", "random_page_cost", "server", None),
    # JIT is off unless asked: compiling a statement costs more than a page runs.
    ("PG_JIT", "jit", None, "off"),
    ("PG_JIT", "jit", "ON", "on"),
    ("PG_JIT", "jit", "server", None),
    ("PG_PARALLEL_WORKERS", "max_parallel_workers_per_gather", None, "0"),
    ("PG_PARALLEL_WORKERS", "max_parallel_workers_per_gather", "1", "1"),
    ("PG_PARALLEL_WORKERS", "max_parallel_workers_per_gather", "server", None),
    # Never a generic plan for a statement psycopg prepared (a search's read every match of
    # its words: 1 s instead of 25 ms at 1 M posts); whatever else is configured.
    ("PG_JIT", "plan_cache_mode", "server", "force_custom_plan"),
]


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL pass only")
@pytest.mark.parametrize(("key", "name", "configured", "expected"), SETTINGS)
def test_postgres_connections_carry_their_settings(
    tmp_path, key, name, configured, expected
) -> None:
    settings = {} if configured is None else {key: configured}
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(POSTGRES_URL),
        INSTANCE_PATH=str(tmp_path),
        **settings,
    )
    if expected is None:  # the server's own value, as a plain connection sees it
        with psycopg.connect(POSTGRES_URL) as connection:
            expected = connection.execute(f"SHOW {name}").fetchone()[0]
    assert _setting(app, name) == expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PG_RANDOM_PAGE_COST", "1; DROP TABLE posts", "could not convert"),
        ("PG_JIT", "off -c work_mem=1TB", "COMCEP_PG_JIT"),
        ("PG_PARALLEL_WORKERS", "0 -c work_mem=1TB", "invalid literal"),
    ],
)
def test_a_setting_that_is_not_what_it_should_be_stops_the_start(
    tmp_path, key, value, message
) -> None:
    """Values go into the connection's options: nothing but a number or a word goes."""
    with pytest.raises(ValueError, match=message):
        create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:5432/x",
            INSTANCE_PATH=str(tmp_path),
            **{key: value},
        )
