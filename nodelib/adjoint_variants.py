"""Which adjoint? Gradient error and memory of backsolve, checkpointing and backprop; the seminorm.

Home chapter: the price of training. Two studies, each returning a plain dict (the benchmark
``benchmarks/training_practice.py`` writes them as JSON), and figures for the chapter:

- :func:`adjoint_variants_study`: on *contracting* dynamics ``f(z) = W₂ tanh(W₁ z + b₁) + b₂ -
  λ z``, the loss ``Σ z(T)²``, dopri5 at the default tolerances. Reference: backprop through the
  same solve (:func:`nodelib.odeint`), the exact gradient of the discrete solve. The backsolve
  adjoint (:func:`nodelib.odeint_adjoint`) rebuilds ``z`` backwards, which multiplies its
  errors by about ``exp(λ T)``; the checkpointed adjoint
  (:func:`nodelib.checkpointed_adjoint.odeint_checkpointed`) replays the forward steps. The
  gradient error is the *worst relative error over the gradient blocks* (``dL/dz(0)`` and each
  parameter tensor): ``dL/dz(0)``, which a model sends on to its encoder, is the one that breaks.
  Memory is the peak of the bytes autograd holds *saved for backward* during forward plus
  backward (:func:`nodelib.adjoint_study.saved_tensors_peak`; temporaries that are not saved
  and the few floats per step the checkpointed forward records are not counted).
- :func:`seminorm_study`: backward evaluations of ``func`` of the backsolve adjoint with the
  default norm and with the seminorm (``adjoint_norm="seminorm"``), and how far apart the two
  gradients are.
"""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from torch import nn

from nodelib.adjoint import odeint_adjoint
from nodelib.adjoint_study import saved_tensors_peak
from nodelib.checkpointed_adjoint import odeint_checkpointed
from nodelib.solvers import odeint
from nodelib.viz import OKABE_ITO

__all__ = [
    "ContractingDynamics",
    "adjoint_variants_study",
    "seminorm_study",
    "gradient_error_figure",
    "memory_figure",
    "seminorm_figure",
]

F64 = torch.float64
MB = 1e6


class ContractingDynamics(nn.Module):
    """``f(t, z) = W₂ tanh(W₁ z + b₁) + b₂ - λ z`` for ``z`` of shape ``(batch, dim)``.

    With ``λ`` larger than the Lipschitz constant of the net, trajectories contract towards a
    fixed point at a rate of about ``λ``, so solving *backwards* expands errors like
    ``exp(λ T)``.
    """

    def __init__(self, dim: int = 2, hidden: int = 32, rate: float = 2.0):
        super().__init__()
        self.inner = nn.Linear(dim, hidden)
        self.outer = nn.Linear(hidden, dim)
        self.rate = rate

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.outer(torch.tanh(self.inner(z))) - self.rate * z


def _problem(batch: int, hidden: int, rate: float, seed: int):
    torch.manual_seed(seed)
    func = ContractingDynamics(hidden=hidden, rate=rate).to(F64)
    z0 = torch.randn(batch, 2, dtype=F64, requires_grad=True)
    return func, z0


def _gradients(solve, func, z0, horizon: float, **options):
    """``([dL/dz(0), dL/dθ…], stats)`` for ``L = Σ z(T)²``."""
    t = torch.tensor([0.0, horizon], dtype=F64)
    solution, stats = solve(func, z0, t, return_stats=True, **options)
    loss = solution[-1].square().sum()
    return list(torch.autograd.grad(loss, (z0, *func.parameters()))), stats


def worst_relative_error(grads, reference) -> float:
    """The largest ``‖g - g_ref‖ / ‖g_ref‖`` over the gradient blocks."""
    return max(((g - r).norm() / r.norm()).item() for g, r in zip(grads, reference, strict=True))


def _peak_mb(fn):
    """``(fn()'s result, peak MB saved for backward)``."""
    result, peak = saved_tensors_peak(fn)
    return result, peak / MB


