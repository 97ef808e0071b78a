"""A crawler over the demo forum, once per role: every same-site link a page shows its viewer
must open for that viewer (SPEC §2: hidden content answers 404, so a link to it is a leak or a
dead end), and no page answers 5xx. Catches the links no hand-written matrix thought of."""

from __future__ import annotations

import heapq
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from html import escape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RoutingException

from comcep import outbox
from comcep.attachments import services as attachments
from comcep.extensions import db, utcnow
from comcep.forum import queries as forum_queries
from comcep.forum import services as forum
from comcep.forum.cli import load_demo_data
from comcep.forum.models import Category, Post, Topic
from comcep.members import membership
from comcep.members import services as member_services
from comcep.members.models import Member
from comcep.members.tokens import make_token
from comcep.messages import services as messages
from comcep.messages.models import PrivateMessage
from comcep.moderation import services as moderation
from comcep.moderation import settings
from comcep.search import indexing
from tests.clients import RequestScopedClient

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

MAX_PAGES = 300  # per role: enough for every demo topic, bounded whatever the data
QUERY_VARIANTS = 2  # distinct query strings followed per path (pages, filters, quotes…)
MAX_REDIRECTS = 5
FORM_PAGES = 2  # pages per kind of form whose form is sent (another post, another topic)
# The crawl takes turns between endpoints. Links to content each lead somewhere else (and
# carry most links); the forms repeated on every post or topic are one template each: the
# former get this many turns for each turn of the latter.
CONTENT_ROUTES = {
    "forum.category": 5,
    "forum.topic": 5,
    "forum.post": 5,
    "forum.first_unread": 5,
    "forum.tag": 5,
    "members.profile": 5,
    "messages.show": 5,
    "notifications.open_notification": 5,
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Role → demo member (comcep/forum/demo_content.py); None crawls as a visitor.
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "pair": "claire.martin@francetravail.example",
    "pilot_pair": "nadia.haddad@avenir-actifs.example",
    "hors_pair": "helene.garnier@carif-oref.example",
    "animation": "isabelle.durand@comcep.example",
    "referent_apec": "marc.petit@apec.example",
    "comite": "paul.lambert@dgefp.example",
    "admin": "admin@comcep.example",
    "suspended": "julien.moreau@capemploi.example",  # suspended by the scenario below
    "silenced": "karim.benali@apec.example",  # a pair in read-only mode: see the scenario
    "newcomer": "nouveau.venu@apec.example",  # a new pair whose first posts wait
}
NEWCOMER = ROLES["newcomer"]
SIGNED_OUT = {"anonymous", "suspended"}  # see the public presentation only

# Pages each role must reach, so that the crawl cannot pass by finding nothing.
MUST_REACH: dict[str, set[str]] = {
    "anonymous": {"/connexion", "/inscription", "/mot-de-passe-oublie"},
    "suspended": {"/connexion", "/inscription"},
    "pair": {"/actifs", "/non-lus", "/membres", "/messages", "/notifications", "/outils"},
    "silenced": {"/actifs", "/non-lus", "/compte"},
    "newcomer": {"/actifs", "/non-lus", "/compte"},
    "pilot_pair": {"/r/consultations", "/actifs"},
    "hors_pair": {"/r/echanges", "/actifs", "/messages", "/notifications"},
    "animation": {
        "/moderation",
        "/moderation/journal",
        "/moderation/inscriptions",
        "/r/coin-des-animateurs",
    },
    "referent_apec": {"/moderation/inscriptions", "/r/premier-entretien"},
    "comite": {"/analyses", "/r/echanges"},
    "admin": {
        "/admin/rubriques",
        "/admin/taches",
        "/moderation",
        "/moderation/invitations",
        "/moderation/reglages",
        "/analyses",
    },
}
# Pages of which each role must reach at least one (a member's, from their profile).
MUST_REACH_ONE: dict[str, list[re.Pattern[str]]] = {
    "animation": [re.compile(r"^/membres/\d+/moderer$")],
    "admin": [re.compile(r"^/membres/\d+/moderer$"), re.compile(r"^/admin/membres/\d+$")],
}
# Forms each role must have sent: about half of what the demo shows them (a pair about 60,
# the staff about 110, a visitor 8), and the kinds of form each must have met.
MIN_FORMS_SENT = {"anonymous": 6, "suspended": 6, "hors_pair": 25, "comite": 25}
MIN_FORMS_SENT.update(dict.fromkeys(["pair", "pilot_pair", "referent_apec", "newcomer"], 30))
MIN_FORMS_SENT["silenced"] = 10  # his account, his subscriptions: nothing that posts
MIN_FORMS_SENT.update(dict.fromkeys(["animation", "admin"], 50))
MEMBER_FORMS = {"forum.reply", "members.change_password", "members.leave", "messages.new"}
PAIR_FORMS = MEMBER_FORMS | {"forum.new_topic", "moderation.report", "forum.edit_post"}
STAFF_FORMS = PAIR_FORMS | {"moderation.hide", "moderation.split", "moderation.merge"}
MUST_SEND: dict[str, set[str]] = {
    "anonymous": {"members.login", "members.register", "members.forgot_password"},
    "pair": PAIR_FORMS,
    "newcomer": PAIR_FORMS - {"forum.edit_post"},  # his posts wait: nothing to edit yet
    "silenced": {"members.change_password", "notifications.topic_subscription"},
    "pilot_pair": PAIR_FORMS,
    "referent_apec": PAIR_FORMS,
    "hors_pair": MEMBER_FORMS,
    "comite": MEMBER_FORMS,
    "animation": STAFF_FORMS | {"moderation.decide_reports"},
    "admin": STAFF_FORMS
    | {"members.administer", "moderation.update_category"}
    | {"members.invitations"},
}
# The header's search is a form, not a link: its results page is typed in.
SEARCH = {"/recherche?q=entretien": "(formulaire de recherche)"}
MIN_PAGES = {"anonymous": 4, "suspended": 4}
MIN_PAGES_SIGNED_IN = 40
# Distinct topics opened; the demo shows a pair about 28, the staff 33, a hors pair 2.
MIN_TOPICS = {
    "pair": 20,
    "silenced": 20,
    "newcomer": 20,
    "pilot_pair": 20,
    "referent_apec": 20,
    "animation": 25,
    "admin": 25,
    "hors_pair": 2,
    "comite": 2,
}

