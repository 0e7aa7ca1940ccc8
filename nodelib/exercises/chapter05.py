"""Checks for the exercises of chapter 5 (ODE solvers).

Each check takes the learner's answer and the chapter's own objects, computes the expected
value itself and names the mistakes a learner is likely to make.
"""

from __future__ import annotations

import numpy as np

from nodelib import solver_study as ss
from nodelib.exercises import Verdict, check, predict, reveal

#: Exercise 1: what a looser tolerance does to Dopri5's work on a stiff problem.
STIFF_TOLERANCE_OPTIONS = {
    "a": "about 4 times fewer evaluations, as the h^5 law says for a 1000-fold looser tolerance",
    "b": "about as many evaluations (within a factor 1.5 either way)",
    "c": "more than 1.5 times as many evaluations",
}


def predict_stiff_tolerance(prediction) -> Verdict:
    """Record the prediction of exercise 1 (one of :data:`STIFF_TOLERANCE_OPTIONS`)."""
    return predict(prediction, STIFF_TOLERANCE_OPTIONS, name="exercise 1")


def reveal_stiff_tolerance(prediction, tight, loose) -> Verdict:
    """Compare with the measurement: ``tight`` and ``loose`` are one-λ :class:`StiffnessSweep`s.

    The outcome is read from the measured NFE: ``tight.nfe / loose.nfe`` above 1.5 is "a",
    below 1/1.5 is "c", anything in between "b".
    """
    ratio = tight.nfe[-1] / loose.nfe[-1]
    outcome = "a" if ratio > 1.5 else ("b" if ratio > 1 / 1.5 else "c")
    why = (
        f"At λ = {tight.stiffness[-1]:g} the NFE went from {tight.nfe[-1]} to {loose.nfe[-1]} "
        f"({tight.rejected[-1]} and {loose.rejected[-1]} rejected steps); the median hλ was "
        f"{tight.median_h_lambda[-1]:.2f} and {loose.median_h_lambda[-1]:.2f}, near the "
        f"stability limit {ss.stability_limit('dopri5'):.2f}: the step "
        "cannot grow however loose the tolerance."
    )
    if loose.rejected[-1] > tight.rejected[-1]:
        why += (
            " The loose tolerance only lets the controller try steps beyond the limit more "
            "often, and each rejected attempt costs six evaluations for nothing."
        )
    return reveal(prediction, outcome, STIFF_TOLERANCE_OPTIONS, why)


def midpoint_order(answer, convergence: ss.ConvergenceStudy) -> Verdict:
    """Exercise 2: the order of the midpoint method from its last two errors (h halved)."""
    errors = convergence.errors["midpoint"]
    ratio = errors[-2] / errors[-1]
    return check(
        answer,
        np.log2(ratio),
        name="exercise 2",
        rtol=1e-6,
        mistakes=[
            (
                np.log(ratio),
                "that is the natural logarithm of the ratio; the step was halved, "
                "so the base of the logarithm is 2",
            ),
            (np.log10(ratio), "that is log10 of the ratio; the step was halved, so use log2"),
            (ratio, "that is the ratio of the errors, 2^p; take its logarithm to base 2"),
            (
                -np.log2(ratio),
                "the sign is flipped: divide the larger error (bigger step) by the smaller one",
            ),
        ],
    )


def rk4_stable_step(answer, limits: dict, stiffness: float) -> Verdict:
    """Exercise 3: the largest stable RK4 step on ``y' = -stiffness (y - cos t)``."""
    return check(
        answer,
        limits["rk4"] / stiffness,
        name="exercise 3",
        mistakes=[
            (2.0 / stiffness, "that is Euler's limit 2/λ; RK4's region reaches further"),
            (limits["rk4"] * stiffness, "h|λ| ≤ limit means h ≤ limit / |λ|, not limit · |λ|"),
            (stiffness / limits["rk4"], "upside down: h ≤ limit / |λ|"),
            (limits["dopri5"] / stiffness, "that is Dopri5's limit; the question is about RK4"),
        ],
    )


def _reference_backward_euler(t_grid, stiffness: float) -> np.ndarray:
    """Backward Euler on y' = -λ(y - cos t), y(0) = 0, each step solved as its own equation."""
    y = [0.0]
    for t_old, t_new in zip(t_grid[:-1], t_grid[1:], strict=True):
        h = t_new - t_old
        # y_new = y + h·(-λ)(y_new - cos t_new) is linear in y_new: a = 1 + hλ, b = y + hλ cos
        y.append((y[-1] + h * stiffness * np.cos(t_new)) / (1 + h * stiffness))
    return np.array(y)


def _forward_euler(t_grid, stiffness: float, slope_time: str) -> np.ndarray:
    y = [0.0]
    for t_old, t_new in zip(t_grid[:-1], t_grid[1:], strict=True):
        h = t_new - t_old
        t_slope = t_old if slope_time == "old" else t_new
        y.append(y[-1] + h * (-stiffness) * (y[-1] - np.cos(t_slope)))
    return np.array(y)


def backward_euler(y_grid, t_grid, stiffness: float) -> Verdict:
    """Exercise 4: the learner's backward Euler solution ``y_grid`` at the times ``t_grid``."""
    values = list(y_grid)
    if any(v is Ellipsis or v is None for v in values):
        return check(..., 0.0, name="exercise 4")
    t_grid = np.asarray(t_grid, dtype=np.float64)
    expected = _reference_backward_euler(t_grid, stiffness)
    # the same step with the slope's cos taken at the old time t_n
    old_cos = [0.0]
    for t_old, t_new in zip(t_grid[:-1], t_grid[1:], strict=True):
        h = t_new - t_old
        old_cos.append((old_cos[-1] + h * stiffness * np.cos(t_old)) / (1 + h * stiffness))
    return check(
        np.asarray(values, dtype=np.float64),
        expected,
        name="exercise 4",
        mistakes=[
            (
                _forward_euler(t_grid, stiffness, "old"),
                "that is explicit (forward) Euler: the "
                "slope must be taken at the new point (t_{n+1}, y_{n+1}), which makes the step an "
                "equation to solve for y_{n+1}",
            ),
            (
                np.array(old_cos),
                "cos is evaluated at t_n; backward Euler takes the whole slope at t_{n+1}",
            ),
        ],
    )
