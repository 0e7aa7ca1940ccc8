"""Named checks for the exercises of chapter 4 (From ResNets to Neural ODEs).

Each check takes the learner's answer and the chapter's objects, computes the expected
value itself and says what is off (see :mod:`nodelib.exercises`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nodelib import euler_view, pinn
from nodelib.exercises import Verdict, check, predict, reveal


def first_block_output(h1, field: nn.Module, h0: torch.Tensor, dt) -> Verdict:
    """Exercise 1: one residual block ``h0 + Δt·G(h0)`` of the chapter's field ``G``."""
    dt = float(dt)
    with torch.no_grad():
        expected = euler_view.residual_network(field, h0, 1, t0=0.0, t1=dt)
        slope = field(None, h0)
        mistakes = [
            (
                h0 + slope,
                "Δt is missing: the residual branch is f(h) = Δt·G(h), not G(h)",
            ),
            (dt * slope, "the shortcut is missing: the block adds its input h0 back"),
            (h0 - dt * slope, "the residual is added to the input, not subtracted"),
        ]
    if isinstance(h1, torch.Tensor):
        h1 = h1.detach()
    return check(h1, expected, name="exercise 1", mistakes=mistakes)


def error_at_depth_1024(prediction, study: euler_view.DepthStudy, field, h0) -> Verdict:
    """Exercise 2: predict the depth-1024 error from the depth-256 error of ``study``.

    The expected value is measured: ``euler_view.error_vs_depth`` at depth 1024. A
    first-order prediction lands within 5 %.
    """
    if 256 not in study.depths:
        raise ValueError(f"study must include depth 256, got depths {study.depths}")
    at_256 = study.errors[study.depths.index(256)]
    measured = euler_view.error_vs_depth(field, h0, [256, 1024]).errors[1]
    mistakes = [
        (
            at_256 / 16,
            "that is what a second-order method would give; Euler is first order: error ∝ 1/N",
        ),
        (
            at_256 / 2,
            "that is one halving; 1024 is four times 256, so the error falls by a factor of 4",
        ),
        (at_256 * 4, "the error shrinks as the depth grows, it does not grow"),
        (at_256, "the error depends on the depth: it falls like 1/N"),
    ]
    return check(prediction, measured, name="exercise 2", rtol=0.05, mistakes=mistakes)


#: Exercise 3: what y(t + h) - y(t), without dividing by h, does as h -> 0.
LIMIT_OPTIONS = {
    "slope": "it approaches the slope dy/dt = y(1 - y) at that time",
    "zero": "it approaches 0",
    "unbounded": "it grows without bound",
}


def predict_difference_limit(prediction) -> Verdict:
    """Exercise 3: record the prediction (one of :data:`LIMIT_OPTIONS`)."""
    return predict(prediction, LIMIT_OPTIONS, name="exercise 3")


def difference_outcome(differences, slope: float) -> str:
    """The key of :data:`LIMIT_OPTIONS` for differences y(t+h) - y(t) at shrinking h."""
    last = abs(float(differences[-1]))
    if last < 1e-3 * abs(slope):
        return "zero"
    if last > 1e3 * abs(slope):
        return "unbounded"
    return "slope"


def reveal_difference_limit(prediction, differences, slope) -> Verdict:
    """Exercise 3: compare the prediction with the differences computed by the run cell."""
    why = (
        "y(t + h) - y(t) ≈ h·y'(t) shrinks with h, for any differentiable y: without "
        "dividing by h the limit is 0. The quotient (y(t + h) - y(t))/h is what approaches "
        "the slope."
    )
    return reveal(prediction, difference_outcome(differences, float(slope)), LIMIT_OPTIONS, why)


def constant_solutions(constants) -> Verdict:
    """Exercise 4: the values c, in increasing order, for which y ≡ c solves dy/dt = y(1 - y).

    The expected values are the roots of the chapter's ``pinn.known_dynamics``, found from
    three samples of it (it is a quadratic in y).
    """
    samples = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    rates = pinn.known_dynamics(None, samples)
    coefficients = np.polyfit(samples.numpy(), rates.numpy(), 2)
    expected = np.sort(np.roots(coefficients).real)
    mistakes = [
        (expected[::-1].copy(), "the right values, but give them in increasing order"),
        (
            np.array([expected[0], expected.mean()]),
            "y = 0.5 is where the growth y(1 - y) is fastest; a constant solution needs dy/dt = 0",
        ),
    ]
    return check(constants, expected, name="exercise 4", mistakes=mistakes)
