"""Configuration classes, every value read from COMCEP_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"COMCEP_{name}")
    return value if value not in (None, "") else default


def _instance_path() -> str:
    return str(Path(_env("INSTANCE_PATH", str(_HERE / "instance"))).resolve())


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and always use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Development defaults: SQLite and Whoosh in the instance folder, no service to start."""

    ENV_NAME = "development"
    INSTANCE_PATH = _instance_path()
    SECRET_KEY = _env("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        _env("DATABASE_URL", f"sqlite:///{Path(INSTANCE_PATH) / 'comcep.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SEARCH_BACKEND = _env("SEARCH_BACKEND")
    SEARCH_INDEX_PATH = str(Path(INSTANCE_PATH) / "search-index")
    # Decoded posting lists kept per process by the Whoosh backend (a common word's first
    # search decodes them; later ones reuse them), and as much again for the current index
    # generation's joined and scored lists (dropped at the next commit).
    SEARCH_CACHE_MB = int(_env("SEARCH_CACHE_MB", "64") or 64)
    # PostgreSQL's planner cost of a random page read, set on each connection. The server's
    # default (4) prices a disk that seeks; with the forum in memory or on SSD it made the
    # planner read every match of a common word instead of the most recent ones (a hors
    # pair's search for one word at 1 M posts: 230 ms against 30). « server » keeps the
    # server's own setting.
    PG_RANDOM_PAGE_COST = _env("PG_RANDOM_PAGE_COST", "1.1")
    # PostgreSQL's JIT compilation, set on each connection: « off » by default. A page's
    # statements run for milliseconds, and compiling one costs tens of them: a hors pair's
    # search at 1 M posts, whose estimated cost passes the server's `jit_above_cost`, took
    # 60 ms with it and 20 without. « on », or « server » for the server's own setting.
    PG_JIT = _env("PG_JIT", "off")
    # PostgreSQL workers one statement may start (`max_parallel_workers_per_gather`), set on
    # each connection: 0 by default. Starting them costs milliseconds a statement, and a
    # forum's requests already use every core: a hors pair's search at 1 M posts took 7 to
    # 10 ms more with 2 (the comité's report, the longest page, gained nothing). « server »
    # keeps the server's own setting.
    PG_PARALLEL_WORKERS = _env("PG_PARALLEL_WORKERS", "0")
    JOBS = _env("JOBS", "inline")
    MAIL_URL = _env("MAIL_URL")
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")  # links in e-mails sent by workers

    REDIS_URL = _env("REDIS_URL")
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URL", REDIS_URL or "memory://")
    RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "comcep")

    # COMCEP_RATELIMIT_ENABLED=0 switches the limits off (load tests, a trusted intranet).
    RATELIMIT_ENABLED = (_env("RATELIMIT_ENABLED", "1") or "1").lower() not in ("0", "false", "no")
    RATELIMIT_HEADERS_ENABLED = True
    # Per IP address; per member as well for the account forms that check the password.
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    # Failed logins per account address, whatever the IP: guesses spread over many machines
    # meet this budget too. Only failures count, so a member who logs in is never held back
    # by their own successes; once it is spent, the account waits (or its password is reset).
    LOGIN_ACCOUNT_RATE_LIMIT = "20 per hour"
    # Per member: new topics, replies and private messages together.
    POST_RATE_LIMIT = "20 per minute;200 per day"
    SEARCH_RATE_LIMIT = "60 per minute"  # per member (per IP address for anonymous requests)
    # Per IP address: requests actually sent (each mails someone), and every form posted
    # with a valid CSRF token; a form sent back with a mistake spends only the second.
    REGISTRATION_RATE_LIMIT = "10 per hour"
    REGISTRATION_ATTEMPT_LIMIT = "30 per hour"
    UPLOAD_PATH = _env("UPLOAD_PATH", str(Path(INSTANCE_PATH) / "uploads"))
    UPLOAD_MAX_MB = int(_env("UPLOAD_MAX_MB", "10"))
    # Largest image accepted, in pixels (about 7 700 × 5 200): a thumbnail decodes it whole,
    # 4 bytes a pixel, and a PNG of a few bytes can announce billions of them.
    UPLOAD_MAX_PIXELS = int(_env("UPLOAD_MAX_PIXELS", "40000000"))
    PROXY_COUNT = int(_env("PROXY_COUNT", "0"))
    METRICS_ALLOW = _env("METRICS_ALLOW", "127.0.0.1,::1")
    WTF_CSRF_TIME_LIMIT = None
    WTF_I18N_ENABLED = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    TOPICS_PER_PAGE = 25
    POSTS_PER_PAGE = 20
    MESSAGES_PER_PAGE = 20  # of a private conversation
    # Rendered articles of topic pages kept per process (comcep/forum/fragments.py); a few
    # kilobytes each.
    POST_ARTICLES_KEPT = 2048
    MEMBERS_PER_PAGE = 30
    NOTIFY_EMAIL_DELAY_SECONDS = 120  # lets an author fix a typo; groups what arrives meanwhile
    OUTBOX_LEASE_SECONDS = int(_env("OUTBOX_LEASE_SECONDS", "300"))
    # Longest sleep of an idle `comcep worker`; with Redis, a commit wakes it at once.
    WORKER_POLL_SECONDS = float(_env("WORKER_POLL_SECONDS", "5"))

    EDIT_WINDOW_HOURS = 0  # 0: authors may edit their posts at any time (history is kept)
    # Once the app is built, its objects (modules, models, mappers: some 150,000) are moved
    # out of the garbage collector's sight (`gc.freeze`): a full collection walked them all,
    # 90 to 160 ms here, and fell on whichever request was running. 0 keeps them in sight.
    GC_FREEZE = (_env("GC_FREEZE", "1") or "1").lower() not in ("0", "false", "no")


class TestConfig(Config):
    """Tests: a database of their own (COMCEP_TEST_DATABASE_URL or a temporary SQLite file)."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("COMCEP_TEST_DATABASE_URL") or "sqlite://"
    )
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    NOTIFY_EMAIL_DELAY_SECONDS = 0
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - fast hashing for tests
    GC_FREEZE = False  # tests build apps over and over: frozen objects are never freed
    SERVER_NAME = None


class ProductionConfig(Config):
    """Production: refuses to start without a real secret key; cookies only over HTTPS."""

    ENV_NAME = "production"
    SECRET_KEY = _env("SECRET_KEY")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


def config_from_env() -> type[Config]:
    """Pick the configuration class named by COMCEP_ENV (development by default)."""
    name = (_env("ENV", "development") or "development").lower()
    return {"production": ProductionConfig, "testing": TestConfig}.get(name, Config)
