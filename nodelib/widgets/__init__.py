"""Interactive widgets (ipywidgets + plotly), one module per widget.

The widget modules import ipywidgets and build figures, so they are loaded only
when a widget is first asked for: ``import nodelib`` stays quick.
"""

from __future__ import annotations

import importlib

#: Each public widget function and the submodule that defines it.
_WIDGETS = {
    "convolution_explorer": "nodelib.widgets.convolution",
    "kernel_picker": "nodelib.widgets.convolution",
    "pooling_explorer": "nodelib.widgets.convolution",
    "solver_picker": "nodelib.widgets.solver_picker",
    "spiral_lab": "nodelib.widgets.spiral_lab",
}

__all__ = sorted(_WIDGETS)


def __getattr__(name: str):
    if name not in _WIDGETS:
        raise AttributeError(f"nodelib.widgets has no widget {name!r}; available: {__all__}")
    return getattr(importlib.import_module(_WIDGETS[name]), name)
