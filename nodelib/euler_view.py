"""A residual network is Euler's method: the home of chapter 4 (*From ResNets to Neural ODEs*).

A residual block updates a hidden state by ``h_{k+1} = h_k + f(h_k)``. Write the
residual as ``f = Δt · G`` and the block is one Euler step of ``dh/dt = G(h)``.
This module builds that picture in code:

- :class:`TanhField` is a small vector field ``G(h)`` (a two-layer tanh network);
- :func:`residual_network` stacks ``depth`` residual blocks that *share* the
  weights of ``G`` and use the step ``Δt = (t1 - t0) / depth``;
- :func:`ode_flow` solves ``dh/dt = G(h)`` accurately with :func:`nodelib.odeint`;
- :func:`error_vs_depth` measures how fast the network approaches the flow
  (error ∝ 1/depth, so slope -1 on a log-log plot, see :func:`loglog_slope`);
- :func:`error_vs_depth_figure` and :func:`depth_morph_figure` draw both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from nodelib.viz import slider_figure


class TanhField(nn.Module):
    """A vector field ``G(t, h) = W2 · tanh(W1 · h + b1) + R · h``, independent of ``t``.

    ``R`` is a fixed rotation-with-decay matrix so that trajectories curl (the
    morphing picture is more telling than straight lines); the tanh network on
    top bends them. ``h``: (batch, dim); returns (batch, dim), in units of
    "state per unit time".
    """

    def __init__(self, dim: int = 2, hidden: int = 16, *, seed: int = 0, scale: float = 1.5):
        super().__init__()
        if dim < 1 or hidden < 1:
            raise ValueError(f"dim and hidden must be >= 1, got dim={dim}, hidden={hidden}")
        generator = torch.Generator().manual_seed(seed)
        self.inner = nn.Linear(dim, hidden)
        self.outer = nn.Linear(hidden, dim, bias=False)
        with torch.no_grad():
            self.inner.weight.copy_(torch.randn(hidden, dim, generator=generator) * scale)
            self.inner.bias.copy_(torch.randn(hidden, generator=generator) * 0.5)
            self.outer.weight.copy_(
                torch.randn(dim, hidden, generator=generator) * scale / hidden**0.5
            )
        rotation = torch.zeros(dim, dim)
        if dim >= 2:
            rotation[0, 1], rotation[1, 0] = -2.0, 2.0
        rotation -= 0.1 * torch.eye(dim)
        self.register_buffer("rotation", rotation)

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.outer(torch.tanh(self.inner(h))) + h @ self.rotation.T


def residual_network(
    field: nn.Module,
    h0: torch.Tensor,
    depth: int,
    *,
    t0: float = 0.0,
    t1: float = 1.0,
    return_path: bool = False,
) -> torch.Tensor:
    """Run ``depth`` residual blocks ``h ← h + f(h)`` with ``f = Δt · G`` and shared weights.

    ``field``: the vector field ``G(t, h)``; ``h0``: (batch, dim). Block ``k``
    sees the time ``t0 + k·Δt`` (a time-independent ``G`` ignores it).
    Returns the output (batch, dim), or with ``return_path`` every hidden
    state (depth + 1, batch, dim), the input included.
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive int, got {depth!r}")
    if not t1 > t0:
        raise ValueError(f"need t1 > t0, got t0={t0}, t1={t1}")
    dt = (t1 - t0) / depth
    h = h0
    path = [h0]
    for k in range(depth):
        t = torch.as_tensor(t0 + k * dt, dtype=h0.dtype)
        residual = dt * field(t, h)  # f(h_k) = Δt · G(h_k): the block's residual branch
        h = h + residual  # the shortcut adds the input back
        path.append(h)
    return torch.stack(path) if return_path else h


def ode_flow(
    field: nn.Module,
    h0: torch.Tensor,
    *,
    t0: float = 0.0,
    t1: float = 1.0,
    n_points: int = 2,
    rtol: float = 1e-9,
    atol: float = 1e-11,
) -> torch.Tensor:
    """The continuous flow ``h(t)`` of ``dh/dt = G(h)``, solved tightly with dopri5.

    ``h0``: (batch, dim). Returns (n_points, batch, dim) at ``n_points`` equally
    spaced times from ``t0`` to ``t1``; the last entry is ``h(t1)``, the output of
    the "infinitely deep" network.
    """
    from nodelib.solvers import odeint  # the solvers chapter explains this function

    t = torch.linspace(t0, t1, n_points, dtype=h0.dtype)
    with torch.no_grad():
        return odeint(field, h0, t, method="dopri5", rtol=rtol, atol=atol)


