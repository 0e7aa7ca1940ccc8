"""Put the book's third-party JavaScript into _vendor/ (never committed).

- plotly.min.js: copied from the installed plotly Python package, so the book
  draws figures with exactly the plotly.js the notebooks were run with;
- require.js and @jupyter-widgets/html-manager (the static widget renderer) and
  MathJax 3 (the formulas): fetched from the npm registry with ``npm pack`` at
  the versions below;
- axe-core (the accessibility rules the browser tests run, never loaded by a
  page): also from npm, into ``axe-core/``, which ``_ext/course_assets.py``
  leaves out of the built book.

    python scripts/vendor_assets.py [DEST]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import plotly

#: html-manager 1.x renders ipywidgets 8 state (@jupyter-widgets/controls 2.x / 5.0 protocol).
NPM_PACKAGES = {
    "@jupyter-widgets/html-manager": "1.0.15",
    "requirejs": "2.3.8",
    "mathjax": "3.2.2",
    # For tests/browser/test_accessibility.py only: the WCAG rules pydata-sphinx-theme tests with.
    "axe-core": "4.14.1",
}

#: Where the tests find axe-core, relative to DEST (see AXE_CORE_JS in tests/browser/conftest.py).
AXE_CORE_FILE = Path("axe-core") / "axe.min.js"


def npm_pack(name: str, version: str, workdir: Path) -> Path:
    """Download one npm package tarball into workdir and unpack it; return its folder."""
    if shutil.which("npm") is None:
        sys.exit(
            "npm is needed to fetch the widget manager for the book. Install Node.js and npm "
            "(Debian: apt-get install nodejs npm) and run `make vendor` again."
        )
    result = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--silent"],
        cwd=workdir, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"npm pack {name}@{version} failed:\n{result.stderr.strip()}")
    tarball = workdir / result.stdout.strip().splitlines()[-1]
    target = workdir / tarball.stem
    with tarfile.open(tarball) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def main(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    shutil.copy(plotly_js, dest / "plotly.min.js")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        html_manager = npm_pack(
            "@jupyter-widgets/html-manager", NPM_PACKAGES["@jupyter-widgets/html-manager"], work
        )
        # The widget manager finds its files by module name, relative to require.js's
        # baseUrl (_ext/static/require-config.js points it at _static/): its own fonts
        # under @jupyter-widgets/html-manager/dist/, the controls' under @jupyter-widgets/.
        widgets_dir = dest / "@jupyter-widgets"
        shutil.copytree(
            html_manager / "dist", widgets_dir / "html-manager" / "dist", dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("*.map", "*.LICENSE.txt"),
        )  # fmt: skip
        for font in (html_manager / "dist").glob("*.*"):
            if font.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
                shutil.copy(font, widgets_dir / font.name)
        requirejs = npm_pack("requirejs", NPM_PACKAGES["requirejs"], work)
        shutil.copy(requirejs / "require.js", dest / "require.js")
        mathjax = npm_pack("mathjax", NPM_PACKAGES["mathjax"], work) / "es5"
        # the one combined bundle the book loads, plus the folders it loads parts from
        (dest / "mathjax").mkdir(exist_ok=True)
        shutil.copy(mathjax / "tex-mml-chtml.js", dest / "mathjax" / "tex-mml-chtml.js")
        for part in ("input", "output", "ui", "a11y", "sre", "adaptors"):
            if (mathjax / part).exists():
                shutil.copytree(mathjax / part, dest / "mathjax" / part, dirs_exist_ok=True)
        axe = npm_pack("axe-core", NPM_PACKAGES["axe-core"], work)
        (dest / AXE_CORE_FILE).parent.mkdir(exist_ok=True)
        shutil.copy(axe / "axe.min.js", dest / AXE_CORE_FILE)
    print(f"vendored plotly.js {plotly.__version__}, {NPM_PACKAGES} into {dest}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("_vendor"))
