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
- :func:`error_vs_depth_figure` and :func:`depth_morph_figure` draw both; the
  live widget :func:`nodelib.widgets.depth_morph.depth_explorer` draws one depth at
  a time with :func:`depth_traces` and :func:`morph_layout`.
"""

from __future__ import annotations

import numbers
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
    "state per unit time". The parameters are float64 unless ``dtype`` says otherwise.
    """

    def __init__(
        self,
        dim: int = 2,
        hidden: int = 16,
        *,
        seed: int = 0,
        scale: float = 1.5,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        if dim < 1 or hidden < 1:
            raise ValueError(f"dim and hidden must be >= 1, got dim={dim}, hidden={hidden}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
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
        # float64 by default: the depth study measures errors down to ~1e-3 and wants
        # them free of float32 rounding
        self.to(dtype)

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.outer(torch.tanh(self.inner(h))) + h @ self.rotation.T


def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    return int(depth)


def _check_interval(t0: float, t1: float) -> None:
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise ValueError(f"need finite t0 < t1, got t0={t0!r}, t1={t1!r}")


def _check_depths(depths) -> list[int]:
    depths = [_check_depth(n) for n in depths]
    if len(set(depths)) < 2:
        raise ValueError(f"depths must hold at least two different depths, got {depths!r}")
    return depths


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
    depth = _check_depth(depth)
    _check_interval(t0, t1)
    if not isinstance(h0, torch.Tensor) or not h0.is_floating_point():
        raise ValueError(f"h0 must be a floating-point tensor (batch, dim), got {h0!r}")
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

    ``h0``: (batch, dim), best in float64 so the error is not swamped by rounding;
    ``depths``: at least two different positive integers. The error is the largest
    Euclidean distance over the batch.
    """
    depths = _check_depths(depths)
    exact = ode_flow(field, h0, t0=t0, t1=t1)[-1]
    errors = []
    with torch.no_grad():
        for depth in depths:
            out = residual_network(field, h0, depth, t0=t0, t1=t1)
            errors.append(float((out - exact).norm(dim=-1).max()))
    return DepthStudy(depths=depths, errors=errors, slope=loglog_slope(depths, errors))


def error_vs_depth_figure(study: DepthStudy) -> go.Figure:
    """Log-log plot of error against depth, with a reference line of slope -1."""
    depths = np.asarray(study.depths, dtype=float)
    reference = study.errors[0] * depths[0] / depths
    fig = go.Figure(
        [
            go.Scatter(
                x=depths,
                y=study.errors,
                mode="lines+markers",
                name=f"residual network (fitted slope {study.slope:.2f})",
            ),
            go.Scatter(x=depths, y=reference, mode="lines", line={"dash": "dash"}, name="slope −1"),
        ]
    )
    fig.update_layout(
        title="A residual network with shared weights approaches the ODE flow",
        xaxis={"type": "log", "title": "depth N (number of residual blocks, Δt = 1/N)"},
        yaxis={"type": "log", "title": "max ‖h_N − h(t₁)‖"},
        height=420,
    )
    return fig


# --------------------------------------------------------------------------- depth morph


def _joined(paths: torch.Tensor) -> tuple[list, list]:
    """Flatten (steps, batch, 2) paths into x, y lists with ``None`` between trajectories."""
    xs: list = []
    ys: list = []
    for b in range(paths.shape[1]):
        xs.extend(paths[:, b, 0].tolist() + [None])
        ys.extend(paths[:, b, 1].tolist() + [None])
    return xs, ys


def _check_drawable(h0: torch.Tensor) -> None:
    if not isinstance(h0, torch.Tensor) or h0.ndim != 2 or h0.shape[1] != 2:
        shape = tuple(h0.shape) if isinstance(h0, torch.Tensor) else type(h0).__name__
        raise ValueError(f"h0 must be a tensor of shape (batch, 2) to be drawn, got {shape}")


def flow_paths(
    field: nn.Module, h0: torch.Tensor, *, t0: float = 0.0, t1: float = 1.0
) -> torch.Tensor:
    """The continuous trajectories to draw: (100, batch, 2), from a dopri5 solve."""
    _check_drawable(h0)
    return ode_flow(field, h0, t0=t0, t1=t1, n_points=100, rtol=1e-7, atol=1e-9)


def depth_traces(
    field: nn.Module,
    h0: torch.Tensor,
    depth: int,
    flow: torch.Tensor,
    *,
    t0: float = 0.0,
    t1: float = 1.0,
) -> list[go.Scatter]:
    """The three traces drawn for one depth: flow curves, the network's layer-by-layer path,
    and its outputs ``h_N``. ``flow``: (steps, batch, 2) from :func:`flow_paths`."""
    _check_drawable(h0)
    with torch.no_grad():
        path = residual_network(field, h0, depth, t0=t0, t1=t1, return_path=True)
    flow_x, flow_y = _joined(flow)
    net_x, net_y = _joined(path)
    return [
        go.Scatter(
            x=flow_x,
            y=flow_y,
            mode="lines",
            line={"color": "lightgray", "width": 4},
            name="ODE flow h(t)",
        ),
        go.Scatter(
            x=net_x,
            y=net_y,
            mode="lines+markers",
            marker={"size": 4},
            line={"color": "royalblue", "width": 1.5},
            name="hidden states h_0, …, h_N",
        ),
        go.Scatter(
            x=path[-1, :, 0].tolist(),
            y=path[-1, :, 1].tolist(),
            mode="markers",
            marker={"color": "crimson", "size": 7},
            name="network output h_N",
        ),
    ]


def morph_layout(field: nn.Module, h0: torch.Tensor, *, t0: float = 0.0, t1: float = 1.0):
    """Layout with axis ranges fixed for every depth (the depth-1 path travels farthest)."""
    with torch.no_grad():
        shallow = residual_network(field, h0, 1, t0=t0, t1=t1, return_path=True)
    points = torch.cat([flow_paths(field, h0, t0=t0, t1=t1), shallow]).reshape(-1, 2)
    low, high = points.min(dim=0).values.tolist(), points.max(dim=0).values.tolist()
    margin = [0.05 * (b - a) for a, b in zip(low, high, strict=True)]
    return {
        "title": "Hidden states layer by layer (blue) and the continuous flow (gray)",
        "xaxis": {"title": "h₁", "range": [low[0] - margin[0], high[0] + margin[0]]},
        "yaxis": {
            "title": "h₂",
            "range": [low[1] - margin[1], high[1] + margin[1]],
            "scaleanchor": "x",
        },
        "height": 560,
    }


def depth_morph_frames(
    field: nn.Module, h0: torch.Tensor, depths, *, t0: float = 0.0, t1: float = 1.0
) -> list[list[go.Scatter]]:
    """One frame per depth, each the three traces of :func:`depth_traces`. ``h0``: (batch, 2)."""
    _check_drawable(h0)
    depths = [_check_depth(n) for n in depths]
    flow = flow_paths(field, h0, t0=t0, t1=t1)
    return [depth_traces(field, h0, n, flow, t0=t0, t1=t1) for n in depths]


def depth_morph_figure(
    field: nn.Module, h0: torch.Tensor, depths, *, t0: float = 0.0, t1: float = 1.0
) -> go.Figure:
    """A depth slider: hidden-state paths of the residual network morph into the ODE flow.

    The static stand-in of :func:`nodelib.widgets.depth_morph.depth_explorer`: one
    frame per entry of ``depths``, computed now, so the page needs no kernel.
    """
    depths = [_check_depth(n) for n in depths]
    if not depths:
        raise ValueError("depths must hold at least one depth, got none")
    frames = depth_morph_frames(field, h0, depths, t0=t0, t1=t1)
    return slider_figure(
        frames,
        [str(n) for n in depths],
        slider_label="depth N",
        layout=morph_layout(field, h0, t0=t0, t1=t1),
        play_button=True,
        frame_duration_ms=600,
    )


def initial_grid(n_per_side: int = 4, radius: float = 1.5) -> torch.Tensor:
    """A square grid of 2-D starting points in ``[-radius, radius]²``: (n_per_side², 2), float64."""
    if isinstance(n_per_side, bool) or not isinstance(n_per_side, numbers.Integral):
        raise ValueError(f"n_per_side must be an integer >= 1, got {n_per_side!r}")
    if n_per_side < 1:
        raise ValueError(f"n_per_side must be an integer >= 1, got {n_per_side!r}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    axis = torch.linspace(-radius, radius, n_per_side, dtype=torch.float64)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
