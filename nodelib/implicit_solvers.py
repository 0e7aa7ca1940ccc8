"""``odeint_implicit``: stiff problems with diagonally implicit Runge–Kutta methods.

Home chapter: ``book/12_price_of_training.ipynb`` (stiffness). One routine,
:func:`dirk_step`, steps every tableau of :mod:`nodelib.implicit_tableaus`. Each implicit stage
is the equation ``G(k) = k - f(t_i, base + h a_ii k) = 0`` for the stage slope ``k``, solved by
**simplified Newton**:

.. math::

    (I - h\\, a_{ii} J)\\, Δk = -G(k), \\qquad k \\leftarrow k + Δk,

with ``J = ∂f/∂y`` taken once per step at ``(t, y)`` by ``torch.autograd`` and reused for every
stage and every iteration of the step (the exact Jacobian would change with ``k``; a fixed one
still converges, only a little slower, and saves a Jacobian per iteration). The matrix
``I - h a_ii J`` is LU-factorised once per step and diagonal value.

**State shape.** ``y0`` is ``(dim,)`` or ``(*batch, dim)`` with *independent* samples along the
batch dimensions: the Jacobian is ``(*batch, dim, dim)``, one ``dim × dim`` block per sample (a
``func`` that couples samples, e.g. batch normalisation, is outside what Newton here assumes).

**How work is counted** (:class:`ImplicitSolveStats`): ``nfe`` counts every call of ``func``,
exactly like ``stats.nfe`` of :func:`nodelib.odeint` (the forward pass under each Jacobian
included). A Jacobian of a ``dim``-dimensional system costs that forward pass plus ``dim``
vector–Jacobian products (one backward pass per row), counted in ``vjps``;
``equivalent_nfe = nfe + vjps`` counts each backward pass as one more evaluation, the fair number
to compare with an explicit method's ``nfe`` (a backward pass costs about as much as a forward
pass, often a little more). The small ``dim × dim`` linear algebra is not counted.

**Steps.** Without ``rtol`` the steps are fixed (at most ``step_size``, every output time hit
exactly); with ``rtol`` (and an embedded tableau) they adapt: the embedded error estimate,
*filtered* by ``(I - hγJ)⁻¹`` so that stiff components do not inflate it (Hairer & Wanner,
*Solving ODEs II*, §IV.8), is measured with :func:`nodelib.step_size.error_ratio` and the next
step chosen by :func:`nodelib.step_size.optimal_step`. A step whose Newton iteration fails is
rejected and retried four times smaller. Output times inside a step are filled in by cubic
Hermite interpolation from ``y``, ``f(t, y)``, ``y_next`` and ``f(t + h, y_next)``.

The solve is not differentiated (it runs under ``torch.no_grad`` and returns a detached
solution); training through a stiff solve is a matter for the adjoint method.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from nodelib.errors import (
    MaxStepsExceededError,
    NonFiniteError,
    SolverError,
    StepSizeUnderflowError,
)
from nodelib.implicit_tableaus import IMPLICIT_METHODS, IMPLICIT_TABLEAUS, ImplicitTableau
from nodelib.solvers import first_derivative
from nodelib.step_size import MIN_SHRINK, error_ratio, initial_step, optimal_step

__all__ = [
    "NewtonConvergenceError",
    "ImplicitSolveStats",
    "DIRKStep",
    "jacobian",
    "dirk_step",
    "hermite_interpolate",
    "odeint_implicit",
    "NEWTON_TOLERANCE",
    "MAX_NEWTON_ITERATIONS",
]

Dynamics = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Newton stops when its last correction, in units of the tolerance ``atol + rtol·|y|``, is
#: below this: the leftover algebraic error is then a small fraction of the step's own error.
NEWTON_TOLERANCE = 0.01
#: Simplified Newton converges linearly; more iterations than this means it will not.
MAX_NEWTON_ITERATIONS = 10
#: Adaptive steps: after this many Newton failures in a row (each one shrinking the step four
#: times) the solve gives up.
MAX_NEWTON_FAILURES_IN_A_ROW = 10
#: Fixed steps have no rtol/atol of their own; Newton then solves to these.
FIXED_STEP_NEWTON_RTOL = {torch.float64: 1e-10, torch.float32: 1e-5}


class NewtonConvergenceError(SolverError):
    """Newton's iteration for an implicit stage did not converge (fixed steps, or a step that
    kept failing after shrinking)."""


@dataclass
class ImplicitSolveStats:
    """Statistics of one implicit solve (see the module docstring for how work is counted).

    Attributes:
        method: the method used.
        nfe: calls of ``func`` (comparable to :class:`nodelib.solvers.SolveStats` ``.nfe``).
        jacobian_evaluations: Jacobians computed (one per attempted step).
        vjps: vector–Jacobian products (backward passes), ``dim`` per Jacobian.
        newton_iterations: Newton iterations over all stages and steps.
        newton_failures: step attempts abandoned because Newton did not converge.
        accepted, rejected: accepted and rejected steps (rejected: error or Newton failure).
        ts: the step mesh, start time then the end of every accepted step (floats).
    """

    method: str
    nfe: int = 0
    jacobian_evaluations: int = 0
    vjps: int = 0
    newton_iterations: int = 0
    newton_failures: int = 0
    accepted: int = 0
    rejected: int = 0
    ts: list[float] = field(default_factory=list, repr=False)

    @property
    def equivalent_nfe(self) -> int:
        """``nfe + vjps``: each backward pass of a Jacobian counted as one evaluation."""
        return self.nfe + self.vjps


class DIRKStep(NamedTuple):
    """What one step returns.

    Attributes:
        y_next: the new state (``None`` when Newton failed).
        error: the filtered embedded error estimate (``None`` without one or on failure).
        k: the stage slopes, each shaped like ``y``.
        converged: whether every stage's Newton iteration converged.
    """

    y_next: torch.Tensor | None
    error: torch.Tensor | None
    k: list[torch.Tensor]
    converged: bool


# --------------------------------------------------------------------------- the pieces


def jacobian(func: Dynamics, t: float, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``f(t, y)`` and its Jacobian ``J[..., i, j] = ∂f_i/∂y_j`` by reverse-mode autograd.

    One forward pass, then one backward pass per output component ``i``: summing ``f_i`` over
    the batch before differentiating gives row ``i`` for every sample at once, because samples
    are independent. Returns ``(f: (*batch, dim), J: (*batch, dim, dim))``, both detached.
    """
    dim = y.shape[-1]
    with torch.enable_grad():
        y_var = y.detach().requires_grad_(True)
        out = func(torch.scalar_tensor(t, dtype=y.dtype, device=y.device), y_var)
        if not out.requires_grad:  # f does not depend on y at all
            return out.detach(), y.new_zeros(*y.shape, dim)
        rows = []
        for i in range(dim):
            (row,) = torch.autograd.grad(
                out[..., i].sum(), y_var, retain_graph=i < dim - 1, allow_unused=True
            )
            rows.append(torch.zeros_like(y) if row is None else row)
    return out.detach(), torch.stack(rows, dim=-2)


