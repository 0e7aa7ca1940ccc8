"""The cell every notebook starts with, the cells of an exercise, and a command that starts
a new chapter notebook.

    python scripts/notebook_template.py book/10_new_chapter.ipynb "10. A new chapter"

The test suite checks that every notebook in book/ begins with exactly SETUP_CELL
(tests/test_notebook_hygiene.py) and that its exercises have the shape that
exercise_cells() builds (tests/test_exercise_rules.py; the rules are in CONTRIBUTING.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

#: Where Colab installs nodelib from; _config.yml's repository url must match.
REPOSITORY_URL = "https://github.com/neural-ode-course/neural-odes-course"

SETUP_CELL = f"""\
# Setup (the same in every chapter): on Google Colab, install the course library
# nodelib and switch on Colab's widget manager; anywhere else this does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "nodelib @ git+{REPOSITORY_URL}",
        ],
        check=True,
    )
    from google.colab import output

    output.enable_custom_widget_manager()"""

IMPORTS_CELL = """\
import nodelib
from nodelib import config
from nodelib.viz import show

nodelib.seed_everything(0)
print(config.describe())"""


#: The kinds of exercise; every chapter has at least one of each.
EXERCISE_KINDS = {
    "predict": "Predict, then run",
    "derive": "Derivation with a numerical check",
    "code": "Coding task",
}

#: The first line of every solution cell: Colab shows it as the title of a collapsed form.
SOLUTION_TITLE = "# @title Solution to exercise {number} (click to show)"


def exercise_cells(
    number: int,
    kind: str,
    task: str,
    learner_code: str,
    hint: str,
    solution_code: str,
    run_code: str | None = None,
) -> list[nbformat.NotebookNode]:
    """The cells of one exercise, in order: task, learner's cell, [run,] hint, solution.

    task: Markdown after the heading "Exercise {number} ({kind label})."
    learner_code: the cell the learner edits; it leaves ``...`` to replace and ends with a
        named check from ``nodelib.exercises.chapterNN`` that is given no visible
        expression of the expected value.
    run_code: for ``kind="predict"`` only: the cell that runs the experiment and reveals
        the answer, after the learner has recorded a prediction.
    hint: Markdown, shown collapsed (an HTML <details> block works in JupyterLab, Colab
        and the HTML book alike).
    solution_code: the worked solution; it must pass the same check. It is collapsed in
        JupyterLab (``jupyter.source_hidden``), in Colab (``cellView: form``, titled) and in
        the HTML book (``hide-input``).
    """
    if kind not in EXERCISE_KINDS:
        raise ValueError(f"kind must be one of {sorted(EXERCISE_KINDS)}, got {kind!r}")
    if (kind == "predict") != (run_code is not None):
        raise ValueError("a 'predict' exercise needs run_code; the other kinds take none")
    tags = ["exercise", f"exercise-{kind}"]
    heading = f"**Exercise {number} ({EXERCISE_KINDS[kind].lower()}).** "
    cells = [
        nbformat.v4.new_markdown_cell(heading + task, metadata={"tags": tags}),
        nbformat.v4.new_code_cell(learner_code, metadata={"tags": ["exercise-answer"]}),
    ]
    if run_code is not None:
        cells.append(nbformat.v4.new_code_cell(run_code, metadata={"tags": ["exercise-run"]}))
    cells.append(
        nbformat.v4.new_markdown_cell(
            f"<details>\n<summary>Hint for exercise {number}</summary>\n\n{hint}\n\n</details>",
            metadata={"tags": ["hint"]},
        )
    )
    cells.append(
        nbformat.v4.new_code_cell(
            SOLUTION_TITLE.format(number=number) + "\n" + solution_code,
            metadata={
                "tags": ["solution", "hide-input"],
                "jupyter": {"source_hidden": True},
                "cellView": "form",
            },
        )
    )
    return cells


def new_notebook(title: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nb.cells = [
        # the setup cell matters only on Colab: keep it out of the HTML book
        nbformat.v4.new_code_cell(SETUP_CELL, metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_markdown_cell(
            f"# {title}\n\n```{{admonition}} Learning objectives\n- ...\n```"
        ),
        nbformat.v4.new_code_cell(IMPORTS_CELL),
    ]
    return nb


if __name__ == "__main__":
    path, title = Path(sys.argv[1]), sys.argv[2]
    if path.exists():
        sys.exit(f"{path} exists already; refusing to overwrite it")
    nbformat.write(new_notebook(title), path)
    print(f"wrote {path}")
