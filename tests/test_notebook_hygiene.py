"""The notebooks in book/ are committed clean and share one setup cell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from notebook_template import REPOSITORY_URL, SETUP_CELL  # noqa: E402

NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def notebook_id(path: Path) -> str:
    return path.name


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "book/ holds no notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_is_committed_without_outputs(path):
    dirty = [
        index
        for index, cell in enumerate(read(path).cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_uses_the_python3_kernel(path):
    assert read(path).metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_starts_with_the_shared_setup_cell(path):
    first = read(path).cells[0]
    assert first.cell_type == "code" and first.source == SETUP_CELL, (
        f"{path.name}: the first cell must be the setup cell of scripts/notebook_template.py"
    )
    assert first.metadata.get("tags") == ["remove-cell"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_seeds_its_random_generators(path):
    code = "\n".join(c.source for c in read(path).cells if c.cell_type == "code")
    assert "seed_everything(" in code, f"{path.name} never calls nodelib.seed_everything"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_shows_plotly_figures_through_nodelib(path):
    """fig.show() output is dropped by Jupyter Book 1; nodelib.viz.show(fig) is not."""
    for cell in read(path).cells:
        if cell.cell_type == "code":
            assert not re.search(r"\bfig\w*\.show\(", cell.source), (
                f"{path.name}: use nodelib.viz.show(fig) instead of fig.show()"
            )


def test_colab_installs_from_the_books_repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == REPOSITORY_URL


def test_every_toc_entry_exists_and_every_notebook_is_listed():
    listed = toc_files()
    missing = [f for f in listed if not list(ROOT.glob(f"{f}.*"))]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    unlisted = [p.name for p in NOTEBOOKS if f"book/{p.stem}" not in listed]
    assert not unlisted, f"notebooks missing from _toc.yml: {unlisted}"


#: A fence line that opens a block: backticks, then nothing, a {directive} or a language name.
FENCE_LINE = re.compile(r"^\s*(`{3,}|:{3,})\s*(\{[\w-]+\}.*|[\w+-]+)?\s*$")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_markdown_fences_stand_on_their_own_line(path):
    """Text after a closing ``` is not MyST: the box stays open and shows the backticks."""
    broken = [
        f"cell {index}: {line.strip()[:60]!r}"
        for index, cell in enumerate(read(path).cells)
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.lstrip().startswith(("```", ":::")) and not FENCE_LINE.match(line)
    ]
    assert not broken, f"{path.name}: put a fence on its own line: {broken}"