def adjoint_variants_study(quick: bool = False, seed: int = 0) -> dict:
    """Gradient error against ``T`` and saved-tensor memory against ``K``.

    Returns a dict: ``T`` (horizons), ``steps`` (accepted dopri5 steps at each), the worst
    relative gradient errors ``backsolve_rel_err`` and ``checkpoint_rel_err`` (with ``K =
    checkpoints_for_error`` checkpoints) against backprop, also split into ``*_rel_err_z0``
    (``dL/dz(0)``) and ``backsolve_rel_err_params`` (worst over parameters); at the largest
    ``T``: ``checkpoint_peak_mb`` ``{K: MB}``, ``backprop_peak_mb``, ``backsolve_peak_mb``,
    ``checkpoint_backward_nfe`` ``{K: evaluations}`` and ``forward_nfe``; and ``settings``.
    """
    settings = {
        "rate": 2.0,
        "batch": 16 if quick else 128,
        "hidden": 16 if quick else 64,
        "method": "dopri5",
        "rtol": 1e-6,
        "atol": 1e-8,
        "seed": seed,
    }
    horizons = [1.0, 4.0] if quick else [1.0, 2.0, 4.0, 6.0, 8.0]
    ks = [1, 4] if quick else [1, 2, 4, 8, 16, 32]
    k_error = 4
    func, z0 = _problem(settings["batch"], settings["hidden"], settings["rate"], seed)
    options = {"method": "dopri5", "rtol": settings["rtol"], "atol": settings["atol"]}

    result = {
        "T": horizons,
        "steps": [],
        "backsolve_rel_err": [],
        "backsolve_rel_err_z0": [],
        "backsolve_rel_err_params": [],
        "checkpoint_rel_err": [],
        "checkpoints_for_error": k_error,
    }
    for horizon in horizons:
        reference, stats = _gradients(odeint, func, z0, horizon, **options)
        backsolve, _ = _gradients(odeint_adjoint, func, z0, horizon, **options)
        checkpointed, _ = _gradients(
            odeint_checkpointed, func, z0, horizon, checkpoints=k_error, **options
        )
        result["steps"].append(stats.accepted)
        result["backsolve_rel_err"].append(worst_relative_error(backsolve, reference))
        result["backsolve_rel_err_z0"].append(worst_relative_error(backsolve[:1], reference[:1]))
        result["backsolve_rel_err_params"].append(
            worst_relative_error(backsolve[1:], reference[1:])
        )
        result["checkpoint_rel_err"].append(worst_relative_error(checkpointed, reference))

    horizon = horizons[-1]
    result["memory_T"] = horizon
    result["checkpoint_peak_mb"] = {}
    result["checkpoint_backward_nfe"] = {}
    for k in ks:
        (_, stats), result["checkpoint_peak_mb"][k] = _peak_mb(
            lambda k=k: _gradients(odeint_checkpointed, func, z0, horizon, checkpoints=k, **options)
        )
        result["checkpoint_backward_nfe"][k] = stats.backward_nfe
    result["forward_nfe"] = stats.nfe
    _, result["backprop_peak_mb"] = _peak_mb(
        lambda: _gradients(odeint, func, z0, horizon, **options)
    )
    _, result["backsolve_peak_mb"] = _peak_mb(
        lambda: _gradients(odeint_adjoint, func, z0, horizon, **options)
    )
    result["state_mb"] = z0.numel() * z0.element_size() / MB
    result["settings"] = settings
    return result


def seminorm_study(quick: bool = False, seed: int = 0) -> dict:
    """Backward evaluations of the backsolve adjoint, default norm against seminorm.

    A plain (non-contracting, ``λ = 0``) tanh net, ``L = Σ z(T)²``, dopri5, summed over several
    tolerances. Returns ``backward_nfe_default``, ``backward_nfe_seminorm`` (sums),
    ``saving`` (the fraction of backward evaluations saved), ``grad_rel_diff`` (worst relative
    difference between the two gradients, over tolerances and blocks), ``grad_rel_err_default``
    and ``grad_rel_err_seminorm`` (worst relative error of each against backprop), the
    per-tolerance lists ``rtols``, ``nfe_default``, ``nfe_seminorm``, and ``settings``.
    """
    settings = {
        "rate": 0.0,
        "batch": 16 if quick else 128,
        "hidden": 16 if quick else 64,
        "T": 1.0 if quick else 2.0,
        "method": "dopri5",
        "seed": seed,
    }
    rtols = [1e-4] if quick else [1e-3, 1e-4, 1e-5, 1e-6, 1e-7]
    func, z0 = _problem(settings["batch"], settings["hidden"], settings["rate"], seed)
    t = torch.tensor([0.0, settings["T"]], dtype=F64)
    result = {"rtols": rtols, "nfe_default": [], "nfe_seminorm": []}
    diff = err_default = err_seminorm = 0.0
    for rtol in rtols:
        options = {"method": "dopri5", "rtol": rtol, "atol": rtol * 1e-2}
        reference, _ = _gradients(odeint, func, z0, settings["T"], **options)
        grads = {}
        for norm in ("default", "seminorm"):
            solution, stats = odeint_adjoint(
                func, z0, t, adjoint_norm=norm, return_stats=True, **options
            )
            loss = solution[-1].square().sum()
            grads[norm] = torch.autograd.grad(loss, (z0, *func.parameters()))
            result[f"nfe_{norm}"].append(stats.backward_nfe)
        diff = max(diff, worst_relative_error(grads["seminorm"], grads["default"]))
        err_default = max(err_default, worst_relative_error(grads["default"], reference))
        err_seminorm = max(err_seminorm, worst_relative_error(grads["seminorm"], reference))
    result["backward_nfe_default"] = sum(result["nfe_default"])
    result["backward_nfe_seminorm"] = sum(result["nfe_seminorm"])
    result["saving"] = 1.0 - result["backward_nfe_seminorm"] / result["backward_nfe_default"]
    result["grad_rel_diff"] = diff
    result["grad_rel_err_default"] = err_default
    result["grad_rel_err_seminorm"] = err_seminorm
    result["settings"] = settings
    return result


