"""The spiral lab in a real JupyterLab: run chapter 7, then train, read and reach the lab.

Starts JupyterLab on 127.0.0.1 with a token chosen here, in a temporary copy of
the chapter, opens it in headless Chromium (non-local requests blocked) in a
900-px-wide window with the file browser open, and runs all cells in fast mode
once for the whole module. The tests then click Train and watch the panels
change, check that no control is cut off (at 900 px and at a phone's width),
that every control has an accessible name, and that Train, Stop, Reset and the
selectors work from the keyboard. The server is stopped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import ARTIFACTS, ROOT, block_non_local

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = ROOT / "book" / "07_spiral_lab.ipynb"
JUPYTER = Path(sys.executable).parent / "jupyter"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {timeout} s")


#: A laptop-sized window whose notebook area the open file browser narrows to about 470 px.
WINDOW = {"width": 900, "height": 1000}
#: A phone held upright.
PHONE = {"width": 400, "height": 850}


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of chapter 7."""
    tmp_path = tmp_path_factory.mktemp("jupyterlab")
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {
        "NODELIB_FAST": "1",
        "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"),  # no user settings leak in
        "JUPYTER_RUNTIME_DIR": str(tmp_path / ".runtime"),
    }
    command = [
        str(JUPYTER),
        "lab",
        "--no-browser",
        "--allow-root",  # CI containers often run as root
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait_for_server(f"{base}/api/status?token={token}", process)
        except (RuntimeError, TimeoutError) as error:
            log.flush()
            tail = (tmp_path / "jupyterlab.log").read_text()[-3000:]
            raise RuntimeError(f"{error}; its log ends with:\n{tail}") from error
        yield base, token
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@pytest.fixture(scope="module")
def page(browser, jupyterlab):
    """Chapter 7 open in a 900-px window with the file browser open, all its cells run."""
    base, token = jupyterlab
    context = browser.new_context(viewport=WINDOW)
    page = context.new_page()
    page.route("**/*", block_non_local)
    try:
        page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", wait_until="load")
        page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
        # a fresh JupyterLab asks which kernel to start: the notebook's own, Python 3
        select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
        try:
            select.wait_for(timeout=20_000)
            select.click()
        except PlaywrightTimeoutError:
            pass  # no dialog: the kernel started by itself
        page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=60_000)
        if not page.locator(".jp-FileBrowser").first.is_visible():
            page.get_by_role("tab", name="File Browser").first.click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        lab = page.locator(".nodelib-spiral-lab").first
        lab.wait_for(timeout=240_000)  # all cells up to the lab have run
        lab.locator("img").first.wait_for(state="attached", timeout=30_000)
        yield page
    except Exception:
        _screenshot(page, "jupyterlab_spiral.png")
        raise
    finally:
        context.close()


@pytest.fixture
def lab(page, request):
    """The lab's widget, scrolled into view; a failing test leaves a screenshot."""
    lab = page.locator(".nodelib-spiral-lab").first
    lab.scroll_into_view_if_needed()
    yield lab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _screenshot(page, f"{request.node.name}.png")


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _images_of(lab) -> list[str]:
    """The panels' current PNGs (their data: URLs)."""
    return lab.locator("img").evaluate_all("images => images.map(img => img.src)")


def _wait_until_enabled(page, button, timeout: float = 10_000) -> None:
    page.wait_for_function("el => !el.disabled", arg=button.element_handle(), timeout=timeout)


def _focused_text(page) -> str:
    return page.evaluate("() => (document.activeElement || {}).textContent || ''").strip()


def test_train_in_jupyterlab_changes_the_figure_and_stop_halts(page, lab):
    before = _images_of(lab)
    train = lab.get_by_role("button", name="Train", exact=True)
    stop = lab.get_by_role("button", name="Stop", exact=True)
    assert train.is_enabled()
    # count the phase portrait's new images, to report how smooth the updates are
    lab.evaluate(
        """lab => { window.labUpdates = 0;
        new MutationObserver(() => window.labUpdates++)
            .observe(lab.querySelector('img').parentElement, {childList: true}); }"""
    )
    train.click()
    started = time.monotonic()
    deadline = started + 60
    while _images_of(lab) == before:
        assert time.monotonic() < deadline, "the figure did not change within 60 s"
        time.sleep(0.5)
    time.sleep(3)  # watch it learn for a moment
    updates = page.evaluate("window.labUpdates")
    print(f"browser: {updates} phase-portrait updates in {time.monotonic() - started:.1f} s")

    stop.click()
    _wait_until_enabled(page, train)  # Stop re-enables Train when the thread has ended
    ARTIFACTS.mkdir(exist_ok=True)  # what the reader saw, kept for CI's artifacts
    lab.screenshot(path=str(ARTIFACTS / "jupyterlab_spiral_lab.png"))
    after_stop = _images_of(lab)
    time.sleep(1.5)
    assert _images_of(lab) == after_stop, "the figure kept changing after Stop"
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, tracebacks


