"""The templates' `url_for` builds exactly what Flask's does, for every route."""

from __future__ import annotations

import itertools

import pytest
from flask import Flask, url_for
from werkzeug.routing import BuildError, IntegerConverter

from comcep.urls import TemplateUrls

SAMPLE_STRINGS = ["un-slug", "a.b_c~d", "Échanges", "a b", "a/b", "?x=1&y", "", "..", "-"]
SAMPLE_INTS = [0, 1, 42, 10**12, -3]
QUERY_VALUES = [2, "sans-reponse", "été 2026", None, True, 3.5]


def _arguments(app: Flask) -> list[tuple[str, dict]]:
    """For every rule, argument sets of every kind its converters may meet, plus a query
    argument of each kind."""
    cases = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        per_argument = []
        for name in sorted(rule.arguments):
            converter = rule._converters[name]
            samples = SAMPLE_INTS if isinstance(converter, IntegerConverter) else SAMPLE_STRINGS
            per_argument.append([(name, value) for value in samples[:4] + samples[-2:]])
        for combination in itertools.islice(itertools.product(*per_argument), 40):
            values = dict(combination)
            cases.append((rule.endpoint, values))
            for extra in QUERY_VALUES:
                cases.append((rule.endpoint, {**values, "page": extra}))
        cases.append((rule.endpoint, {**dict(c[0] for c in per_argument), "_anchor": "p3"}))
    return cases


def _built(build, endpoint: str, values: dict) -> str:
    try:
        return build(endpoint, **values)
    except BuildError:
        return "BuildError"


@pytest.mark.parametrize("script_root", ["", "/forum"])
def test_template_urls_agree_with_flask_on_every_route(app: Flask, script_root: str) -> None:
    fast = TemplateUrls()
    cases = _arguments(app)
    assert len(cases) > 500
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": script_root}):
        for _ in range(2):  # the second round uses the shapes learned in the first
            for endpoint, values in cases:
                expected = _built(url_for, endpoint, values)
                assert _built(fast, endpoint, values) == expected, (endpoint, values)
                if script_root and expected != "BuildError":
                    assert expected.startswith(script_root)
    learned = [shape for shape in fast._shapes.values() if isinstance(shape, str)]
    assert len(learned) > 100  # most links take the fast path


def test_templates_use_it(app: Flask) -> None:
    assert isinstance(app.jinja_env.globals["url_for"], TemplateUrls)


def test_outside_a_request_it_is_flasks_url_for(app: Flask) -> None:
    fast = TemplateUrls()
    app.config["SERVER_NAME"] = "comcep.example"
    try:
        with app.app_context():
            expected = url_for("forum.post", post_id=3)
            assert expected == "http://comcep.example/p/3"
            assert fast("forum.post", post_id=3) == expected
    finally:
        app.config["SERVER_NAME"] = None
