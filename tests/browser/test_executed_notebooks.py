"""The executed notebooks (the staged copies nbmake ran for the book) show the learner no
warnings and no tracebacks, and every worked solution passes its own check.

They run after `make execute`, with the browser tests, because they need its outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = sorted((ROOT / "_stage" / "book").glob("*.ipynb"))

pytestmark = pytest.mark.browser

#: What a learner should never see in a cell's output.
ALARMING = re.compile(r"Traceback|\w*Warning\b|Error:", re.MULTILINE)


def output_texts(cell) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            texts.append(output.text)
        elif output.output_type == "error":
            texts.append(f"{output.ename}: {output.evalue}")
        else:
            texts.append(str(output.get("data", {}).get("text/plain", "")))
    return texts


def test_the_notebooks_were_executed():
    assert EXECUTED, "no executed notebooks in _stage/book: run `make execute` first"


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: p.name)
def test_no_warning_or_traceback_reaches_the_learner(path):
    shown = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for text in output_texts(cell):
            match = ALARMING.search(text)
            if match:
                shown.append(f"cell {index}: ...{text[max(0, match.start() - 80) :][:240]!r}")
    assert not shown, f"{path.name} shows warnings or errors:\n" + "\n".join(shown)


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: p.name)
def test_every_worked_solution_passes_its_check(path):
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if "solution" in cell.metadata.get("tags", []):
            text = "".join(output_texts(cell))
            assert "✅" in text and "❌" not in text, (
                f"{path.name}, cell {index}: the solution does not pass its check: {text[:300]!r}"
            )