def _scaled_norm(x: torch.Tensor, y: torch.Tensor, rtol: float, atol: float) -> float:
    """RMS of ``x / (atol + rtol·|y|)``: a size in units of the tolerance."""
    if x.numel() == 0:
        return 0.0
    return math.sqrt((x / (atol + rtol * y.abs())).square().mean().item())


def dirk_step(
    func: Dynamics,
    t: float,
    y: torch.Tensor,
    h: float,
    tableau: ImplicitTableau,
    f0: torch.Tensor,
    jac: torch.Tensor,
    rtol: float,
    atol: float,
    stats: ImplicitSolveStats,
) -> DIRKStep:
    """One step of size ``h`` of any diagonally implicit tableau.

    Args:
        func: dynamics ``f(t, y)``; ``t`` a 0-d tensor.
        t, h: the current time and the step size (floats).
        y: ``(*batch, dim)`` the current state.
        tableau: the method.
        f0: ``f(t, y)``, the first Newton guess for the first stage.
        jac: ``(*batch, dim, dim)`` Jacobian at ``(t, y)``, reused for every stage (simplified
            Newton).
        rtol, atol: the tolerance that Newton's corrections are measured in.
        stats: counts ``nfe`` and ``newton_iterations`` (updated in place).

    Returns:
        :class:`DIRKStep`; ``converged=False`` if some stage's Newton iteration diverged or did
        not settle in :data:`MAX_NEWTON_ITERATIONS` iterations.
    """
    eye = torch.eye(y.shape[-1], dtype=y.dtype, device=y.device)
    factors = {}  # diagonal value -> LU factors of I - h a_ii J
    k: list[torch.Tensor] = []
    for i, row in enumerate(tableau.a):
        base = y
        for j in range(i):
            if row[j] != 0:
                base = base + (h * float(row[j])) * k[j]
        t_stage = torch.scalar_tensor(t + float(tableau.c[i]) * h, dtype=y.dtype, device=y.device)
        diag = float(row[i])
        if diag == 0.0:  # an explicit stage
            k.append(func(t_stage, base))
            stats.nfe += 1
            continue
        if diag not in factors:
            factors[diag] = torch.linalg.lu_factor(eye - (h * diag) * jac)
        lu, pivots = factors[diag]
        slope = k[-1] if k else f0  # the previous slope is a good first guess
        previous = math.inf
        converged = False
        for _ in range(MAX_NEWTON_ITERATIONS):
            residual = slope - func(t_stage, base + (h * diag) * slope)
            stats.nfe += 1
            stats.newton_iterations += 1
            correction = -torch.linalg.lu_solve(lu, pivots, residual.unsqueeze(-1)).squeeze(-1)
            slope = slope + correction
            size = _scaled_norm((h * diag) * correction, y, rtol, atol)
            if not math.isfinite(size) or size > previous:  # diverging
                break
            if size <= NEWTON_TOLERANCE:
                converged = True
                break
            previous = size
        if not converged:
            return DIRKStep(None, None, k, False)
        k.append(slope)
    y_next = y
    for b_i, k_i in zip(tableau.b, k, strict=True):
        if b_i != 0:
            y_next = y_next + (h * float(b_i)) * k_i
    error = None
    if tableau.b_error is not None:
        raw = sum((h * float(e)) * k_i for e, k_i in zip(tableau.b_error, k, strict=True))
        # Filtering by (I - h γ J)^(-1) damps the stiff components of the estimate, which an
        # L-stable method handles well anyway (Shampine's trick, as in Radau5).
        lu, pivots = factors[tableau.diagonal()[-1]]
        error = torch.linalg.lu_solve(lu, pivots, raw.unsqueeze(-1)).squeeze(-1)
    return DIRKStep(y_next, error, k, True)


