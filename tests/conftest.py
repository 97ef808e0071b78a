"""Shared fixtures: one real database per run (SQLite file, or PostgreSQL through
COMCEP_TEST_DATABASE_URL), migrated with Alembic, emptied and re-seeded after each test."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_login import FlaskLoginClient
from sqlalchemy import Connection, event, make_url, text
from werkzeug.security import generate_password_hash

from comcep import create_app
from comcep.defaults import seed_all
from comcep.extensions import db
from comcep.members.models import Member
from comcep.members.services import create_member
from comcep.policy import clear_request_cache
from config import TestConfig, normalise_database_url
from tests.clients import RequestScopedClient

PASSWORD = "mot-de-passe-solide"


def _xdist_worker() -> str | None:
    """pytest-xdist's name for this process (gw0, gw1, …), None when the suite runs in one."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("COMCEP_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_root / 'test.sqlite3'}"  # tmp_root is already per worker
    worker = _xdist_worker()
    return _postgres_database_beside(url, worker) if worker else url


def _postgres_database_beside(url: str, suffix: str) -> str:
    """An empty database beside the one named, `<name>_<suffix>`: a worker's own
    (comcep_test_gw0, …), since the suite empties its database after every test and no two
    workers may share one; or a test's own. Its commits do not wait for the disk (the suite
    makes tens of thousands): nothing here outlives a crash of the server."""
    target = make_url(url).set(database=f"{make_url(url).database}_{suffix}")
    name = target.database
    if len(name.encode()) > 63:  # PostgreSQL would cut it, maybe to another database's name
        raise ValueError(f"nom de base trop long pour PostgreSQL : {name}")
    with _postgres_server(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return target.render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    with _postgres_server(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _postgres_server(url: str) -> psycopg.Connection:
    server = make_url(url).set(drivername="postgresql", database="postgres")
    return psycopg.connect(server.render_as_string(hide_password=False), autocommit=True)


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own, which the suite's emptying never touches (a
    migration test goes down and up revisions on it, a backup is restored into it): a
    SQLite file, or in the PostgreSQL pass a PostgreSQL database beside the suite's,
    dropped afterwards."""
    url = os.environ.get("COMCEP_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    fresh = _postgres_database_beside(url, f"{_xdist_worker() or 'main'}_fresh")
    # The dates these tests write by plain SQL are UTC, as the app stores them: read them so,
    # whatever the server's own zone.
    with _postgres_server(url) as conn:
        conn.execute(f"ALTER DATABASE \"{make_url(fresh).database}\" SET timezone = 'UTC'")
    try:
        yield normalise_database_url(fresh)
    finally:
        _drop_postgres_database(fresh)


def redis_test_url() -> str:
    """COMCEP_TEST_REDIS_URL, or Redis's database 15 on loopback. Under pytest-xdist each
    worker takes a database of its own counting down from it (15, 14, …): a worker's wake-up
    pushed in one test must not be taken by a worker started in another."""
    url = os.environ.get("COMCEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = _xdist_worker()
    if not worker:
        return url
    parts = urlsplit(url)
    base, number = int(parts.path.strip("/") or 0), int(worker.removeprefix("gw"))
    if number > base:  # .ci/test-passes runs 8 workers at most
        raise RuntimeError(f"{worker} : plus de workers que de bases Redis sous {url}")
    number = base - number
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    root = tmp_path_factory.mktemp("instance")
    url = _database_url(root)
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(url),
        INSTANCE_PATH=str(root),
        SEARCH_INDEX_PATH=str(root / "search-index"),
        UPLOAD_PATH=str(root / "uploads"),
        WTF_CSRF_ENABLED=False,
    )
    app.test_client_class = FlaskLoginClient
    # Requests made inside a test share the test's app context, hence its `g`: forget the
    # previous request's user and viewer, as a real server (one context per request) does.
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_previous_request)
    with app.app_context():
        _reset_schema()
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if _xdist_worker() and url.startswith("postgresql"):
        _drop_postgres_database(url)


def _forget_previous_request() -> None:
    g.pop("_login_user", None)
    clear_request_cache()


def _reset_schema() -> None:
    """Start each run from an empty database, whatever an earlier run left."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def reset_database() -> None:
    """Every table emptied and the reference data seeded again (between tests, and between
    the state machine's runs)."""
    db.session.rollback()
    db.session.remove()
    stats = None
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=OFF"))
        else:
            conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        names = [t.name for t in reversed(db.metadata.sorted_tables)]
        if conn.dialect.name == "postgresql":
            _empty_postgres(conn, names)
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
        seed_all(conn)
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=ON"))
            # A plan test's ANALYZE must not steer the plans of the tests after it.
            stats = conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            ).first()
            if stats is not None:
                conn.execute(text("DELETE FROM sqlite_stat1"))
    if stats is not None:
        # Each pooled connection keeps the statistics it loaded: open fresh ones.
        db.engine.dispose()


