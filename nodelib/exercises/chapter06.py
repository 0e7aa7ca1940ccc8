"""Checks for the exercises of chapter 6 (the adjoint method).

Each check takes the learner's answer and the chapter's own objects, computes the expected
value itself and names the mistakes a learner is likely to make.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nodelib.adjoint import AugmentedDynamics
from nodelib.discrete_adjoint import DiscreteAdjointResult
from nodelib.exercises import Verdict, check, predict, reveal

#: Exercise 1: the gap between the discrete and the continuous adjoint at ten times more steps.
EULER_GAP_OPTIONS = {
    "a": "about 10 times smaller than at n = 1000",
    "b": "about 100 times smaller than at n = 1000",
    "c": "about the same as at n = 1000",
}


def predict_euler_gap(prediction) -> Verdict:
    """Record the prediction of exercise 1 (one of :data:`EULER_GAP_OPTIONS`)."""
    return predict(prediction, EULER_GAP_OPTIONS, name="exercise 1")


def reveal_euler_gap(prediction, gap_1000: float, gap_10000: float) -> Verdict:
    """Compare with the measured relative gaps at n = 1000 and n = 10000 Euler steps.

    The outcome is the option whose factor (10, 100 or 1) is nearest on a log scale to the
    measured ratio ``gap_1000 / gap_10000``.
    """
    ratio = gap_1000 / gap_10000
    factors = {"a": 10.0, "b": 100.0, "c": 1.0}
    outcome = min(factors, key=lambda key: abs(math.log10(ratio / factors[key])))
    why = (
        f"The gap went from {gap_1000:.2e} to {gap_10000:.2e}, {ratio:.1f} times smaller: the "
        "discrete adjoint differentiates n Euler steps exactly, and Euler's method is first "
        "order, so its error, and the gap, shrink like 1/n."
    )
    return reveal(prediction, outcome, EULER_GAP_OPTIONS, why)


def chain_gradient(answer, chain: DiscreteAdjointResult, a: float) -> Verdict:
    """Exercise 2: dφ/du for ``q_(i+1) = a q_i + u``, ``φ = q_n``, as the learner derived it."""
    n = len(chain.adjoints)
    geometric = [sum(a**k for k in range(m)) for m in (n - 1, n + 1)]
    return check(
        answer,
        chain.grad_u.item(),
        name="exercise 2",
        mistakes=[
            (
                a ** (n - 1),
                f"that is r_1 = a^{n - 1} alone; u enters every step, so dφ/du sums "
                "r_(i+1) ∂f_i/∂u over all steps",
            ),
            (geometric[0], f"one term short: the sum has n = {n} terms, r_1 to r_{n}"),
            (geometric[1], f"one term too many: the sum has n = {n} terms, r_1 to r_{n}"),
        ],
    )


def adjoint_euler_step_back(answer, a_end, W, h: float) -> Verdict:
    """Exercise 3: one Euler step of the adjoint ODE from t1 back to t1 - h, for f(z) = W z.

    Column vectors: ``da/dt = -(∂f/∂z)ᵀ a = -Wᵀ a``; a step back of size h gives
    ``a(t1 - h) ≈ a(t1) + h Wᵀ a(t1)``.
    """
    a_end, W = torch.as_tensor(a_end), torch.as_tensor(W)
    return check(
        answer,
        a_end + h * W.T @ a_end,
        name="exercise 3",
        mistakes=[
            (
                a_end - h * W.T @ a_end,
                "the sign of the step is flipped: stepping back in time "
                "by h subtracts h·da/dt = -h Wᵀa, so it adds h Wᵀa",
            ),
            (
                a_end + h * W @ a_end,
                "W is not transposed: with column vectors the adjoint evolves with (∂f/∂z)ᵀ = Wᵀ",
            ),
            (a_end - h * W @ a_end, "both the sign of the step and the transpose are off"),
            (h * W.T @ a_end, "that is only the increment; add it to a(t1)"),
        ],
    )


def augmented_state_size(answer, model: nn.Module, state_shape) -> Verdict:
    """Exercise 4: the number of entries of Algorithm 1's augmented state [z, a, dL/dθ]."""
    params = tuple(model.parameters())
    state = AugmentedDynamics(model, torch.Size(state_shape), params).size
    n_params = sum(p.numel() for p in params)
    return check(
        answer,
        2 * state + n_params,
        name="exercise 4",
        mistakes=[
            (
                2 * state,
                "the running integral for dL/dθ is part of the state too: one entry per parameter",
            ),
            (state + n_params, "z and a each have one entry per entry of the state"),
            (
                2 * state + 2 * n_params,
                "the parameters appear once, as dL/dθ; θ itself is not integrated",
            ),
            (
                2 * math.prod(state_shape[1:]) + n_params,
                "z and a hold the whole batch, not one example",
            ),
        ],
    )
