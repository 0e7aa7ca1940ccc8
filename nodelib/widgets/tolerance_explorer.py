"""Live widget of the adjoint chapter: how the reverse solve's error depends on ``rtol``.

The computations live in :mod:`nodelib.adjoint_study` (:func:`~nodelib.adjoint_study.reconstruction`
and :func:`~nodelib.adjoint_study.tolerance_study`); this module only wires them to a slider.
Its static stand-in for the HTML book is
:func:`nodelib.adjoint_study.reconstruction_slider_figure`.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go
import torch
from torch import nn

from nodelib import adjoint_study
from nodelib.viz import show_in


def tolerance_explorer(func: nn.Module, z0: torch.Tensor, t1: float):
    """Live widget: pick ``rtol`` (log slider), see the reverse solve's errors and the NFE.

    Returns an ipywidgets ``VBox`` with ``.controls`` (``{"log10_rtol": slider}``), ``.readout``
    (an HTML widget with the gradient error and NFE), ``.figure`` (the figure shown) and
    ``.update()``.
    """
    slider = widgets.FloatSlider(
        value=-3.0,
        min=-9.0,
        max=-1.0,
        step=0.5,
        description="log₁₀ rtol",
        tooltip="base-10 logarithm of the relative tolerance; arrow keys change it",
        continuous_update=False,
    )
    readout = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([slider, readout, output])

    def update(_change=None):
        rtol = 10.0**slider.value
        result = adjoint_study.reconstruction(func, z0, t1, rtol)
        study = adjoint_study.tolerance_study(func, z0, t1, [rtol])
        box.figure = go.Figure(
            adjoint_study.reconstruction_traces(result),
            layout=adjoint_study.reconstruction_layout(f"rtol = {rtol:.1e}"),
        )
        readout.value = (
            f"rtol = {rtol:.1e}: adjoint gradient error {study.adjoint_error[0]:.2e}, "
            f"backprop gradient error {study.backprop_error[0]:.2e}; "
            f"NFE forward {study.forward_nfe[0]}, reverse {study.backward_nfe[0]}"
        )
        show_in(output, box.figure)

    slider.observe(update, names="value")
    box.controls, box.readout, box.update = {"log10_rtol": slider}, readout, update
    update()
    return box
