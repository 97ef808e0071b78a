"""XSS in a real browser (SPEC §9): the payloads of payloads.py, stored as topic titles,
bodies, quoted replies, display names, profile fields, report comments, moderation reasons and
registration requests, typed into forms and into the search box, never run in Chromium.

The pages are loaded with the Content-Security-Policy *bypassed*: what is tested here is the
escaping and the sanitising alone, not the CSP that would also stop an inline script. The CSP
itself is tested separately, with a script injected past the sanitiser.

On every page: no payload hit (`__x()`, `window.__xss`, a dialog), no event-handler or style
attribute, no script but the app's own files, no frame, object, SVG or <base>, no link or
source with a javascript:, data: or vbscript: URL, only the sanitiser's tags and attributes
inside post bodies, and no navigation away.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask import current_app
from sqlalchemy import select

from comcep import outbox
from comcep.extensions import db
from comcep.forum import services as forum
from comcep.forum.models import Post, Topic
from comcep.members.models import Member
from comcep.members.services import create_member
from comcep.moderation import services as moderation
from comcep.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, quote_markdown
from tests.browser.conftest import Tab
from tests.browser.payloads import PAYLOADS, storable
from tests.conftest import PASSWORD
from tests.factories import category

RECORDER_JS = """(() => {
  const hits = [];
  Object.defineProperty(window, '__xssHits', {value: hits});
  window.__x = (n) => { hits.push('__x(' + n + ')'); };
  let flag = 0;
  Object.defineProperty(window, '__xss', {
    get: () => flag, set: (v) => { flag = v; hits.push('__xss=' + v); },
  });
})();"""

AUDIT_JS = """async ([allowedTags, allowedAttributes]) => {
  // Let a frame be drawn and pending timers run (SVG animations, onerror, setTimeout).
  await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const problems = [];
  const where = el => `<${el.tagName.toLowerCase()}${el.id ? ' id=' + el.id : ''}>`;
  for (const hit of window.__xssHits || []) problems.push('exécuté : ' + hit);
  if (window.__xss) problems.push('window.__xss = ' + window.__xss);
  const bad = /^(javascript|data|vbscript):/i;
  const clean = v => (v || '').replace(/[\\u0000-\\u0020\\u007f-\\u009f]/g, '');
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) problems.push(`attribut ${name} sur ${where(el)}`);
      if (name === 'style') problems.push(`attribut style sur ${where(el)}`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'srcdoc']
          .includes(name) && bad.test(clean(attr.value))) {
        problems.push(`${name}="${attr.value.slice(0, 60)}" sur ${where(el)}`);
      }
    }
  }
  for (const a of document.querySelectorAll('a')) {
    if (bad.test(clean(a.getAttribute('href'))) || bad.test(a.protocol || '')) {
      problems.push('lien ' + a.href.slice(0, 60));
    }
  }
  for (const s of document.querySelectorAll('script')) {
    const own = s.src && new URL(s.src).origin === location.origin
      && new URL(s.src).pathname.startsWith('/static/');
    if (!own && s.type !== 'application/json') problems.push('script ' + s.outerHTML.slice(0, 80));
  }
  const forbidden = 'iframe, frame, object, embed, svg, math, base, meta[http-equiv], '
    + 'main style, main link, body style, body link, marquee, video, audio';
  for (const el of document.querySelectorAll(forbidden)) problems.push('élément ' + where(el));
  for (const body of document.querySelectorAll('.post__body')) {
    for (const el of body.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      if (!allowedTags.includes(tag)) problems.push(`<${tag}> dans un message`);
      for (const attr of el.attributes) {
        if (!(allowedAttributes[tag] || []).includes(attr.name) && attr.name !== 'rel') {
          problems.push(`${attr.name} sur <${tag}> dans un message`);
        }
      }
    }
  }
  return problems;
}"""

ALLOWED = [sorted(ALLOWED_TAGS), ALLOWED_ATTRIBUTES]


class Audit:
    """Visits pages in one tab and collects every problem, named by page."""

    def __init__(self, tab: Tab) -> None:
        self.tab = tab
        self.problems: list[str] = []
        self.pages = 0
        tab.page.context.add_init_script(RECORDER_JS)

    def visit(self, path: str, status: int | None = 200) -> None:
        self.tab.goto(path, status=status)
        self.check(path)

    def check(self, label: str) -> None:
        page = self.tab.page
        self.pages += 1
        found = page.evaluate(AUDIT_JS, ALLOWED)
        if not page.url.startswith(self.tab.base_url + "/"):
            found.append(f"navigation vers {page.url}")
        found += [f"dialogue {d}" for d in self.tab.dialogs]
        self.tab.dialogs.clear()
        self.problems += [f"{label} : {problem}" for problem in found]

    def assert_clean(self) -> None:
        assert self.pages > 0
        report = "\n".join(self.problems[:60])
        assert not self.problems, f"{len(self.problems)} problème(s) :\n{report}"


@pytest.fixture
def audit(open_tab: Callable[..., Tab]) -> Callable[[Member | None], Audit]:
    def make(member: Member | None) -> Audit:
        tab = open_tab(bypass_csp=True)
        audit = Audit(tab)
        if member is not None:
            tab.login(member)
        return audit

    return make


def _member(n: int, name: str, organisation: str) -> Member:
    return create_member(
        email=f"xss{n}@exemple.fr",
        name=name[:80],
        statut="pair",
        network_code="france-travail",
        region_code="bretagne",
        password=PASSWORD,
        organisation=organisation[:160],
    )


def _plant(animatrice: Member) -> tuple[list[Member], list[Topic]]:
    """One payload-named member per payload, with the payload as organisation, a topic
    (title and body), a reply quoting the previous author, a report, a hidden reply whose
    reason is the payload, and a registration request carrying the payload everywhere."""
    authors = [_member(n, storable(text), storable(text)) for n, (_, text) in enumerate(PAYLOADS)]
    rubrique = category("premier-entretien")
    topics = []
    for n, (_, raw) in enumerate(PAYLOADS):
        text = storable(raw)
        author, replier = authors[n], authors[(n + 1) % len(authors)]
        topic = forum.create_topic(author, rubrique, text, text)
        first = db.session.scalars(select(Post).where(Post.topic_id == topic.id)).one()
        reply = forum.reply(replier, topic, quote_markdown(author.display_name, text, first.id))
        moderation.report_post(replier, first, topic, "other", text[:2000])
        if n % 2:
            moderation.hide_post(animatrice, reply, topic, text)
        topics.append(topic)
    for n, (_, raw) in enumerate(PAYLOADS):
        text = storable(raw)
        request = _member(1000 + n, text, text)
        request.state, request.registration_status, request.motivation = (
            "pending",
            "awaiting",
            text,
        )
        request.email_confirmed_at = request.created_at
    db.session.commit()
    outbox.process()
    return authors, topics


def test_the_audit_catches_a_payload_that_does_run(
    make_member: Callable[..., Member], audit: Callable[[Member | None], Audit]
) -> None:
    """Control: with the CSP bypassed, markup slipped into a page by hand does run, and the
    audit reports it; a clean result elsewhere therefore means something."""
    view = audit(make_member())
    view.visit("/")
    view.tab.page.evaluate(
        """() => {
          document.querySelector('main').insertAdjacentHTML('beforeend',
            '<img src="/n-existe-pas.png" onerror="__x(1)"><a href="javascript:__x(2)">x</a>');
          setTimeout(() => alert('piège'), 0);
        }"""
    )
    view.tab.page.wait_for_function("() => window.__xssHits.length > 0")
    view.tab.page.wait_for_timeout(100)
    view.check("contrôle")
    found = "\n".join(view.problems)
    for expected in ["exécuté : __x(1)", "attribut onerror", "lien javascript:", "dialogue alert"]:
        assert expected in found, found


def test_stored_payloads_never_run_on_any_page(
    make_member: Callable[..., Member], audit: Callable[[Member | None], Audit]
) -> None:
    animatrice = make_member(roles=("animation",), name="Animatrice")
    authors, topics = _plant(animatrice)
    staff = audit(animatrice)
    for path in ["/", "/actifs", "/non-lus", "/moderation", "/moderation/inscriptions"]:
        staff.visit(path)
    staff.visit("/moderation/journal")
    config = current_app.config
    for page in range(1, math.ceil(len(topics) / config["TOPICS_PER_PAGE"]) + 1):
        staff.visit(f"/r/premier-entretien?page={page}")
    for page in range(1, math.ceil((len(authors) + 1) / config["MEMBERS_PER_PAGE"]) + 1):
        staff.visit(f"/membres?page={page}")
    for topic in topics:
        staff.visit(f"/t/{topic.id}")
        first = db.session.scalar(
            select(Post.id).where(Post.topic_id == topic.id, Post.number == 1)
        )
        staff.visit(f"/t/{topic.id}/repondre?citer={first}")
    for author in authors:
        staff.visit(f"/membres/{author.id}")
    staff.assert_clean()
    # Seen by a pair (hidden replies as placeholders), and in the header of payload-named
    # members once logged in (« Bienvenue, <name> » is flashed too).
    for author in authors[-10:-6]:
        member_view = audit(author)
        member_view.check("/ après connexion")
        member_view.visit(f"/t/{topics[1].id}")
        member_view.assert_clean()


def test_payloads_typed_as_search_queries_never_run(
    make_member: Callable[..., Member], audit: Callable[[Member | None], Audit]
) -> None:
    pair = make_member()
    rubrique = category("premier-entretien")
    topic = forum.create_topic(pair, rubrique, "Réponses piégées", "Le sujet des réponses.")
    for _, raw in PAYLOADS:
        forum.reply(pair, topic, f"piège {storable(raw)}")
    db.session.commit()
    outbox.process()
    view = audit(pair)
    for _, raw in PAYLOADS:
        # A malformed query answers 400 with a French message: both must be harmless.
        view.tab.goto(f"/recherche?q={quote(raw, safe='')}", status=None)
        view.check(f"recherche {raw[:40]!r}")
    # Queries that find the payloads: highlighted snippets are marked safe in the template.
    for word in ["piège", "script", "onerror", "javascript", "img", "svg", "lien"]:
        view.visit(f"/recherche?q={quote(word)}")
        assert view.tab.page.locator(".search-hit").count() > 0, word
    # The header search box, typed as a person would.
    for _, raw in PAYLOADS[:12]:
        view.tab.page.locator("#header-q").fill(raw)
        view.tab.page.locator("#header-q").press("Enter")
        view.tab.page.wait_for_load_state()
        view.check(f"boîte de recherche {raw[:40]!r}")
    view.assert_clean()


def test_payloads_typed_into_forms_never_run(
    make_member: Callable[..., Member], audit: Callable[[Member | None], Audit]
) -> None:
    pair = make_member()
    view = audit(pair)
    page = view.tab.page
    everything = "\n\n".join(storable(raw) for _, raw in PAYLOADS)
    for _, raw in PAYLOADS[::6]:
        # New topic: a payload as title, all of them as body, « Prévisualiser ».
        view.visit("/r/premier-entretien/nouveau-sujet")
        page.locator("#title").fill(storable(raw))
        page.locator("#body").fill(everything)
        page.get_by_role("button", name="Prévisualiser").click()
        page.locator(".preview .post__body").wait_for()  # shown in place (comcep.js)
        view.check(f"aperçu, titre {raw[:40]!r}")
        assert page.locator(".preview").count() == 1
    # Control characters are refused with a message; the page that says so is harmless too.
    view.visit("/r/premier-entretien/nouveau-sujet")
    page.locator("#title").fill("Un titre avec <scr\x00ipt>__x(0)</scr\x00ipt>")
    page.locator("#body").fill("<img src=x one\x00rror=__x(0)>")
    page.get_by_role("button", name="Publier le sujet").click()
    page.wait_for_load_state()
    view.check("sujet refusé (caractères de contrôle)")
    assert page.locator(".field__error").count() >= 1
    # Published through the form, then read back.
    view.visit("/r/premier-entretien/nouveau-sujet")
    page.locator("#title").fill('"><img src=x onerror=__x(999)> sujet publié')
    page.locator("#body").fill(everything)
    page.get_by_role("button", name="Publier le sujet").click()
    page.wait_for_url("**/t/**")
    view.check("sujet publié par le formulaire")
    view.assert_clean()
    # A registration request typed into /inscription, then read by the animatrice.
    visitor = audit(None)
    visitor.visit("/inscription")
    form = visitor.tab.page
    form.locator("#name").fill('"><img src=x onerror=__x(998)>'[:80])
    form.locator("#email").fill("piege@exemple.fr")
    form.locator("#network").select_option("apec")
    form.locator("#organisation").fill("<svg onload=__x(997)> Agence '-__x(996)-'")
    form.locator("#region").select_option("bretagne")
    form.locator("#motivation").fill(everything[:1500])  # CRLF once sent: under 2 000
    form.locator("#password").fill("Un-mot-de-passe-2026")
    form.get_by_role("button", name="Envoyer ma demande").click()
    form.wait_for_load_state()
    visitor.check("inscription envoyée")
    visitor.assert_clean()
    assert form.locator(".error-summary").count() == 0, form.locator("main").inner_text()
    request = db.session.scalar(select(Member).where(Member.email == "piege@exemple.fr"))
    request.registration_status, request.email_confirmed_at = "awaiting", request.created_at
    db.session.commit()
    staff = audit(make_member(roles=("animation",)))
    staff.visit("/moderation/inscriptions")
    staff.assert_clean()
    assert staff.tab.page.get_by_text("Agence '-__x(996)-'").count() == 1


HTML_PAGES = ["/connexion", "/inscription", "/", "/r/premier-entretien", "/recherche?q=cpf"]


def test_html_pages_carry_a_strict_csp_and_the_usual_security_headers(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    tab = open_tab()
    for path in HTML_PAGES[:2]:
        _assert_security_headers(tab.goto(path).all_headers(), path)
    tab.login(make_member())
    for path in HTML_PAGES[2:] + ["/membres", "/page-qui-n-existe-pas"]:
        status = 404 if "n-existe" in path else 200
        _assert_security_headers(tab.goto(path, status=status).all_headers(), path)


def _assert_security_headers(headers: dict[str, str], path: str) -> None:
    assert headers["content-type"].startswith("text/html"), path
    csp = {
        part.split()[0]: part.split()[1:]
        for part in headers["content-security-policy"].split(";")
        if part.strip()
    }
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src, path
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "data:", "*"):
        assert unsafe not in script_src, path
    assert csp.get("object-src") == ["'none'"], path
    assert csp.get("base-uri") in (["'self'"], ["'none'"]), path
    assert headers["x-content-type-options"] == "nosniff", path
    assert headers.get("x-frame-options") == "DENY" or csp.get("frame-ancestors") == ["'none'"]
    assert headers["referrer-policy"] in (
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    )


def test_the_csp_stops_a_script_that_got_past_the_sanitiser(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    """Second line of defence: were an inline script or handler ever to reach a page, the
    browser would refuse to run it."""
    tab = open_tab(make_member())
    tab.page.context.add_init_script(RECORDER_JS)
    tab.goto("/")
    violations = tab.page.evaluate(
        """() => new Promise(resolve => {
          const seen = [];
          document.addEventListener('securitypolicyviolation',
            e => seen.push(e.violatedDirective));
          const script = document.createElement('script');
          script.textContent = '__x(1)';
          document.body.append(script);
          const img = document.createElement('img');
          img.setAttribute('onerror', '__x(2)');
          img.src = '/n-existe-pas.png';
          document.body.append(img);
          const link = document.createElement('a');
          link.href = 'javascript:__x(3)';
          document.body.append(link);
          link.click();
          setTimeout(() => resolve(seen), 300);
        })"""
    )
    assert tab.page.evaluate("window.__xssHits") == []
    assert any(v.startswith("script-src") for v in violations), violations
