"""The trace of a Jacobian, exactly or by Hutchinson's estimator.

Home chapter: ``book/10_normalizing_flows.ipynb``. A continuous normalizing flow changes the
log-density of a moving point at the rate ``-tr(∂f/∂z)``; this module computes that trace for a
batch of points ``z: (batch, dim)`` and a function ``func`` that maps them to their velocities
``(batch, dim)``, each point on its own (row ``b`` of the output depends on row ``b`` of ``z``
only).

Both functions use one tool: :func:`torch.func.vjp` evaluates ``func`` once and returns a
function that computes vector-Jacobian products ``vᵀ J`` for any ``v``, without forming ``J``.

- :func:`exact_trace` sums the diagonal entries ``∂f_i/∂z_i``: ``vᵀ J`` with ``v = e_i`` is row
  ``i`` of the Jacobian, for every point at once. ``dim`` products: the cost grows with ``dim``.
- :func:`hutchinson_trace` uses ``E[εᵀ J ε] = tr(J)`` for noise with ``E[ε εᵀ] = I``
  (Hutchinson, 1989; FFJORD, Grathwohl et al., 2019): one product ``εᵀ J`` whatever the
  dimension, at the price of variance.
- :func:`hutchinson_variance` is the variance of one estimate, in closed form, for Gaussian and
  Rademacher noise; :func:`trace_cost` times both ways in growing dimension.

The results are ordinary tensors of autograd: when ``func`` has parameters that require grad
(and grad mode is on), the trace is differentiable with respect to them and to ``z``, which is
what training a flow through it needs. ``z`` itself need not require grad.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import plotly.graph_objects as go
import torch
from torch import nn

__all__ = [
    "NOISE_KINDS",
    "exact_trace",
    "hutchinson_trace",
    "draw_noise",
    "hutchinson_variance",
    "trace_cost",
    "estimates_figure",
    "cost_figure",
]

#: The noise distributions :func:`draw_noise` knows; both have mean 0 and covariance I.
NOISE_KINDS = ("rademacher", "gaussian")


def _evaluate(func, z) -> tuple[torch.Tensor, Callable]:
    """``func(z)`` and its vector-Jacobian product function, after checking both."""
    if not callable(func):
        raise TypeError(f"func must be callable as func(z), got {type(func).__name__}")
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or not z.is_floating_point():
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z must be a floating point (batch, dim) tensor, got {got}")
    dz_dt, vjp = torch.func.vjp(func, z)
    if not isinstance(dz_dt, torch.Tensor) or dz_dt.shape != z.shape:
        got = tuple(dz_dt.shape) if isinstance(dz_dt, torch.Tensor) else type(dz_dt).__name__
        raise ValueError(f"func(z) must have the shape of z {tuple(z.shape)}, got {got}")
    return dz_dt, vjp


def exact_trace(func, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``func(z)`` ``(batch, dim)`` and ``tr(∂func/∂z)`` for every point ``(batch,)``.

    With ``v = e_i`` (``1`` in column ``i`` for every point), ``vᵀ J`` is row ``i`` of each
    point's Jacobian; we keep its ``i``-th entry and sum over ``i``: ``dim`` products.
    """
    dz_dt, vjp = _evaluate(func, z)
    trace = torch.zeros(z.shape[0], dtype=dz_dt.dtype, device=z.device)
    for i in range(z.shape[1]):
        unit = torch.zeros_like(z)
        unit[:, i] = 1.0
        (row,) = vjp(unit)
        trace = trace + row[:, i]
    return dz_dt, trace


