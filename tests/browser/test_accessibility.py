"""Every page of the built book passes axe-core's WCAG 2 A and AA rules, in the light and dark
themes, as pydata-sphinx-theme (the theme's family) checks its own pages.

A critical or serious violation fails the page's test; moderate and minor ones are listed at
the end of the run (see ``pytest_terminal_summary`` in conftest.py). Every finding is also
written to ``test-artifacts/axe/<theme>/<page>.json``, the data behind the counts by rule.

axe-core runs in the page, injected from ``_vendor/axe-core/`` (``make vendor`` fetches it
from npm); it is never part of the built book.
"""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    AXE_CORE_JS,
    AXE_NOTES,
    HTML_DIR,
    block_non_local,
    open_drawn_page,
)
from tests.browser.test_book_pages import toc_pages

pytestmark = pytest.mark.browser

#: The rule sets: WCAG 2, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa"]

#: Impacts that fail a page; the others are reported.
FAILING_IMPACTS = {"critical", "serious"}

#: The two colour schemes readers can choose (pydata-sphinx-theme's light/dark button).
THEMES = ("light", "dark")

#: (page, rule) pairs axe may flag without failing, each with the reason it cannot be fixed
#: in the book's own code. Keep this short: a fix at the source is always preferred.
EXCLUDED_RULES: dict[tuple[str, str], str] = {}

NO_TRANSITIONS_CSS = "*, *::before, *::after { transition: none !important; }"

#: What pydata-sphinx-theme's light/dark button does to the page.
SET_THEME_JS = """(theme) => {
  document.documentElement.dataset.mode = theme;
  document.documentElement.dataset.theme = theme;
}"""

RUN_AXE_JS = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations'],
  });
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                              summary: n.failureSummary})),
  }));
}"""


def audit(browser, book_url: str, name: str) -> dict[str, list[dict]]:
    """theme -> axe-core's violations on page ``name``, drawn once, offline, in each theme.

    The theme is switched in the page the way the theme's own button does it, so the
    figures and widgets are drawn once for both runs.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", block_non_local)
    page = context.new_page()
    found = {}
    try:
        open_drawn_page(page, book_url, name)
        page.wait_for_timeout(500)  # let widget views, MathJax and course-a11y.js settle
        page.add_script_tag(path=str(AXE_CORE_JS))
        # The theme fades colours over a moment; axe must see the end state, not a blend.
        page.add_style_tag(content=NO_TRANSITIONS_CSS)
        for theme in THEMES:
            page.evaluate(SET_THEME_JS, theme)
            shown = page.evaluate("() => getComputedStyle(document.documentElement).colorScheme")
            assert shown == theme, f"{name}: asked for the {theme} theme, the page shows {shown!r}"
            found[theme] = page.evaluate(RUN_AXE_JS, WCAG_TAGS)
    finally:
        context.close()
    for theme, violations in found.items():
        folder = ARTIFACTS / "axe" / theme
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name.replace('/', '__')}.json").write_text(json.dumps(violations, indent=1))
    return found


def describe(violation: dict) -> str:
    targets = "; ".join(
        f"{n['target']} ({(n['summary'] or '').splitlines()[-1].strip()})"
        for n in violation["nodes"][:4]
    )
    more = len(violation["nodes"]) - 4
    return (
        f"{violation['id']} [{violation['impact']}] x{len(violation['nodes'])}: "
        f"{violation['help']}: {targets}" + (f" ... and {more} more" if more > 0 else "")
    )


def test_axe_core_is_vendored():
    assert AXE_CORE_JS.exists(), f"{AXE_CORE_JS} is missing: run `make vendor`"


@pytest.mark.parametrize("name", toc_pages())
def test_page_has_no_serious_accessibility_violation(browser, book_url, name):
    if not AXE_CORE_JS.exists():
        pytest.fail(f"{AXE_CORE_JS} is missing: run `make vendor`")
    failing = []
    for theme, violations in audit(browser, book_url, name).items():
        for violation in violations:
            if (name, violation["id"]) in EXCLUDED_RULES:
                continue
            line = f"{name} ({theme} theme): {describe(violation)}"
            (failing if violation["impact"] in FAILING_IMPACTS else AXE_NOTES).append(line)
    assert not failing, f"{name} fails WCAG 2 A/AA:\n" + "\n".join(failing)


def pages_with_slider_figures() -> list[str]:
    """The pages holding a plotly figure with a slider (a widget's static stand-in)."""
    return [
        name
        for name in toc_pages()
        if (HTML_DIR / f"{name}.html").exists()
        and '"sliders":' in (HTML_DIR / f"{name}.html").read_text()
    ]


SLIDER_STATE_JS = """() => {
  const slider = document.activeElement;
  const plot = slider.closest('.js-plotly-plot');
  return {role: slider.getAttribute('role'), name: slider.getAttribute('aria-label'),
          now: slider.getAttribute('aria-valuenow'), text: slider.getAttribute('aria-valuetext'),
          shown: plot.querySelector('.slider-group > .slider-label').textContent};
}"""


def test_figure_sliders_are_operated_by_keyboard(browser, book_url):
    pages = pages_with_slider_figures()
    assert pages, "no page of the book has a slider figure to try"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", block_non_local)
    page = context.new_page()
    try:
        open_drawn_page(page, book_url, pages[0])
        slider = page.locator('.js-plotly-plot g.slider-container[role="slider"]').first
        slider.wait_for(state="attached", timeout=15_000)
        slider.focus()
        before = page.evaluate(SLIDER_STATE_JS)
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        after = page.evaluate(SLIDER_STATE_JS)
        page.keyboard.press("End")
        page.wait_for_timeout(300)
        at_end = page.evaluate(SLIDER_STATE_JS)
    finally:
        context.close()
    assert before["role"] == "slider" and before["name"], before
    assert (before["now"], after["now"]) == ("0", "2"), (before, after)
    assert after["text"] in after["shown"] and after["shown"] != before["shown"], (before, after)
    assert int(at_end["now"]) > 2, at_end
