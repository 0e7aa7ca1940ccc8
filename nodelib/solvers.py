"""``odeint``: solve ``dy/dt = f(t, y)`` at given output times, with fixed or adaptive steps.

Home chapter: the solvers chapter. The public entry point :func:`odeint` checks and normalises
every argument in one place (:func:`check_inputs`), then hands over to one of two loops:

- :func:`integrate_fixed_grid` for ``euler``, ``midpoint``, ``rk4``, ``rk4_38``: each interval
  ``[t_i, t_(i+1)]`` of the output times is cut into ``ceil(|t_(i+1) - t_i| / step_size)``
  equal steps, so no step exceeds ``step_size`` and every output time is hit exactly (no
  interpolation). Without ``step_size`` each interval is one step: the default step is the
  spacing of ``t``.
- :func:`integrate_adaptive` for ``dopri5``: steps are accepted or rejected by the embedded error
  estimate (mixed absolute/relative norm, safety factor 0.9, growth ≤ 10×, shrink ≥ 0.2×, see
  :mod:`nodelib.step_size`), the first step is chosen automatically, the last stage of an
  accepted step is reused as the first of the next (FSAL), and output times that fall inside a
  step are filled in by the method's **dense output** (a fourth-order polynomial through the step,
  no extra evaluations) — so many output times cost no extra steps. The final output time is hit
  exactly.

Everything is ordinary PyTorch, so ``odeint`` is differentiable by autograd ("backprop through
the solver"); :func:`nodelib.odeint_adjoint` computes the same gradients with constant memory.
Gradients with respect to the output times ``t`` are not computed (a ``t`` that requires grad is
rejected, so it cannot silently get none).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from nodelib.errors import MaxStepsExceededError, NonFiniteError, StepSizeUnderflowError
from nodelib.runge_kutta import dense_output, rk_step
from nodelib.step_size import MIN_SHRINK, error_ratio, initial_step, optimal_step
from nodelib.tableaus import METHODS, TABLEAUS, ButcherTableau

__all__ = ["odeint", "SolveStats", "check_inputs", "integrate_fixed_grid", "integrate_adaptive"]

BACKENDS = ("nodelib", "torchdiffeq")
#: Floating point types a solve runs in (half precision is rejected, see :func:`check_inputs`).
SUPPORTED_DTYPES = (torch.float32, torch.float64)


@dataclass
class SolveStats:
    """Statistics of one solve, returned by ``odeint(..., return_stats=True)``.

    Attributes:
        method: the method used.
        nfe: number of evaluations of ``func`` (including the one that checks its output shape and,
            for dopri5, the one that chooses the initial step).
        accepted: accepted steps.
        rejected: rejected steps (always 0 for fixed-step methods).
        ts: the step mesh: the start time, then the end time of every accepted step (floats,
            ``len == accepted + 1``).
        rejected_ts: start times of the rejected attempts (floats).
        rejected_step_sizes: the step size each rejected attempt tried (floats, signed like the
            steps ``diff(ts)``; ``len == rejected``), so a plot can show how far it overshot.
        backward_nfe, backward_accepted, backward_rejected: filled in by ``.backward()`` after
            :func:`nodelib.odeint_adjoint` (the backward, augmented solve); ``None`` before.
    """

    method: str
    nfe: int = 0
    accepted: int | None = 0
    rejected: int | None = 0
    ts: list[float] = field(default_factory=list)
    rejected_ts: list[float] = field(default_factory=list)
    rejected_step_sizes: list[float] = field(default_factory=list)
    backward_nfe: int | None = None
    backward_accepted: int | None = None
    backward_rejected: int | None = None


# --------------------------------------------------------------------------- input checking


def _positive_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def check_inputs(
    func, y0, t, method, rtol, atol, step_size, max_steps, backend
) -> tuple[torch.Tensor, float, float, float | None]:
    """Check every argument of :func:`odeint` once, before any work is done.

    Returns ``(t, rtol, atol, step_size)`` normalised (``t`` a tensor, the others floats).
    Raises :class:`TypeError` for wrong types and :class:`ValueError` (naming the argument, the
    value received and what would be valid) for wrong values.
    """
    if not callable(func):
        raise TypeError(f"func must be callable as func(t, y), got {type(func).__name__}")
    if not isinstance(y0, torch.Tensor):
        raise TypeError(f"y0 must be a torch.Tensor, got {type(y0).__name__}")
    if not y0.is_floating_point():
        raise ValueError(f"y0 must have a floating point dtype, got {y0.dtype}")
    if y0.dtype not in SUPPORTED_DTYPES:
        # Half precision keeps ~3 significant digits (float16 also underflows below 6e-8): the
        # error estimate and step control cannot work at any useful tolerance.
        raise ValueError(
            f"y0 has dtype {y0.dtype}; the solvers need float32 or float64 (half precision is "
            "too coarse for step-size control and error estimates). Solve in float32: pass "
            "y0.float() and t.float(), and make func compute in float32 (e.g. func.float())"
        )
    if not bool(torch.isfinite(y0.detach()).all()):
        raise ValueError(
            f"y0 contains NaN or inf ({int((~torch.isfinite(y0)).sum())} of {y0.numel()} "
            "entries); the initial state must be finite"
        )
    if not isinstance(t, torch.Tensor):
        if isinstance(t, list | tuple):
            t = torch.as_tensor(t, dtype=y0.dtype, device=y0.device)
        else:
            raise TypeError(f"t must be a 1-D torch.Tensor of times, got {type(t).__name__}")
    if t.dim() != 1:
        raise ValueError(f"t must be 1-D (a list of output times), got shape {tuple(t.shape)}")
    if len(t) < 2:
        raise ValueError(
            f"t must hold at least 2 times (start and end), got {len(t)}: {t.tolist()}"
        )
    if t.dtype != y0.dtype:
        raise ValueError(
            f"t has dtype {t.dtype} but y0 has dtype {y0.dtype}; they must match "
            f"(e.g. t = t.to(y0.dtype))"
        )
    if t.device != y0.device:
        raise ValueError(
            f"t is on device {t.device} but y0 is on {y0.device}; put both on the same device"
        )
    if not bool(torch.isfinite(t.detach()).all()):
        raise ValueError(f"t must be finite, got {t.tolist()}")
    dt = t[1:] - t[:-1]
    if not (bool((dt > 0).all()) or bool((dt < 0).all())):
        raise ValueError(f"t must be strictly increasing or strictly decreasing, got {t.tolist()}")
    if method not in TABLEAUS:
        raise ValueError(f"method={method!r} is unknown; valid methods are {list(METHODS)}")
    rtol = _positive_number("rtol", rtol)
    atol = _positive_number("atol", atol)
    if step_size is not None:
        step_size = _positive_number("step_size", step_size)
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is unknown; valid backends are {list(BACKENDS)}")
    if backend == "nodelib" and t.requires_grad and torch.is_grad_enabled():
        # The solvers step with t as plain floats: t would silently get no gradient.
        raise ValueError(
            "t requires grad, but nodelib's solvers compute no gradient with respect to the "
            "output times; pass t.detach() (or backend='torchdiffeq', which does compute one)"
        )
    return t, rtol, atol, step_size


def first_derivative(func, t0: float, y0: torch.Tensor) -> torch.Tensor:
    """Evaluate ``func(t0, y0)`` once and check what it returns: a finite tensor with the shape,
    dtype and device of ``y0``.

    This first evaluation is where ``func`` itself is checked (the solvers reuse its value, so
    the check costs nothing); later evaluations are trusted to behave alike.
    """
    f0 = func(torch.scalar_tensor(t0, dtype=y0.dtype, device=y0.device), y0)
    if not isinstance(f0, torch.Tensor):
        raise ValueError(f"func must return a torch.Tensor, got {type(f0).__name__}")
    if f0.shape != y0.shape:
        raise ValueError(
            f"func(t, y) must return dy/dt with the shape of y0 {tuple(y0.shape)}, "
            f"got shape {tuple(f0.shape)}"
        )
    if f0.dtype != y0.dtype:
        # Accepting it would silently change the precision of the solve (or truncate, for ints).
        raise ValueError(
            f"func returned dy/dt of dtype {f0.dtype} but y0 has dtype {y0.dtype}; func must "
            "return the dtype of y (create tensors inside func with dtype=y.dtype, or convert "
            "func's parameters with func.to(y0.dtype))"
        )
    if f0.device != y0.device:
        raise ValueError(
            f"func returned dy/dt on device {f0.device} but y0 is on {y0.device}; func must "
            "return a tensor on the device of y (e.g. func.to(y0.device))"
        )
    if not bool(torch.isfinite(f0).all()):
        raise NonFiniteError(f"func returned NaN or inf at the start, t={t0:.6g}")
    return f0


def _checked(func: Callable) -> Callable:
    """``func`` that raises :class:`NonFiniteError` naming ``t`` when it returns NaN or inf.

    Used only to *locate* a failure that a cheaper check has already detected, so the normal
    path pays nothing for it.
    """

    def checked_func(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = func(t, y)
        if not bool(torch.isfinite(out).all()):
            biggest = y.detach().abs().max().item()
            raise NonFiniteError(
                f"func returned NaN or inf at t={float(t):.10g} "
                f"(largest |y| there: {biggest:.3g}); the dynamics may be undefined there "
                "or the solution may blow up"
            )
        return out

    return checked_func


# --------------------------------------------------------------------------- fixed grid


def _steps_per_interval(times: list[float], step_size: float | None) -> list[int]:
    if step_size is None:
        return [1] * (len(times) - 1)
    # The tiny relative slack keeps e.g. 0.3 / 0.1 = 2.9999999999999996 from becoming 4 steps.
    return [
        max(1, math.ceil(abs(tb - ta) / step_size * (1 - 1e-12)))
        for ta, tb in zip(times[:-1], times[1:], strict=True)
    ]


def integrate_fixed_grid(
    func,
    y0: torch.Tensor,
    times: list[float],
    tableau: ButcherTableau,
    step_size: float | None,
    max_steps: int,
    f0: torch.Tensor,
    stats: SolveStats,
    on_step: Callable | None = None,
) -> torch.Tensor:
    """Fixed steps with ``tableau``; returns ``(len(times), *y0.shape)``.

    Each interval between consecutive output times gets equal steps no larger than
    ``step_size`` (one step when ``step_size`` is None). NaN/inf is looked for once at the end;
    if found, the first bad interval is re-run with a checking ``func`` to report the time.
    ``on_step(t, h, t_next, y_next)``, if given, is called after every step (the checkpointed
    adjoint records the steps this way, :mod:`nodelib.checkpointed_adjoint`).
    """
    n_steps = _steps_per_interval(times, step_size)
    total = sum(n_steps)
    if total > max_steps:
        raise MaxStepsExceededError(
            f"{tableau.name} would need {total} steps with step_size={step_size} from "
            f"t={times[0]:.6g} to t={times[-1]:.6g}, more than max_steps={max_steps}; "
            "pass a larger step_size or max_steps"
        )
    outputs = [y0]
    y, k1 = y0, f0
    stats.ts.append(times[0])
    for i, n in enumerate(n_steps):
        y, k1 = _fixed_steps(func, y, k1, times[i], times[i + 1], n, tableau, stats, on_step)
        outputs.append(y)
    solution = torch.stack(outputs)
    if not bool(torch.isfinite(solution).all()):
        _locate_non_finite(func, solution, times, n_steps, tableau)
    return solution


def _fixed_steps(func, y, k1, ta, tb, n, tableau, stats, on_step=None):
    """``n`` equal steps from ``ta`` to ``tb``: the inner loop, kept lean on purpose."""
    h = (tb - ta) / n
    stages, fsal = tableau.stages, tableau.fsal
    for s in range(n):
        t_now = ta + s * h
        step = rk_step(func, t_now, y, h, tableau, k1=k1)
        stats.nfe += stages - (k1 is not None)
        y = step.y_next
        k1 = step.k[-1] if fsal else None
        t_next = tb if s == n - 1 else t_now + h
        stats.ts.append(t_next)
        if on_step is not None:
            on_step(t_now, h, t_next, y)
    stats.accepted += n
    return y, k1


def _locate_non_finite(func, solution, times, n_steps, tableau):
    finite = torch.isfinite(solution.detach()).flatten(1).all(dim=1).tolist()
    i = finite.index(False)  # first bad output; the interval before it went wrong
    scratch = SolveStats(method=tableau.name)
    with torch.no_grad():
        _fixed_steps(
            _checked(func),
            solution[i - 1],
            None,
            times[i - 1],
            times[i],
            n_steps[i - 1],
            tableau,
            scratch,
        )
    raise NonFiniteError(
        f"the solution became NaN or inf between t={times[i - 1]:.6g} and t={times[i]:.6g} "
        "although func returned finite values; the step may be too large for this problem"
    )


# --------------------------------------------------------------------------- adaptive


def integrate_adaptive(
    func,
    y0: torch.Tensor,
    times: list[float],
    tableau: ButcherTableau,
    rtol: float,
    atol: float,
    first_step: float | None,
    max_steps: int,
    f0: torch.Tensor,
    stats: SolveStats,
    norm: Callable[[torch.Tensor], float] | None = None,
    on_step: Callable | None = None,
) -> torch.Tensor:
    """Adaptive steps with an embedded tableau; returns ``(len(times), *y0.shape)``.

    ``max_steps`` counts attempted steps (accepted + rejected), so a stiff problem that forces
    tiny steps stops quickly with :class:`~nodelib.errors.MaxStepsExceededError`.

    Optional: ``norm`` measures the scaled error estimate instead of the RMS norm (see
    :func:`nodelib.step_size.error_ratio`; the adjoint's seminorm uses it), and
    ``on_step(t, h, t_next, y_next)`` is called after every accepted step (the checkpointed
    adjoint records the steps this way, :mod:`nodelib.checkpointed_adjoint`).
    """
    direction = 1.0 if times[-1] > times[0] else -1.0
    t_end = times[-1]
    t_now, y, k1 = times[0], y0, f0
    if first_step is None:
        h = initial_step(func, t_now, y0, f0, direction, tableau.error_order, rtol, atol, norm=norm)
        stats.nfe += 1
    else:
        h = direction * first_step
    eps = torch.finfo(y0.dtype).eps
    error_order, stages = tableau.error_order, tableau.stages
    outputs = [y0]
    next_out = 1
    attempts = 0
    non_finite_in_a_row = 0
    non_finite_report = None
    stats.ts.append(t_now)
    while next_out < len(times):
        if attempts >= max_steps:
            raise MaxStepsExceededError(
                f"{tableau.name} reached max_steps={max_steps} (accepted {stats.accepted}, "
                f"rejected {stats.rejected}) at t={t_now:.6g}, integrating from t={times[0]:.6g} "
                f"to t={t_end:.6g} with step size {abs(h):.3g}; the problem may be stiff. Loosen "
                f"rtol/atol, raise max_steps, or use a fixed-step method (e.g. method='rk4', "
                f"step_size=...)"
            )
        if abs(h) <= 4 * eps * max(1.0, abs(t_now)):
            if non_finite_report is not None:  # shrinking did not get past a NaN/inf
                raise NonFiniteError(
                    f"{non_finite_report}; shrinking the step to {abs(h):.3g} did not help"
                )
            raise StepSizeUnderflowError(
                f"{tableau.name}: the step size fell to {abs(h):.3g} at t={t_now:.6g}, too small "
                "to advance the time; the solution may blow up or be non-smooth there, or "
                "rtol/atol may be too tight for this floating point precision"
            )
        hit_end = (t_now + h - t_end) * direction >= 0
        if hit_end:
            h = t_end - t_now
        step = rk_step(func, t_now, y, h, tableau, k1=k1)
        stats.nfe += stages - 1
        attempts += 1
        ratio = error_ratio(step.error, y, step.y_next, rtol, atol, norm)
        if not math.isfinite(ratio):
            # Maybe just a step too large (overflow): note where func broke down (re-running
            # the step with a checking func, only on this failure path), shrink and retry.
            non_finite_in_a_row += 1
            stats.rejected += 1
            stats.rejected_ts.append(t_now)
            stats.rejected_step_sizes.append(h)
            try:
                with torch.no_grad():
                    rk_step(_checked(func), t_now, y.detach(), h, tableau, k1=None)
                non_finite_report = (
                    f"{tableau.name}: the state became NaN or inf in the step from "
                    f"t={t_now:.6g} to t={t_now + h:.6g} although func returned finite values"
                )
            except NonFiniteError as error:
                non_finite_report = str(error)
            if non_finite_in_a_row >= 8:
                raise NonFiniteError(f"{non_finite_report}; 8 smaller steps did not help")
            h *= MIN_SHRINK
            continue
        non_finite_in_a_row = 0
        if ratio <= 1.0:
            t_new = t_end if hit_end else t_now + h
            # Fill in every output time inside this step; the step's end is exact.
            while next_out < len(times) and (times[next_out] - t_new) * direction < 0:
                theta = (times[next_out] - t_now) / h
                outputs.append(dense_output(y, h, step.k, tableau, theta))
                next_out += 1
            if next_out < len(times) and times[next_out] == t_new:
                outputs.append(step.y_next)
                next_out += 1
            if on_step is not None:
                on_step(t_now, h, t_new, step.y_next)
            t_now, y = t_new, step.y_next
            k1 = step.k[-1] if tableau.fsal else None
            if k1 is None:  # a non-FSAL adaptive tableau: evaluate the first stage afresh
                k1 = func(torch.scalar_tensor(t_now, dtype=y.dtype, device=y.device), y)
                stats.nfe += 1
            stats.accepted += 1
            stats.ts.append(t_now)
        else:
            stats.rejected += 1
            stats.rejected_ts.append(t_now)
            stats.rejected_step_sizes.append(h)
        h = optimal_step(h, ratio, error_order)
    return torch.stack(outputs)


# --------------------------------------------------------------------------- entry point


def solve(
    func,
    y0,
    times,
    tableau,
    rtol,
    atol,
    step_size,
    max_steps,
    stats,
    f0=None,
    norm=None,
    on_step=None,
) -> torch.Tensor:
    """Solve with already-checked arguments (``times`` a list of floats); used by the adjoints.

    ``f0``: ``func(times[0], y0)`` if the caller has already evaluated (and checked) it.
    ``norm`` (adaptive methods only) and ``on_step``: as in :func:`integrate_adaptive`.
    """
    if f0 is None:
        f0 = first_derivative(func, times[0], y0)
    stats.nfe += 1
    if tableau.adaptive:
        return integrate_adaptive(
            func, y0, times, tableau, rtol, atol, step_size, max_steps, f0, stats, norm, on_step
        )
    return integrate_fixed_grid(func, y0, times, tableau, step_size, max_steps, f0, stats, on_step)


def _torchdiffeq_options(method, step_size, max_steps):
    if TABLEAUS[method].adaptive:
        options = {"max_num_steps": max_steps}
        if step_size is not None:
            options["first_step"] = step_size
        return options
    return {} if step_size is None else {"step_size": step_size}


#: Our method names -> torchdiffeq's. torchdiffeq has only the 3/8 rule and calls it "rk4", so
#: with ``backend="torchdiffeq"`` both "rk4" and "rk4_38" run the 3/8 rule.
TORCHDIFFEQ_METHODS = {
    "euler": "euler",
    "midpoint": "midpoint",
    "rk4": "rk4",
    "rk4_38": "rk4",
    "dopri5": "dopri5",
}


class _CountingFunc(torch.nn.Module):
    """Wraps ``func`` to count evaluations (for stats of the torchdiffeq backend)."""

    def __init__(self, func, stats):
        super().__init__()
        self.func = func
        self.stats = stats

    def forward(self, t, y):
        self.stats.nfe += 1
        return self.func(t, y)


def odeint(
    func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    y0: torch.Tensor,
    t: torch.Tensor,
    *,
    method: str = "dopri5",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    step_size: float | None = None,
    max_steps: int = 10_000,
    backend: str = "nodelib",
    return_stats: bool = False,
):
    """Solve ``dy/dt = func(t, y)``, ``y(t[0]) = y0`` and return ``y`` at every time in ``t``.

    Args:
        func: the dynamics, ``func(t, y) -> dy/dt``; ``t`` is a 0-d tensor, ``y`` and the output
            have the shape, dtype and device of ``y0`` (checked at the first evaluation).
        y0: ``(*shape)`` initial state, any shape (batch dimensions included, an empty batch
            too), float32 or float64. Half precision (float16, bfloat16) is rejected: it cannot
            resolve the steps and tolerances of a solve; solve in float32.
        t: ``(n,)`` output times, ``n ≥ 2``, strictly increasing or strictly decreasing (then the
            solve runs backwards in time); same dtype and device as ``y0``; not differentiated
            (with autograd on, a ``t`` that requires grad is rejected).
        method: ``"euler"``, ``"midpoint"``, ``"rk4"`` (classic), ``"rk4_38"`` (3/8 rule, what
            torchdiffeq calls "rk4") or ``"dopri5"`` (adaptive Dormand–Prince 5(4)).
        rtol, atol: dopri5's relative and absolute tolerance, per step, in the mixed norm of
            :func:`nodelib.step_size.error_ratio`.
        step_size: fixed-step methods: the largest step (default: the spacing of ``t``; each
            interval of ``t`` is cut into equal steps no larger than this). dopri5: the first
            step (default: chosen automatically).
        max_steps: the most steps (dopri5: attempted steps) before giving up with
            :class:`~nodelib.errors.MaxStepsExceededError`.
        backend: ``"nodelib"`` or ``"torchdiffeq"`` (same arguments forwarded to
            ``torchdiffeq.odeint``; note its "rk4" is the 3/8 rule and its fixed-step
            ``step_size`` grid does not hit output times, which it interpolates linearly).
        return_stats: also return a :class:`SolveStats`.

    Returns:
        ``(n, *shape)`` solution, or ``(solution, stats)`` when ``return_stats``.

    Raises:
        ValueError: a bad argument (the message names it and says what is valid).
        nodelib.SolverError: the solve failed (NaN/inf dynamics, step size underflow, too many
            steps); the message says at which time.
    """
    t, rtol, atol, step_size = check_inputs(
        func, y0, t, method, rtol, atol, step_size, max_steps, backend
    )
    stats = SolveStats(method=method)
    if backend == "torchdiffeq":
        import torchdiffeq

        stats.accepted = stats.rejected = None
        solution = torchdiffeq.odeint(
            _CountingFunc(func, stats),
            y0,
            t,
            rtol=rtol,
            atol=atol,
            method=TORCHDIFFEQ_METHODS[method],
            options=_torchdiffeq_options(method, step_size, max_steps),
        )
    else:
        tableau = TABLEAUS[method]
        solution = solve(func, y0, t.tolist(), tableau, rtol, atol, step_size, max_steps, stats)
    return (solution, stats) if return_stats else solution
