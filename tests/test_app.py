"""The application: Flask with what it asks of every hook kept per hook, and its objects out
of the garbage collector's sight once built."""

from __future__ import annotations

import gc
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, after_this_request

from comcep import ComcepFlask, create_app
from config import TestConfig


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[Callable[..., Any]]:
    """Every callable Flask's own `ensure_sync` is asked about; a coroutine function comes
    back wrapped, as Flask does once its async extra is installed."""
    seen: list[Callable[..., Any]] = []

    def ensure_sync(_app: Flask, func: Callable[..., Any]) -> Callable[..., Any]:
        seen.append(func)
        if inspect.iscoroutinefunction(func):
            return lambda *args, **kwargs: ("synced", func)
        return func

    monkeypatch.setattr(Flask, "ensure_sync", ensure_sync)
    return seen


def test_a_plain_function_is_asked_about_once(asked: list) -> None:
    app = ComcepFlask(__name__)

    def view() -> str:
        return "ok"

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view
    assert asked == [view]


def test_a_coroutine_function_always_goes_through_flask(asked: list) -> None:
    app = ComcepFlask(__name__)

    async def view() -> str:
        return "ok"

    for _ in range(2):
        assert app.ensure_sync(view)() == ("synced", view)
    assert asked == [view, view]


def test_callbacks_made_for_each_request_do_not_grow_the_kept_answers(asked: list) -> None:
    app = ComcepFlask(__name__)
    callbacks = [lambda n=n: n for n in range(ComcepFlask.KEPT_CALLABLES + 50)]
    for callback in callbacks:
        assert app.ensure_sync(callback) is callback
    assert len(app._plain_callables) == ComcepFlask.KEPT_CALLABLES
    last = callbacks[-1]
    assert app.ensure_sync(last) is last
    assert asked.count(last) == 2  # not kept: asked again


def test_hooks_and_per_request_callbacks_run_on_every_request() -> None:
    app = ComcepFlask(__name__)
    calls: list[str] = []
    app.before_request(lambda: calls.append("before"))

    @app.get("/")
    def index() -> str:
        @after_this_request
        def mark(response: Any) -> Any:
            response.headers["X-Marked"] = "oui"
            return response

        return "ok"

    client = app.test_client()
    for _ in range(3):
        response = client.get("/")
        assert response.text == "ok"
        assert response.headers["X-Marked"] == "oui"
    assert calls == ["before"] * 3


def test_a_built_app_is_out_of_the_collector_s_sight(tmp_path: Path) -> None:
    """GC_FREEZE (on everywhere but in the tests): the app's objects no longer make every
    full collection walk them (90 to 160 ms a collection on the benchmark's machine)."""
    gc.unfreeze()
    try:
        app = create_app(TestConfig, GC_FREEZE=True, INSTANCE_PATH=str(tmp_path))
        assert gc.get_freeze_count() > 100_000  # modules, models, mappers, the app
        assert not any(obj is app.view_functions for obj in gc.get_objects())
    finally:
        gc.unfreeze()  # this test process builds other apps: let this one go
    assert any(obj is app.view_functions for obj in gc.get_objects())


def test_the_tests_configuration_freezes_nothing(tmp_path: Path) -> None:
    frozen = gc.get_freeze_count()
    create_app(TestConfig, INSTANCE_PATH=str(tmp_path))
    assert gc.get_freeze_count() == frozen
