"""The cell every notebook starts with, and a command that starts a new chapter notebook.

    python scripts/notebook_template.py book/10_new_chapter.ipynb "10. A new chapter"

The test suite (tests/test_notebook_hygiene.py) checks that every notebook in
book/ begins with exactly SETUP_CELL.
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
