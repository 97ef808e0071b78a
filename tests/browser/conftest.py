"""Browser tests: Debian's Chromium, driven by Playwright, against a real HTTP server.

The server (werkzeug, in a thread) serves a second app built like the session `app` of
tests/conftest.py, over the same database, search index and upload folder, but with CSRF
protection on, as in production. Each test builds its data with the usual fixtures and
factories; the autouse fixture of tests/conftest.py empties the database afterwards.

Chromium: the session set-up installs Debian's `chromium` package when it is missing and we
are root; otherwise the browser tests are skipped with the reason, except under CI (`CI` set),
where a missing browser is a failure.
"""

from __future__ import annotations

import fcntl
import functools
import gc
import os
import subprocess
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Dialog, Page, Playwright, Response, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from comcep import create_app
from comcep.extensions import db
from comcep.forum import services as forum
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.moderation import services as moderation
from comcep.search import indexing
from config import TestConfig
from tests.conftest import PASSWORD
from tests.factories import category, make_topic

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "artifacts"
AXE_JS = HERE / "vendor" / "axe.min.js"
# Every request but those to the test server goes to a closed port: payloads that point at
# other hosts cannot reach the network (a proxy, not a route: routes slow every request).
NO_NETWORK = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1"}


# True once /analyses has drawn every chart it shows.
CHARTS_DRAWN_JS = """() => [...document.querySelectorAll('canvas[data-chart]')]
  .every(canvas => window.Chart && window.Chart.getChart(canvas))"""


# --- Chromium -------------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    """apt-get, waiting for dpkg's lock rather than failing at once: another test run (or
    the system's own upgrades) installing at the same moment made every browser test err."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "-o", "DPkg::Lock::Timeout=600", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=900, check=False
    )


def _provide_chromium() -> str | None:
    """Install Debian's chromium when missing and allowed; the reason it is absent, or None.
    The test processes (pytest-xdist) take turns: apt-get's wait for dpkg's lock does not
    cover the lock of its package lists: a second `apt-get update` at the same moment fails."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() != 0:
        return f"{CHROMIUM} est absent et l'installer (apt-get install chromium) demande root"
    with open("/tmp/comcep-tests-chromium.lock", "w") as lock:  # noqa: S108 - root only, here
        fcntl.flock(lock, fcntl.LOCK_EX)
        return None if CHROMIUM.exists() else _install_chromium()


def _install_chromium() -> str | None:
    result = _apt_get("install", "-y", "chromium")
    if result.returncode != 0:
        _apt_get("update")
        result = _apt_get("install", "-y", "chromium")
    if result.returncode != 0 or not CHROMIUM.exists():
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return f"apt-get install -y chromium a échoué : {' / '.join(tail)}"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    reason = _provide_chromium()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"CI : les tests du navigateur exigent chromium ({reason}).")
        pytest.skip(f"tests du navigateur ignorés, chromium indisponible : {reason}")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# --- The server -------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def connection_dropped(self, error: BaseException, environ: dict | None = None) -> None:
        """The browser left mid-response (a static file, as it moved on): werkzeug then skips
        closing the response, whose open file the error's traceback holds; freed at the end
        of werkzeug's `except`, it warned then (a ResourceWarning, an error in this suite)
        and failed whichever test was running. Free it here, where the warning is expected."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            error.__traceback__ = None
            gc.collect()


@pytest.fixture(scope="session")
def browser_app(app: Flask) -> Iterator[Flask]:
    """The app as the browser meets it: same database and folders, CSRF enabled."""
    web = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_PATH=app.instance_path,
        SEARCH_INDEX_PATH=app.config["SEARCH_INDEX_PATH"],
        UPLOAD_PATH=app.config["UPLOAD_PATH"],
        WTF_CSRF_ENABLED=True,
    )
    yield web
    with web.app_context():
        close = getattr(web.extensions.get("comcep_search"), "close", None)
        if close is not None:
            close()  # Whoosh keeps a searcher per server thread
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(browser_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, browser_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="comcep-browser-server")
    thread.daemon = True
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _empty_search_index(app: Flask) -> None:
    """The database is emptied after each test; the search index must be too."""
    with app.app_context():
        indexing.get_backend().clear()


# --- Pages ----------------------------------------------------------------------------


@dataclass
class Tab:
    """A page in a context of its own, with what happened in it besides the DOM."""

    page: Page
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def goto(self, path: str, status: int | None = 200) -> Response:
        response = self.page.goto(path)
        assert response is not None, path
        if status is not None:
            assert response.status == status, f"{path}: HTTP {response.status}"
        return response

    def login(self, member: Member, password: str = PASSWORD) -> None:
        """Log in through the real /connexion form (CSRF token included)."""
        self.goto("/connexion")
        self.page.locator("#email").fill(member.email)
        self.page.locator("#password").fill(password)
        self.page.get_by_role("button", name="Se connecter").click()
        self.page.wait_for_url(lambda url: "/connexion" not in url)