# A table whose file has grown past this is truncated rather than emptied row by row: with
# autovacuum off (as on the CI's server) the rows deleted after each test stay in the file,
# and so do the planner's figures of a test that ran ANALYZE; TRUNCATE starts both afresh.
_TRUNCATE_PAST_BYTES = 1 << 20


def _empty_postgres(conn: Connection, names: list[str]) -> None:
    """What `TRUNCATE … RESTART IDENTITY` did after each test, at a fraction of its cost: a
    TRUNCATE makes new files for every table and index, a test fills a few tables with a
    few rows. The tables are locked against writers first, as TRUNCATE did: a request
    still in flight in the browser tests' server then commits before the reset, not into
    the next test. Then a grown table is truncated, the others holding rows are deleted
    from (children first, as `names` comes), and every sequence is set back to 1."""
    conn.execute(text(f"LOCK TABLE {', '.join(names)} IN EXCLUSIVE MODE"))
    probe = " UNION ALL ".join(
        f"SELECT '{n}', EXISTS (SELECT FROM {n}), pg_relation_size('{n}')" for n in names
    )
    found = conn.execute(text(probe)).all()
    grown = [name for name, _, size in found if size > _TRUNCATE_PAST_BYTES]
    if grown:
        conn.execute(text(f"TRUNCATE {', '.join(grown)} CASCADE"))
    filled = {name for name, holds_rows, _ in found if holds_rows and name not in grown}
    for name in names:
        if name in filled:
            conn.execute(text(f"DELETE FROM {name}"))
    conn.execute(
        text(
            "SELECT setval(c.oid, 1, false) FROM pg_class c"
            " WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
        )
    )


@pytest.fixture(autouse=True)
def _clean_database(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        reset_database()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201 - FlaskCliRunner
    return app.test_cli_runner()


@pytest.fixture
def make_member() -> Callable[..., Member]:
    counter = {"n": 0}

    def make(
        statut: str = "pair",
        network: str | None = None,
        region: str = "bretagne",
        roles: tuple[str, ...] = (),
        groups: tuple[str, ...] = (),
        name: str | None = None,
        email: str | None = None,
        state: str = "active",
    ) -> Member:
        counter["n"] += 1
        n = counter["n"]
        member = create_member(
            email=email or f"membre{n}@exemple.fr",
            name=name or f"Membre {n}",
            statut=statut,
            network_code=network or ("france-travail" if statut == "pair" else "carif-oref"),
            region_code=region,
            password=PASSWORD,
            roles=roles,
            groups=groups,
        )
        member.state = state
        db.session.commit()
        return member

    return make


ROLE_SPECS: dict[str, dict] = {
    "pair": {"statut": "pair", "network": "france-travail", "name": "Paire Un"},
    "other_pair": {"statut": "pair", "network": "apec", "name": "Paire Deux"},
    "pilot_pair": {
        "statut": "pair",
        "network": "missions-locales",
        "groups": ("Groupe pilote",),
        "name": "Paire Pilote",
    },
    "hors_pair": {"statut": "hors_pair", "network": "carif-oref", "name": "Hors Pair"},
    "animation": {
        "statut": "pair",
        "network": "cap-emploi",
        "roles": ("animation",),
        "name": "Animatrice",
    },
    "referent_apec": {
        "statut": "pair",
        "network": "apec",
        "roles": ("validation",),
        "name": "Référent Apec",
    },
    "comite": {"statut": "hors_pair", "network": "dgefp", "roles": ("comite",), "name": "Comité"},
    "admin": {"statut": "hors_pair", "network": "uodc", "roles": ("admin",), "name": "Admin"},
    "pending": {"statut": "pair", "network": "apec", "state": "pending", "name": "En Attente"},
    "suspended": {"statut": "pair", "network": "apec", "state": "suspended", "name": "Suspendu"},
}


@pytest.fixture
def members(make_member: Callable[..., Member]) -> dict[str, Member]:
    """One member of every kind, keyed by role name (see ROLE_SPECS)."""
    return {key: make_member(**spec) for key, spec in ROLE_SPECS.items()}


@pytest.fixture
def client_for(app: Flask) -> Callable[[Member | None], FlaskClient]:
    def make(member: Member | None) -> FlaskClient:
        if member is None:
            return app.test_client()
        return app.test_client(user=member)

    return make


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody types the fixtures' passwords: a cheap hash keeps building many members fast
    (`pytestmark = pytest.mark.usefixtures("fast_password_hashing")`)."""
    monkeypatch.setattr(
        "comcep.members.models.generate_password_hash",
        functools.partial(generate_password_hash, method="pbkdf2:sha256:1"),
    )


@pytest.fixture
def request_scoped_clients(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """`client_for` then gives clients that run each request in a context of its own."""
    monkeypatch.setattr(app, "test_client_class", RequestScopedClient)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], object]:
    """Context manager counting the SQL statements run inside it."""

    @contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def listener(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)

    return counter
