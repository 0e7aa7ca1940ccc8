"""Checks for the exercises of chapter 7 (the spiral lab).

Each check takes the learner's answer and the chapter's own objects, computes the expected
value itself and names the mistakes a learner is likely to make.
"""

from __future__ import annotations

import math

import torch

from nodelib import spiral
from nodelib.exercises import Verdict, check, predict, reveal

#: Exercise 1: what a smaller Euler step does to the Euler-trained course model.
HALF_STEP_OPTIONS = {
    "better": "a smaller MSE: a finer step solves the learned ODE more accurately",
    "same": "about the same MSE (within a factor 1.5 either way)",
    "worse": "a larger MSE",
}


def predict_half_step(prediction) -> Verdict:
    """Record the prediction of exercise 1 (one of :data:`HALF_STEP_OPTIONS`)."""
    return predict(prediction, HALF_STEP_OPTIONS, name="exercise 1")


def reveal_half_step(prediction, mse_as_trained: float, mse_half_step: float) -> Verdict:
    """Compare with the measured whole-trajectory MSEs at the training step and at half of it."""
    ratio = mse_half_step / mse_as_trained
    outcome = "worse" if ratio > 1.5 else ("better" if ratio < 1 / 1.5 else "same")
    why = (
        f"The MSE went from {mse_as_trained:.5f} to {mse_half_step:.5f} ({ratio:.1f} times). "
        "The model learned the field whose Euler steps of the sample spacing land on the "
        "samples, a field that decays too fast (section 6). A finer step follows that field "
        "more faithfully, and so moves the prediction away from the data: the model is a model "
        "of Euler at the training step."
    )
    return reveal(prediction, outcome, HALF_STEP_OPTIONS, why)


def radius_at_end(answer, data: spiral.SpiralData) -> Verdict:
    """Exercise 2: the distance of the true state from the origin at the last sample time."""
    t_end = float(data.t[-1])
    expected = float(spiral.exact_linear_solution(data.t[-1:]).norm())
    return check(
        answer,
        expected,
        name="exercise 2",
        rtol=1e-4,
        mistakes=[
            (
                2 * math.exp(-0.2 * t_end),
                "the decay rate is the real part of the eigenvalues, 0.1, not 0.2",
            ),
            (4 * math.exp(-0.2 * t_end), "that is the squared distance; take the square root"),
            (
                2 * math.exp(-2 * t_end),
                "2 is the angular speed (the imaginary part); the decay rate is 0.1",
            ),
        ],
    )


def trajectory_mse(answer, model: torch.nn.Module, data: spiral.SpiralData) -> Verdict:
    """Exercise 3: the whole-trajectory MSE of ``model`` against the samples ``data.y``."""
    prediction = spiral.trajectory(model, data.t)
    squared = (prediction - data.y) ** 2
    mean = float(squared.mean())
    return check(
        answer,
        mean,
        name="exercise 3",
        rtol=1e-4,
        mistakes=[
            (float(squared.sum()), "that is the sum of the squares; the MSE is their mean"),
            (math.sqrt(mean), "that is the root of the mean square (RMSE); leave out the root"),
            (
                float(squared.sum(dim=1).mean()),
                "that is the mean squared distance per sample, "
                "the sum over both coordinates: the MSE averages over all 2n entries",
            ),
            (float((prediction - data.y).mean()), "square the differences before averaging"),
        ],
    )


def cubic_field(answer, points: torch.Tensor) -> Verdict:
    """Exercise 4: the cubic spiral's field ``y^3 A`` (row vectors) at ``points: (m, 2)``."""
    A = spiral.TRUE_A
    expected = spiral.true_dynamics(None, points, "cubic")
    return check(
        answer,
        expected,
        name="exercise 4",
        rtol=1e-5,
        mistakes=[
            (
                points**3 @ A.T,
                "that multiplies by A from the right of a column vector, A y^3; "
                "the cubic system multiplies the row vector y^3 by A: y^3 A",
            ),
            ((points @ A) ** 3, "cube first, then multiply by A"),
            (points @ A, "the coordinates must be cubed"),
        ],
    )
