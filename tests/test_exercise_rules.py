"""Every chapter's exercises follow the course's rules (CONTRIBUTING.md, "Exercises").

- at least three exercises, at least one of each kind (predict, derive, code);
- each is: task, learner's cell, [run cell,] hint, solution - built by
  scripts/notebook_template.exercise_cells;
- the learner's cell leaves ``...`` to fill in and calls a named check with no visible
  expression of the expected value (only names, attributes and constants as arguments);
- the hint is collapsed (<details>) and comes before the solution;
- the solution is collapsed in JupyterLab, Colab and the HTML book, and runs the same check.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from notebook_template import EXERCISE_KINDS, SOLUTION_TITLE  # noqa: E402

#: Every numbered chapter, and the conclusion.
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")) + [ROOT / "book" / "conclusion.ipynb"]


def tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def exercises(path: Path) -> list[list]:
    """The cells of each exercise: from its task cell up to and including its solution."""
    cells = nbformat.read(path, as_version=4).cells
    found, current = [], None
    for cell in cells:
        if "exercise" in tags(cell):
            current = [cell]
            found.append(current)
        elif current is not None:
            current.append(cell)
            if "solution" in tags(cell):
                current = None
    return found


def kind_of(task_cell) -> str:
    kinds = [t.removeprefix("exercise-") for t in tags(task_cell) if t.startswith("exercise-")]
    assert len(kinds) == 1 and kinds[0] in EXERCISE_KINDS, f"task cell tags {tags(task_cell)}"
    return kinds[0]


def check_module_aliases(path: Path) -> set[str]:
    """Names under which the notebook imports a nodelib.exercises.chapterNN module."""
    code = "\n".join(
        c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
    )
    module = r"(?:chapter\d\d|conclusion)"
    aliases = set(re.findall(rf"from nodelib\.exercises import {module} as (\w+)", code))
    aliases |= set(re.findall(rf"import nodelib\.exercises\.{module} as (\w+)", code))
    return aliases


def named_check_calls(source: str, aliases: set[str]) -> list[ast.Call]:
    tree = ast.parse(source)
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in aliases
    ]


def is_plain_reference(node: ast.AST) -> bool:
    """A name, a constant, an attribute of one, or one indexed by a constant: no arithmetic."""
    if isinstance(node, ast.Name | ast.Constant):
        return True
    if isinstance(node, ast.Attribute):
        return is_plain_reference(node.value)
    if isinstance(node, ast.Subscript):
        return is_plain_reference(node.value) and isinstance(node.slice, ast.Constant)
    return False


def chapter_id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_chapter_has_three_exercises_of_every_kind(path):
    found = exercises(path)
    kinds = {kind_of(cells[0]) for cells in found}
    assert len(found) >= 3, f"{path.name}: {len(found)} exercises, at least 3 wanted"
    assert kinds == set(EXERCISE_KINDS), f"{path.name}: kinds {sorted(kinds)}, want all of them"


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_every_exercise_has_task_answer_hint_and_solution_in_order(path):
    for number, cells in enumerate(exercises(path), start=1):
        roles = [
            next((t for t in tags(c) if t.startswith(("exercise", "hint", "solution"))), None)
            for c in cells
        ]
        kind = kind_of(cells[0])
        middle = ["exercise-answer", "exercise-run"] if kind == "predict" else ["exercise-answer"]
        want = [f"exercise-{kind}", *middle, "hint", "solution"]
        assert roles[0] == "exercise" or roles[0].startswith("exercise")
        assert roles[1:] == want[1:], f"{path.name}, exercise {number}: cells {roles}"


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_learner_cells_hide_the_expected_answer(path):
    aliases = check_module_aliases(path)
    assert aliases, f"{path.name}: import the chapter's checks (from nodelib.exercises import ...)"
    for number, cells in enumerate(exercises(path), start=1):
        answer = next(c for c in cells if "exercise-answer" in tags(c))
        assert "..." in answer.source, f"{path.name}, exercise {number}: no ... to fill in"
        assert not re.search(r"(^|[^.\w])check\(", answer.source), (
            f"{path.name}, exercise {number}: call a named check, not check(answer, expected)"
        )
        calls = named_check_calls(answer.source, aliases)
        assert calls, f"{path.name}, exercise {number}: the learner's cell runs no named check"
        for call in calls:
            arguments = [*call.args, *(k.value for k in call.keywords)]
            shown = [ast.unparse(a) for a in arguments if not is_plain_reference(a)]
            assert not shown, (
                f"{path.name}, exercise {number}: the check is given expressions {shown}; "
                "compute the expected value inside the named check instead"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_hints_are_collapsed(path):
    for number, cells in enumerate(exercises(path), start=1):
        hint = next(c for c in cells if "hint" in tags(c))
        assert hint.cell_type == "markdown"
        assert hint.source.lstrip().startswith("<details>") and "</details>" in hint.source, (
            f"{path.name}, exercise {number}: the hint must be a collapsed <details> block"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_solutions_are_collapsed_in_jupyterlab_colab_and_html(path):
    aliases = check_module_aliases(path)
    for number, cells in enumerate(exercises(path), start=1):
        solution, answer = cells[-1], next(c for c in cells if "exercise-answer" in tags(c))
        where = f"{path.name}, exercise {number}"
        assert solution.cell_type == "code", where
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, (
            f"{where}: JupyterLab shows the solution (set jupyter.source_hidden)"
        )
        assert solution.metadata.get("cellView") == "form", f"{where}: Colab shows it"
        assert "hide-input" in tags(solution), f"{where}: the HTML book shows it"
        assert solution.source.splitlines()[0] == SOLUTION_TITLE.format(number=number), where
        answer_checks = {c.func.attr for c in named_check_calls(answer.source, aliases)}
        solution_checks = {c.func.attr for c in named_check_calls(solution.source, aliases)}
        assert answer_checks <= solution_checks, (
            f"{where}: the solution must run the learner's check(s) {sorted(answer_checks)}"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_exercises_are_numbered_in_order(path):
    for number, cells in enumerate(exercises(path), start=1):
        assert cells[0].source.startswith(f"**Exercise {number} ("), (
            f"{path.name}: exercise {number}'s task must start with '**Exercise {number} ('"
        )
