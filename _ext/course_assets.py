"""Sphinx extension: the book's own JavaScript, served from the site itself.

- plotly.js comes from the installed ``plotly`` Python package and is loaded on
  every page *before* require.js (which myst-nb adds to pages holding widgets):
  loaded after it, plotly.js would register itself as an anonymous AMD module
  and never define ``window.Plotly``.
- The files live in ``_vendor/`` (filled by ``scripts/vendor_assets.py``), not
  ``_static/``: Jupyter Book injects every script under ``_static/`` into every
  page, which would load the widget manager everywhere.
"""

from pathlib import Path

#: One file of each vendored package; if one is missing, `make vendor` was not run.
VENDORED_FILES = (
    "plotly.min.js",
    "require.js",
    "@jupyter-widgets/html-manager/dist/embed-amd.js",
    "mathjax/tex-mml-chtml.js",
)


def _check_vendor_folder(app, config):
    vendor = Path(app.confdir) / "_vendor"
    missing = [f for f in VENDORED_FILES if not (vendor / f).exists()]
    if missing:
        raise RuntimeError(
            f"the book's JavaScript is missing from {vendor}: {missing}. "
            "Run `make vendor` (or python scripts/vendor_assets.py) first."
        )


def setup(app):
    app.connect("config-inited", _check_vendor_folder)
    # priority < 500 so plotly.js precedes require.js (default priority 500)
    app.add_js_file("plotly.min.js", priority=200)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