def hermite_interpolate(
    y0: torch.Tensor,
    f0: torch.Tensor,
    y1: torch.Tensor,
    f1: torch.Tensor,
    h: float,
    theta: float,
) -> torch.Tensor:
    """The cubic through ``(y0, f0)`` at ``θ = 0`` and ``(y1, f1)`` at ``θ = 1``, at ``θ``.

    Third-order accurate, one order above the methods here, so interpolation adds no visible
    error. ``h`` converts the slopes to the step's scale.
    """
    t2, t3 = theta * theta, theta * theta * theta
    return (
        (2 * t3 - 3 * t2 + 1) * y0
        + (h * (t3 - 2 * t2 + theta)) * f0
        + (-2 * t3 + 3 * t2) * y1
        + (h * (t3 - t2)) * f1
    )


# --------------------------------------------------------------------------- input checking


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _check_inputs(func, y0, t, method, step_size, rtol, atol, max_steps):
    """Every argument of :func:`odeint_implicit`, checked once; returns normalised values."""
    if not callable(func):
        raise TypeError(f"func must be callable as func(t, y), got {type(func).__name__}")
    if not isinstance(y0, torch.Tensor):
        raise TypeError(f"y0 must be a torch.Tensor, got {type(y0).__name__}")
    if y0.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"y0 must be float32 or float64, got {y0.dtype}")
    if y0.dim() == 0:
        raise ValueError("y0 must have shape (dim,) or (*batch, dim), got a 0-d tensor")
    if not bool(torch.isfinite(y0).all()):
        raise ValueError("y0 contains NaN or inf; the initial state must be finite")
    if isinstance(t, list | tuple):
        t = torch.as_tensor(t, dtype=y0.dtype, device=y0.device)
    if not isinstance(t, torch.Tensor) or t.dim() != 1 or len(t) < 2:
        raise ValueError(f"t must be a 1-D tensor of at least 2 times, got {t!r}")
    times = t.detach().to(torch.float64).tolist()
    steps = [b - a for a, b in zip(times[:-1], times[1:], strict=True)]
    if not all(math.isfinite(x) for x in times) or not (
        all(d > 0 for d in steps) or all(d < 0 for d in steps)
    ):
        raise ValueError(f"t must be finite and strictly increasing or decreasing, got {times}")
    if method not in IMPLICIT_TABLEAUS:
        raise ValueError(
            f"method={method!r} is unknown; valid methods are {list(IMPLICIT_METHODS)}"
        )
    tableau = IMPLICIT_TABLEAUS[method]
    if step_size is not None:
        step_size = _positive("step_size", step_size)
    if rtol is None:
        if atol is not None:
            raise ValueError("atol was given without rtol; pass both for adaptive steps")
        if step_size is None:
            raise ValueError(
                "pass step_size=... for fixed steps or rtol=... (and atol) for adaptive steps"
            )
    else:
        rtol = _positive("rtol", rtol)
        atol = rtol * 1e-2 if atol is None else _positive("atol", atol)
        if not tableau.adaptive:
            adaptive = [m for m, tab in IMPLICIT_TABLEAUS.items() if tab.adaptive]
            raise ValueError(
                f"method={method!r} has no error estimate, so it takes fixed steps only: pass "
                f"step_size=... without rtol, or use an adaptive method {adaptive}"
            )
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    return times, tableau, step_size, rtol, atol