# Rubriques whose topics a role must never open (hand-written from SPEC §2–3, not from the
# policy): a 200 on one of their topics is a hole in the wall, whatever link led there.
PAIRS_ONLY = {
    "accueil",
    "vos-questions",
    "accueil-du-beneficiaire",
    "premier-entretien",
    "apres-le-premier-entretien",
    "monter-un-dossier",
    "suivi-du-parcours",
    "comment-je-me-professionnalise",
    "liens-utiles",
    "je-partage-mes-outils",
    "vos-attentes",
    "trucs-et-astuces",
    "evenements-et-rencontres",
    "outils-et-structures",
    "la-comcep-on-en-parle",
    "petites-annonces",
    "divers",
}
STAFF_ONLY = {"coin-des-animateurs"}
PILOT_ONLY = {"consultations"}
WALLED_OFF: dict[str, set[str]] = {
    "pair": STAFF_ONLY | PILOT_ONLY,
    "silenced": STAFF_ONLY | PILOT_ONLY,
    "newcomer": STAFF_ONLY | PILOT_ONLY,
    "pilot_pair": STAFF_ONLY,
    "hors_pair": PAIRS_ONLY | STAFF_ONLY | PILOT_ONLY,
    "referent_apec": STAFF_ONLY | PILOT_ONLY,
    "comite": PAIRS_ONLY | STAFF_ONLY | PILOT_ONLY,
}

TOPIC_PAGE = re.compile(r"^/t/(\d+)/[^/?]+(\?.*)?$")
BASE = "http://localhost"
REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class Control:
    """A named control of a form that posts, with the value a browser would send."""

    name: str
    kind: str  # the input's type, or textarea, select
    value: str
    on: bool = True  # a checkbox or radio button: checked
    options: list[str] = field(default_factory=list)  # a select's option values


@dataclass
class Form:
    """A form that posts, as its page shows it."""

    action: str
    controls: list[Control] = field(default_factory=list)
    submits: list[tuple[str, str]] = field(default_factory=list)  # (name, value) per button

    def buttons(self) -> list[tuple[str, str] | None]:
        """The buttons that send the form (None: a form sent by pressing Enter)."""
        return list(self.submits) or [None]

    def signature(self, button: tuple[str, str] | None) -> tuple:
        """What tells this form, sent by `button`, from another one posting to the same
        place: its controls' names and the button."""
        return (*sorted({control.name for control in self.controls}), button)


