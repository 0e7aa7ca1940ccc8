"""A plug-in for the Jupyter Book build (myst-nb); not used when running notebooks.

:func:`nodelib.viz.show` sends every figure as plotly JSON *and* as HTML. The
book renders the HTML; without this plug-in myst-nb would also warn that it
cannot render the JSON, and the book builds with warnings as errors. The
plug-in renders the JSON as nothing, so the HTML is picked. A figure that
comes *only* as plotly JSON (``fig.show()`` instead of ``show(fig)``) still
fails the build: myst-nb then finds no output type it can render.

Registered in pyproject.toml under the entry point group
``myst_nb.mime_renderers``.
"""

from __future__ import annotations

from myst_nb.core.render import MimeRenderPlugin

PLOTLY_MIME_TYPE = "application/vnd.plotly.v1+json"


class PlotlyJsonSkipper(MimeRenderPlugin):
    """Render plotly's JSON output as nothing; its HTML twin is drawn instead."""

    @staticmethod
    def handle_mime(renderer, data, inline):
        if data.mime_type == PLOTLY_MIME_TYPE:
            return []
        return None
