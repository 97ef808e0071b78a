"""Flask extensions, created once here and bound to the app in create_app."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import BindParameter, DateTime, Executable, MetaData, literal_column, tuple_
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.visitors import replacement_traverse
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Pages render after their one commit: keep loaded rows usable instead of reloading them.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class _Limiter(Limiter):
    """Flask-Limiter, without its before-request check while nothing needs it.

    That check applies the limits that cover whole requests (default, application, blueprint
    and meta limits); a limit decorating a view is checked by its decorator. ComCEP has only
    the latter, yet the check cost about 3 % of a topic page on every request. It runs again
    as soon as a request-wide limit is configured; an attribute this code does not know (a
    newer Flask-Limiter) counts as one, so the check is never skipped by mistake."""

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if in_middleware and not self._request_wide_limits():
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _request_wide_limits(self) -> bool:
        manager = self.limit_manager
        return bool(
            manager.default_limits
            or manager.application_limits
            or getattr(manager, "_blueprint_limits", True)
            or getattr(self, "_meta_limits", True)
        )


limiter = _Limiter(key_func=get_remote_address, default_limits=[])


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    """The limiter is one object for every app of the process (tests build several): each app's
    own RATELIMIT_ENABLED decides, not whichever app was created last."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def member_or_ip() -> str:
    """Rate-limit key: the logged-in member (whatever their address), else the IP address."""
    if current_user.is_authenticated:
        return f"membre:{current_user.id}"
    return get_remote_address()


def _post_limit() -> str:
    return current_app.config["POST_RATE_LIMIT"]


# New topics, replies and private messages share one budget per member (SPEC §9: abuse): a
# message reaches up to 20 inboxes, so it is no cheaper to flood with. Previews count too.
posting_limit = limiter.shared_limit(
    _post_limit,
    scope="posting",
    key_func=member_or_ip,
    methods=["POST"],
    error_message="Vous publiez beaucoup en peu de temps : ce message n'est pas enregistré. "
    "Revenez à la page précédente, où votre texte est conservé, et renvoyez-le un peu plus tard.",
)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def read_columns(statement: Executable, params: Mapping[str, Any] | None = None) -> CursorResult:
    """Run a SELECT of columns (no mapped objects) on the session's connection, in its
    transaction, without the ORM's result layer: on the pages every member loads, that layer
    cost about 0.1 ms a statement, as much as SQLite's own work. Pending changes are flushed
    first, as the session's autoflush would. `statement` is one built once (the callers
    cache them): a list bound to a name of `inline_list_param` is written into it."""
    session = db.session
    if session.autoflush:
        session.flush()
    return session.connection().execute(*lists_written(statement, params))


# Lists of ids bound to statements built once (the viewer's visible rubriques, which the
# header's counters hold four times). Bound as an « expanding » parameter, SQLAlchemy
# rewrites the statement's SQL on every execution to spell one placeholder per value: a
# tenth of a millisecond on a topic page. Written into the statement instead, once per
# statement and list (viewers with the same rubriques share one), the SQL is compiled once
# and then only run. A copy costs about as much as a hundred pages save (built and
# compiled: 10 to 30 ms), so only the first WRITTEN_LISTS lists a process meets are
# written (pairs, hors pairs, staff, a few private groups: the lists nearly every
# request binds); any other stays bound as before, and nothing is ever evicted and built
# again.
_INLINED_LISTS: set[str] = set()
WRITTEN_LISTS = 16
_lists: set[tuple[int, ...]] = set()
_written: dict[tuple[int, str, tuple[int, ...]], tuple[Executable, Executable]] = {}
_WRITTEN_GUARD = 4096  # statements built once × WRITTEN_LISTS stay far below


def lists_written(
    statement: Executable, params: Mapping[str, Any] | None
) -> tuple[Executable, Mapping[str, Any] | None]:
    """The statement with the lists bound to names of `inline_list_param` written into it,
    and the parameters left to bind; `statement` must be one built once."""
    if params:
        for name in _INLINED_LISTS:
            values = params.get(name)
            if not values:  # an empty list keeps SQLAlchemy's rendering of an empty IN
                continue
            values = tuple(values)
            if values not in _lists:
                if len(_lists) >= WRITTEN_LISTS:
                    continue
                _lists.add(values)
            statement = _with_list_written(statement, name, values)
            params = {key: value for key, value in params.items() if key != name}
    return statement, params


def inline_list_param(name: str) -> None:
    """Have `read_columns` write the list of ids bound as `name` into its statements."""
    _INLINED_LISTS.add(name)


def _with_list_written(statement: Executable, name: str, values: tuple[int, ...]) -> Executable:
    key = (id(statement), name, values)
    found = _written.get(key)
    if found is None or found[0] is not statement:  # an id reused by a statement built anew
        if len(_written) >= _WRITTEN_GUARD:  # only if a caller builds its statement per call
            _written.clear()
        # int(): only integers are ever written into SQL this way.
        listed = tuple_(*(literal_column(str(int(value))) for value in values))

        def replace(element: Any) -> Any:
            if isinstance(element, BindParameter) and element.key == name:
                return listed
            return None

        found = _written[key] = (statement, replacement_traverse(statement, {}, replace))
    return found[1]


def utcnow() -> datetime:
    return datetime.now(UTC)
