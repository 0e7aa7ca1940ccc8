"""Every page of the built book, opened in headless Chromium with the network cut off."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.browser.conftest import HTML_DIR, ROOT, open_drawn_page

pytestmark = pytest.mark.browser

REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
GITHUB_PATH = REPOSITORY.removeprefix("https://github.com/")

#: Console errors we tolerate, each with the reason it is harmless.
KNOWN_HARMLESS_ERRORS = {
    # Jupyter Book 1 writes sphinx-thebe's settings script twice into every page; the second
    # copy fails to redeclare a const. Thebe (live code in the page) is not used by the course.
    r"Identifier 'THEBE_JS_URL' has already been declared": "sphinx-thebe's duplicated script",
    # pydata-sphinx-theme logs this on a first visit, when no light/dark choice is stored yet.
    r"Got invalid theme mode: \. Resetting to auto": "the theme's first-visit notice",
    # The console's echo of a 404 carries no URL; the 'http 404: URL' entries do and still count.
    r"^console\.error: Failed to load resource": "the console echo of a failed load",
}


def toc_pages() -> list[str]:
    """The documents of _toc.yml, in order (e.g. 'book/intro')."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


def is_notebook(page: str) -> bool:
    return (ROOT / f"{page}.ipynb").exists()


def harmful(errors: list[str]) -> list[str]:
    return [e for e in errors if not any(re.search(p, e) for p in KNOWN_HARMLESS_ERRORS)]


def test_every_toc_entry_has_a_page():
    missing = [p for p in toc_pages() if not (HTML_DIR / f"{p}.html").exists()]
    assert not missing, f"pages missing from {HTML_DIR}: {missing}"


@pytest.mark.parametrize("page", toc_pages())
def test_page_loads_offline_and_draws_everything(offline_page, book_url, page):
    # waits for every plotly figure, the first static widget and the first formula
    open_drawn_page(offline_page, book_url, page)

    # Everything is drawn; give late requests (fonts, lazy widget modules) a moment to show
    # up before checking that none left the machine. A fixed pause rather than "network
    # idle", which never settles on a busy 2-core machine.
    offline_page.wait_for_timeout(1_000)
    assert not harmful(offline_page.js_errors), offline_page.js_errors
    assert not offline_page.blocked_requests, (
        f"{page} tried to reach the network: {offline_page.blocked_requests}"
    )


@pytest.mark.parametrize("page", [p for p in toc_pages() if is_notebook(p)])
def test_launch_links_point_at_the_notebook(offline_page, book_url, page):
    offline_page.goto(f"{book_url}/{page}.html", wait_until="domcontentloaded")
    hrefs = offline_page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    binder = [h for h in hrefs if "mybinder.org" in h]
    colab = [h for h in hrefs if "colab.research.google.com" in h]
    assert binder and binder[0].endswith(f"urlpath=lab/tree/{page}.ipynb"), binder
    assert GITHUB_PATH in binder[0]
    assert colab and colab[0].endswith(f"/github/{GITHUB_PATH}/blob/main/{page}.ipynb"), colab
