"""Stiffness: dopri5 crawling on stiff Van der Pol, implicit methods striding through.

Home chapter: ``book/12_price_of_training.ipynb`` (the stiffness section); it extends the
stability study of chapter 5 (:mod:`nodelib.solver_study`) to the implicit methods of
:mod:`nodelib.implicit_tableaus`.

- :func:`stiff_van_der_pol_problem`: Van der Pol with large ``μ`` (default 1000). Between its
  rare fast jumps the solution creeps along a slow curve, while the Jacobian has an eigenvalue
  near ``-μ (x² - 1)``: an explicit method's step is capped near ``3.3 / (μ (x² - 1))`` by
  stability alone. The reference solution is SciPy's ``Radau`` (fifth-order implicit) at
  ``rtol = atol = 1e-12``, independent of nodelib.
- :func:`stiff_comparison`: dopri5 against adaptive SDIRK2 at the same tolerance: evaluations,
  seconds, errors against the reference, and dopri5 running out of ``max_steps`` on a whole
  period.
- :func:`implicit_stability_function`, :func:`implicit_stability_boundary` and
  :func:`stability_regions_figure`: ``R(z)`` of an implicit tableau and its stability region
  beside chapter 5's explicit ones.
- :func:`step_size_comparison_figure`, :func:`stiff_solution_figure`, :func:`stiff_work_figure`:
  the chapter's pictures.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from scipy.integrate import solve_ivp

from nodelib.errors import SolverError
from nodelib.implicit_solvers import odeint_implicit
from nodelib.implicit_tableaus import IMPLICIT_METHODS, IMPLICIT_TABLEAUS
from nodelib.solver_study import (
    METHOD_COLORS,
    SOLVER_METHODS,
    ODEProblem,
    stability_boundary,
    stability_limit,
)
from nodelib.solvers import odeint
from nodelib.viz import OKABE_ITO

__all__ = [
    "IMPLICIT_COLORS",
    "stiff_van_der_pol_problem",
    "StiffRun",
    "explicit_run",
    "implicit_run",
    "stiff_comparison",
    "implicit_stability_function",
    "implicit_stability_boundary",
    "stability_regions_figure",
    "step_size_comparison_figure",
    "stiff_solution_figure",
    "stiff_work_figure",
]

F64 = torch.float64

IMPLICIT_COLORS = {
    "backward_euler": OKABE_ITO["reddish purple"],
    "sdirk2": OKABE_ITO["bluish green"],
}


def _check_method(method: str) -> None:
    if method not in IMPLICIT_TABLEAUS:
        raise ValueError(f"method={method!r} is not one of {list(IMPLICIT_METHODS)}")


# --------------------------------------------------------------------------- the stiff problem


def stiff_van_der_pol_problem(mu: float = 1000.0, t1: float = 100.0) -> ODEProblem:
    """Van der Pol ``x' = v``, ``v' = μ (1 - x²) v - x`` from ``(2, 0)``, stiff for large ``μ``.

    ``func`` takes ``y: (*batch, 2)``. One period of the limit cycle lasts about
    ``(3 - 2 ln 2) μ ≈ 1.6 μ``; the first fast jump comes near ``t ≈ 0.8 μ``. The reference is
    SciPy's Radau at ``rtol = atol = 1e-12`` with the exact Jacobian.
    """
    if not (isinstance(mu, int | float) and math.isfinite(mu) and mu > 0):
        raise ValueError(f"mu must be a positive finite number, got {mu!r}")
    if not (isinstance(t1, int | float) and math.isfinite(t1) and t1 > 0):
        raise ValueError(f"t1 must be a positive finite number, got {t1!r}")
    mu = float(mu)

    def func(t, y):
        x, v = y[..., 0], y[..., 1]
        return torch.stack([v, mu * (1 - x**2) * v - x], dim=-1)

    def rhs(t, y):
        return [y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]]

    def jac(t, y):
        return [[0.0, 1.0], [-2 * mu * y[0] * y[1] - 1, mu * (1 - y[0] ** 2)]]

    reference = solve_ivp(
        rhs, (0.0, float(t1)), [2.0, 0.0], method="Radau", rtol=1e-12, atol=1e-12, jac=jac,
        dense_output=True,
    )  # fmt: skip

    def exact(t):
        return reference.sol(np.asarray(t, dtype=float)).T

    y0 = torch.tensor([2.0, 0.0], dtype=F64)
    return ODEProblem(f"stiff Van der Pol (μ = {mu:g})", func, y0, 0.0, float(t1), exact)


# --------------------------------------------------------------------------- runs


@dataclass
class StiffRun:
    """One solve of a problem, with its cost and accuracy.

    Attributes:
        method: ``"dopri5"`` or an implicit method.
        nfe: calls of ``func``; equivalent_nfe: ``nfe`` plus one per backward pass of the
            Jacobians (equal to ``nfe`` for explicit methods).
        seconds: wall-clock time of the solve.
        max_error: largest relative error ``|y - y_ref| / (|y_ref| + atol)`` over all output
            times and components (``nan`` if the solve failed).
        ts: the step mesh (floats); step sizes are its differences.
        times, solution: output times ``(n,)`` and ``(n, 2)`` solution (numpy), if it finished.
        failure: the error message if the solve stopped early, else ``None``.
    """

    method: str
    nfe: int
    equivalent_nfe: int
    seconds: float
    max_error: float
    ts: list[float] = field(repr=False)
    times: np.ndarray | None = field(default=None, repr=False)
    solution: np.ndarray | None = field(default=None, repr=False)
    failure: str | None = None


def _max_error(problem: ODEProblem, times: np.ndarray, solution: np.ndarray, atol: float):
    reference = problem.exact(times)
    return float(np.max(np.abs(solution - reference) / (np.abs(reference) + atol)))


class _Counted:
    """``func`` that counts its calls (so a failed dopri5 solve still reports its work)."""

    def __init__(self, func):
        self.func, self.calls = func, 0

    def __call__(self, t, y):
        self.calls += 1
        return self.func(t, y)


def explicit_run(
    problem: ODEProblem, rtol: float, atol: float, n_out: int = 51, max_steps: int = 10**6
) -> StiffRun:
    """dopri5 on ``problem`` with ``n_out`` output times; a failure is recorded, not raised."""
    times = np.linspace(problem.t0, problem.t1, n_out)
    func = _Counted(problem.func)
    start = time.perf_counter()
    try:
        solution, stats = odeint(
            func, problem.y0, torch.tensor(times, dtype=F64), method="dopri5", rtol=rtol,
            atol=atol, max_steps=max_steps, return_stats=True,
        )  # fmt: skip
    except SolverError as error:
        seconds = time.perf_counter() - start
        return StiffRun("dopri5", func.calls, func.calls, seconds, math.nan, [], failure=str(error))
    seconds = time.perf_counter() - start
    solution = solution.numpy()
    error = _max_error(problem, times, solution, atol)
    return StiffRun("dopri5", stats.nfe, stats.nfe, seconds, error, stats.ts, times, solution)


def implicit_run(
    problem: ODEProblem, method: str, rtol: float, atol: float, n_out: int = 51
) -> StiffRun:
    """An adaptive implicit solve of ``problem`` with ``n_out`` output times."""
    _check_method(method)
    times = np.linspace(problem.t0, problem.t1, n_out)
    start = time.perf_counter()
    solution, stats = odeint_implicit(
        problem.func, problem.y0, torch.tensor(times, dtype=F64), method=method, rtol=rtol,
        atol=atol,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    solution = solution.numpy()
    error = _max_error(problem, times, solution, atol)
    return StiffRun(
        method, stats.nfe, stats.equivalent_nfe, seconds, error, stats.ts, times, solution
    )


def stiff_comparison(quick: bool = False, return_runs: bool = False):
    """dopri5 against adaptive SDIRK2 on stiff Van der Pol (``μ = 1000``), same tolerance.

    Both solve ``[0, t1]`` (``t1 = 20``; quick: ``t1 = 3``) at ``rtol = 1e-6``,
    ``atol = 1e-8``; errors are measured against the Radau reference at 51 output times. Then
    dopri5 tries a whole period ``[0, 3000]`` with the default ``max_steps = 10_000`` (quick:
    1000) and runs out of steps long before the end.

    Returns:
        A dict of plain numbers (JSON-ready): ``problem``, ``explicit_nfe``, ``implicit_nfe``
        (equivalent evaluations: ``func`` calls plus Jacobian backward passes),
        ``implicit_func_calls``, ``explicit_seconds``, ``implicit_seconds``, ``nfe_ratio``,
        ``seconds_ratio``, ``explicit_max_error``, ``implicit_max_error`` (relative),
        ``accuracy_matched`` (the implicit error is at most the explicit one), ``rtol``,
        ``atol``, ``mu``, ``t1``, ``explicit_method``, ``implicit_method``, and for the whole
        period ``period_t1``, ``period_max_steps``, ``explicit_hit_max_steps``,
        ``explicit_stopped_at`` (the time dopri5 reached, from its error message) and
        ``explicit_failure``. With ``return_runs``: ``(dict, {"explicit": StiffRun,
        "implicit": StiffRun})`` for the figures.
    """
    mu, t1 = 1000.0, (3.0 if quick else 20.0)
    rtol, atol = 1e-6, 1e-8
    problem = stiff_van_der_pol_problem(mu, t1)
    explicit = explicit_run(problem, rtol, atol)
    implicit = implicit_run(problem, "sdirk2", rtol, atol)
    if explicit.failure is not None:
        raise SolverError(f"dopri5 was expected to finish on [0, {t1}]: {explicit.failure}")
    period_t1, period_max_steps = 3000.0, (1000 if quick else 10_000)
    period = ODEProblem(problem.name, problem.func, problem.y0, 0.0, period_t1, problem.exact)
    stuck = explicit_run(period, rtol, atol, n_out=2, max_steps=period_max_steps)
    stopped_at = math.nan
    if stuck.failure is not None and " at t=" in stuck.failure:
        stopped_at = float(stuck.failure.split(" at t=")[1].split(",")[0])
    result = {
        "problem": problem.name,
        "explicit_method": "dopri5",
        "implicit_method": "sdirk2",
        "mu": mu,
        "t1": t1,
        "rtol": rtol,
        "atol": atol,
        "explicit_nfe": explicit.nfe,
        "implicit_nfe": implicit.equivalent_nfe,
        "implicit_func_calls": implicit.nfe,
        "explicit_seconds": explicit.seconds,
        "implicit_seconds": implicit.seconds,
        "nfe_ratio": explicit.nfe / implicit.equivalent_nfe,
        "seconds_ratio": explicit.seconds / implicit.seconds,
        "explicit_max_error": explicit.max_error,
        "implicit_max_error": implicit.max_error,
        "accuracy_matched": implicit.max_error <= explicit.max_error,
        "period_t1": period_t1,
        "period_max_steps": period_max_steps,
        "explicit_hit_max_steps": stuck.failure is not None and "max_steps" in stuck.failure,
        "explicit_stopped_at": stopped_at,
        "explicit_failure": stuck.failure,
    }
    if return_runs:
        return result, {"explicit": explicit, "implicit": implicit}
    return result


# --------------------------------------------------------------------------- stability


def implicit_stability_function(method: str, z) -> np.ndarray:
    """``R(z) = 1 + z bᵀ (I - zA)⁻¹ 𝟙`` for an implicit tableau, ``z = hλ`` complex array.

    Computed stage by stage on ``y' = λy`` from ``y = 1``: the stage values ``g_i`` solve
    ``g_i = 1 + z Σ_(j<i) a_ij g_j + z a_ii g_i``, so ``g_i = (1 + z Σ_(j<i) a_ij g_j) /
    (1 - z a_ii)``, and ``R = 1 + z Σ_i b_i g_i``. Returns ``inf`` where ``1 - z a_ii = 0``.
    """
    _check_method(method)
    tableau = IMPLICIT_TABLEAUS[method]
    z = np.asarray(z, dtype=complex)
    matrix = tableau.matrix()
    g = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(tableau.stages):
            known = 1 + z * sum(matrix[i][j] * g[j] for j in range(i))
            g.append(known / (1 - z * matrix[i][i]))
        return 1 + z * sum(float(b) * gi for b, gi in zip(tableau.b, g, strict=True))


def _rational_coefficients(method: str) -> tuple[np.ndarray, np.ndarray]:
    """``R = P/Q`` with ``Q(z) = Π (1 - a_ii z)``; coefficients highest power first.

    ``P = R Q`` is a polynomial of degree at most ``s``; it is recovered exactly (up to
    rounding) from its values at ``s + 1`` points on a circle inside the poles ``1 / a_ii``.
    """
    tableau = IMPLICIT_TABLEAUS[method]
    q = np.array([1.0])
    for a_ii in tableau.diagonal():
        q = np.polymul(q, [-a_ii, 1.0])
    radius = 0.5 / max(1.0, *(abs(a_ii) for a_ii in tableau.diagonal()))
    angles = 2j * np.pi * np.arange(tableau.stages + 1) / (tableau.stages + 1)
    points = radius * np.exp(angles)
    values = implicit_stability_function(method, points) * np.polyval(q, points)
    p = np.linalg.solve(np.vander(points, tableau.stages + 1), values).real
    p[np.abs(p) < 1e-12] = 0.0  # rounding must not fake a leading power (backward Euler: P = 1)
    return p, q


def implicit_stability_boundary(method: str, n_angles: int = 720) -> np.ndarray:
    """Points ``z`` of the curve ``|R(z)| = 1`` by the boundary locus: the roots of
    ``P(z) - e^(iθ) Q(z) = 0`` for many angles ``θ`` (as chapter 5 did for polynomials)."""
    _check_method(method)
    p, q = _rational_coefficients(method)
    size = max(len(p), len(q))
    p = np.concatenate([np.zeros(size - len(p)), p])
    q = np.concatenate([np.zeros(size - len(q)), q])
    points = []
    for theta in np.linspace(0, 2 * np.pi, n_angles, endpoint=False):
        coefficients = p - np.exp(1j * theta) * q
        points.extend(np.roots(np.trim_zeros(coefficients, "f")))
    return np.array(points)


def stability_regions_figure(
    explicit_methods=SOLVER_METHODS, implicit_methods=IMPLICIT_METHODS
) -> go.Figure:
    """Chapter 5's explicit stability regions beside the implicit ones.

    Left: ``|R| = 1`` of explicit methods, stable *inside* the small bounded curves. Right:
    ``|R| = 1`` of implicit methods, stable *outside* the curves, which lie in the right
    half-plane: every decaying mode ``Re(hλ) < 0`` is stable for every step size.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=(
            "explicit (chapter 5): stable inside",
            "implicit: stable outside (whole left half-plane)",
        ),
    )
    for method in explicit_methods:
        z = stability_boundary(method)
        fig.add_scatter(
            x=np.round(z.real, 4), y=np.round(z.imag, 4), mode="markers",
            marker={"size": 3, "color": METHOD_COLORS.get(method)},
            name=f"{method} (stable for hλ ≥ -{stability_limit(method):.2f})",
            hoverinfo="skip", row=1, col=1,
        )  # fmt: skip
    for method in implicit_methods:
        z = implicit_stability_boundary(method)
        limit = abs(complex(implicit_stability_function(method, -1e12)))
        fig.add_scatter(
            x=np.round(z.real, 4), y=np.round(z.imag, 4), mode="markers",
            marker={"size": 3, "color": IMPLICIT_COLORS.get(method)},
            name=f"{method} (|R(-∞)| = {limit:.0f})",
            hoverinfo="skip", row=1, col=2,
        )  # fmt: skip
    # The implicit curves reach far into the right half-plane (SDIRK2's up to 4 + 4√2 ≈ 11.7).
    fig.update_xaxes(title_text="Re(hλ)", range=[-5, 2], zeroline=True, row=1, col=1)
    fig.update_xaxes(title_text="Re(hλ)", range=[-5, 13], zeroline=True, row=1, col=2)
    fig.update_yaxes(title_text="Im(hλ)", range=[-7, 7], zeroline=True, row=1, col=1)
    fig.update_layout(
        title="Stability regions |R(hλ)| ≤ 1: explicit methods are bounded, implicit ones are not",
        height=460,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


# --------------------------------------------------------------------------- figures of runs


def step_size_comparison_figure(runs: dict[str, StiffRun]) -> go.Figure:
    """Accepted step size against time for each run (log scale), e.g. the ``runs`` of
    :func:`stiff_comparison`: dopri5's steps sit at its stability limit, the implicit ones grow
    with the smoothness of the solution."""
    fig = go.Figure()
    for run in runs.values():
        if len(run.ts) < 2:
            continue
        ts = np.asarray(run.ts)
        color = METHOD_COLORS.get(run.method) or IMPLICIT_COLORS.get(run.method)
        fig.add_scatter(
            x=ts[1:], y=np.diff(ts), mode="lines", line={"color": color},
            name=f"{run.method}: {len(ts) - 1} steps, {run.equivalent_nfe} evaluations",
        )  # fmt: skip
    fig.update_layout(
        title="Step sizes on a stiff problem: stability caps the explicit method",
        xaxis={"title": "t"},
        yaxis={"title": "step size h", "type": "log"},
        height=400,
    )
    return fig


def stiff_solution_figure(run: StiffRun, problem: ODEProblem) -> go.Figure:
    """``x(t)`` of one finished run (markers at its steps' ends) over the reference curve."""
    if run.solution is None:
        raise ValueError(f"the {run.method} run did not finish ({run.failure}); nothing to draw")
    fine = np.linspace(problem.t0, problem.t1, 2001)
    fig = go.Figure()
    fig.add_scatter(
        x=fine, y=problem.exact(fine)[:, 0], mode="lines",
        line={"color": OKABE_ITO["black"], "width": 1}, name="reference (Radau)",
    )  # fmt: skip
    color = METHOD_COLORS.get(run.method) or IMPLICIT_COLORS.get(run.method)
    fig.add_scatter(
        x=run.times, y=run.solution[:, 0], mode="markers", marker={"color": color, "size": 6},
        name=f"{run.method} at the output times",
    )  # fmt: skip
    fig.update_layout(
        title=f"{problem.name}: {run.method}, {run.equivalent_nfe} evaluations",
        xaxis={"title": "t"},
        yaxis={"title": "x(t)"},
        height=380,
    )
    return fig


def stiff_work_figure(result: dict) -> go.Figure:
    """Two bar panels from :func:`stiff_comparison`'s numbers: evaluations and seconds (log)."""
    methods = [result["explicit_method"], result["implicit_method"]]
    colors = [METHOD_COLORS["dopri5"], IMPLICIT_COLORS["sdirk2"]]
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("function evaluations (equivalent)", "seconds")
    )
    panels = [("explicit_nfe", "implicit_nfe"), ("explicit_seconds", "implicit_seconds")]
    for col, keys in enumerate(panels, start=1):
        values = [result[key] for key in keys]
        fig.add_bar(
            x=methods, y=values, marker={"color": colors}, showlegend=False,
            text=[f"{v:.3g}" for v in values], row=1, col=col,
        )  # fmt: skip
        fig.update_yaxes(type="log", row=1, col=col)
    fig.update_layout(
        title=(
            f"{result['problem']} on [0, {result['t1']:g}] at rtol = {result['rtol']:g}: "
            f"{result['nfe_ratio']:.0f}× fewer evaluations with {result['implicit_method']}"
        ),
        height=380,
    )
    return fig
