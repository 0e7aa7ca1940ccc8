"""Every module a notebook imports is installed, and comes from the course's dependencies.

Binder (binder/requirements.txt) and Colab (the setup cell) both install nodelib with
the dependencies of pyproject.toml and nothing else the notebooks could rely on, so a
notebook may import only the standard library, nodelib, and distributions that
pyproject.toml's dependencies pull in (directly or through their own requirements).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from functools import cache
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
#: The course library; its installed metadata lists the dependencies of pyproject.toml.
PROJECT = "nodelib"


def normalise(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def notebook_imports(path: Path) -> set[str]:
    """The top-level module names the code cells of ``path`` import (absolute imports)."""
    modules = set()
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        # IPython magics and shell escapes are not Python
        lines = [
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        ]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError as error:
            pytest.fail(f"{path.name}, cell {index}: not valid Python ({error})")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def third_party(modules: set[str]) -> set[str]:
    return {m for m in modules if m not in sys.stdlib_module_names and m != "google"}


@cache
def dependency_closure() -> frozenset[str]:
    """Normalised names of nodelib's dependencies and all they require, recursively."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in importlib.metadata.requires(PROJECT) or []]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = normalise(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in importlib.metadata.requires(requirement.name) or []]
        except importlib.metadata.PackageNotFoundError:
            pass  # not installed: find_spec in the test below reports the module missing
    return frozenset(seen)


def notebook_id(path: Path) -> str:
    return path.name


def test_import_scanner_reads_both_import_forms_and_skips_magics(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np, os.path"),
        nbformat.v4.new_code_cell("from plotly.graph_objects import Figure\nfrom . import x"),
        nbformat.v4.new_markdown_cell("import not_code"),
    ]
    path = tmp_path / "example.ipynb"
    nbformat.write(notebook, path)
    assert notebook_imports(path) == {"numpy", "os", "plotly"}
    assert third_party(notebook_imports(path)) == {"numpy", "plotly"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_every_import_of_the_notebook_is_installed(path):
    missing = sorted(
        m for m in third_party(notebook_imports(path)) if not importlib.util.find_spec(m)
    )
    assert not missing, f"{path.name} imports modules that are not installed: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_every_import_of_the_notebook_comes_from_the_course_dependencies(path):
    providers = importlib.metadata.packages_distributions()
    allowed = dependency_closure() | {PROJECT}
    unexplained = {}
    for module in sorted(third_party(notebook_imports(path)) - {PROJECT}):
        distributions = {normalise(d) for d in providers.get(module, [])}
        if not distributions & allowed:
            unexplained[module] = sorted(distributions) or "no installed distribution"
    assert not unexplained, (
        f"{path.name} imports modules that Binder and Colab would not install "
        f"(add their distribution to pyproject.toml's dependencies): {unexplained}"
    )