def hutchinson_trace(
    func, z: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``func(z)`` ``(batch, dim)`` and Hutchinson's estimate ``εᵀ (∂func/∂z) ε`` ``(batch,)``.

    ``noise: (batch, dim)``, one draw ``ε`` per point, with ``E[ε εᵀ] = I`` (see
    :func:`draw_noise`). One product ``εᵀ J`` for every point; the dot product with ``ε``
    finishes the estimate. Unbiased: its mean over draws is the exact trace.
    """
    if not isinstance(noise, torch.Tensor) or not isinstance(z, torch.Tensor):
        raise ValueError(f"noise must be a tensor shaped like z, got {type(noise).__name__}")
    if noise.shape != z.shape:
        raise ValueError(
            f"noise must have the shape of z {tuple(z.shape)}, got {tuple(noise.shape)}"
        )
    dz_dt, vjp = _evaluate(func, z)
    (noise_jacobian,) = vjp(noise.to(dz_dt.dtype))
    return dz_dt, (noise_jacobian * noise).sum(dim=1)


def draw_noise(
    shape: tuple[int, ...],
    kind: str = "rademacher",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Noise for :func:`hutchinson_trace`: ``kind`` is ``"rademacher"`` (±1, each with
    probability 1/2) or ``"gaussian"`` (standard normal). Both have mean 0 and covariance I."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"kind={kind!r} is unknown; valid noise kinds are {list(NOISE_KINDS)}")
    if kind == "gaussian":
        return torch.randn(shape, generator=generator, dtype=dtype)
    return (2 * torch.randint(0, 2, shape, generator=generator) - 1).to(dtype)


def hutchinson_variance(jacobian: torch.Tensor, kind: str = "rademacher") -> torch.Tensor:
    """The variance of one Hutchinson estimate ``εᵀ J ε`` for a square ``jacobian`` ``(dim, dim)``
    (or a batch ``(batch, dim, dim)``).

    Only the symmetric part ``S = (J + Jᵀ)/2`` matters (``εᵀ J ε = εᵀ S ε``). Gaussian noise:
    ``2 ‖S‖²_F``. Rademacher noise: ``2 (‖S‖²_F - Σ_i S_ii²)`` - the diagonal is counted
    exactly (``ε_i² = 1``), so a diagonal Jacobian is estimated with no error at all.
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"kind={kind!r} is unknown; valid noise kinds are {list(NOISE_KINDS)}")
    if jacobian.dim() < 2 or jacobian.shape[-1] != jacobian.shape[-2]:
        raise ValueError(f"jacobian must be square (dim, dim), got {tuple(jacobian.shape)}")
    sym = (jacobian + jacobian.transpose(-1, -2)) / 2
    frobenius = (sym**2).sum(dim=(-1, -2))
    if kind == "gaussian":
        return 2 * frobenius
    return 2 * (frobenius - (torch.diagonal(sym, dim1=-2, dim2=-1) ** 2).sum(dim=-1))


def trace_cost(
    dims: list[int], batch: int = 256, hidden: int = 64, repeats: int = 5, seed: int = 0
) -> dict[str, list[float]]:
    """Seconds per trace computation, exact and Hutchinson, for a tanh MLP in each dimension.

    For each ``dim`` in ``dims``: an MLP ``dim -> hidden -> dim``, ``batch`` points; the median
    of ``repeats`` timings of one forward pass plus the trace. Returns
    ``{"dims", "exact_s", "hutchinson_s"}``, lists aligned with ``dims``.
    """
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"dims must be a non-empty list of positive integers, got {dims!r}")
    generator = torch.Generator().manual_seed(seed)
    result = {"dims": list(dims), "exact_s": [], "hutchinson_s": []}
    for dim in dims:
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))
        z = torch.randn(batch, dim, generator=generator)
        noise = draw_noise((batch, dim), generator=generator)
        for name, trace, extra in (
            ("exact_s", exact_trace, ()),
            ("hutchinson_s", hutchinson_trace, (noise,)),
        ):
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                trace(net, z, *extra)
                seconds.append(time.perf_counter() - start)
            result[name].append(sorted(seconds)[len(seconds) // 2])
    return result


def estimates_figure(estimates: dict[str, torch.Tensor], exact: float, title: str) -> go.Figure:
    """Histograms of Hutchinson estimates (noise kind -> ``(draws,)``) and the exact trace."""
    fig = go.Figure()
    for name, values in estimates.items():
        fig.add_trace(go.Histogram(x=values.detach().numpy(), name=name, opacity=0.6, nbinsx=60))
    fig.add_vline(x=exact, line_color="black", line_dash="dash")
    fig.add_annotation(x=exact, y=1, yref="paper", text="exact trace", showarrow=False, yshift=10)
    fig.update_layout(
        title=title,
        barmode="overlay",
        xaxis_title="estimate of tr(∂f/∂z)",
        yaxis_title="number of draws",
    )
    return fig


def cost_figure(cost: dict[str, list[float]], title: str) -> go.Figure:
    """Seconds per trace against the dimension, exact and Hutchinson (log-log); see
    :func:`trace_cost`."""
    fig = go.Figure()
    for key, name in (("exact_s", "exact (dim products)"), ("hutchinson_s", "Hutchinson (1)")):
        fig.add_trace(
            go.Scatter(x=cost["dims"], y=[1000 * s for s in cost[key]], mode="lines+markers",
                       name=name)
        )  # fmt: skip
    fig.update_layout(
        title=title,
        xaxis={"title": "dimension d", "type": "log"},
        yaxis={"title": "milliseconds per trace", "type": "log"},
    )
    return fig