def loglog_slope(x, y) -> float:
    """The slope of the least-squares line through ``(log x, log y)``.

    If ``y ≈ C · x^p`` the slope is ``p``: the order of a method when ``x`` is
    the step size, ``-1`` for the error of a residual network against its depth.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(
            f"x and y must be 1-D arrays of the same length >= 2, got shapes {x.shape}, {y.shape}"
        )
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive to take logarithms")
    slope, _ = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope)


@dataclass
class DepthStudy:
    """Errors of residual networks of several depths against the ODE flow."""

    depths: list[int]
    errors: list[float]  # max over the batch of ‖h_N - h(t1)‖₂
    slope: float  # fitted log-log slope of error vs depth


def error_vs_depth(
    field: nn.Module, h0: torch.Tensor, depths, *, t0: float = 0.0, t1: float = 1.0
) -> DepthStudy:
    """Distance between a depth-``N`` residual network's output and the flow ``h(t1)``.

    ``h0``: (batch, dim), best in float64 so the error is not swamped by rounding.
    The error is the largest Euclidean distance over the batch.
    """
    depths = [int(n) for n in depths]
    exact = ode_flow(field, h0, t0=t0, t1=t1)[-1]
    errors = []
    with torch.no_grad():
        for depth in depths:
            out = residual_network(field, h0, depth, t0=t0, t1=t1)
            errors.append(float((out - exact).norm(dim=-1).max()))
    return DepthStudy(depths=depths, errors=errors, slope=loglog_slope(depths, errors))


def error_vs_depth_figure(study: DepthStudy) -> go.Figure:
    """Log-log plot of error against depth, with the slope -1 reference line."""
    depths = np.asarray(study.depths, dtype=float)
    reference = study.errors[0] * depths[0] / depths
    fig = go.Figure(
        [
            go.Scatter(
                x=depths,
                y=study.errors,
                mode="lines+markers",
                name=f"residual net (fitted slope {study.slope:.2f})",
            ),
            go.Scatter(
                x=depths, y=reference, mode="lines", line={"dash": "dash"}, name="slope -1"
            ),
        ]
    )
    fig.update_layout(
        title="A residual network with shared weights approaches the ODE flow",
        xaxis={"type": "log", "title": "depth N (number of residual blocks, Δt = 1/N)"},
        yaxis={"type": "log", "title": "max ‖h_N − h(t₁)‖"},
        height=420,
    )
    return fig


def _joined(paths: torch.Tensor) -> tuple[list, list]:
    """Flatten (steps, batch, 2) paths into x, y lists with ``None`` between trajectories."""
    xs: list = []
    ys: list = []
    for b in range(paths.shape[1]):
        xs.extend(paths[:, b, 0].tolist() + [None])
        ys.extend(paths[:, b, 1].tolist() + [None])
    return xs, ys


def depth_morph_frames(
    field: nn.Module, h0: torch.Tensor, depths, *, t0: float = 0.0, t1: float = 1.0
) -> list[list[go.BaseTraceType]]:
    """Traces for each depth: the network's hidden states and the continuous flow.

    ``h0``: (batch, 2). Each frame holds three traces - flow curves, the
    network's layer-by-layer path, its outputs - so plotly can swap frames.
    """
    if h0.ndim != 2 or h0.shape[1] != 2:
        raise ValueError(f"h0 must have shape (batch, 2) to be drawn, got {tuple(h0.shape)}")
    flow = ode_flow(field, h0, t0=t0, t1=t1, n_points=100, rtol=1e-7, atol=1e-9)
    flow_x, flow_y = _joined(flow)
    frames = []
    with torch.no_grad():
        for depth in depths:
            path = residual_network(field, h0, int(depth), t0=t0, t1=t1, return_path=True)
            net_x, net_y = _joined(path)
            frames.append(
                [
                    go.Scatter(
                        x=flow_x,
                        y=flow_y,
                        mode="lines",
                        line={"color": "lightgray", "width": 4},
                        name="ODE flow",
                    ),
                    go.Scatter(
                        x=net_x,
                        y=net_y,
                        mode="lines+markers",
                        marker={"size": 4},
                        line={"color": "royalblue", "width": 1.5},
                        name=f"residual net, depth {depth}",
                    ),
                    go.Scatter(
                        x=path[-1, :, 0].tolist(),
                        y=path[-1, :, 1].tolist(),
                        mode="markers",
                        marker={"color": "crimson", "size": 7},
                        name="network output h_N",
                    ),
                ]
            )
    return frames


def depth_morph_figure(
    field: nn.Module, h0: torch.Tensor, depths, *, t0: float = 0.0, t1: float = 1.0
) -> go.Figure:
    """A depth slider: hidden-state paths of the residual net morph into the ODE flow."""
    depths = [int(n) for n in depths]
    frames = depth_morph_frames(field, h0, depths, t0=t0, t1=t1)
    return slider_figure(
        frames,
        [str(n) for n in depths],
        slider_label="depth N",
        layout={
            "title": "Hidden states layer by layer (blue) and the continuous flow (gray)",
            "xaxis": {"title": "h₁", "scaleanchor": "y"},
            "yaxis": {"title": "h₂"},
            "height": 520,
        },
        play_button=True,
    )


def initial_grid(n_per_side: int = 4, radius: float = 1.5) -> torch.Tensor:
    """A square grid of 2-D starting points in ``[-radius, radius]²``: (n_per_side², 2), float64."""
    if n_per_side < 1:
        raise ValueError(f"n_per_side must be >= 1, got {n_per_side}")
    axis = torch.linspace(-radius, radius, n_per_side, dtype=torch.float64)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
