"""Fixtures for the browser tests: the built book served on 127.0.0.1, and headless Chromium.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright for Python; every
request to a host other than the local server is blocked, so a page that needs
the network fails its test. A failing test leaves a screenshot in test-artifacts/.

:func:`open_drawn_page` opens one page of the book and waits until its figures,
widgets and formulas are drawn; the accessibility test reports the axe-core
findings it tolerates (moderate and minor) at the end of the run.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML_DIR = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
#: axe-core, the accessibility rules engine (fetched from npm by scripts/vendor_assets.py).
AXE_CORE_JS = ROOT / "_vendor" / "axe-core" / "axe.min.js"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="session")
def book_url():
    """Serve _build/html on a free local port for the whole session."""
    if not (HTML_DIR / "index.html").exists():
        pytest.fail(f"{HTML_DIR}/index.html is missing: build the book first (make html)")
    handler = functools.partial(_QuietHandler, directory=str(HTML_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def block_non_local(route):
    """Let requests to the local server through; abort everything else."""
    if urlparse(route.request.url).hostname in LOCAL_HOSTS or route.request.url.startswith(
        ("data:", "blob:")
    ):
        route.continue_()
    else:
        route.abort()


def open_drawn_page(page, book_url: str, name: str) -> None:
    """Go to ``name`` (e.g. 'book/intro') and wait until its plotly figures, static widgets and
    formulas are drawn, so that checks see the page a reader sees."""
    page.goto(f"{book_url}/{name}.html", wait_until="load")
    plots = page.locator(".js-plotly-plot")
    for index in range(plots.count()):
        plots.nth(index).locator(".main-svg").first.wait_for(state="attached", timeout=15_000)
    html = (HTML_DIR / f"{name}.html").read_text()
    if "application/vnd.jupyter.widget-state+json" in html:
        page.locator(".jupyter-widgets").first.wait_for(state="attached", timeout=15_000)
    if re.search(r'class="math', html):
        page.locator("mjx-container").first.wait_for(state="attached", timeout=15_000)


@pytest.fixture
def offline_page(browser, request):
    """A fresh page whose non-local requests are blocked; records errors and blocked URLs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []
    errors: list[str] = []

    def route_handler(route):
        if urlparse(route.request.url).hostname not in LOCAL_HOSTS:
            blocked.append(route.request.url)
        block_non_local(route)

    context.route("**/*", route_handler)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    page.on(
        "response",
        lambda resp: (
            errors.append(f"http {resp.status}: {resp.url}") if resp.status >= 400 else None
        ),
    )
    page.blocked_requests = blocked
    page.js_errors = errors
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


#: Tolerated axe-core findings (moderate, minor) that test_accessibility.py collected, by page.
AXE_NOTES: list[str] = []


def pytest_terminal_summary(terminalreporter):
    """List the accessibility findings that did not fail a test, so they are seen and fixed."""
    if AXE_NOTES:
        terminalreporter.section("axe-core: moderate and minor findings (not failures)")
        for line in AXE_NOTES:
            terminalreporter.write_line(line)
