"""The shared setup cell, run as Colab would run it - and as everywhere else would.

Colab is simulated: a stand-in ``google.colab`` module (with an ``output`` submodule
that records ``enable_custom_widget_manager()`` calls) is put into ``sys.modules``,
and ``subprocess.run`` is replaced by a recorder, so nothing is installed.
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from notebook_template import REPOSITORY_URL, SETUP_CELL  # noqa: E402

NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def setup_sources() -> list[tuple[str, str]]:
    """(name, source) of the template's setup cell and of every notebook's first cell."""
    sources = [("template", SETUP_CELL)]
    for path in NOTEBOOKS:
        sources.append((path.name, nbformat.read(path, as_version=4).cells[0].source))
    return sources


@pytest.fixture
def recorded_runs(monkeypatch):
    """Replace subprocess.run by a recorder; returns the list of commands it was given."""
    runs = []

    def fake_run(command, *args, **kwargs):
        runs.append({"command": command, "kwargs": kwargs})
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    return runs


@pytest.fixture
def fake_colab(monkeypatch):
    """Insert a stand-in google.colab into sys.modules; returns its widget-manager call log."""
    calls = []
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: calls.append("enable_custom_widget_manager")
    colab.output = output
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    return calls


def run_cell(source: str) -> None:
    exec(compile(source, "<setup cell>", "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("name, source", setup_sources(), ids=[n for n, _ in setup_sources()])
def test_on_colab_the_setup_cell_installs_nodelib_from_the_repository(
    name, source, fake_colab, recorded_runs
):
    run_cell(source)
    expected = [sys.executable, "-m", "pip", "install", "-q", f"nodelib @ git+{REPOSITORY_URL}"]
    assert [run["command"] for run in recorded_runs] == [expected]
    assert recorded_runs[0]["kwargs"].get("check") is True, "a failed install must stop the cell"


@pytest.mark.parametrize("name, source", setup_sources(), ids=[n for n, _ in setup_sources()])
def test_on_colab_the_setup_cell_enables_the_custom_widget_manager(
    name, source, fake_colab, recorded_runs
):
    run_cell(source)
    assert fake_colab == ["enable_custom_widget_manager"]


@pytest.mark.parametrize("name, source", setup_sources(), ids=[n for n, _ in setup_sources()])
def test_outside_colab_the_setup_cell_runs_nothing(name, source, recorded_runs, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    run_cell(source)
    assert recorded_runs == []


def test_colab_installs_from_a_url_pip_accepts():
    """pip needs the 'name @ git+https://...' form for a direct reference."""
    assert REPOSITORY_URL.startswith("https://github.com/")
    assert not REPOSITORY_URL.endswith((".git", "/"))


def test_on_colab_figures_use_plotlys_colab_renderer(fake_colab, monkeypatch):
    import plotly.graph_objects as go

    from nodelib import viz

    renderers = []
    monkeypatch.setattr(go.Figure, "show", lambda fig, renderer=None: renderers.append(renderer))
    viz.show(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])))
    assert renderers == ["colab"]
