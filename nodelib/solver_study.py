"""Measuring ODE solvers: one step drawn, order, work–precision, step history, stiffness.

Home chapter: ``book/05_ode_solvers.ipynb``. The solvers themselves live in
:mod:`nodelib.solvers`; this module *studies* them, on three test problems:

- :func:`spiral_problem`: the linear spiral ``y' = A y`` of the spiral lab, with an exact
  solution ``exp(tA) y0`` (for orders of convergence);
- :func:`van_der_pol_problem`: the Van der Pol oscillator, slow and fast phases in turn (for
  work–precision diagrams and adaptive step sizes); its reference solution comes from SciPy's
  eighth-order ``DOP853`` at a tolerance of ``1e-13``, independent of nodelib;
- :func:`stiff_cosine_problem`: ``y' = -λ (y - cos t)``, which relaxes to a slow curve at rate
  ``λ`` (for stiffness); exact solution known.

Everything is computed in float64 so that rounding does not blur the error curves. The helpers
return plain numbers and lists; the ``*_figure`` functions turn them into plotly figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from scipy.integrate import solve_ivp

from nodelib.errors import SolverError
from nodelib.solvers import SolveStats, integrate_fixed_grid, odeint
from nodelib.tableaus import TABLEAUS
from nodelib.viz import OKABE_ITO, slider_figure

__all__ = [
    "ODEProblem",
    "spiral_problem",
    "van_der_pol_problem",
    "stiff_cosine_problem",
    "SOLVER_METHODS",
    "FIXED_STEP_METHODS",
    "METHOD_COLORS",
    "StepGeometry",
    "one_step_geometry",
    "step_geometry_figure",
    "fixed_step_solve",
    "final_error",
    "fitted_order",
    "ConvergenceStudy",
    "convergence_study",
    "convergence_figure",
    "WorkPrecision",
    "work_precision",
    "work_precision_figure",
    "nfe_vs_tolerance_figure",
    "StepHistory",
    "step_history",
    "step_size_figure",
    "stability_function",
    "stability_limit",
    "stability_polynomial",
    "stability_boundary",
    "stability_region_figure",
    "stiffness_sweep",
    "stiffness_figure",
    "euler_stability_demo",
    "euler_stability_figure",
    "picker_frames_figure",
]

F64 = torch.float64

#: The methods this chapter compares, in order of sophistication.
SOLVER_METHODS = ("euler", "midpoint", "rk4", "dopri5")
FIXED_STEP_METHODS = ("euler", "midpoint", "rk4")
METHOD_COLORS = {
    "euler": OKABE_ITO["vermillion"],
    "midpoint": OKABE_ITO["orange"],
    "rk4": OKABE_ITO["bluish green"],
    "dopri5": OKABE_ITO["blue"],
}


def _check_method(method: str, valid=SOLVER_METHODS) -> None:
    if method not in valid:
        raise ValueError(f"method={method!r} is not one of {list(valid)}")


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


# --------------------------------------------------------------------------- test problems


@dataclass(frozen=True)
class ODEProblem:
    """An initial value problem ``y' = func(t, y)``, ``y(t0) = y0``, solved up to ``t1``.

    Attributes:
        name: a label for figures.
        func: the dynamics on tensors, ``func(t, y) -> dy/dt``; ``y: (dim,)``, ``t`` 0-d.
        y0: ``(dim,)`` float64 initial state.
        t0, t1: start and end time.
        exact: ``exact(t) -> (len(t), dim)`` numpy array for a numpy array of times, either
            the closed form or a high-accuracy reference solution.
    """

    name: str
    func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    y0: torch.Tensor
    t0: float
    t1: float
    exact: Callable[[np.ndarray], np.ndarray]

    @property
    def y_end(self) -> np.ndarray:
        """``(dim,)`` the exact (or reference) state at ``t1``."""
        return self.exact(np.array([self.t1]))[0]


SPIRAL_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def spiral_problem(t1: float = 2.0) -> ODEProblem:
    """The spiral lab's ``y' = A y``, ``A = [[-0.1, 2], [-2, -0.1]]``, ``y0 = (2, 0)``.

    The exact solution is ``y(t) = 2 e^(-0.1 t) (cos 2t, -sin 2t)``.
    """
    _check_positive("t1", t1)
    a = torch.tensor(SPIRAL_A, dtype=F64)

    def func(t, y):
        return a @ y

    def exact(t):
        t = np.asarray(t, dtype=float)
        decay = 2.0 * np.exp(-0.1 * t)
        return np.stack([decay * np.cos(2 * t), -decay * np.sin(2 * t)], axis=-1)

    y0 = torch.tensor([2.0, 0.0], dtype=F64)
    return ODEProblem("linear spiral", func, y0, 0.0, float(t1), exact)


def van_der_pol_problem(
    mu: float = 1.0, y0: tuple[float, float] = (2.0, 0.0), t1: float = 10.0
) -> ODEProblem:
    """Van der Pol: ``x' = v``, ``v' = μ (1 - x²) v - x``; state ``(x, v)``.

    Larger ``mu`` makes the limit cycle alternate between slow drifts and fast jumps. The
    reference solution is SciPy's ``DOP853`` at ``rtol = 1e-13``, ``atol = 1e-13``.
    """
    _check_positive("mu", mu)
    _check_positive("t1", t1)
    if len(y0) != 2:
        raise ValueError(f"y0 must be a pair (x0, v0), got {y0!r}")

    def func(t, y):
        x, v = y[..., 0], y[..., 1]
        return torch.stack([v, mu * (1 - x**2) * v - x], dim=-1)

    def rhs(t, y):
        return [y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]]

    reference = solve_ivp(
        rhs, (0.0, t1), list(y0), method="DOP853", rtol=1e-13, atol=1e-13, dense_output=True
    )

    def exact(t):
        return reference.sol(np.asarray(t, dtype=float)).T

    y0_tensor = torch.tensor(y0, dtype=F64)
    return ODEProblem(f"Van der Pol (μ = {mu:g})", func, y0_tensor, 0.0, float(t1), exact)


def stiff_cosine_problem(stiffness: float, t1: float = 2.0) -> ODEProblem:
    """``y' = -λ (y - cos t)``, ``y(0) = 0``, with ``λ = stiffness``.

    The solution is drawn towards the slow curve ``≈ cos t`` at rate ``λ``:

    ``y(t) = (λ² cos t + λ sin t - λ² e^(-λt)) / (1 + λ²)``.

    After a transient of a few ``1/λ`` nothing fast happens, yet an explicit method must keep
    ``h λ`` inside its stability region: the problem is stiff when ``λ`` is large.
    """
    _check_positive("stiffness", stiffness)
    _check_positive("t1", t1)
    lam = float(stiffness)

    def func(t, y):
        return -lam * (y - torch.cos(t))

    def exact(t):
        t = np.asarray(t, dtype=float)
        y = (lam**2 * np.cos(t) + lam * np.sin(t) - lam**2 * np.exp(-lam * t)) / (1 + lam**2)
        return y[:, None]

    y0 = torch.zeros(1, dtype=F64)
    return ODEProblem(f"y' = -{lam:g} (y - cos t)", func, y0, 0.0, float(t1), exact)


# --------------------------------------------------------------------------- one step, drawn


@dataclass
class StepGeometry:
    """What one Runge–Kutta step of a scalar ODE computes, stage by stage.

    Attributes:
        method: the method's name.
        t0, y0, h: where the step starts and its size.
        stage_t: ``(s,)`` the stage times ``t0 + c_i h``.
        stage_y: ``(s,)`` the stage states ``y0 + h Σ_j a_ij k_j``.
        slopes: ``(s,)`` the stage slopes ``k_i = f(stage_t_i, stage_y_i)``.
        weights: ``(s,)`` the weights ``b_i``.
        slope: the combined slope ``Σ b_i k_i``.
        y_next: ``y0 + h · slope``.
    """

    method: str
    t0: float
    y0: float
    h: float
    stage_t: np.ndarray
    stage_y: np.ndarray
    slopes: np.ndarray
    weights: np.ndarray
    slope: float
    y_next: float


def one_step_geometry(
    method: str, func: Callable[[float, float], float], t0: float, y0: float, h: float
) -> StepGeometry:
    """Take one step of ``method`` for the scalar ODE ``y' = func(t, y)`` and keep every stage.

    ``func`` works on plain floats here; the stage formula is the one :func:`nodelib.runge_kutta.
    rk_step` uses, written out so each stage can be drawn.
    """
    _check_method(method, tuple(TABLEAUS))
    _check_positive("h", h)
    tableau = TABLEAUS[method]
    stage_t, stage_y, slopes = [], [], []
    for i in range(tableau.stages):
        y_i = y0 + h * sum(float(a) * k for a, k in zip(tableau.a[i], slopes, strict=False))
        t_i = t0 + float(tableau.c[i]) * h
        stage_t.append(t_i)
        stage_y.append(y_i)
        slopes.append(float(func(t_i, y_i)))
    weights = np.array([float(b) for b in tableau.b])
    slope = float(weights @ np.array(slopes))
    return StepGeometry(
        method,
        t0,
        y0,
        h,
        np.array(stage_t),
        np.array(stage_y),
        np.array(slopes),
        weights,
        slope,
        y0 + h * slope,
    )


def _segments(ts, ys, slopes, half_width: float) -> tuple[list, list]:
    """Short line segments of the given slopes through the points, separated by ``None``."""
    xs, zs = [], []
    for t, y, k in zip(ts, ys, slopes, strict=True):
        xs += [t - half_width, t + half_width, None]
        zs += [y - half_width * k, y + half_width * k, None]
    return xs, zs


def step_geometry_figure(
    func: Callable[[float, float], float],
    exact: Callable[[np.ndarray], np.ndarray],
    t0: float,
    y0: float,
    h: float,
    methods=SOLVER_METHODS,
    y_range: tuple[float, float] | None = None,
) -> go.Figure:
    """A slider over ``methods``: one step of each, drawn on the direction field of ``func``.

    Each frame shows the exact solution through ``(t0, y0)`` (``exact(t) -> y``, numpy), every
    stage point with a short segment of its slope ``k_i``, and the step itself: the straight line
    from ``(t0, y0)`` with the combined slope ``Σ b_i k_i``.
    """
    steps = [one_step_geometry(m, func, t0, y0, h) for m in methods]
    t_fine = np.linspace(t0 - 0.05 * h, t0 + 1.1 * h, 200)
    y_fine = exact(t_fine)
    if y_range is None:
        low, high = float(np.min(y_fine)), float(np.max(y_fine))
        for s in steps:
            low, high = min(low, s.stage_y.min(), s.y_next), max(high, s.stage_y.max(), s.y_next)
        pad = 0.15 * (high - low)
        y_range = (low - pad, high + pad)
    # the direction field: a grid of short grey slope segments
    grid_t = np.linspace(t0, t0 + h, 13)
    grid_y = np.linspace(*y_range, 13)
    gt, gy = np.meshgrid(grid_t, grid_y)
    gk = np.array([func(t, y) for t, y in zip(gt.ravel(), gy.ravel(), strict=True)])
    # scale each segment to the same length on screen (roughly): shorter when steep
    aspect = (y_range[1] - y_range[0]) / h
    half = 0.025 * h / np.sqrt(1 + (gk / aspect) ** 2)
    field_x, field_y = [], []
    for t, y, k, w in zip(gt.ravel(), gy.ravel(), gk, half, strict=True):
        field_x += [t - w, t + w, None]
        field_y += [y - w * k, y + w * k, None]

    frames, labels = [], []
    for s in steps:
        seg_x, seg_y = _segments(s.stage_t, s.stage_y, s.slopes, 0.12 * h)
        error = abs(s.y_next - float(exact(np.array([t0 + h]))[0]))
        color = METHOD_COLORS.get(s.method, "#555")
        frames.append(
            [
                go.Scatter(
                    x=field_x,
                    y=field_y,
                    mode="lines",
                    line={"color": "#ccc", "width": 1},
                    name="direction field",
                    hoverinfo="skip",
                ),
                go.Scatter(x=t_fine, y=y_fine, mode="lines", line={"color": "black"}, name="exact"),
                go.Scatter(
                    x=seg_x,
                    y=seg_y,
                    mode="lines",
                    line={"color": color, "width": 3},
                    name="stage slopes k_i",
                ),
                go.Scatter(
                    x=s.stage_t,
                    y=s.stage_y,
                    mode="markers+text",
                    text=[f"k{i + 1}" for i in range(len(s.stage_t))],
                    textposition="top center",
                    marker={"color": color, "size": 9},
                    name="stage points",
                    hovertemplate="t=%{x:.3f}<br>y=%{y:.4f}<extra>%{text}</extra>",
                ),
                go.Scatter(
                    x=[t0, t0 + h],
                    y=[y0, s.y_next],
                    mode="lines+markers",
                    line={"color": color, "dash": "dash", "width": 2},
                    marker={"symbol": ["circle", "star"], "size": [8, 14]},
                    name="the step: slope Σ b_i k_i",
                ),
            ]
        )
        labels.append(f"{s.method} (error {error:.1e})")
    return slider_figure(
        frames,
        labels,
        slider_label="method",
        layout={
            "title": f"One step of size h = {h:g} from (t, y) = ({t0:g}, {y0:g})",
            "xaxis": {"title": "t", "range": [t0 - 0.05 * h, t0 + 1.1 * h]},
            "yaxis": {"title": "y", "range": list(y_range)},
            "height": 480,
        },
    )


# --------------------------------------------------------------------------- order of convergence


def fixed_step_solve(
    problem: ODEProblem, method: str, step_size: float
) -> tuple[torch.Tensor, SolveStats]:
    """Solve ``problem`` on ``[t0, t1]`` with *fixed* steps of at most ``step_size``.

    Any tableau, dopri5 included (its error estimate is simply ignored), so that all methods
    can be compared at equal step sizes. Returns ``(y(t1): (dim,), stats)``.
    """
    _check_method(method, tuple(TABLEAUS))
    _check_positive("step_size", step_size)
    stats = SolveStats(method=method)
    f0 = problem.func(torch.scalar_tensor(problem.t0, dtype=F64), problem.y0)
    stats.nfe = 1
    solution = integrate_fixed_grid(
        problem.func,
        problem.y0,
        [problem.t0, problem.t1],
        TABLEAUS[method],
        step_size,
        10**7,
        f0,
        stats,
    )
    return solution[-1], stats


def final_error(problem: ODEProblem, y_end: torch.Tensor) -> float:
    """Euclidean distance between a computed ``y(t1)`` and the exact one."""
    return float(np.linalg.norm(y_end.detach().numpy() - problem.y_end))


def fitted_order(step_sizes, errors) -> float:
    """Slope of ``log(error)`` against ``log(h)`` by least squares: the empirical order ``p``.

    If ``error ≈ C h^p``, then ``log error ≈ log C + p log h``, a line of slope ``p``.
    """
    step_sizes, errors = np.asarray(step_sizes, float), np.asarray(errors, float)
    if step_sizes.shape != errors.shape or step_sizes.size < 2:
        raise ValueError(
            f"need at least two (step size, error) pairs of equal length, got "
            f"{step_sizes.size} step sizes and {errors.size} errors"
        )
    if (step_sizes <= 0).any() or (errors <= 0).any():
        raise ValueError("step sizes and errors must be positive to take logarithms")
    slope, _ = np.polyfit(np.log(step_sizes), np.log(errors), 1)
    return float(slope)


@dataclass
class ConvergenceStudy:
    """Errors at ``t1`` for fixed step sizes, per method, and the fitted orders."""

    problem_name: str
    step_sizes: dict[str, list[float]]
    errors: dict[str, list[float]]
    nfe: dict[str, list[int]]
    orders: dict[str, float]


def convergence_study(problem: ODEProblem, step_sizes: dict[str, list[float]]) -> ConvergenceStudy:
    """Run every method at its list of step sizes; fit the order of each.

    Give each method step sizes whose errors stay well above rounding (about ``1e-13`` in
    float64): a fifth-order method reaches it at much larger steps than Euler.
    """
    errors, nfe, orders = {}, {}, {}
    for method, sizes in step_sizes.items():
        results = [fixed_step_solve(problem, method, h) for h in sizes]
        errors[method] = [final_error(problem, y) for y, _ in results]
        nfe[method] = [stats.nfe for _, stats in results]
        orders[method] = fitted_order(sizes, errors[method])
    return ConvergenceStudy(problem.name, dict(step_sizes), errors, nfe, orders)


def convergence_figure(study: ConvergenceStudy) -> go.Figure:
    """Log–log error against step size, one line per method, slope in the legend."""
    fig = go.Figure()
    for method, sizes in study.step_sizes.items():
        fig.add_scatter(
            x=sizes,
            y=study.errors[method],
            mode="lines+markers",
            name=f"{method}: slope {study.orders[method]:.2f} (order {TABLEAUS[method].order})",
            line={"color": METHOD_COLORS.get(method)},
        )
    fig.update_layout(
        title=f"Error at the final time against step size ({study.problem_name})",
        xaxis={"title": "step size h", "type": "log"},
        yaxis={"title": "error at t1", "type": "log", "exponentformat": "power"},
        height=460,
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.7)"},
    )
    return fig


# --------------------------------------------------------------------------- work–precision


@dataclass
class WorkPrecision:
    """Function evaluations and errors: fixed steps for some methods, tolerances for dopri5.

    Attributes:
        settings: per method, the step sizes (fixed-step methods) or rtol values (dopri5).
        nfe, errors, steps, rejected: per method, one entry per setting.
    """

    problem_name: str
    settings: dict[str, list[float]] = field(default_factory=dict)
    nfe: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, list[float]] = field(default_factory=dict)
    steps: dict[str, list[int]] = field(default_factory=dict)
    rejected: dict[str, list[int]] = field(default_factory=dict)


def adaptive_solve(
    problem: ODEProblem, rtol: float, atol: float | None = None, max_steps: int = 100_000
) -> tuple[torch.Tensor, SolveStats]:
    """dopri5 on ``[t0, t1]``; ``atol`` defaults to ``rtol`` (the states here are of size 1)."""
    t = torch.tensor([problem.t0, problem.t1], dtype=F64)
    solution, stats = odeint(
        problem.func,
        problem.y0,
        t,
        method="dopri5",
        rtol=rtol,
        atol=rtol if atol is None else atol,
        max_steps=max_steps,
        return_stats=True,
    )
    return solution[-1], stats


def work_precision(
    problem: ODEProblem, step_sizes: dict[str, list[float]], tolerances: list[float]
) -> WorkPrecision:
    """Error against cost for fixed-step methods (at ``step_sizes``) and dopri5 (at ``tolerances``,
    ``atol = rtol``)."""
    result = WorkPrecision(problem.name)
    runs = {m: [(h, *fixed_step_solve(problem, m, h)) for h in hs] for m, hs in step_sizes.items()}
    runs["dopri5"] = [(tol, *adaptive_solve(problem, tol)) for tol in tolerances]
    for method, method_runs in runs.items():
        result.settings[method] = [setting for setting, _, _ in method_runs]
        result.nfe[method] = [stats.nfe for _, _, stats in method_runs]
        result.errors[method] = [final_error(problem, y) for _, y, _ in method_runs]
        result.steps[method] = [stats.accepted for _, _, stats in method_runs]
        result.rejected[method] = [stats.rejected for _, _, stats in method_runs]
    return result


def work_precision_figure(wp: WorkPrecision) -> go.Figure:
    """Error against function evaluations (log–log): lower-left is better."""
    fig = go.Figure()
    for method, nfe in wp.nfe.items():
        what = "rtol" if method == "dopri5" else "h"
        fig.add_scatter(
            x=nfe,
            y=wp.errors[method],
            mode="lines+markers",
            name=method + (" (adaptive)" if method == "dopri5" else " (fixed steps)"),
            line={"color": METHOD_COLORS.get(method)},
            text=[f"{what} = {s:.0e}" for s in wp.settings[method]],
            hovertemplate="%{text}<br>NFE %{x}<br>error %{y:.2e}",
        )
    fig.update_layout(
        title=f"Work–precision diagram ({wp.problem_name}): error against function evaluations",
        xaxis={"title": "function evaluations (NFE)", "type": "log"},
        yaxis={"title": "error at t1", "type": "log", "exponentformat": "power"},
        height=460,
    )
    return fig


def nfe_vs_tolerance_figure(wp: WorkPrecision) -> go.Figure:
    """dopri5: function evaluations and achieved error against the tolerance ``rtol``."""
    tol = wp.settings["dopri5"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cost", "achieved error"))
    fig.add_scatter(
        x=tol,
        y=wp.nfe["dopri5"],
        mode="lines+markers",
        name="NFE",
        line={"color": METHOD_COLORS["dopri5"]},
        row=1,
        col=1,
    )
    fig.add_scatter(
        x=tol,
        y=wp.errors["dopri5"],
        mode="lines+markers",
        name="error at t1",
        line={"color": METHOD_COLORS["dopri5"]},
        row=1,
        col=2,
    )
    fig.add_scatter(
        x=tol, y=tol, mode="lines", name="error = rtol", line={"color": "#999", "dash": "dot"}
    )
    fig.data[-1].update(xaxis="x2", yaxis="y2")
    fig.update_xaxes(type="log", title="rtol (= atol)", autorange="reversed")
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title="function evaluations", row=1, col=1)
    fig.update_yaxes(title="error at t1", row=1, col=2)
    fig.update_layout(
        title=f"dopri5 on {wp.problem_name}: tighter tolerance, more work", height=420
    )
    return fig


# --------------------------------------------------------------------------- step history


@dataclass
class StepHistory:
    """The steps of one solve, from :class:`~nodelib.solvers.SolveStats`.

    Attributes:
        starts: ``(accepted,)`` start time of each accepted step.
        sizes: ``(accepted,)`` its size.
        rejected_starts: ``(rejected,)`` start time of each rejected attempt.
        rejected_sizes: ``(rejected,)`` the size it tried.
    """

    starts: np.ndarray
    sizes: np.ndarray
    rejected_starts: np.ndarray
    rejected_sizes: np.ndarray


def step_history(stats: SolveStats) -> StepHistory:
    """Turn the step mesh ``stats.ts`` and the rejected attempts into arrays of steps."""
    ts = np.asarray(stats.ts, float)
    return StepHistory(
        ts[:-1],
        np.diff(ts),
        np.asarray(stats.rejected_ts, float),
        np.asarray(stats.rejected_step_sizes, float),
    )


def step_size_figure(problem: ODEProblem, rtol: float, atol: float | None = None) -> go.Figure:
    """dopri5 along a trajectory: the solution (top), accepted and rejected steps (bottom)."""
    t = torch.linspace(problem.t0, problem.t1, 600, dtype=F64)
    solution, stats = odeint(
        problem.func,
        problem.y0,
        t,
        method="dopri5",
        rtol=rtol,
        atol=rtol if atol is None else atol,
        return_stats=True,
    )
    history = step_history(stats)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for i in range(solution.shape[-1]):
        fig.add_scatter(
            x=t.numpy(), y=solution[:, i].numpy(), mode="lines", name=f"y[{i}](t)", row=1, col=1
        )
    fig.add_scatter(
        x=history.starts,
        y=history.sizes,
        mode="markers+lines",
        line={"shape": "hv", "color": METHOD_COLORS["dopri5"]},
        marker={"size": 4},
        name=f"accepted steps ({stats.accepted})",
        row=2,
        col=1,
    )
    fig.add_scatter(
        x=history.rejected_starts,
        y=history.rejected_sizes,
        mode="markers",
        marker={"symbol": "x", "color": OKABE_ITO["vermillion"], "size": 8},
        name=f"rejected attempts ({stats.rejected})",
        row=2,
        col=1,
    )
    fig.update_yaxes(title="state", row=1, col=1)
    fig.update_yaxes(title="step size h", type="log", row=2, col=1)
    fig.update_xaxes(title="t", row=2, col=1)
    fig.update_layout(
        title=f"dopri5 on {problem.name}, rtol = {rtol:g}: {stats.nfe} function evaluations",
        height=560,
    )
    return fig


# --------------------------------------------------------------------------- stability, stiffness


def stability_function(method: str, z) -> np.ndarray:
    """``R(z)``: one step of ``method`` on ``y' = λ y`` multiplies ``y`` by ``R(hλ)``.

    ``z = hλ`` may be a complex numpy array. For an explicit method ``R`` is a polynomial;
    computed here by running the stages with ``y = 1``: ``h k_i = z (1 + Σ_j a_ij h k_j)``,
    ``R = 1 + Σ_i b_i h k_i``.
    """
    _check_method(method, tuple(TABLEAUS))
    tableau = TABLEAUS[method]
    z = np.asarray(z, dtype=complex)
    hk = []
    for i in range(tableau.stages):
        stage = 1 + sum(float(a) * k for a, k in zip(tableau.a[i], hk, strict=False))
        hk.append(z * stage)
    return 1 + sum(float(b) * k for b, k in zip(tableau.b, hk, strict=True))


def stability_limit(method: str) -> float:
    """The largest ``x`` with ``|R(-s)| ≤ 1`` for all ``0 < s ≤ x``: for ``y' = -λ y`` (``λ > 0``)
    the method stays stable exactly when ``h ≤ x / λ``. Euler: ``x = 2``."""
    s = np.linspace(1e-6, 10.0, 200_001)
    unstable = np.abs(stability_function(method, -s)) > 1 + 1e-12
    first = int(np.argmax(unstable))
    low, high = s[first - 1], s[first]
    for _ in range(60):  # bisection on the crossing |R| = 1
        mid = 0.5 * (low + high)
        if abs(stability_function(method, -mid)) > 1:
            high = mid
        else:
            low = mid
    return float(low)


def stability_polynomial(method: str) -> np.ndarray:
    """Coefficients ``[1, γ_1, …, γ_s]`` of ``R(z) = Σ_k γ_k z^k`` (lowest power first).

    For an explicit method ``R(z) = 1 + Σ_k z^k bᵀ A^(k-1) 𝟙``: the ``k``-th term is how the
    weights ``b`` see the stages after ``k - 1`` nestings of ``A``.
    """
    _check_method(method, tuple(TABLEAUS))
    tableau = TABLEAUS[method]
    s = tableau.stages
    a = np.zeros((s, s))
    for i, row in enumerate(tableau.a):
        a[i, : len(row)] = [float(x) for x in row]
    b = np.array([float(x) for x in tableau.b])
    coefficients, nested = [1.0], np.ones(s)
    for _ in range(s):
        coefficients.append(float(b @ nested))
        nested = a @ nested
    return np.array(coefficients)


def stability_boundary(method: str, n_angles: int = 720) -> np.ndarray:
    """Points ``z`` (complex) of the curve ``|R(z)| = 1``: the roots of ``R(z) = e^(iθ)``.

    Every point with ``|R(z)| = 1`` solves ``R(z) = e^(iθ)`` for some angle ``θ``, so the roots
    for many angles trace the boundary of the stability region (the "boundary locus").
    """
    coefficients = stability_polynomial(method)
    points = []
    for theta in np.linspace(0, 2 * np.pi, n_angles, endpoint=False):
        shifted = coefficients.astype(complex)
        shifted[0] -= np.exp(1j * theta)
        points.extend(np.roots(np.trim_zeros(shifted[::-1], "f")))
    return np.array(points)


def stability_region_figure(methods=SOLVER_METHODS) -> go.Figure:
    """The boundaries ``|R(z)| = 1`` of the stability regions, one colour per method.

    The region of each method is the inside of its curve that contains the origin's left side
    (``|R(z)| ≤ 1`` there); the number in the legend is where it meets the negative real axis.
    """
    fig = go.Figure()
    for method in methods:
        z = stability_boundary(method)
        fig.add_scatter(
            x=np.round(z.real, 4),
            y=np.round(z.imag, 4),
            mode="markers",
            marker={"size": 3, "color": METHOD_COLORS.get(method)},
            name=f"{method}: stable for real hλ ≥ -{stability_limit(method):.3f}",
            hoverinfo="skip",
        )
    fig.update_layout(
        title="Stability regions: the curves |R(hλ)| = 1 (stable inside)",
        xaxis={"title": "Re(hλ)", "range": [-5, 1.5], "zeroline": True},
        yaxis={"title": "Im(hλ)", "range": [-4, 4], "scaleanchor": "x", "zeroline": True},
        height=480,
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.8)"},
    )
    return fig


@dataclass
class StiffnessSweep:
    """dopri5 on ``y' = -λ (y - cos t)`` for several ``λ`` at one tolerance."""

    stiffness: list[float]
    nfe: list[int]
    accepted: list[int]
    rejected: list[int]
    errors: list[float]
    median_h_lambda: list[float]


