"""Computed numbers in the prose: ``glue(name, value)`` wherever the notebook runs.

The book puts a value computed by a code cell into the Markdown with myst-nb's ``glue``
and the role ``{glue:text}`name:.2f```, so no number in the text is typed in by hand.
myst-nb is part of the book's build tools, not of nodelib's dependencies: on Colab or in a
bare environment it is missing, and there the value is simply shown (or not, with
``display=False``), which is all a reader running the notebook needs.
"""

from __future__ import annotations

try:
    from myst_nb import glue as _myst_glue
except ImportError:  # Colab, Binder without the book's tools
    _myst_glue = None


def glue(name: str, value, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles; show it if ``display``."""
    if _myst_glue is not None:
        _myst_glue(name, value, display=display)
    elif display:
        from IPython.display import display as show

        show(value)
