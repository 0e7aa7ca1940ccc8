"""Chapter 4's widget: drag the depth of a residual network and watch it become an ODE flow.

:func:`depth_explorer` returns an ``ipywidgets.VBox`` with an ``IntSlider`` for the
depth ``N`` (the number of residual blocks, step ``Δt = 1/N``), a readout of the
network's distance to the flow, and the figure of
:func:`nodelib.euler_view.depth_traces`. The static stand-in is
:func:`nodelib.euler_view.depth_morph_figure`.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from nodelib import euler_view
from nodelib.viz import show_in


def depth_explorer(
    field: torch.nn.Module | None = None,
    h0: torch.Tensor | None = None,
    *,
    depth: int = 2,
    max_depth: int = 64,
) -> widgets.VBox:
    """A depth slider over the residual network ``h ← h + (1/N) · G(h)`` and the flow of ``G``.

    ``field``: the vector field ``G`` (default: :class:`~nodelib.euler_view.TanhField`);
    ``h0``: (batch, 2) starting points (default: a 4 × 4 grid). Returns a VBox;
    ``.depth`` is the slider, ``.readout`` an HTML line with the error, ``.error``
    the largest distance ``‖h_N − h(1)‖`` over the batch, ``.figure`` the figure
    currently shown and ``.update()`` redraws.
    """
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 2:
        raise ValueError(f"max_depth must be an integer >= 2, got {max_depth!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= max_depth:
        raise ValueError(f"depth must be an integer in [1, max_depth={max_depth}], got {depth!r}")
    field = field if field is not None else euler_view.TanhField()
    h0 = h0 if h0 is not None else euler_view.initial_grid(4)
    flow = euler_view.flow_paths(field, h0)  # solved once; only the network changes
    exact = flow[-1]
    layout = euler_view.morph_layout(field, h0)

    slider = widgets.IntSlider(
        value=depth,
        min=1,
        max=max_depth,
        step=1,
        description="depth N",
        tooltip="number of residual blocks N (step Δt = 1/N); arrow keys change it",
        continuous_update=False,
    )
    readout = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([slider, readout, output])

    def update(_change=None):
        n = slider.value
        with torch.no_grad():
            out = euler_view.residual_network(field, h0, n)
        box.error = float((out - exact).norm(dim=-1).max())
        readout.value = (
            f"depth N = {n}, step Δt = 1/{n} = {1 / n:.4f}: "
            f"largest distance ‖h_N − h(1)‖ = {box.error:.4f}"
        )
        box.figure = go.Figure(euler_view.depth_traces(field, h0, n, flow), layout=layout)
        show_in(output, box.figure)

    slider.observe(update, names="value")
    box.depth, box.readout, box.output, box.update = slider, readout, output, update
    update()
    return box