class LinkParser(HTMLParser):
    """Collects the `href` of every `<a>`, and what a page must not get wrong whoever reads
    it: a form that posts without its CSRF token, an `id` given twice (a label or an anchor
    then points at the wrong element), a label, an `aria-*` reference or a `#` link to no
    `id`, a page without one `<h1>` or without a title."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: Counter[str] = Counter()
        self.references: list[tuple[str, str]] = []  # (attribute, id) that must exist
        self.h1 = 0
        self.title = ""
        self.posting_forms = 0
        self.forms_without_token: list[str] = []
        self._form: tuple[str, bool] | None = None  # (action, token seen) of a posting form
        self._in_title = False
        self.forms: list[Form] = []  # the forms that post, with their controls
        self.query_forms: list[tuple[str, set[str]]] = []  # (action, field names) of the others
        self._query_form = False
        self._textarea: Control | None = None
        self._select: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids[attributes["id"] or ""] += 1
        for name in ("for", "aria-describedby", "aria-labelledby", "aria-controls"):
            if name != "for" or tag == "label":
                self.references += [(name, ref) for ref in (attributes.get(name) or "").split()]
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"] or "")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "form" and (attributes.get("method") or "get").lower() == "post":
            self.posting_forms += 1
            self._form = (attributes.get("action") or "(cette page)", False)
            self.forms.append(Form(attributes.get("action") or ""))
        elif tag == "form":  # a search or a filter: its fields are query parameters
            self.query_forms.append((attributes.get("action") or "", set()))
            self._query_form = True
        elif tag == "input" and self._form and attributes.get("name") == "csrf_token":
            self._form = (self._form[0], bool(attributes.get("value")))
        if self._form is not None:
            self._control(tag, attributes)
        elif self._query_form and tag in ("input", "select", "textarea"):
            self.query_forms[-1][1].add(attributes.get("name") or "")

    def _control(self, tag: str, attributes: dict[str, str | None]) -> None:
        """Record a control of the posting form being read, as a browser would send it."""
        name, form = attributes.get("name") or "", self.forms[-1]
        kind = (attributes.get("type") or "").lower()
        if tag == "input":
            kind = kind or "text"
            on = kind not in ("checkbox", "radio") or "checked" in attributes
            default = "on" if kind in ("checkbox", "radio") else ""
            if kind == "submit":
                form.submits.append((name, attributes.get("value") or ""))
            elif name:
                form.controls.append(Control(name, kind, attributes.get("value") or default, on))
        elif tag == "button" and kind in ("", "submit"):
            form.submits.append((name, attributes.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = Control(name, "textarea", "")
            form.controls.append(self._textarea)
        elif tag == "select" and name:
            self._select = Control(name, "select", "")
            form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            value = attributes.get("value")
            self._select.options.append(value if value is not None else "")
            if "selected" in attributes or len(self._select.options) == 1:
                self._select.value = self._select.options[-1]

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        if tag == "title":
            self._in_title = False
        elif tag == "form" and self._form is not None:
            action, token = self._form
            if not token:
                self.forms_without_token.append(action)
            self._form = None
        elif tag == "form":
            self._query_form = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._textarea is not None:
            self._textarea.value += data

    def page_problems(self) -> list[str]:
        problems = [f"formulaire sans jeton CSRF : {action}" for action in self.forms_without_token]
        problems += [f"id en double : {name}" for name, n in sorted(self.ids.items()) if n > 1]
        problems += [
            f"{name}={ref} : aucun id" for name, ref in self.references if not self.ids[ref]
        ]
        anchors = {href[1:] for href in self.hrefs if href.startswith("#") and len(href) > 1}
        problems += [f"lien #{anchor} : aucun id" for anchor in sorted(anchors - set(self.ids))]
        if self.h1 != 1:
            problems.append(f"{self.h1} titres <h1>")
        if not self.title.strip():
            problems.append("pas de <title>")
        return problems


def _member(email: str) -> Member:
    return db.session.scalar(select(Member).where(Member.email == email))


def _topic(title_start: str) -> Topic:
    """A demo topic by the start of its title, loaded as the views load it."""
    topic_id = db.session.scalar(select(Topic.id).where(Topic.title.startswith(title_start)))
    return forum_queries.read_topic(topic_id)


def _category(slug: str) -> Category:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def _post(topic: Topic, number: int) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == number))


def _registration_requests(admin: Member) -> None:
    """A pair's request waiting for its référent (address confirmed), and a hors pair's
    pending invitation."""
    lea = membership.register(
        name="Léa Nouvelle",
        email="lea.nouvelle@apec.example",
        network_code="apec",
        organisation="Centre Apec de Lyon",
        region_code="auvergne-rhone-alpes",
        motivation="Je débute comme consultante.",
        password="une-phrase-de-passe-longue",
    )
    membership.confirm_email(make_token(lea, "confirm"))
    membership.invite(
        admin,
        email="expert@exemple.fr",
        name="Expert Invité",
        statut="hors_pair",
        network_code="expert",
        region_code="bretagne",
        organisation="Cabinet d'études",
    )


def _build_forum(app: Flask) -> None:
    """The demo data (`make run`), plus what a living forum soon holds and the demo lacks:
    moderation on every kind of object, a topic moved across the wall, private messages,
    an attachment, a former member, a suspended one, requests waiting for a référent."""
    assert load_demo_data()
    m = {key: _member(email) for key, email in ROLES.items() if email}
    anim, admin = m["animation"], m["admin"]
    karim = _member("karim.benali@apec.example")
    sophie = _member("sophie.leroy@missionslocales.example")

    # Across the wall: a hors pair's exchange (answered by a pair, so she was notified)
    # moves into the pairs' forum; another one is relayed to the pairs.
    moved = _topic("Cartographie régionale des formations")
    moderation.move_topic(anim, moved, _category("outils-et-structures"), "Sujet de pairs.")
    relayed = _topic("Question au comité")
    moderation.relay_topic(anim, relayed, _category("la-comcep-on-en-parle"), "À lire.")

    # Posts: hidden reply, hidden topic, edited post, open report (the name edited out, the
    # earlier version hidden), solution, mention.
    long_topic = _topic("Combien de temps pour un premier entretien")
    moderation.hide_post(anim, _post(long_topic, 2), long_topic, "Hors sujet.")
    for title in ("Décrocher après une journée", "Astuce : citer", "Guide régional"):
        hidden = _topic(title)  # with replies; alone; a hors pair's, alone
        moderation.hide_post(anim, _post(hidden, 1), hidden, "Doublon.")
    forum.edit_post(m["pair"], _post(long_topic, 1), long_topic, "Une heure, le plus souvent ?")
    reported = _topic("Que remettez-vous au bénéficiaire")
    moderation.report_post(m["referent_apec"], _post(reported, 2), reported, "other", "Nom cité.")
    forum.edit_post(anim, _post(reported, 2), reported, "La grille, sans le nom cité.")
    moderation.set_revisions_hidden(anim, _post(reported, 2), reported, True, "Nom cité.")
    solved = _topic("Formation d'aide-soignante")
    forum.mark_solution(m["pair"], solved, _post(solved, 2))
    forum.reply(karim, long_topic, "Je rejoins @Claire Martin sur ce point.")

    # Topics: locked, announced, merged, split.
    moderation.set_locked(anim, _topic("Salarié envoyé par son employeur"), True, "Réglé.")
    moderation.set_pinned(anim, _topic("Charte de la communauté"), True, announcement=True)
    moderation.merge_topics(anim, _topic("Bénéficiaire qui ne revient pas"), reported, "Proches.")
    split_from = _topic("Cadre de 58 ans")
    last = _post(split_from, split_from.last_number)
    moderation.split_topic(
        anim, split_from, [last.id], "Suite : le projet du cadre", _category("suivi-du-parcours")
    )

    # Members: a former member and a suspended one, both with posts; two waiting requests.
    membership.anonymise(sophie, admin)
    moderation.suspend_member(anim, m["suspended"], None, "Propos déplacés.")
    moderation.silence_member(anim, karim, 30, "Un temps de recul.")
    with app.test_request_context("/"):  # the e-mails carry absolute links
        _registration_requests(admin)
    moderation.update_category_flags(admin, _category("divers"), {"read_only": True})

    # Pre-moderation on: a new member's first topic and first reply wait for the staff.
    settings.set_value(settings.PREMODERATION_POSTS, "1")
    newcomer = member_services.create_member(
        email=NEWCOMER,
        name="Nouveau Venu",
        statut="pair",
        network_code="apec",
        region_code="bretagne",
        password="une-phrase-de-passe-longue",
    )
    forum.create_topic(newcomer, _category("premier-entretien"), "Mon tout premier cas", "Bonjour.")
    forum.reply(newcomer, long_topic, "Ma première réponse, qui attend la modération.")

    # Private messages, one of them reported; a shared file.
    talk = messages.start_conversation(m["pair"], [karim], "Votre grille", "Tu peux me l'envoyer ?")
    messages.add_message(karim, talk, "Oui, je la dépose dans les outils.")
    first = db.session.scalar(
        select(PrivateMessage).where(
            PrivateMessage.conversation_id == talk.id, PrivateMessage.author_id == m["pair"].id
        )
    )
    moderation.report_message(karim, first, "other", "Ton blessant.")
    partners = messages.start_conversation(m["hors_pair"], [anim], "Relais", "Merci du relais.")
    messages.add_message(anim, partners, "Avec plaisir.")
    tool = _topic("Trame de synthèse")
    upload = FileStorage(io.BytesIO(PDF), filename="trame.pdf")
    attachments.attach(m["pair"], _post(tool, 1).id, attachments.read_uploads([upload]))

    forum.refresh_category_counters()
    db.session.commit()
    outbox.process()
    # A task that failed too often, for the admins' page of parked tasks.
    db.session.add(
        outbox.OutboxEvent(
            kind=indexing.POST_KIND,
            ref_id=_post(tool, 1).id,
            created_at=utcnow(),
            available_at=utcnow(),
            attempts=outbox.MAX_ATTEMPTS,
            last_error="TimeoutError('index occupé')",
            parked=True,
        )
    )
    db.session.commit()


@dataclass
class Crawl:
    """What one role's crawl saw: the final status of every URL fetched (redirects followed)
    and, for every link, the page it was found on."""

    statuses: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    found_on: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # URL → the exception it raised
    failures: list[str] = field(default_factory=list)
    posting_forms: int = 0  # forms that POST, on every page fetched: each checked for a token
    # (endpoint, form signature) → the pages showing such a form (FORM_PAGES at most)
    forms: dict[tuple[str, tuple], list[str]] = field(default_factory=dict)
    # endpoint → the query parameters its links and its search or filter forms use
    query_keys: dict[str, set[str]] = field(default_factory=dict)

    def pages(self, status: int = 200) -> set[str]:
        return {url for url, code in self.statuses.items() if code == status}


def _normalise(base: str, href: str) -> str | None:
    """The same-site path and query an `href` leads to, or None for what is not crawled."""
    url = urljoin(base, href.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != "localhost":
        return None  # external, mailto:, tel:, javascript:
    if parts.path == "/deconnexion":
        return None  # a POST button anyway; leaving would end the crawl
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))


def _visit(client: FlaskClient, crawl: Crawl, url: str) -> tuple[list[str], str]:
    """GET `url` and the redirects it answers, recording each hop's status; the hops and the
    final page's HTML (empty unless a 200 HTML page not fetched before)."""
    hops = [url]
    while len(hops) <= MAX_REDIRECTS:
        if url in crawl.redirects:  # a redirect met before through another link
            url = crawl.redirects[url]
            hops.append(url)
            continue
        if url in crawl.statuses:  # a page fetched before: its links are queued already
            return hops, ""
        try:
            response = client.get(url)
        except Exception as error:  # TESTING propagates what a server would answer with 500
            crawl.statuses[url] = 500
            crawl.errors[url] = f"{type(error).__name__}: {error}"
            return hops, ""
        try:
            crawl.statuses[url] = status = response.status_code
            location = response.headers.get("Location")
            if status not in REDIRECTS or location is None:
                html = status == 200 and response.mimetype == "text/html"
                return hops, response.get_data(as_text=True) if html else ""
        finally:
            response.close()
        target = _normalise(BASE + url, location)
        if target is None:  # a redirect off the site: not ours to follow
            return hops, ""
        crawl.redirects[url] = url = target
        hops.append(url)
    crawl.statuses[url] = 310  # too many redirects
    return hops, ""


