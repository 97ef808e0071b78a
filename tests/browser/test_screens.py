"""The main pages at phone, tablet and desktop widths: screenshots kept as test artifacts
(tests/artifacts/screenshots/, git-ignored), no horizontal scrolling and no header links drawn
over one another, a header that leaves a phone its screen (SPEC §9: works on PC, smartphone
and tablet)."""

from __future__ import annotations

from collections.abc import Callable

from tests.browser.conftest import ARTIFACTS, CHARTS_DRAWN_JS, Site, Tab

SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = [375, 768, 1280]

OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && getComputedStyle(el).position !== 'fixed'
        && !el.closest('.visually-hidden, .skip-link, .table-scroll, pre')) {
      wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}`
                + ` (${Math.round(box.right)} px)`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width,
          wide: wide.slice(0, 10)};
}"""


OVERLAP_JS = """() => {
  const boxes = [...document.querySelectorAll(
      '.site-header a, .site-header button, .site-header input')]
    .map(el => [el, el.getBoundingClientRect()])
    .filter(([, r]) => r.width > 1 && r.height > 1);
  const clashes = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, r] = boxes[i], [b, s] = boxes[j];
      const dx = Math.min(r.right, s.right) - Math.max(r.left, s.left);
      const dy = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
      if (dx > 1 && dy > 1) {
        clashes.push(`${a.textContent.trim() || a.tagName} / ${b.textContent.trim() || b.tagName}`);
      }
    }
  }
  return clashes;
}"""


# On a phone the header leaves the page most of the first screen, staff's included (their
# ten links once wrapped to 336 px): brand, member's links, forum links, search.
PHONE_HEADER_MAX = 240
HEADER_HEIGHT_JS = "() => document.querySelector('.site-header').getBoundingClientRect().height"


def test_main_pages_fit_every_width_and_are_photographed(
    site: Site, open_tab: Callable[..., Tab]
) -> None:
    """One tab per member looks at each page, then narrows it: 375, 768 and 1280 px."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tabs: dict[int | None, Tab] = {}
    problems = []
    for name, (path, member) in site.pages.items():
        key = member.id if member else None
        if key not in tabs:
            tabs[key] = open_tab(member)
        page = tabs[key].page
        tabs[key].goto(path)
        if name == "analyses":
            page.wait_for_function(CHARTS_DRAWN_JS)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.evaluate("() => new Promise(requestAnimationFrame)")
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            layout = page.evaluate(OVERFLOW_JS)
            if layout["scrollWidth"] > layout["innerWidth"]:
                problems.append(f"{name} à {width} px : défilement horizontal {layout}")
            header = page.evaluate(HEADER_HEIGHT_JS)
            if width < 768 and header > PHONE_HEADER_MAX:
                problems.append(f"{name} à {width} px : en-tête de {header:.0f} px")
            clashes = page.evaluate(OVERLAP_JS)
            if clashes:
                problems.append(f"{name} à {width} px : liens de l'en-tête superposés {clashes}")
    assert len(list(SCREENSHOTS.glob("*.png"))) >= len(site.pages) * len(WIDTHS)
    assert not problems, "\n".join(problems)
