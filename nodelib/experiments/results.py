"""Finding the committed results files from a notebook.

The chapters read measured numbers from JSON files committed to the repository
(``results/...`` written by the experiments, ``benchmarks/results/...`` by the
benchmarks) instead of typing them in. A notebook runs with its working
directory in ``book/`` - or in a staged copy such as ``_build/src/book/`` whose
parent holds ``results/`` and ``benchmarks/`` too - so the files are looked for
relative to the working directory's parent first.

:func:`write_results` is the writing side: the experiments write their files
atomically, so an interrupted write keeps the previous results.
"""

from __future__ import annotations

import json
from pathlib import Path

from nodelib.atomic_files import write_json

#: The repository root as seen from this installed package (an editable install).
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def candidate_roots() -> list[Path]:
    """Folders that may hold ``results/`` and ``benchmarks/``, most likely first."""
    cwd = Path.cwd()
    roots = [cwd.parent, cwd, _PACKAGE_ROOT]
    unique = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def find_results_file(relative: str | Path) -> Path:
    """The path of a committed results file, e.g. ``"results/fashion-mnist/odenet.json"``.

    Raises FileNotFoundError naming every folder searched.
    """
    for root in candidate_roots():
        path = root / relative
        if path.is_file():
            return path
    searched = ", ".join(str(root) for root in candidate_roots())
    raise FileNotFoundError(
        f"results file {str(relative)!r} not found under any of: {searched}. Run the notebook "
        "from the repository's book/ folder (or a staged copy whose parent holds results/ and "
        "benchmarks/), or produce the file with the command given in the chapter."
    )


def load_results(relative: str | Path, *, missing_ok: bool = False) -> dict | None:
    """Read a committed JSON results file; with ``missing_ok`` return None if it is absent."""
    try:
        path = find_results_file(relative)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise
    return json.loads(path.read_text())


def write_results(path: str | Path, results: dict) -> Path:
    """Write a results dictionary as indented JSON to ``path``, atomically.

    The folder must exist (:func:`nodelib.atomic_files.check_writable`
    creates it and checks it can be written, before the experiment runs). A Ctrl-C or
    crash while writing leaves the previous file as it was.
    """
    return write_json(path, results)