def _problem(crawl: Crawl, hops: list[str], *, signed_in: bool) -> str | None:
    """Why following a link did not end well, or None: any 5xx on the way, a final status
    other than 200, or a signed-in member sent back to the login form."""
    statuses = [crawl.statuses[hop] for hop in hops]
    if any(status >= 500 for status in statuses):
        chain = " → ".join(f"{hop} {crawl.statuses[hop]}" for hop in hops)
        return f"{chain} {crawl.errors.get(hops[-1], '')}".rstrip()
    if statuses[-1] != 200 or (signed_in and urlsplit(hops[-1]).path == "/connexion"):
        via = f" (via {' → '.join(hops[1:])})" if len(hops) > 1 else ""
        return f"{statuses[-1]}{via}"
    return None


def _route(routes: MapAdapter, url: str) -> str:
    """The endpoint a URL belongs to ("?" when none), the crawl taking turns between them;
    with a "?" after it for a query string (another page or filter of a page seen)."""
    path, _, query = url.partition("?")
    try:
        endpoint = routes.match(path, method="GET")[0]
    except (HTTPException, RoutingException):  # unknown, or a redirect of the router itself
        endpoint = ""
    return f"{endpoint}?" if query or not endpoint else endpoint


def _action(routes: MapAdapter, page: str, form: Form) -> str:
    """The endpoint a form on `page` posts to ("?" when none)."""
    path = urlsplit(urljoin(BASE + page, form.action or page)).path
    try:
        return routes.match(path, method="POST")[0]
    except (HTTPException, RoutingException):
        return "?"