# --------------------------------------------------------------------------- the solve


def _newton_failure(tableau, t_now, h, fixed: bool) -> NewtonConvergenceError:
    advice = (
        "pass a smaller step_size, or solve with adaptive steps (rtol=...)"
        if fixed
        else "loosen rtol/atol, or check that func is smooth (differentiable) near there"
    )
    return NewtonConvergenceError(
        f"{tableau.name}: Newton's iteration for an implicit stage did not converge in the step "
        f"from t={t_now:.6g} with step size {abs(h):.3g}; {advice}"
    )


def _integrate_fixed(func, y0, times, tableau, step_size, max_steps, stats):
    counts = [
        max(1, math.ceil(abs(tb - ta) / step_size * (1 - 1e-12)))
        for ta, tb in zip(times[:-1], times[1:], strict=True)
    ]
    if sum(counts) > max_steps:
        raise MaxStepsExceededError(
            f"{tableau.name} would need {sum(counts)} steps with step_size={step_size}, more "
            f"than max_steps={max_steps}; pass a larger step_size or max_steps"
        )
    rtol = FIXED_STEP_NEWTON_RTOL[y0.dtype]
    outputs, y = [y0], y0
    stats.ts.append(times[0])
    for ta, tb, n in zip(times[:-1], times[1:], counts, strict=True):
        h = (tb - ta) / n
        for s in range(n):
            t_now = ta + s * h
            f0, jac = jacobian(func, t_now, y)
            stats.nfe += 1
            stats.jacobian_evaluations += 1
            stats.vjps += y.shape[-1]
            step = dirk_step(func, t_now, y, h, tableau, f0, jac, rtol, rtol, stats)
            if not step.converged:
                stats.newton_failures += 1
                raise _newton_failure(tableau, t_now, h, fixed=True)
            y = step.y_next
            stats.accepted += 1
            stats.ts.append(tb if s == n - 1 else t_now + h)
        outputs.append(y)
    return torch.stack(outputs)


