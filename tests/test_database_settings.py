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


def _setting(app: Flask, name: str = "random_page_cost") -> str:
    with app.app_context():
        try:
            return db.session.scalar(text(f"SHOW {name}"))
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL pass only")
@pytest.mark.parametrize(("configured", "expected"), [("1.1", "1.1"), ("2", "2"), ("server", None)])
def test_postgres_connections_carry_the_random_page_cost(tmp_path, configured, expected) -> None:
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(POSTGRES_URL),
        INSTANCE_PATH=str(tmp_path),
        PG_RANDOM_PAGE_COST=configured,
    )
    if expected is None:  # the server's own value, as a plain connection sees it
        with psycopg.connect(POSTGRES_URL) as connection:
            expected = connection.execute("SHOW random_page_cost").fetchone()[0]
    assert _setting(app) == expected


def test_a_random_page_cost_that_is_not_a_number_stops_the_start(tmp_path) -> None:
    with pytest.raises(ValueError, match="could not convert"):
        create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:5432/x",
            INSTANCE_PATH=str(tmp_path),
            PG_RANDOM_PAGE_COST="1; DROP TABLE posts",
        )


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL pass only")
@pytest.mark.parametrize(
    ("configured", "expected"), [(None, "off"), ("off", "off"), ("ON", "on"), ("server", None)]
)
def test_postgres_connections_carry_the_jit_setting(tmp_path, configured, expected) -> None:
    """JIT is off unless asked: compiling a statement costs more than a page runs."""
    settings = {} if configured is None else {"PG_JIT": configured}
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(POSTGRES_URL),
        INSTANCE_PATH=str(tmp_path),
        PG_RANDOM_PAGE_COST="server",  # each setting on its own
        **settings,
    )
    if expected is None:  # the server's own value, as a plain connection sees it
        with psycopg.connect(POSTGRES_URL) as connection:
            expected = connection.execute("SHOW jit").fetchone()[0]
    assert _setting(app, "jit") == expected


def test_a_jit_setting_other_than_on_off_or_server_stops_the_start(tmp_path) -> None:
    with pytest.raises(ValueError, match="COMCEP_PG_JIT"):
        create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:5432/x",
            INSTANCE_PATH=str(tmp_path),
            PG_JIT="off -c work_mem=1TB",
        )


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL pass only")
def test_postgres_plans_every_execution_for_its_own_values(tmp_path) -> None:
    """A statement psycopg has prepared is never run with a generic plan (a search's
    generic plan read every match of its words: 1 s instead of 25 ms at 1 M posts)."""
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(POSTGRES_URL),
        INSTANCE_PATH=str(tmp_path),
        PG_RANDOM_PAGE_COST="server",
        PG_JIT="server",
    )
    assert _setting(app, "plan_cache_mode") == "force_custom_plan"


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL pass only")
@pytest.mark.parametrize(("configured", "expected"), [(None, "0"), ("1", "1"), ("server", None)])
def test_postgres_connections_carry_the_parallel_workers(tmp_path, configured, expected) -> None:
    settings = {} if configured is None else {"PG_PARALLEL_WORKERS": configured}
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(POSTGRES_URL),
        INSTANCE_PATH=str(tmp_path),
        **settings,
    )
    if expected is None:  # the server's own value, as a plain connection sees it
        with psycopg.connect(POSTGRES_URL) as connection:
            expected = connection.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
    assert _setting(app, "max_parallel_workers_per_gather") == expected


def test_a_parallel_workers_setting_that_is_not_a_number_stops_the_start(tmp_path) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:5432/x",
            INSTANCE_PATH=str(tmp_path),
            PG_PARALLEL_WORKERS="0 -c work_mem=1TB",
        )
