"""``odeint_checkpointed``: the exact gradient of the discrete solve in memory of ``K`` states.

Home chapter: the price of training. Two ways to differentiate a solve sit at opposite ends:
backprop through the solver (:func:`nodelib.odeint`) keeps the graph of every step, memory
``O(N)`` for ``N`` steps, and gives the exact gradient of what was computed; the continuous
adjoint (:func:`nodelib.odeint_adjoint`) keeps nothing but solves ``z`` *backwards* to
rebuild it, memory ``O(1)``, and on contracting dynamics that backward reconstruction amplifies
every error like ``exp(λ T)``. Checkpointing (Griewank & Walther; ANODE, Gholami et al. 2019)
sits in between:

1. **Forward**, without autograd: the ordinary solve, watched step by step. Every step's start
   time and size are recorded (a few floats per step), and at ``K`` checkpoints the state is
   kept: at ``t_0`` and at the first step end past each of the times
   ``t_0 + j (t_N - t_0) / K``, ``j = 1 … K-1``. Adaptive steps are not known in advance, which
   is why checkpoints are placed by time; a step longer than ``(t_N - t_0) / K`` leaves fewer
   than ``K`` of them.
2. **Backward**, from the last checkpoint to the first: replay the recorded steps of one
   interval between checkpoints *with* autograd, starting from the stored state, and
   backpropagate through them (the incoming gradient at the interval's end, plus the gradients
   of any output times inside it). The gradient at the interval's start is the incoming
   gradient of the interval before.

The replay takes exactly the accepted steps of the forward pass (same times, same sizes, same
dense output for output times inside a step; rejected attempts changed no state), so the
gradient is backprop's up to rounding: the exact gradient of the discrete solve. The price is
one more forward solve (each interval is computed twice) and memory of ``K`` states plus the
graph of one interval, about ``K·S + (N/K)·G`` for a state of ``S`` bytes and a step graph of
``G`` bytes; ``K ≈ sqrt(N G / S)`` is the best trade.
"""

from __future__ import annotations

import numbers

import torch

from nodelib.adjoint import check_adjoint_params, checked_first_derivative
from nodelib.runge_kutta import dense_output, rk_step
from nodelib.solvers import SolveStats, check_inputs, solve
from nodelib.tableaus import TABLEAUS, ButcherTableau

__all__ = ["odeint_checkpointed", "StepRecord"]


class StepRecord:
    """What the forward pass keeps: every accepted step, and the state at the checkpoints.

    Attributes:
        steps: ``(t, h, t_next)`` of every accepted step, in order (floats).
        checkpoint_steps: for each checkpoint, the index into ``steps`` of the step it starts
            (the first is 0: the checkpoint at ``t_0``).
        states: the ``(*shape)`` state at each checkpoint, detached.
    """

    def __init__(self, y0: torch.Tensor, t0: float, t_end: float, checkpoints: int):
        self.steps: list[tuple[float, float, float]] = []
        self.checkpoint_steps = [0]
        self.states = [y0.detach()]
        # The times past which a new checkpoint is due, in the direction of the solve.
        span = t_end - t0
        self._due = [t0 + span * j / checkpoints for j in range(1, checkpoints)]
        self._direction = 1.0 if span > 0 else -1.0

    def __call__(self, t: float, h: float, t_next: float, y_next: torch.Tensor) -> None:
        """Record one accepted step (the solvers' ``on_step`` hook)."""
        self.steps.append((t, h, t_next))
        if self._due and (t_next - self._due[0]) * self._direction >= 0:
            # Past one or more due times: one checkpoint here (a long step may pass several).
            while self._due and (t_next - self._due[0]) * self._direction >= 0:
                self._due.pop(0)
            self.checkpoint_steps.append(len(self.steps))
            self.states.append(y_next.detach())

    def intervals(self) -> list[tuple[int, int]]:
        """``(first step, end step)`` of each interval between checkpoints (end exclusive)."""
        ends = [*self.checkpoint_steps[1:], len(self.steps)]
        # A checkpoint at the very last step end starts an empty interval: drop it.
        return [(a, b) for a, b in zip(self.checkpoint_steps, ends, strict=True) if b > a]