def stiffness_sweep(stiffness: list[float], rtol: float = 1e-6, t1: float = 2.0) -> StiffnessSweep:
    """Solve the stiff cosine problem for each ``λ`` with dopri5; count the work.

    ``median_h_lambda`` is the median of ``h·λ`` over the second half of the steps, after the
    transient: if the steps were limited by accuracy it would grow with ``λ``; limited by
    stability it stays near the method's stability limit.
    """
    sweep = StiffnessSweep([], [], [], [], [], [])
    for lam in stiffness:
        problem = stiff_cosine_problem(lam, t1)
        y_end, stats = adaptive_solve(problem, rtol, max_steps=10**6)
        sizes = step_history(stats).sizes
        sweep.stiffness.append(float(lam))
        sweep.nfe.append(stats.nfe)
        sweep.accepted.append(stats.accepted)
        sweep.rejected.append(stats.rejected)
        sweep.errors.append(final_error(problem, y_end))
        sweep.median_h_lambda.append(float(np.median(sizes[len(sizes) // 2 :]) * lam))
    return sweep


def stiffness_figure(sweep: StiffnessSweep) -> go.Figure:
    """Function evaluations of dopri5 against the stiffness ``λ`` (log–log)."""
    fig = go.Figure()
    fig.add_scatter(
        x=sweep.stiffness,
        y=sweep.nfe,
        mode="lines+markers",
        name="dopri5 NFE",
        line={"color": METHOD_COLORS["dopri5"]},
        text=[
            f"{a} accepted, {r} rejected"
            for a, r in zip(sweep.accepted, sweep.rejected, strict=True)
        ],
        hovertemplate="λ = %{x}<br>NFE %{y}<br>%{text}",
    )
    fig.update_layout(
        title="dopri5 on y' = -λ (y - cos t), same tolerance: the work grows with λ",
        xaxis={"title": "stiffness λ", "type": "log"},
        yaxis={"title": "function evaluations", "type": "log"},
        height=420,
    )
    return fig


def euler_stability_demo(
    stiffness: float, factors=(0.9, 1.1), t1: float = 2.0
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Euler on the stiff cosine problem with steps ``factor · 2/λ``.

    Returns ``{factor: (times, states)}`` (numpy, the step points). Below the limit
    (``factor < 1``) the error shrinks step after step; above it each step multiplies the error
    by ``|1 - hλ| > 1``.
    """
    _check_positive("stiffness", stiffness)
    problem = stiff_cosine_problem(stiffness, t1)
    out = {}
    for factor in factors:
        _check_positive("factor", factor)
        h = factor * 2.0 / stiffness
        n = math.ceil(t1 / h)
        t = torch.arange(n + 1, dtype=F64) * h
        try:
            y = odeint(problem.func, problem.y0, t, method="euler", max_steps=10**7)
        except SolverError:  # overflow: show what there is
            y = torch.full((n + 1, 1), float("nan"), dtype=F64)
        out[factor] = (t.numpy(), y[:, 0].numpy())
    return out


def euler_stability_figure(stiffness: float, demo: dict) -> go.Figure:
    """The Euler runs of :func:`euler_stability_demo` against the exact solution."""
    problem = stiff_cosine_problem(stiffness, max(float(t[-1]) for t, _ in demo.values()))
    t_fine = np.linspace(0, problem.t1, 400)
    fig = go.Figure()
    fig.add_scatter(x=t_fine, y=problem.exact(t_fine)[:, 0], name="exact", line={"color": "black"})
    colors = [
        OKABE_ITO["bluish green"],
        OKABE_ITO["vermillion"],
        OKABE_ITO["reddish purple"],
        OKABE_ITO["sky blue"],  # black is the exact solution's
    ]
    for (factor, (t, y)), color in zip(demo.items(), colors, strict=False):
        h = factor * 2 / stiffness
        fig.add_scatter(
            x=t,
            y=y,
            mode="lines+markers",
            marker={"size": 4},
            line={"color": color},
            name=f"Euler, h = {factor:g} × 2/λ = {h:.4f}",
        )
    fig.update_layout(
        title=f"Euler on y' = -{stiffness:g} (y - cos t): just below and just above h = 2/λ",
        xaxis={"title": "t"},
        yaxis={"title": "y", "range": [-3, 3]},
        height=420,
    )
    return fig


# --------------------------------------------------------------------------- the picker, frozen


def picker_run(
    problem: ODEProblem, method: str, setting: float, n_dense: int = 400
) -> dict[str, np.ndarray | int | float]:
    """One run of the solver picker, as arrays: what the live widget and its stand-in draw.

    ``setting`` is the step size (fixed-step methods) or ``rtol = atol`` (dopri5). Returns
    ``t``, ``y`` (the drawn trajectory: the step points for fixed steps, the dense output for
    dopri5), ``step_t``/``step_y`` (where accepted steps end), ``starts``/``sizes`` (accepted
    steps), ``rejected_starts``/``rejected_sizes``, ``nfe``, ``accepted``, ``rejected`` and
    ``error`` (distance from the reference at ``t1``).
    """
    _check_method(method)
    _check_positive("setting", setting)
    if method == "dopri5":
        t = torch.linspace(problem.t0, problem.t1, n_dense, dtype=F64)
        y, stats = odeint(
            problem.func,
            problem.y0,
            t,
            method="dopri5",
            rtol=setting,
            atol=setting,
            return_stats=True,
        )
        step_t = np.asarray(stats.ts)
        step_y = np.stack(
            [np.interp(step_t, t.numpy(), y[:, i].numpy()) for i in range(y.shape[-1])], axis=-1
        )
    else:
        n = max(1, math.ceil((problem.t1 - problem.t0) / setting * (1 - 1e-12)))
        t = torch.linspace(problem.t0, problem.t1, n + 1, dtype=F64)
        y, stats = odeint(problem.func, problem.y0, t, method=method, return_stats=True)
        step_t, step_y = t.numpy(), y.numpy()
    history = step_history(stats)
    y_np = y.detach().numpy()
    return {
        "t": t.numpy(),
        "y": y_np,
        "step_t": step_t,
        "step_y": step_y,
        "starts": history.starts,
        "sizes": history.sizes,
        "rejected_starts": history.rejected_starts,
        "rejected_sizes": history.rejected_sizes,
        "nfe": stats.nfe,
        "accepted": stats.accepted,
        "rejected": stats.rejected,
        "error": float(np.linalg.norm(y_np[-1] - problem.y_end)),
    }


def picker_frames_figure(problem: ODEProblem, settings: dict[str, list[float]]) -> go.Figure:
    """The solver picker's static stand-in: one slider position per (method, setting).

    Left: the phase portrait ``(x, v)`` against the reference; right: the step sizes against
    ``t`` (rejected attempts as crosses). The title of each frame gives the steps, the NFE and
    the error, all computed here.
    """
    t_ref = np.linspace(problem.t0, problem.t1, 300)
    ref = problem.exact(t_ref)
    frames, labels, titles = [], [], []
    for method, values in settings.items():
        _check_method(method)
        for value in values:
            run = picker_run(problem, method, value, n_dense=200)
            color = METHOD_COLORS[method]
            what = f"rtol {value:g}" if method == "dopri5" else f"h {value:g}"
            frames.append(
                [
                    go.Scatter(
                        x=ref[:, 0], y=ref[:, 1], mode="lines", line={"color": "#bbb", "width": 4},
                        name="reference",
                    ),
                    go.Scatter(
                        x=run["y"][:, 0], y=run["y"][:, 1], mode="lines",
                        line={"color": color}, name="solution",
                    ),
                    go.Scatter(
                        x=run["step_y"][:, 0], y=run["step_y"][:, 1], mode="markers",
                        marker={"color": color, "size": 5}, name="step ends",
                    ),
                    go.Scatter(
                        x=run["starts"], y=run["sizes"], mode="markers", xaxis="x2", yaxis="y2",
                        marker={"color": color, "size": 5}, name="accepted step sizes",
                    ),
                    go.Scatter(
                        x=run["rejected_starts"], y=run["rejected_sizes"], mode="markers",
                        xaxis="x2", yaxis="y2",
                        marker={"symbol": "x", "color": OKABE_ITO["vermillion"]},
                        name="rejected attempts",
                    ),
                ]
            )  # fmt: skip
            labels.append(f"{method} {what}")
            titles.append(
                f"{method}, {what}: {run['accepted']} steps, {run['rejected']} rejected, "
                f"NFE {run['nfe']}, error at t = {problem.t1:g}: {run['error']:.1e}"
            )
    fig = slider_figure(
        frames,
        labels,
        slider_label="solver",
        layout={
            "title": titles[0],
            "height": 500,
            "xaxis": {"domain": [0, 0.45], "title": "x", "range": [-3, 3]},
            "yaxis": {"title": "v", "range": [-4, 4]},
            "xaxis2": {"domain": [0.55, 1], "title": "t", "anchor": "y2"},
            "yaxis2": {"title": "step size", "type": "log", "anchor": "x2", "range": [-3, 0]},
        },
    )
    for frame, title in zip(fig.frames, titles, strict=True):
        frame.layout = {"title": {"text": title}}
    return fig
