"""Checks for the exercises of chapter 8 (an ODE-Net for 28x28 images).

Each check takes the learner's answer and the chapter's own objects, computes the expected
value itself and names the mistakes a learner is likely to make.
"""

from __future__ import annotations

import torch

from nodelib import odenet
from nodelib.exercises import Verdict, check, predict, reveal


def dynamics_parameters(answer, model: odenet.ImageClassifier) -> Verdict:
    """Exercise 1: the number of parameters of the ODE-Net's dynamics f (its middle block)."""
    expected = odenet.count_parameters(model.middle)
    # C, the number of channels, from the first convolution's weight: (C_out, C_in, 3, 3)
    C = next(p for p in model.middle.parameters() if p.ndim == 4).shape[0]
    return check(
        answer,
        expected,
        name="exercise 1",
        mistakes=[
            (2 * 9 * C * C, "the biases are missing: each convolution has one per output channel"),
            (9 * C * C + C, "f has two convolutions"),
            (2 * (C * C + C), "each weight is a 3×3 kernel: 9 numbers per (input, output) pair"),
            (2 * (9 * C + C), "each output channel has a kernel for every input channel: C·C·9"),
        ],
    )


#: Exercise 2: the evaluations of f in the forward and backward pass with 4 rk4 steps.
NFE_OPTIONS = {
    "a": "4 forward, 4 backward: the cost of one step, whatever the step size",
    "b": "16 forward, 16 backward: 4 steps of 4 stages, each undone once by backprop",
    "c": "16 forward, 4 backward: backprop needs one product per step",
    "d": "16 forward, 0 backward: backprop does not evaluate f",
}
_NFE_OUTCOMES = {(4, 4): "a", (16, 16): "b", (16, 4): "c", (16, 0): "d"}


def predict_nfe(prediction) -> Verdict:
    """Record the prediction of exercise 2 (one of :data:`NFE_OPTIONS`)."""
    return predict(prediction, NFE_OPTIONS, name="exercise 2")


def reveal_nfe(prediction, model: odenet.ImageClassifier) -> Verdict:
    """Compare with ``model.nfe()``, counted after one forward and backward pass."""
    counted = tuple(model.nfe())
    if counted not in _NFE_OUTCOMES:
        raise ValueError(
            f"model.nfe() is {counted}; run exactly one forward and one backward pass after "
            "model.reset_nfe() (expected one of " + ", ".join(map(str, _NFE_OUTCOMES)) + ")"
        )
    why = (
        f"The counters read {counted[0]} evaluations of f and {counted[1]} vector-Jacobian "
        "products: a step of 0.25 on [0, 1] is 4 steps, each with 4 stages, and backprop walks "
        "back through every stage once, one vector-Jacobian product per evaluation."
    )
    return reveal(prediction, _NFE_OUTCOMES[counted], NFE_OPTIONS, why)


def rk4_block(answer, model: odenet.ImageClassifier, h0: torch.Tensor) -> Verdict:
    """Exercise 3: the ODE block's output computed by hand with one classical RK4 step."""
    block = model.middle
    f, T = block.dynamics.func, block.end_time
    t = torch.zeros(())
    with torch.no_grad():
        expected = block(h0)
        k1 = f(t, h0)
        k2 = f(t, h0 + T / 2 * k1)
        k3 = f(t, h0 + T / 2 * k2)
        k4 = f(t, h0 + T * k3)
        mistakes = [
            (h0 + T * k1, "that is one Euler step, h0 + T·k1, the residual block of chapter 3"),
            (h0 + T / 4 * (k1 + k2 + k3 + k4), "RK4 weighs the slopes 1/6, 1/3, 1/3, 1/6"),
            (T / 6 * (k1 + 2 * k2 + 2 * k3 + k4), "that is only the increment; add h0"),
            (
                h0 + T / 6 * (k1 + 2 * f(t, h0 + T * k1) + 2 * k3 + k4),
                "k2 starts at h0 + (T/2)·k1, half a step along k1",
            ),
        ]
    return check(answer, expected, name="exercise 3", rtol=1e-4, atol=1e-5, mistakes=mistakes)
