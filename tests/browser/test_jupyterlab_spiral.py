"""The spiral lab in a real JupyterLab: run chapter 7, press Train, watch the figure change.

Starts JupyterLab on 127.0.0.1 with a token chosen here, in a temporary copy of
the chapter, opens it in headless Chromium (non-local requests blocked), runs
all cells in fast mode, clicks Train in the rendered widget and waits for the
SVG figure to change, then clicks Stop. The server is stopped at the end.
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


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of chapter 7."""
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


def _svg_of(lab) -> str:
    return lab.locator("svg").first.evaluate("node => node.outerHTML")


def test_train_in_jupyterlab_changes_the_figure_and_stop_halts(browser, jupyterlab):
    base, token = jupyterlab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
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
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        lab = page.locator(".nodelib-spiral-lab").first
        lab.wait_for(timeout=240_000)  # all cells up to the lab have run
        lab.locator("svg").first.wait_for(state="attached", timeout=30_000)
        lab.scroll_into_view_if_needed()
        before = _svg_of(lab)
        train = lab.get_by_role("button", name="Train", exact=True)
        stop = lab.get_by_role("button", name="Stop", exact=True)
        assert train.is_enabled()

        train.click()
        deadline = time.monotonic() + 60
        while _svg_of(lab) == before:
            assert time.monotonic() < deadline, "the figure did not change within 60 s"
            time.sleep(0.5)

        stop.click()
        # Stop re-enables Train when the thread has ended
        page.wait_for_function(
            "el => !el.disabled",
            arg=train.element_handle(),
            timeout=10_000,
        )
        ARTIFACTS.mkdir(exist_ok=True)  # what the reader saw, kept for CI's artifacts
        lab.screenshot(path=str(ARTIFACTS / "jupyterlab_spiral_lab.png"))
        after_stop = _svg_of(lab)
        time.sleep(1.5)
        assert _svg_of(lab) == after_stop, "the figure kept changing after Stop"
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        )
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        assert not tracebacks, tracebacks
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_spiral.png"), full_page=True)
        raise
    finally:
        context.close()