def crawl_as(
    client: FlaskClient, routes: MapAdapter, seeds: dict[str, str], *, signed_in: bool
) -> Crawl:
    """From `/` over every same-site `<a href>`, GET only: breadth-first, taking turns between
    endpoints so that MAX_PAGES fetches reach every kind of page before the hundredth post
    permalink; QUERY_VARIANTS query strings per path. `seeds` (URL → how the member gets
    there) start the crawl beside `/`."""
    crawl = Crawl()
    variants: Counter[str] = Counter()
    per_route: Counter[str] = Counter()
    queue: list[tuple[int, int, str]] = []  # (turn of its endpoint, order, URL)
    for url, how in {"/": "(départ)", **seeds}.items():
        crawl.found_on[url] = how
        queue.append((0, len(queue), url))
    while queue and len(crawl.statuses) < MAX_PAGES:
        _, _, link = heapq.heappop(queue)
        hops, html = _visit(client, crawl, link)
        problem = _problem(crawl, hops, signed_in=signed_in)
        if problem:
            crawl.failures.append(f"found on {crawl.found_on[link]} → {link} : {problem}")
        parser = LinkParser()
        parser.feed(html)
        if html:
            crawl.posting_forms += parser.posting_forms
            for action, names in parser.query_forms:
                path = urlsplit(urljoin(BASE + hops[-1], action or hops[-1])).path
                crawl.query_keys.setdefault(_route(routes, path), set()).update(names - {""})
            for form in parser.forms:
                for button in form.buttons():
                    key = (_action(routes, hops[-1], form), form.signature(button))
                    pages = crawl.forms.setdefault(key, [])
                    if len(pages) < FORM_PAGES and hops[-1] not in pages:
                        pages.append(hops[-1])
            crawl.failures += [f"{hops[-1]} : {problem}" for problem in parser.page_problems()]
        for href in parser.hrefs:
            url = _normalise(BASE + hops[-1], href)
            if url is None or url in crawl.found_on:
                continue
            path, _, query = url.partition("?")
            if query:
                if variants[path] >= QUERY_VARIANTS:
                    continue
                variants[path] += 1
            crawl.found_on[url] = hops[-1]
            route = _route(routes, url)
            turn = per_route[route] // CONTENT_ROUTES.get(route, 1)
            heapq.heappush(queue, (turn, len(crawl.found_on), url))
            per_route[route] += 1
    return crawl


def _walled_off_topics(role: str, crawl: Crawl) -> list[str]:
    """The topic pages the crawl opened in rubriques the role must not read."""
    forbidden = WALLED_OFF.get(role, set())
    opened = {int(m.group(1)): url for url in crawl.pages() if (m := TOPIC_PAGE.match(url))}
    rows = db.session.execute(
        select(Topic.id, Category.slug)
        .join(Category, Category.id == Topic.category_id)
        .where(Topic.id.in_(opened))
    )
    return [opened[topic_id] for topic_id, slug in rows if slug in forbidden]


# --- Sending the forms ------------------------------------------------------------------

TYPED_KINDS = {"text", "search", "email", "password", "number", "date", "url", "tel", "textarea"}
TYPED_TEXT = "Texte saisi par le robot de test"
TYPED_VALUES = {
    "email": "robot@exemple.fr",
    "password": "pas-le-bon-mot-de-passe",
    "number": "1",
    "url": "https://exemple.fr/",
    "tel": "01 02 03 04 05",
}
GONE, NOTHING_TO_TYPE = "(formulaire disparu)", "(rien à saisir)"
NOT_SENT = {"members.logout"}  # it would end the role's session, and the crawl with it
GENERIC_400 = "La requête n'a pas pu être traitée."


def _typed_value(control: Control) -> str:
    if control.kind == "date":
        return date.today().isoformat()
    return TYPED_VALUES.get(control.kind, TYPED_TEXT)


def _needs_typing(form: Form) -> bool:
    """Whether a person must type, tick or choose before sending (an empty text field, an
    unticked box, a choice left on its empty option)."""
    return any(
        (control.kind in TYPED_KINDS and not control.value.strip())
        or (control.kind in ("checkbox", "radio") and not control.on)
        or (control.kind == "select" and not control.value and any(control.options))
        for control in form.controls
    )