#: Every element of the lab a reader sees or uses, with how far it pokes out of the
#: notebook's output area or the window (in px; 1 px of rounding allowed).
CUT_OFF = """lab => {
    const area = lab.closest('.jp-OutputArea-output').getBoundingClientRect();
    const right = Math.min(area.right, window.innerWidth);
    const parts = lab.querySelectorAll('select, button, input, img, label, .widget-html');
    return [...parts].map(el => [el, el.getBoundingClientRect()])
        .filter(([el, box]) => box.width > 0 && (box.left < area.left - 1 || box.right > right + 1))
        .map(([el, box]) => `${el.tagName} '${(el.textContent || el.alt || '').slice(0, 30)}' `
            + `spans ${Math.round(box.left)}..${Math.round(box.right)} px, `
            + `the output area ${Math.round(area.left)}..${Math.round(right)} px`);
}"""


def test_nothing_is_cut_off_at_900_px_with_the_file_browser_open(page, lab):
    assert page.viewport_size == WINDOW
    assert page.locator(".jp-FileBrowser").first.is_visible()
    assert lab.evaluate(CUT_OFF) == []
    assert lab.evaluate("lab => lab.scrollWidth <= lab.clientWidth + 1"), "a horizontal scrollbar"


def test_nothing_is_cut_off_at_a_phones_width(page, lab):
    # on a phone the file browser is closed: open, it leaves the notebook about 30 px
    file_browser = page.get_by_role("tab", name="File Browser").first
    file_browser.click()
    page.set_viewport_size(PHONE)
    try:
        page.wait_for_timeout(1_000)  # JupyterLab lays itself out again
        assert not page.locator(".jp-FileBrowser").first.is_visible()
        lab.scroll_into_view_if_needed()
        assert lab.evaluate(CUT_OFF) == []
    finally:
        page.set_viewport_size(WINDOW)
        file_browser.click()
        page.wait_for_timeout(1_000)


SELECTORS = [
    "solver",
    "step size",
    "rtol (dopri5)",
    "gradient",
    "optimiser",
    "learning rate",
    "batch",
    "iterations",
    "window",
]


def test_every_control_and_panel_has_an_accessible_name(lab):
    for name in SELECTORS:
        assert lab.get_by_role("combobox", name=name, exact=True).count() == 1, name
    assert lab.get_by_role("checkbox", name="decay the learning rate").count() == 1
    for name in ("Train", "Stop", "Reset"):
        assert lab.get_by_role("button", name=name, exact=True).count() == 1, name
    names = lab.get_by_role("img").evaluate_all("images => images.map(img => img.alt)")
    assert len(names) == 4 and all(len(name) > 30 for name in names), names
    # nothing the reader can reach is unnamed: every select, button and input has a name
    unnamed = lab.evaluate(
        """lab => [...lab.querySelectorAll('select, button, input')].filter(el =>
            !(el.labels && el.labels.length) && !el.title && !el.textContent.trim()
            && !el.getAttribute('aria-label')).map(el => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []


def test_train_stop_reset_and_the_selectors_work_from_the_keyboard(page, lab):
    solver = lab.get_by_role("combobox", name="solver", exact=True)
    rtol = lab.get_by_role("combobox", name="rtol (dopri5)", exact=True)
    train = lab.get_by_role("button", name="Train", exact=True)
    stop = lab.get_by_role("button", name="Stop", exact=True)

    # a selector: Space opens its list, the arrows choose, Enter confirms (on their own,
    # the arrow keys belong to JupyterLab's command mode: they move between cells)
    solver.focus()
    for key in ("Space", "ArrowDown", "Enter"):
        page.keyboard.press(key)
    assert solver.input_value() == "dopri5"
    page.wait_for_function("el => !el.disabled", arg=rtol.element_handle(), timeout=10_000)
    solver.focus()
    for key in ("Space", "ArrowUp", "Enter"):
        page.keyboard.press(key)
    assert solver.input_value() == "rk4"
    page.wait_for_function("el => el.disabled", arg=rtol.element_handle(), timeout=10_000)

    # Tab from the first selector reaches Train; Enter starts training
    solver.focus()
    for _ in range(len(SELECTORS) + 5):
        page.keyboard.press("Tab")
        if _focused_text(page) == "Train":
            break
    assert _focused_text(page) == "Train", "Tab never reached Train"
    page.keyboard.press("Enter")
    _wait_until_enabled(page, stop)
    # the lab moves the focus to Stop (Train is disabled while training); Space stops
    page.wait_for_function("() => document.activeElement.textContent.trim() === 'Stop'")
    page.keyboard.press("Space")
    _wait_until_enabled(page, train)
    page.wait_for_function("() => document.activeElement.textContent.trim() === 'Train'")

    # from Train, Tab skips the disabled Stop and reaches Reset; Enter resets
    page.keyboard.press("Tab")
    assert _focused_text(page) == "Reset"
    page.keyboard.press("Enter")
    readout = lab.locator(".widget-html", has_text="NFE in training")
    page.wait_for_function(
        "el => el.textContent.includes('iteration 0 ')", arg=readout.element_handle()
    )
