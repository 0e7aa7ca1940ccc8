"""Sphinx extension: the book's own JavaScript, served from the site itself.

- plotly.js comes from the installed ``plotly`` Python package and is loaded on
  every page *before* require.js (which myst-nb adds to pages holding widgets):
  loaded after it, plotly.js would register itself as an anonymous AMD module
  and never define ``window.Plotly``.
- The files live in ``_vendor/`` (filled by ``scripts/vendor_assets.py``), not
  ``_static/``: Jupyter Book injects every script under ``_static/`` into every
  page, which would load the widget manager everywhere.

It also gives every page a ``<meta name="description">`` (the page's first
paragraph, for search results and link previews), the course stylesheet, and,
when the book was executed with ``NODELIB_FAST=1``, a banner saying that its
numbers come from the shrunken fast-mode runs.

Accessibility (WCAG 2 AA, checked by ``tests/browser/test_accessibility.py``):
``course-a11y.js`` names the static widgets' sliders and makes output areas that
scroll sideways reachable by keyboard; ``course.css`` fixes contrast; and the
bibliography's entries get the ARIA role their list needs (see
:func:`accessible_bibliography`). axe-core itself, vendored for those tests, is
kept out of the built book.
"""

import html
import os
import re
from pathlib import Path

from docutils import nodes

#: One file of each vendored package; if one is missing, `make vendor` was not run.
VENDORED_FILES = (
    "plotly.min.js",
    "require.js",
    "@jupyter-widgets/html-manager/dist/embed-amd.js",
    "mathjax/tex-mml-chtml.js",
)


#: Vendored files the tests use but no page loads: left out of the built book's _static/.
TEST_ONLY_VENDOR_FILES = ("axe-core", "axe-core/**")


def _check_vendor_folder(app, config):
    vendor = Path(app.confdir) / "_vendor"
    missing = [f for f in VENDORED_FILES if not (vendor / f).exists()]
    if missing:
        raise RuntimeError(
            f"the book's JavaScript is missing from {vendor}: {missing}. "
            "Run `make vendor` (or python scripts/vendor_assets.py) first."
        )
    # Sphinx copies html_static_path minus exclude_patterns, matched relative to each folder.
    config.exclude_patterns = [*config.exclude_patterns, *TEST_ONLY_VENDOR_FILES]


#: Longest description search engines show in full (characters).
DESCRIPTION_LENGTH = 160

FAST_MODE_BANNER = (
    '<div class="admonition warning fast-mode-banner" role="note">'
    '<p class="admonition-title">Built in fast mode</p>'
    "<p>This copy of the book was executed with <code>NODELIB_FAST=1</code>: data, epochs "
    "and steps were shrunk so the build takes minutes, so its numbers are rougher than a "
    "full run's. Run <code>make book</code> for the real experiments.</p></div>"
)


def page_description(doctree, fallback: str) -> str:
    """The first paragraph of the page as plain text, cut to ``DESCRIPTION_LENGTH``."""
    if doctree is not None:
        for paragraph in doctree.findall(nodes.paragraph):
            text = " ".join(paragraph.astext().split())
            if len(text) > 40:  # skip one-word labels such as "Learning objectives"
                if len(text) > DESCRIPTION_LENGTH:
                    text = text[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0] + "…"
                return text
    return fallback


#: docutils marks each bibliography entry ``role="doc-biblioentry"`` inside a
#: ``role="list"``. DPUB-ARIA 1.1 deprecated that role (axe: aria-deprecated-role), and a
#: list whose items lack ``role="listitem"`` is broken for screen readers (axe:
#: aria-required-children, critical). ``listitem`` is the role DPUB-ARIA 1.1 points to.
BIBLIOENTRY_ROLE = re.compile(r'(<div class="citation"[^>]*) role="doc-biblioentry"')


def accessible_bibliography(body: str) -> str:
    """``body`` with bibliography entries marked as the list items they are."""
    return BIBLIOENTRY_ROLE.sub(r'\1 role="listitem"', body)


def _add_page_extras(app, pagename, templatename, context, doctree):
    fallback = app.config.project
    description = html.escape(page_description(doctree, fallback), quote=True)
    context["metatags"] = (
        context.get("metatags", "") + f'\n<meta name="description" content="{description}" />'
    )
    if "body" in context:
        context["body"] = accessible_bibliography(context["body"])
    if os.environ.get("NODELIB_FAST") == "1" and "body" in context:
        context["body"] = FAST_MODE_BANNER + context["body"]


def setup(app):
    app.connect("config-inited", _check_vendor_folder)
    # priority < 500 so plotly.js precedes require.js (default priority 500)
    app.add_js_file("plotly.min.js", priority=200)
    app.add_css_file("course.css")
    app.add_js_file("course-a11y.js", loading_method="defer")
    app.connect("html-page-context", _add_page_extras)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
