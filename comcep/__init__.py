"""ComCEP: the community of practice of France's career counsellors."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, config_from_env

_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(_ROOT / "migrations")


class ComcepFlask(Flask):
    """Flask, remembering which of its hooks and views are plain functions.

    Flask asks `inspect.iscoroutinefunction` of every hook and view it calls, twenty times a
    page (1 % of a topic page); the answer never changes for a given function. The hooks
    and views are the same objects from one request to the next, so the answer is kept per
    object; a coroutine function still goes through Flask's own `ensure_sync`. At most
    KEPT_CALLABLES are kept: a callback made anew for each request (`after_this_request`)
    must not grow it forever, and the app's own hooks are kept by its first requests."""

    KEPT_CALLABLES = 512

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_callables: dict[Callable[..., Any], bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        kept = self._plain_callables
        try:
            plain = kept.get(func)
        except TypeError:  # unhashable: ask Flask
            return super().ensure_sync(func)
        if plain is None:
            synced = super().ensure_sync(func)
            if len(kept) < self.KEPT_CALLABLES:
                kept[func] = synced is func
            return synced
        return func if plain else super().ensure_sync(func)


def create_app(config: type[Config] | None = None, **overrides: object) -> Flask:
    """Build the application; tests pass TestConfig and overrides."""
    config = config or config_from_env()
    app = ComcepFlask(
        __name__,
        instance_path=str(overrides.get("INSTANCE_PATH", config.INSTANCE_PATH)),
        template_folder=str(_ROOT / "templates"),
        static_folder=str(_ROOT / "static"),
    )
    app.config.from_object(config)
    app.config.update(overrides)
    if not app.config.get("SEARCH_BACKEND"):
        uri = app.config["SQLALCHEMY_DATABASE_URI"]
        app.config["SEARCH_BACKEND"] = "postgres" if uri.startswith("postgresql") else "whoosh"
    if app.config["SEARCH_BACKEND"] not in ("whoosh", "postgres"):
        raise RuntimeError("COMCEP_SEARCH_BACKEND doit valoir « whoosh » ou « postgres ».")

    # Up to 5 files of UPLOAD_MAX_MB each, plus the form: bigger bodies get a French 413.
    app.config.setdefault("MAX_CONTENT_LENGTH", (app.config["UPLOAD_MAX_MB"] * 5 + 2) * 2**20)
    if app.config.get("ENV_NAME") == "production" and not app.config.get("SECRET_KEY"):
        raise RuntimeError("COMCEP_SECRET_KEY doit être défini en production.")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    _init_extensions(app)
    _register_blueprints(app)

    from comcep import errors, filters, layout, mail, ops, outbox, policy, security, urls  # noqa: F401 - mail registers its outbox handler
    from comcep.cli import register_commands

    register_commands(app)
    policy.init_app(app)
    ops.init_app(app)
    outbox.init_app(app)
    errors.init_app(app)
    filters.init_app(app)
    layout.init_app(app)
    security.init_app(app)
    urls.init_app(app)
    logging.getLogger(__name__).debug("ComCEP app created (%s)", app.config["ENV_NAME"])
    if app.config.get("GC_FREEZE"):
        _freeze_startup_objects()
    return app


def _freeze_startup_objects() -> None:
    """Move every object alive now (the app, its modules, models and mappers) to the
    collector's permanent generation: they live as long as the process, and a full
    collection no longer walks them. What is garbage is collected first, so nothing dead is
    kept; objects made later (caches, requests) are collected as before."""
    gc.collect()
    gc.freeze()


def _init_extensions(app: Flask) -> None:
    from sqlalchemy import event

    from comcep.extensions import csrf, db, limiter, login_manager, migrate

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        # A copy: the class attribute is shared by every app built in this process.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    elif uri.startswith("postgresql"):
        # psycopg prepares a statement run 5 times on a connection, and PostgreSQL may then
        # plan it once for any parameters: after about ten searches, a pair's search for
        # two words at 1 M posts went from 25 ms to 1 s with such a generic plan. Every
        # execution is planned for its own values.
        settings = ["-c plan_cache_mode=force_custom_plan"]
        if app.config.get("PG_RANDOM_PAGE_COST") != "server":
            cost = float(app.config["PG_RANDOM_PAGE_COST"])  # a number, never text in a command
            settings.append(f"-c random_page_cost={cost}")
        jit = str(app.config.get("PG_JIT", "off")).lower()
        if jit != "server":
            if jit not in ("on", "off"):
                raise ValueError(f"COMCEP_PG_JIT: on, off or server, not {jit!r}")
            settings.append(f"-c jit={jit}")
        if app.config.get("PG_PARALLEL_WORKERS", "0") != "server":
            workers = int(app.config.get("PG_PARALLEL_WORKERS", "0"))  # never text in a command
            settings.append(f"-c max_parallel_workers_per_gather={workers}")
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args", {}))
        # Sent with the connection itself (libpq `options`): no statement, no round trip.
        connect_args["options"] = " ".join([connect_args.get("options", ""), *settings])
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    from comcep.analytics import member_months

    member_months.watch(db.session)
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _limiter_for_this_app() -> None:
        # The limiter is one module-level object: each app (tests build several) says
        # whether limits apply to its own requests.
        limiter.enabled = app.config["RATELIMIT_ENABLED"]

    login_manager.init_app(app)
    login_manager.login_view = "members.login"
    login_manager.login_message = "Connectez-vous pour accéder à la ComCEP."
    login_manager.login_message_category = "info"

    from comcep.members.queries import load_member

    login_manager.user_loader(load_member)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL and a busy timeout let several workers write the embedded database in turn."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _register_blueprints(app: Flask) -> None:
    from comcep.analytics.views import bp as analytics_bp
    from comcep.attachments.views import bp as attachments_bp
    from comcep.forum.views import bp as forum_bp
    from comcep.members.views import bp as members_bp
    from comcep.messages.views import bp as messages_bp
    from comcep.moderation.views import bp as moderation_bp
    from comcep.notifications.views import bp as notifications_bp
    from comcep.ops import bp as ops_bp
    from comcep.search.views import bp as search_bp

    app.register_blueprint(members_bp)
    app.register_blueprint(forum_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(analytics_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(messages_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(ops_bp)