def _integrate_adaptive(func, y0, times, tableau, first_step, rtol, atol, max_steps, stats):
    direction = 1.0 if times[-1] > times[0] else -1.0
    t_now, y, t_end = times[0], y0, times[-1]
    f0, jac = jacobian(func, t_now, y)
    stats.nfe += 1
    stats.jacobian_evaluations += 1
    stats.vjps += y.shape[-1]
    if first_step is None:
        h = initial_step(func, t_now, y, f0, direction, tableau.error_order, rtol, atol)
        stats.nfe += 1
    else:
        h = direction * first_step
    eps = torch.finfo(y0.dtype).eps
    outputs, next_out, attempts, failures_in_a_row = [y0], 1, 0, 0
    stats.ts.append(t_now)
    while next_out < len(times):
        if attempts >= max_steps:
            raise MaxStepsExceededError(
                f"{tableau.name} reached max_steps={max_steps} (accepted {stats.accepted}, "
                f"rejected {stats.rejected}) at t={t_now:.6g} with step size {abs(h):.3g}; "
                "loosen rtol/atol or raise max_steps"
            )
        if abs(h) <= 4 * eps * max(1.0, abs(t_now)):
            newton = (
                f" (Newton's iteration failed in the last {failures_in_a_row} attempts: func may "
                "return NaN or inf just after this time)"
                if failures_in_a_row
                else ""
            )
            raise StepSizeUnderflowError(
                f"{tableau.name}: the step size fell to {abs(h):.3g} at t={t_now:.6g}{newton}; "
                "the solution may blow up or be non-smooth there, or rtol/atol may be too tight"
            )
        hit_end = (t_now + h - t_end) * direction >= 0
        if hit_end:
            h = t_end - t_now
        attempts += 1
        step = dirk_step(func, t_now, y, h, tableau, f0, jac, rtol, atol, stats)
        if not step.converged:
            stats.newton_failures += 1
            stats.rejected += 1
            failures_in_a_row += 1
            if failures_in_a_row >= MAX_NEWTON_FAILURES_IN_A_ROW:
                raise _newton_failure(tableau, t_now, h, fixed=False)
            h *= 0.25
            continue
        failures_in_a_row = 0
        ratio = error_ratio(step.error, y, step.y_next, rtol, atol)
        if ratio <= 1.0:
            t_new = t_end if hit_end else t_now + h
            f_new, jac_new = jacobian(func, t_new, step.y_next)
            stats.nfe += 1
            stats.jacobian_evaluations += 1
            stats.vjps += y.shape[-1]
            if not bool(torch.isfinite(f_new).all() and torch.isfinite(jac_new).all()):
                raise NonFiniteError(
                    f"{tableau.name}: func or its Jacobian is NaN or inf at t={t_new:.10g}; the "
                    "dynamics may be undefined or not differentiable there"
                )
            while next_out < len(times) and (times[next_out] - t_new) * direction < 0:
                theta = (times[next_out] - t_now) / h
                outputs.append(hermite_interpolate(y, f0, step.y_next, f_new, h, theta))
                next_out += 1
            if next_out < len(times) and times[next_out] == t_new:
                outputs.append(step.y_next)
                next_out += 1
            t_now, y, f0, jac = t_new, step.y_next, f_new, jac_new
            stats.accepted += 1
            stats.ts.append(t_now)
        else:
            stats.rejected += 1
        h = optimal_step(h, ratio, tableau.error_order) if math.isfinite(ratio) else h * MIN_SHRINK
    return torch.stack(outputs)


def odeint_implicit(
    func: Dynamics,
    y0: torch.Tensor,
    t,
    *,
    method: str = "sdirk2",
    step_size: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 100_000,
) -> tuple[torch.Tensor, ImplicitSolveStats]:
    """Solve ``dy/dt = func(t, y)`` with a diagonally implicit Runge–Kutta method.

    Args:
        func: the dynamics ``func(t, y) -> dy/dt`` (``t`` a 0-d tensor), differentiable in ``y``
            by autograd; samples along batch dimensions must not interact.
        y0: ``(dim,)`` or ``(*batch, dim)`` initial state, float32 or float64.
        t: ``(n,)`` output times, ``n ≥ 2``, strictly monotonic (a list is accepted).
        method: ``"backward_euler"`` (order 1, fixed steps) or ``"sdirk2"`` (order 2,
            L-stable, fixed or adaptive).
        step_size: fixed steps: the largest step (each interval of ``t`` is cut into equal
            steps). Adaptive: the first step (default: chosen automatically).
        rtol, atol: give ``rtol`` for adaptive steps (``atol`` defaults to ``rtol / 100``); the
            tolerance of the error estimate and of Newton's iteration. Without them the steps
            are fixed and Newton solves to about ``1e-10`` (float64) relative.
        max_steps: the most attempted steps before
            :class:`~nodelib.errors.MaxStepsExceededError`.

    Returns:
        ``(solution, stats)``: ``(n, *y0.shape)`` detached solution at the times ``t`` and an
        :class:`ImplicitSolveStats`.

    Raises:
        ValueError / TypeError: a bad argument (the message says what is valid).
        NewtonConvergenceError: Newton's iteration failed (the message says what to try).
        nodelib.SolverError: too many steps, or the step size underflowed.
    """
    times, tableau, step_size, rtol, atol = _check_inputs(
        func, y0, t, method, step_size, rtol, atol, max_steps
    )
    stats = ImplicitSolveStats(method=method)
    with torch.no_grad():
        y0 = y0.detach()
        first_derivative(func, times[0], y0)  # checks func's output shape, dtype, finiteness
        stats.nfe += 1
        if rtol is None:
            solution = _integrate_fixed(func, y0, times, tableau, step_size, max_steps, stats)
        else:
            solution = _integrate_adaptive(
                func, y0, times, tableau, step_size, rtol, atol, max_steps, stats
            )
    return solution, stats