def form_data(form: Form, button: tuple[str, str] | None, *, typed: bool) -> MultiDict:
    """What a browser sends when `button` is pressed: as the page shows the form, or
    (`typed`) once every empty field is filled and every choice made: the first box or
    option of a group where none is ticked (ticking them all would only meet « 5 at most »)."""
    data: MultiDict = MultiDict()
    checked_groups = {c.name for c in form.controls if c.kind in ("checkbox", "radio") and c.on}
    for control in form.controls:
        value = control.value
        if control.kind == "file":
            continue  # no file chosen: the browser sends an empty part, Werkzeug drops it
        if control.kind == "textarea":  # HTML drops the newline that opens a textarea
            value = value.removeprefix("\r\n").removeprefix("\n")
        if control.kind in ("checkbox", "radio"):
            if not control.on:
                if not typed or control.name in checked_groups:
                    continue
                checked_groups.add(control.name)
        elif typed and control.kind == "select" and not value:
            value = next((option for option in control.options if option), "")
        elif typed and control.kind in TYPED_KINDS and not value.strip():
            value = _typed_value(control)
        data.add(control.name, value)
    if button and button[0]:
        data.add(*button)
    return data


@dataclass
class Sent:
    """What sending a role's forms met."""

    sent: Counter[str] = field(default_factory=Counter)  # endpoint → forms sent
    gone: int = 0  # forms no longer on their page when their turn came (an earlier one acted)
    failures: list[str] = field(default_factory=list)


def _find(
    html: str, page: str, routes: MapAdapter, key: tuple[str, tuple]
) -> tuple[Form, tuple[str, str] | None] | None:
    """The form `key` on `page`, and the button that sends it."""
    parser = LinkParser()
    parser.feed(html)
    return next(
        (
            (form, button)
            for form in parser.forms
            for button in form.buttons()
            if (_action(routes, page, form), form.signature(button)) == key
        ),
        None,
    )


def _send(
    client: FlaskClient,
    routes: MapAdapter,
    page: str,
    key: tuple[str, tuple],
    *,
    typed: bool,
    signed_in: bool,
) -> str | None:
    """Open `page` afresh, send its form `key` (a fresh CSRF token, the state of now) and
    follow the answer. Why it went wrong, or None when all is well; GONE when the form is no
    longer on its page, NOTHING_TO_TYPE when it is sent `typed` but has no field to fill."""
    with client.get(page) as response:
        html = response.get_data(as_text=True) if response.status_code == 200 else ""
    found = _find(html, page, routes, key)
    if found is None:
        return GONE
    form, button = found
    if typed and not _needs_typing(form):
        return NOTHING_TO_TYPE
    action = urlsplit(urljoin(BASE + page, form.action or page))
    data = form_data(form, button, typed=typed)
    url, chain, body = action.path, [], ""
    try:
        response = client.post(urlunsplit(("", "", action.path, action.query, "")), data=data)
        for _ in range(MAX_REDIRECTS + 1):
            chain.append(str(response.status_code))
            location = response.headers.get("Location")
            body = response.get_data(as_text=True)
            response.close()
            target = _normalise(BASE + url, location or "")
            if response.status_code not in REDIRECTS or not location or target is None:
                break
            chain.append(url := target)
            response = client.get(target)
    except Exception as error:  # TESTING propagates what a server would answer with 500
        return f"{' → '.join(chain)} {type(error).__name__}: {error}"
    status = response.status_code
    how = f"{'rempli' if typed else 'tel quel'} : {' → '.join(chain)}"
    if status >= 500 or status in (403, 404, 405) or status in REDIRECTS:
        return how
    if "<html" in body[:200]:  # the page it ends on (a preview, a refusal…) is a page too
        page = LinkParser()
        page.feed(body)
        if page.page_problems():
            return f"{how} ({' ; '.join(page.page_problems())})"
    if status < 400:
        if signed_in and urlsplit(url).path == "/connexion":
            return f"{how} (renvoyé à la connexion)"
        return None
    if not _needs_typing(form):
        return f"{how} (rien à saisir, et pourtant refusé)"
    explained = 'role="alert"' in body or "field__error" in body
    if not explained and ("error-page" not in body or GENERIC_400 in body):
        return f"{how} (refusé sans dire pourquoi)"
    lost = [
        control.name
        for control in form.controls
        if typed
        and control.kind in TYPED_KINDS - {"password"}
        and not control.value.strip()  # a field typed into, not one the page filled
        and f'name="{control.name}"' in body
        and escape(data.get(control.name, "")) not in body
    ]
    return f"{how} (saisie perdue : {', '.join(lost)})" if lost else None


def send_forms(client: FlaskClient, routes: MapAdapter, crawl: Crawl, *, signed_in: bool) -> Sent:
    """Every kind of form the crawl was shown, on up to FORM_PAGES pages: sent as shown,
    then filled in when it has something to fill. A form shown must be usable by its viewer:
    no 5xx, no 403/404, a button with nothing to type is not refused, and a refusal says why
    in French and keeps what was typed (SPEC §9)."""
    sent = Sent()
    for key, pages in crawl.forms.items():
        endpoint = key[0]
        if endpoint in NOT_SENT:
            continue
        for page in pages:
            for typed in (False, True):
                problem = _send(client, routes, page, key, typed=typed, signed_in=signed_in)
                if problem in (GONE, NOTHING_TO_TYPE):
                    sent.gone += problem == GONE and not typed  # typed: the first one acted
                    break
                sent.sent[endpoint] += 1
                if problem:
                    sent.failures.append(f"{endpoint} depuis {page} {problem}")
    return sent


# Values every field of a form gets at once (after none at all): what test_fuzz.py sends
# to the forms it names, here sent to every form a role is shown.
GARBAGE = [
    "",
    "\x00",
    "a\x00b",
    "-1",
    "9" * 30,
    "1e309",
    "NaN",
    "'; DROP TABLE posts; --",
    "<script>alert(1)</script>",
    "\u202egnp.exe",
    "{{ 7 * 7 }}",
    "x" * 200_000,
]


