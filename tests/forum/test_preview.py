"""« Prévisualiser » in place (`forum.preview`, called by static/js/comcep.js): the text
rendered as it would be published, nothing written, bad input refused in French. The form's
own « Prévisualiser » without JavaScript is tested in test_views.py; the button in Chromium,
a chosen file kept, in tests/browser/test_flows.py."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from comcep.forum.services import BODY_MAX
from comcep.members.models import Member
from tests.browser.payloads import PAYLOADS, storable
from tests.factories import make_topic

URL = "/apercu"


def _preview(client: FlaskClient, body: str) -> tuple[int, dict]:
    response = client.post(URL, data={"body": body})
    return response.status_code, response.get_json(silent=True) or {}


def test_the_text_comes_back_rendered_as_a_post_and_nothing_is_written(
    members: dict[str, Member],
    client_for: Callable[[Member | None], FlaskClient],
    count_queries: Callable,
) -> None:
    client = client_for(members["pair"])
    _preview(client, "Un premier essai.")  # the session's own statements aside
    with count_queries() as statements:
        status, answer = _preview(client, "Du **gras**, une liste :\n\n- un\n- deux")
    assert status == 200
    assert answer["html"].startswith('<div class="post__body">')
    assert "<strong>gras</strong>" in answer["html"]
    assert "<li>un</li>" in answer["html"]
    writes = ("INSERT", "UPDATE", "DELETE")
    assert [s for s in statements if s.lstrip().upper().startswith(writes)] == []


def test_a_mention_links_only_a_member_the_writer_may_see(
    members: dict[str, Member], client_for: Callable[[Member | None], FlaskClient]
) -> None:
    """As published: a hors pair's preview does not tell them of a pair they may not see."""
    pair = members["pair"]
    status, answer = _preview(client_for(members["other_pair"]), "Merci @Paire Un !")
    assert status == 200
    assert f'href="/membres/{pair.id}"' in answer["html"]
    status, answer = _preview(client_for(members["hors_pair"]), "Merci @Paire Un !")
    assert status == 200
    assert f"/membres/{pair.id}" not in answer["html"]
    assert "@Paire Un" in answer["html"]  # the text as typed
    make_topic(pair, "echanges", title="Une question aux partenaires")  # now in their sight
    status, answer = _preview(client_for(members["hors_pair"]), "Merci @Paire Un !")
    assert f'href="/membres/{pair.id}"' in answer["html"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Le message ne peut pas être vide."),
        ("x" * (BODY_MAX + 1), "au plus 50 000 caractères"),
        ("Un texte\x00 coupé", "caractère"),
    ],
)
def test_bad_text_is_refused_in_french_with_a_400(
    members: dict[str, Member],
    client_for: Callable[[Member | None], FlaskClient],
    body: str,
    message: str,
) -> None:
    status, answer = _preview(client_for(members["pair"]), body)
    assert status == 400
    assert message in answer["erreur"]
    assert "html" not in answer


def test_a_visitor_gets_no_preview(client_for: Callable[[Member | None], FlaskClient]) -> None:
    response = client_for(None).post(URL, data={"body": "Du **gras**"})
    assert response.status_code in (302, 401)
    assert "<strong>" not in response.text


def test_the_preview_needs_the_form_s_csrf_token(
    app: Flask,
    members: dict[str, Member],
    client_for: Callable[[Member | None], FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    status, answer = _preview(client_for(members["pair"]), "Du **gras**")
    assert status == 400
    assert "html" not in answer


class _Elements(HTMLParser):
    """Every element and attribute of a fragment, as a browser would build them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def test_payloads_come_back_sanitised(
    members: dict[str, Member], client_for: Callable[[Member | None], FlaskClient]
) -> None:
    """The script inserts what it gets as HTML: it must be what a stored post holds."""
    everything = "\n\n".join(storable(raw) for _, raw in PAYLOADS)
    status, answer = _preview(client_for(members["pair"]), everything)
    assert status == 200
    parser = _Elements()
    parser.feed(answer["html"])
    assert len(parser.found) > len(PAYLOADS)  # the Markdown was rendered, not all escaped
    for tag, attrs in parser.found:
        assert tag not in {"script", "iframe", "svg", "object", "embed", "style", "img"}, tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith(("javascript:", "data:")), value