# --------------------------------------------------------------------------- figures


def gradient_error_figure(study: dict) -> go.Figure:
    """Worst relative gradient error against the horizon ``T``, log scale, both adjoints."""
    floor = 1e-17  # an exact match would vanish from a log axis
    fig = go.Figure()
    for key, name, colour, symbol in (
        ("backsolve_rel_err", "backsolve adjoint", OKABE_ITO["vermillion"], "circle"),
        (
            "checkpoint_rel_err",
            f"checkpointed adjoint (K = {study['checkpoints_for_error']})",
            OKABE_ITO["blue"],
            "square",
        ),
    ):
        fig.add_trace(
            go.Scatter(
                x=study["T"],
                y=[max(e, floor) for e in study[key]],
                mode="lines+markers",
                name=name,
                line={"color": colour},
                marker={"symbol": symbol, "size": 9},
            )
        )
    fig.update_layout(
        title="Gradient error against the horizon T (contracting dynamics, dopri5)",
        xaxis_title="horizon T",
        yaxis_title="worst relative error vs backprop",
        yaxis_type="log",
        yaxis_exponentformat="power",
    )
    return fig


def memory_figure(study: dict) -> go.Figure:
    """Saved-tensor peak of the checkpointed adjoint against ``K``, with backprop and backsolve."""
    ks = list(study["checkpoint_peak_mb"])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=ks,
            y=list(study["checkpoint_peak_mb"].values()),
            mode="lines+markers",
            name="checkpointed adjoint",
            line={"color": OKABE_ITO["blue"]},
            marker={"symbol": "square", "size": 9},
        )
    )
    for key, name, colour, dash in (
        ("backprop_peak_mb", "backprop", OKABE_ITO["black"], "dash"),
        ("backsolve_peak_mb", "backsolve adjoint", OKABE_ITO["vermillion"], "dot"),
    ):
        fig.add_trace(
            go.Scatter(
                x=[ks[0], ks[-1]],
                y=[study[key]] * 2,
                mode="lines",
                name=name,
                line={"color": colour, "dash": dash},
            )
        )
    fig.update_layout(
        title=f"Memory saved for backward against the number of checkpoints (T = "
        f"{study['memory_T']:g})",
        xaxis_title="checkpoints K",
        yaxis_title="peak saved tensors (MB)",
        xaxis_type="log",
        yaxis_type="log",
    )
    return fig


def seminorm_figure(study: dict) -> go.Figure:
    """Backward evaluations per tolerance, default norm against seminorm (grouped bars)."""
    labels = [f"{r:.0e}" for r in study["rtols"]]
    fig = go.Figure()
    for key, name, colour, pattern in (
        ("nfe_default", "default norm", OKABE_ITO["vermillion"], ""),
        ("nfe_seminorm", "seminorm", OKABE_ITO["bluish green"], "/"),
    ):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=study[key],
                name=name,
                marker={"color": colour, "pattern": {"shape": pattern}},
            )
        )
    fig.update_layout(
        title="Backward evaluations of the adjoint: default norm and seminorm",
        xaxis_title="rtol (atol = rtol / 100)",
        yaxis_title="backward evaluations of f",
        barmode="group",
    )
    return fig