def send_garbage(client: FlaskClient, routes: MapAdapter, crawl: Crawl) -> list[str]:
    """Each kind of form (on its first page), sent with no field, then with GARBAGE in
    every field but its token: whatever the answer, never a 5xx."""
    failures = []
    for key, pages in crawl.forms.items():
        if key[0] in NOT_SENT:
            continue
        with client.get(pages[0]) as response:
            html = response.get_data(as_text=True) if response.status_code == 200 else ""
        found = _find(html, pages[0], routes, key)
        if found is None:
            continue  # gone: an earlier form acted on its page
        form, button = found
        action = urlsplit(urljoin(BASE + pages[0], form.action or pages[0]))
        url = urlunsplit(("", "", action.path, action.query, ""))
        token = [(c.name, c.value) for c in form.controls if c.name == "csrf_token"]
        names = {c.name for c in form.controls if c.name != "csrf_token" and c.kind != "file"}
        pressed = [button] if button and button[0] else []
        for value in [None, *GARBAGE]:
            fields = [] if value is None else [(name, value) for name in sorted(names)]
            data = MultiDict(token + fields + pressed)
            shown = "aucun champ" if value is None else repr(value[:20])
            try:
                with client.post(url, data=data) as response:
                    status = response.status_code
            except Exception as error:  # TESTING propagates what a server would answer with 500
                failures.append(f"{key[0]} ({url}) {shown} : {type(error).__name__}: {error}")
                continue
            if status >= 500:
                failures.append(f"{key[0]} ({url}) {shown} : {status}")
    return failures


ODD_QUERY_VALUES = ["", "-1", "0", "9" * 30, "\x00", "x" * 5000, "1.5", "%", "[]", "é"]


def query_garbage(client: FlaskClient, routes: MapAdapter, crawl: Crawl) -> list[str]:
    """Each page the crawl opened (one per endpoint), asked again with odd values in each
    query parameter its links and its search or filter forms use (and `page`): whatever the
    answer, never a 5xx."""
    keys: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    # Pages that opened first; 5xx included, as the link test reports those.
    for url in sorted(crawl.statuses, key=lambda url: (crawl.statuses[url] != 200, url)):
        path, _, query = url.partition("?")
        endpoint = _route(routes, path)
        first.setdefault(endpoint, path)
        keys.setdefault(endpoint, {"page"}).update(parse_qs(query, keep_blank_values=True))
        keys[endpoint] |= crawl.query_keys.get(endpoint, set())
    failures = []
    for endpoint, path in first.items():
        for key in sorted(keys[endpoint]):
            for value in ODD_QUERY_VALUES:
                try:
                    with client.get(path, query_string={key: value}) as response:
                        status = response.status_code
                except Exception as error:  # TESTING propagates what would be a 500
                    failures.append(f"{path}?{key}={value[:20]!r} : {type(error).__name__}")
                    continue
                if status >= 500:
                    failures.append(f"{path}?{key}={value[:20]!r} : {status}")
    return failures


@pytest.fixture
def forum_data(app: Flask) -> None:
    """The forum every role crawls, built afresh for each (the database is emptied after
    every test)."""
    _build_forum(app)


# Pages no link leads to, by design: opened from an e-mail, or called by the pages' scripts
# and by the servers' probes. Every other page must be linked for someone.
NOT_LINKED = {
    "members.accept_invitation",  # the invitation e-mail
    "members.account_form",  # an account form's address, reloaded after a refusal
    "members.confirm",  # the registration e-mail
    "members.confirm_email_change",  # the e-mail sent to a new address
    "members.reset_password",  # the password e-mail
    "notifications.unsubscribe",  # the footer of every e-mail
    "notifications.mention_suggestions",  # JSON for the names offered while typing
    "moderation.merge_candidates",  # JSON for the topics offered by the merge form
    "ops.health",  # probes
    "ops.metrics",
    "static",
}
# Who crawls again once a role has sent its forms (the role itself by default).
AFTER_FORMS = {role: [role, "pair", "hors_pair"] for role in ("animation", "admin")}
# Forms no page shows, by design: those of the pages opened from an e-mail.
NOT_SHOWN = {
    "members.accept_invitation",
    "members.confirm",
    "members.confirm_email_change",
    "members.reset_password",
    "notifications.unsubscribe",
}
# Actions only the pages' scripts call, each doing without reloading what a form sends
# without JavaScript.
SCRIPT_ONLY = {"forum.preview"}  # the editors' « Prévisualiser » (their forms send it too)
# Endpoints each role's crawl reached, and those its pages' forms post to, kept across this
# module's tests (the data is rebuilt for each, the endpoints are the same): see the last test.
_REACHED: dict[str, set[str]] = {}
_POSTED_TO: dict[str, set[str]] = {}


def _client(app: Flask, role: str, member: Member | None = None) -> RequestScopedClient:
    """A client signed in as the role's demo member (or as `member`)."""
    email = ROLES[role]
    member = member or (_member(email) if email else None)
    user = {"user": member} if member else {}
    return RequestScopedClient(app, app.response_class, use_cookies=True, **user)


def _crawl(app: Flask, role: str, member: Member | None = None) -> Crawl:
    """One role's crawl (as `member`, one like the role's demo member), with CSRF tokens on
    as in production (the suite's other tests post without them)."""
    signed_in = role not in SIGNED_OUT
    seeds = SEARCH if signed_in else {}
    client = _client(app, role, member)
    return crawl_as(client, app.url_map.bind("localhost"), seeds, signed_in=signed_in)


