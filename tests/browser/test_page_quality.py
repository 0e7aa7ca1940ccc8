"""What readers and link previews see: titles, descriptions, labelled figures, no sideways scroll.

Each check runs on every page of _toc.yml, so a failure names the page that needs work.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import HTML_DIR, block_non_local
from tests.browser.test_book_pages import toc_pages

pytestmark = pytest.mark.browser

#: Viewport sizes (width, height) in CSS pixels: a laptop, and a phone held upright.
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}

#: Figures a screen reader can name: an <img> with alt text, or a plotly figure whose element
#: or an ancestor carries an aria-label, or that sits in a <figure> with a <figcaption>.
UNLABELLED_FIGURES_JS = """() => {
  const unlabelled = [];
  for (const img of document.querySelectorAll('article img, main img')) {
    if (!(img.getAttribute('alt') || '').trim()) unlabelled.push('img ' + img.getAttribute('src'));
  }
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const labelled = plot.closest('[aria-label]') !== null;
    const figure = plot.closest('figure');
    const captioned = figure !== null && figure.querySelector('figcaption') !== null;
    if (!labelled && !captioned) unlabelled.push('plotly figure #' + plot.id);
  }
  return unlabelled;
}"""

#: Plotly figures drawn without a visible title (plotly draws one as <text class="gtitle">).
UNTITLED_PLOTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(plot => !(plot.querySelector('.gtitle') || {textContent: ''}).textContent.trim())
  .map(plot => (plot.closest('[aria-label]') || plot).getAttribute('aria-label') || plot.id)"""

#: The elements that stick out past the right edge of the window (for the failure message).
OVERFLOWING_JS = """() => {
  const width = window.innerWidth, found = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      let parent = el.parentElement, clipped = false;
      while (parent) {
        const style = getComputedStyle(parent);
        if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) {
          clipped = true;
          break;
        }
        parent = parent.parentElement;
      }
      const name = el.tagName.toLowerCase() + '.' + String(el.className).split(' ')[0];
      if (!clipped) found.push(name + ' right=' + Math.round(box.right));
    }
  }
  return found.slice(0, 8);
}"""


def measure_overflow(page) -> dict:
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    offenders = page.evaluate(OVERFLOWING_JS) if scroll_width > inner_width + 1 else []
    return {"scroll_width": scroll_width, "inner_width": inner_width, "offenders": offenders}


def inspect_page(browser, book_url: str, name: str) -> dict:
    """Open ``name`` once, offline, and collect everything the tests below assert on."""
    assert (HTML_DIR / f"{name}.html").exists(), f"{name}.html was not built"
    width, height = VIEWPORTS["desktop"]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route("**/*", block_non_local)
    page = context.new_page()
    try:
        page.goto(f"{book_url}/{name}.html", wait_until="load")
        plots = page.locator(".js-plotly-plot")
        for index in range(plots.count()):
            plots.nth(index).locator(".main-svg").first.wait_for(state="attached", timeout=15_000)
        facts = {
            "title": page.title(),
            "descriptions": page.eval_on_selector_all(
                'meta[name="description"]', "tags => tags.map(t => t.content)"
            ),
            "unlabelled_figures": page.evaluate(UNLABELLED_FIGURES_JS),
            "untitled_plots": page.evaluate(UNTITLED_PLOTS_JS),
            "desktop": measure_overflow(page),
        }
        width, height = VIEWPORTS["phone"]
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)  # plotly redraws responsive figures after a resize
        facts["phone"] = measure_overflow(page)
    finally:
        context.close()
    return facts


@pytest.fixture(scope="session")
def page_facts(browser, book_url):
    """name -> facts of that page; each page is opened once however many tests ask."""
    cache: dict[str, dict] = {}

    def facts(name: str) -> dict:
        if name not in cache:
            cache[name] = inspect_page(browser, book_url, name)
        return cache[name]

    return facts


@pytest.mark.parametrize("name", toc_pages())
def test_page_has_a_title(page_facts, name):
    assert page_facts(name)["title"].strip(), f"{name} has an empty <title>"


@pytest.mark.parametrize("name", toc_pages())
def test_page_has_a_description_for_link_previews(page_facts, name):
    descriptions = page_facts(name)["descriptions"]
    assert len(descriptions) == 1, f"{name} has {len(descriptions)} <meta name='description'>"
    assert descriptions[0].strip(), f"{name}: empty description"


@pytest.mark.parametrize("name", toc_pages())
def test_figures_have_alt_text_or_a_caption(page_facts, name):
    unlabelled = page_facts(name)["unlabelled_figures"]
    assert not unlabelled, f"{name}: figures without alt text, aria-label or caption: {unlabelled}"


@pytest.mark.parametrize("name", toc_pages())
def test_plotly_figures_show_a_title(page_facts, name):
    untitled = page_facts(name)["untitled_plots"]
    assert not untitled, (
        f"{name}: plotly figures without a title (named here by aria-label): {untitled}"
    )


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
@pytest.mark.parametrize("name", toc_pages())
def test_page_does_not_scroll_sideways(page_facts, name, viewport):
    overflow = page_facts(name)[viewport]
    assert overflow["scroll_width"] <= overflow["inner_width"] + 1, (
        f"{name} at {overflow['inner_width']} px is {overflow['scroll_width']} px wide; "
        f"sticking out: {overflow['offenders']}"
    )
