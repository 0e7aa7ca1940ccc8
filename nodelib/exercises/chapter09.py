"""Named checks of chapter 9 (*What a Neural ODE cannot represent: augmented Neural ODEs*).

Each check computes the expected value itself, out of the learner's sight, and says what is
off in a wrong answer:

- :func:`crossing_loss_floor` (derive): the smallest mean squared error an order-preserving
  map can reach on ``g(-1) = 1, g(1) = -1``;
- :func:`augmented_input` (code): the zero-padded initial state of an augmented Neural ODE;
- :func:`predict_refinement`, :func:`reveal_refinement` (predict): what happens to a depth-1
  ResNet that fits the crossing map when its field is run with more and more Euler steps.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nodelib.exercises import Verdict, check, predict, reveal

__all__ = [
    "crossing_loss_floor",
    "augmented_input",
    "REFINEMENT_OPTIONS",
    "predict_refinement",
    "reveal_refinement",
    "refinement_outcome",
]


def _best_monotone_loss(resolution: float = 0.005) -> float:
    """min over a <= b of ((a - 1)^2 + (b + 1)^2) / 2, by brute force on a grid.

    ``a = φ(-1)`` and ``b = φ(1)`` are the outputs of an order-preserving map φ.
    """
    values = np.arange(-2.0, 2.0 + resolution / 2, resolution)
    a, b = np.meshgrid(values, values, indexing="ij")
    loss = ((a - 1) ** 2 + (b + 1) ** 2) / 2
    return float(np.min(np.where(a <= b, loss, np.inf)))


def crossing_loss_floor(answer) -> Verdict:
    """The least MSE of any order-preserving map on the crossing map (exercise: derive it)."""
    expected = _best_monotone_loss()
    return check(
        answer,
        expected,
        name="lowest MSE of an order-preserving map",
        rtol=1e-3,
        atol=1e-6,
        mistakes=[
            (2 * expected, "that is the sum of the two squared errors; the MSE is their mean"),
            (0.0, "an MSE of 0 needs φ(−1) = 1 > φ(1) = −1: the order reversed"),
            (
                4.0,
                "that is the MSE of the identity map φ(x) = x; an order-preserving map can "
                "do better - find the best pair a = φ(−1) ≤ b = φ(1)",
            ),
        ],
    )


def augmented_input(answer, x: torch.Tensor, p: int) -> Verdict:
    """``h(0)`` of an augmented Neural ODE with ``p`` extra dimensions, for inputs ``x``."""
    from nodelib.augmented import NeuralODE

    expected = NeuralODE(x.shape[1], augment_dim=p).lift(x)
    ones = torch.cat([x, torch.ones(x.shape[0], p, dtype=x.dtype)], dim=1)
    zeros_first = torch.cat([torch.zeros(x.shape[0], p, dtype=x.dtype), x], dim=1)
    return check(
        answer,
        expected,
        name="augmented initial state h(0)",
        mistakes=[
            (ones, "the extra coordinates must start at 0, not 1"),
            (
                zeros_first,
                "the zeros come after the data: the first coordinates of h(0) are x itself",
            ),
        ],
    )


#: The possible outcomes of the refinement experiment.
REFINEMENT_OPTIONS = {
    "stays": "the MSE stays near 0: more Euler steps of the same field still swap the points",
    "rises": "the MSE rises to about 1 or more",
    "blows up": "the MSE explodes (or becomes NaN)",
}


def predict_refinement(prediction) -> Verdict:
    """Record a prediction about the depth-1 ResNet's field run with more Euler steps."""
    return predict(prediction, REFINEMENT_OPTIONS, name="prediction")


def refinement_outcome(errors) -> str:
    """Which of :data:`REFINEMENT_OPTIONS` the measured MSEs show (the deepest one decides)."""
    deepest = float(np.asarray(errors, dtype=float)[-1])
    if not math.isfinite(deepest) or deepest > 100:
        return "blows up"
    if deepest < 0.1:
        return "stays"
    return "rises"


def reveal_refinement(prediction, errors) -> Verdict:
    """Compare the prediction with the measured MSEs (one per depth, deepest last)."""
    outcome = refinement_outcome(errors)
    why = (
        f"At the deepest depth the MSE is {float(np.asarray(errors)[-1]):.3g}. Many small "
        "Euler steps approach the field's flow (chapter 4), and a flow keeps the two points "
        "in order, so the MSE cannot stay below 1 in the limit: a single big step could "
        "jump the points over each other, small steps cannot."
    )
    return reveal(prediction, outcome, REFINEMENT_OPTIONS, why)