def _profile(role: str) -> tuple[str, frozenset[str], frozenset[int]]:
    """What the role's demo member sees by: statut, roles, groups."""
    model = _member(ROLES[role] or "")
    return model.statut, model.role_set, frozenset(group.id for group in model.groups)


def _like(profile: tuple[str, frozenset[str], frozenset[int]]) -> Member:
    """A member in good standing with this statut, roles and groups: the staff's forms may
    have suspended or anonymised the role's demo member itself."""
    statut, roles, groups = profile
    candidates = db.session.scalars(
        select(Member)
        .where(
            Member.statut == statut,
            Member.state == "active",
            Member.suspended_until.is_(None),
            Member.silenced_until.is_(None),
        )
        .order_by(Member.id.desc())
    )
    return next(m for m in candidates if m.role_set == roles and {g.id for g in m.groups} == groups)


def _crawl_role(app: Flask, role: str) -> Crawl:
    """`_crawl`, its endpoints recorded in `_REACHED` and `_POSTED_TO`."""
    crawl = _crawl(app, role)
    routes = app.url_map.bind("localhost")
    _REACHED[role] = {_route(routes, url).rstrip("?") for url in crawl.statuses}
    _POSTED_TO[role] = {endpoint for endpoint, _ in crawl.forms}
    return crawl


@pytest.mark.parametrize("role", list(ROLES))
def test_every_link_shown_to_a_role_opens_for_that_role(
    app: Flask, forum_data: None, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No allow-list: every link ends on a 200 for whoever was shown it. A visitor's links
    may end on the login form (the app's answer to a visitor); a member's may not. Every page
    fetched has its title and one `<h1>`, no `id` twice, and a CSRF token in each form that
    posts."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    crawl = _crawl_role(app, role)
    assert not crawl.failures, f"{role}:\n" + "\n".join(crawl.failures)
    assert crawl.posting_forms > 0  # the token check saw forms (the login form, at least)
    reached = crawl.pages()
    assert MUST_REACH[role] <= reached, MUST_REACH[role] - reached
    for pattern in MUST_REACH_ONE.get(role, []):
        assert any(pattern.match(url) for url in reached), pattern.pattern
    assert len(reached) >= MIN_PAGES.get(role, MIN_PAGES_SIGNED_IN), sorted(reached)
    topics = {match.group(1) for url in reached if (match := TOPIC_PAGE.match(url))}
    assert len(topics) >= MIN_TOPICS.get(role, 0), sorted(reached)
    assert not _walled_off_topics(role, crawl), "a topic opened through the wall"


@pytest.mark.parametrize("role", list(ROLES))
def test_every_form_shown_to_a_role_works_for_that_role(
    app: Flask, forum_data: None, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind of form the crawl met (on two pages at most) is sent as shown, then filled
    in, with its CSRF token as in production. No 5xx and no 403/404: a form shown is a form
    its viewer may use. A button with nothing to fill is not refused; a refusal is a 4xx
    that says why in French and shows back what was typed."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    crawl = _crawl_role(app, role)
    others = {viewer: _profile(viewer) for viewer in AFTER_FORMS.get(role, []) if viewer != role}
    routes = app.url_map.bind("localhost")
    sent = send_forms(_client(app, role), routes, crawl, signed_in=role not in SIGNED_OUT)
    assert not sent.failures, f"{role}:\n" + "\n".join(sent.failures)
    assert sum(sent.sent.values()) >= MIN_FORMS_SENT[role], sent
    assert MUST_SEND.get(role, set()) <= sent.sent.keys(), sent
    assert sent.gone <= sum(sent.sent.values()) // 4, sent  # the pass sent what it saw
    # What the forms changed (topics moved, split, merged, hidden; members suspended…)
    # leaves no broken link or hole in the wall, for the role and for those it acted on.
    for viewer in AFTER_FORMS.get(role, [role]):
        again = _crawl(app, viewer, _like(others[viewer]) if viewer in others else None)
        assert not again.failures, f"{viewer} after {role}:\n" + "\n".join(again.failures)
        assert not _walled_off_topics(viewer, again), f"{viewer} after {role}: the wall"


@pytest.mark.parametrize("role", ["anonymous", "pair", "hors_pair", "animation", "admin"])
def test_every_page_and_form_shown_to_a_role_survives_odd_input(
    app: Flask, forum_data: None, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC §9: no 500 on any input, the address bar included (a page number, a filter, a
    date, a search, as links write them and as no link does), whichever form it is typed
    into. Queries first: they change nothing the forms then act on."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    crawl = _crawl(app, role)
    client, routes = _client(app, role), app.url_map.bind("localhost")
    failures = query_garbage(client, routes, crawl) + send_garbage(client, routes, crawl)
    assert not failures, f"{role}:\n" + "\n".join(failures)


def test_every_page_is_linked_for_someone(
    app: Flask, forum_data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page only reached by typing its address is one its users never find (the
    invitations, the site's settings, a member's administration once were). Roles the
    tests above did not crawl in this run (a `-k` selection) are crawled here."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    for role in ROLES.keys() - _REACHED.keys():
        _crawl_role(app, role)
    reached = set().union(*_REACHED.values())
    pages = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert pages - reached - NOT_LINKED == set()
    assert pages >= NOT_LINKED  # no stale entry hiding a renamed page
    posted_to = set().union(*_POSTED_TO.values())
    actions = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    # No action only a script could reach, but one a form without JavaScript does as well.
    assert actions - posted_to - NOT_SHOWN - SCRIPT_ONLY == set()
    assert actions >= NOT_SHOWN | SCRIPT_ONLY