@pytest.fixture
def open_tab(browser: Browser, live_server: str) -> Iterator[Callable[..., Tab]]:
    """open_tab(member=None, width=1280, bypass_csp=False) -> a Tab, logged in if asked.

    Only the test server is reachable. Dialogs are recorded and dismissed (a `beforeunload`
    prompt, which comcep.js raises when leaving unsent text, is accepted).
    """
    contexts = []
    tabs: list[Tab] = []

    def make(
        member: Member | None = None,
        *,
        width: int = 1280,
        height: int = 900,
        bypass_csp: bool = False,
    ) -> Tab:
        context = browser.new_context(
            base_url=live_server,
            viewport={"width": width, "height": height},
            locale="fr-FR",
            timezone_id="Europe/Paris",
            bypass_csp=bypass_csp,
            proxy=NO_NETWORK,
        )
        contexts.append(context)
        context.set_default_timeout(15_000)
        page = context.new_page()
        tab = Tab(page=page, base_url=live_server)
        tabs.append(tab)

        def on_dialog(dialog: Dialog) -> None:
            if dialog.type == "beforeunload":
                dialog.accept()
                return
            tab.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_response(response: Response) -> None:
            if response.status >= 500:
                tab.server_errors.append(f"HTTP {response.status} {response.url}")

        page.on("dialog", on_dialog)
        page.on("response", on_response)
        if member is not None:
            tab.login(member)
        return tab

    yield make
    for context in contexts:
        context.close()
    errors = [error for tab in tabs for error in tab.server_errors]
    assert not errors, f"Erreurs serveur vues par le navigateur : {errors}"


@functools.cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def inject_axe(page: Page) -> None:
    """Run axe-core's source in the page through the DevTools protocol: no inline <script>,
    so the page keeps its Content-Security-Policy while axe runs."""
    page.evaluate(_axe_source())
    assert page.evaluate("typeof window.axe") == "object"


# --- A small forum, and the main pages to look at ---------------------------------------


@dataclass
class Site:
    members: dict[str, Member]
    topic: Topic
    reported: Post
    pages: dict[str, tuple[str, Member | None]]  # name -> (path, who looks at it)


TOPIC_BODY = """Bonjour à toutes et à tous,

Je reçois un **salarié de 52 ans** qui veut quitter la logistique pour le social. Trois
questions :

1. faut-il viser une *transition professionnelle* ou un CPF ?
2. quelles structures pour l'immersion ?
3. comment tenir compte de ses contraintes de santé ?

> « Je veux un métier qui a du sens », m'a-t-il dit.

Merci pour vos retours ! Fiche utile : [le CEP](https://www.mon-cep.org/).
"""


COLLEAGUE_TOPICS = [
    ("accueil-du-beneficiaire", "Accueillir sans rendez-vous : vos organisations"),
    ("apres-le-premier-entretien", "Formaliser le plan d'action après l'entretien"),
    ("monter-un-dossier", "Dossier de transition professionnelle : pièces à réunir"),
    ("suivi-du-parcours", "Relancer un bénéficiaire qui ne répond plus"),
    ("comment-je-me-professionnalise", "Formation à l'approche narrative"),
    ("liens-utiles", "Le simulateur de droits CPF"),
    ("vos-attentes", "Un fil pour les nouveaux arrivants ?"),
    ("evenements-et-rencontres", "Rencontres régionales des CEP à Lyon"),
    ("divers", "Vos lectures de l'été"),
    ("premier-entretien", "Préparer le premier entretien à distance"),
]


@pytest.fixture
def site(members: dict[str, Member], make_member: Callable[..., Member]) -> Site:
    """A dozen topics by a dozen pairs of two networks (enough that the analyses mask
    nothing), replies with Markdown, one open report: every main page has content."""
    colleagues = [
        make_member(network=code) for code in ("apec", "france-travail") for _ in range(5)
    ]
    for n, (slug, title) in enumerate(COLLEAGUE_TOPICS):
        forum.create_topic(colleagues[n], category(slug), title, f"Votre avis sur : {title} ?")
    db.session.commit()
    topic = make_topic(
        members["pair"],
        slug="premier-entretien",
        title="Reconversion d'un salarié de 52 ans vers le social",
        body=TOPIC_BODY,
        replies=[
            (members["other_pair"], "Une **transition professionnelle** me semble adaptée."),
            (members["animation"], "Pensez aussi à la PMSMP pour l'immersion.\n\n- un\n- deux"),
        ],
    )
    make_topic(
        members["other_pair"],
        slug="premier-entretien",
        title="Durée du premier entretien : vos pratiques",
        body="Combien de temps consacrez-vous au premier entretien ?",
    )
    reported = db.session.scalars(
        db.select(Post).where(Post.topic_id == topic.id, Post.number == 2)
    ).one()
    moderation.report_post(
        members["pair"], reported, topic, "off_topic", "Ce message sort un peu du sujet."
    )
    db.session.commit()
    pages: dict[str, tuple[str, Member | None]] = {
        "index": ("/", members["pair"]),
        "rubrique": ("/r/premier-entretien", members["pair"]),
        "sujet": (f"/t/{topic.id}/{topic.slug}", members["pair"]),
        "nouveau-sujet": ("/r/premier-entretien/nouveau-sujet", members["pair"]),
        "recherche": ("/recherche?q=entretien", members["pair"]),
        "connexion": ("/connexion", None),
        "inscription": ("/inscription", None),
        "membres": ("/membres", members["pair"]),
        "moderation": ("/moderation", members["animation"]),
        "analyses": ("/analyses?periode=lancement", members["comite"]),
    }
    return Site(members=members, topic=topic, reported=reported, pages=pages)