def replay(
    func,
    y: torch.Tensor,
    steps: list[tuple[float, float, float]],
    times: list[float],
    next_out: int,
    tableau: ButcherTableau,
    stats: SolveStats,
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Take the recorded ``steps`` from state ``y``; return the end state and the outputs.

    Output times are filled in as the solvers do: an output time strictly inside a step by the
    dense output, one equal to a step's end by the end state. ``next_out`` is the index of the
    first output time not yet passed. Returns ``(y_end, {output index: state})``.
    """
    direction = 1.0 if times[-1] > times[0] else -1.0
    outputs: dict[int, torch.Tensor] = {}
    k1 = None  # the first stage at a checkpoint is evaluated afresh: f(t, y) as in the forward
    for t_now, h, t_new in steps:
        step = rk_step(func, t_now, y, h, tableau, k1=k1)
        stats.nfe += tableau.stages - (k1 is not None)
        while next_out < len(times) and (times[next_out] - t_new) * direction < 0:
            outputs[next_out] = dense_output(y, h, step.k, tableau, (times[next_out] - t_now) / h)
            next_out += 1
        if next_out < len(times) and times[next_out] == t_new:
            outputs[next_out] = step.y_next
            next_out += 1
        y = step.y_next
        k1 = step.k[-1] if tableau.fsal else None
    return y, outputs


def _first_output_after(times: list[float], t: float) -> int:
    """Index of the first output time after ``t`` (output times at ``t`` belong before it)."""
    direction = 1.0 if times[-1] > times[0] else -1.0
    return next(i for i, ti in enumerate(times) if (ti - t) * direction > 0)


class _CheckpointedFunction(torch.autograd.Function):
    """Forward: the recorded solve without autograd. Backward: replay interval by interval."""

    @staticmethod
    def forward(ctx, settings: dict, y0: torch.Tensor, t: torch.Tensor, *params: torch.Tensor):
        times = t.tolist()
        record = StepRecord(y0, times[0], times[-1], settings["checkpoints"])
        with torch.no_grad():
            solution = solve(
                settings["func"],
                y0,
                times,
                stats=settings["stats"],
                f0=settings["f0"],
                on_step=record,
                **settings["solver"],
            )
        ctx.settings, ctx.times = settings, times
        ctx.steps = record.steps  # floats only: a few per step
        ctx.intervals = record.intervals()
        # One state per interval (a checkpoint at the very end starts none). They are saved
        # like any tensor autograd keeps, so saved_tensors_hooks (memory measurements) see them.
        states = record.states[: len(ctx.intervals)]
        record.states = None
        ctx.save_for_backward(*params, *states)
        ctx.n_params = len(params)
        settings["stats"].checkpoints = len(states)
        return solution

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_solution: torch.Tensor):
        saved = ctx.saved_tensors
        params, states = saved[: ctx.n_params], saved[ctx.n_params :]
        settings, times, steps = ctx.settings, ctx.times, ctx.steps
        tableau = settings["solver"]["tableau"]
        backward_stats = SolveStats(method=tableau.name)
        intervals = ctx.intervals

        a = grad_solution[-1]  # dL/dy at the end of the last interval
        param_grads = [torch.zeros_like(p) for p in params]
        for j in range(len(intervals) - 1, -1, -1):
            first, end = intervals[j]
            with torch.enable_grad():
                y_start = states[j].detach().requires_grad_(True)
                next_out = _first_output_after(times, steps[first][0])
                y_end, outputs = replay(
                    settings["func"],
                    y_start,
                    steps[first:end],
                    times,
                    next_out,
                    tableau,
                    backward_stats,
                )
                # The last output time is the end state itself: its gradient is already in a.
                outputs.pop(len(times) - 1, None)
                roots = [y_end, *outputs.values()]
                root_grads = [a, *(grad_solution[i] for i in outputs)]
                grads = torch.autograd.grad(
                    roots, (y_start, *params), grad_outputs=root_grads, allow_unused=True
                )
            a = grads[0] if grads[0] is not None else torch.zeros_like(y_start)
            for p_grad, g in zip(param_grads, grads[1:], strict=True):
                if g is not None:
                    p_grad.add_(g)
        a = a + grad_solution[0]  # the loss may look at y0 itself (output time t_0)

        stats = settings["stats"]
        stats.backward_nfe = backward_stats.nfe
        stats.backward_accepted = len(steps)  # every recorded step is replayed once
        stats.backward_rejected = 0
        return (None, a, None, *param_grads)


def _check_checkpoints(checkpoints) -> int:
    if (
        isinstance(checkpoints, bool)
        or not isinstance(checkpoints, numbers.Integral)
        or checkpoints < 1
    ):
        raise ValueError(
            f"checkpoints must be a positive integer (the number of states kept), "
            f"got {checkpoints!r}"
        )
    return int(checkpoints)


def odeint_checkpointed(
    func,
    y0: torch.Tensor,
    t: torch.Tensor,
    *,
    checkpoints: int = 8,
    method: str = "dopri5",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    step_size: float | None = None,
    max_steps: int = 10_000,
    return_stats: bool = False,
    adjoint_params=None,
):
    """Like :func:`nodelib.odeint`, with backprop's exact gradient in memory of ``K`` states.

    See the module docstring for how it works. As with :func:`nodelib.odeint_adjoint`, the
    forward solve runs without autograd, so only ``y0`` and ``adjoint_params`` get gradients,
    and a ``func`` using another tensor that requires grad raises :class:`ValueError`.

    Args:
        func, y0, t, method, rtol, atol, step_size, max_steps, return_stats: as in
            :func:`nodelib.odeint` (nodelib's own solvers only).
        checkpoints: ``K ≥ 1``, the most states kept by the forward pass (``t_0`` included),
            spaced evenly in time; ``K = 1`` keeps ``y0`` only and replays the whole solve.
        adjoint_params: as in :func:`nodelib.odeint_adjoint`.

    Returns:
        The ``(len(t), *y0.shape)`` solution, or ``(solution, stats)``. ``stats.checkpoints``
        is the number of states kept; after ``.backward()``, ``stats.backward_nfe`` counts the
        evaluations of ``func`` of the replay.

    Raises:
        TypeError: ``adjoint_params`` is not a list or tuple of tensors.
        ValueError: a bad argument (as :func:`nodelib.odeint`; ``checkpoints`` not a positive
            integer), or ``func`` uses a tensor requiring grad that is not in
            ``adjoint_params``.
    """
    t, rtol, atol, step_size = check_inputs(
        func, y0, t, method, rtol, atol, step_size, max_steps, "nodelib"
    )
    checkpoints = _check_checkpoints(checkpoints)
    params = check_adjoint_params(func, adjoint_params)
    f0 = None
    if torch.is_grad_enabled():
        f0 = checked_first_derivative(func, y0, t[0].item(), params)
    stats = SolveStats(method=method)
    settings = {
        "func": func,
        "stats": stats,
        "f0": f0,
        "checkpoints": checkpoints,
        "solver": {
            "tableau": TABLEAUS[method],
            "rtol": rtol,
            "atol": atol,
            "step_size": step_size,
            "max_steps": max_steps,
        },
    }
    solution = _CheckpointedFunction.apply(settings, y0, t, *params)
    return (solution, stats) if return_stats else solution
