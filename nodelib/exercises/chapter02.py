"""Named checks for the exercises of chapter 2 (Convolutional neural networks).

Each check takes the learner's answer and the chapter's objects, computes the expected
value itself and says what is off (see :mod:`nodelib.exercises`).
"""

from __future__ import annotations

import torch
from torch import nn

from nodelib import conv
from nodelib.exercises import Verdict, check, predict, reveal


def largest_sigmoid_slope() -> float:
    """max over z of σ'(z) = σ(z)(1 - σ(z)), found numerically on a fine grid with autograd."""
    z = torch.linspace(-10.0, 10.0, 20_001, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(torch.sigmoid(z).sum(), z)
    return float(slope.max())


def sigmoid_layers(model: nn.Module) -> int:
    """How many sigmoid activations ``model`` applies."""
    return sum(isinstance(m, nn.Sigmoid) for m in model.modules())


def sigmoid_chain_bound(bound, model: nn.Module) -> Verdict:
    """Exercise 1: the largest product of σ'(z_k) over the sigmoid layers of ``model``."""
    slope, layers = largest_sigmoid_slope(), sigmoid_layers(model)
    expected = slope**layers
    mistakes = [
        (
            0.5**layers,
            "1/2 is σ(0), the value of the sigmoid at 0; its slope there is σ(0)(1 - σ(0)) = 1/4",
        ),
        (
            slope,
            f"that bounds one layer; the gradient passes through {layers} sigmoid layers and "
            "the chain rule multiplies their factors",
        ),
        (
            layers * slope,
            "the chain rule multiplies the factors of the layers, it does not add them",
        ),
        (
            slope ** (layers + 1),
            f"one factor too many: the network has {layers} sigmoid layers (the output layer "
            "is linear)",
        ),
        (
            slope ** (layers - 1),
            f"one factor too few: the network has {layers} sigmoid layers",
        ),
    ]
    return check(bound, expected, name="exercise 1", rtol=1e-4, mistakes=mistakes)


def max_pooling(pooled, maps: torch.Tensor) -> Verdict:
    """Exercise 2: 2x2 max-pooling (stride 2) of ``maps`` (batch, channels, height, width)."""
    n, c, h, w = maps.shape
    mistakes = [
        (
            conv.avg_pool2d(maps, 2),
            "that is average-pooling: take the largest value of each window",
        ),
        (
            maps.reshape(n, c, 2, h // 2, 2, w // 2).amax(dim=(2, 4)),
            "each maximum is taken over pixels h/2 apart, not over a window of 2x2 neighbours: "
            "split each side as (side // 2, 2), so that the 2 counts the neighbours",
        ),
    ]
    return check(pooled, conv.max_pool2d(maps, 2), name="exercise 2", mistakes=mistakes)


#: Exercise 3: how the gradients of a deep ReLU network with He initialisation compare.
RELU_OPTIONS = {
    "smaller": "the first layer's gradient is still more than 100 times smaller than the last's",
    "comparable": "the first and last layers' gradients are within a factor of 100 of each other",
    "larger": "the first layer's gradient is more than 100 times larger than the last's",
}


def predict_relu_gradients(prediction) -> Verdict:
    """Exercise 3: record the prediction (one of :data:`RELU_OPTIONS`)."""
    return predict(prediction, RELU_OPTIONS, name="exercise 3")


def gradient_ratio_outcome(first: float, last: float) -> str:
    """The key of :data:`RELU_OPTIONS` for gradient norms ``first`` and ``last``."""
    ratio = first / last
    if ratio < 1e-2:
        return "smaller"
    if ratio > 1e2:
        return "larger"
    return "comparable"


def reveal_relu_gradients(prediction, norms) -> Verdict:
    """Exercise 3: ``norms`` are the gradient norms per layer measured by the run cell."""
    first, last = float(norms[0]), float(norms[-1])
    why = (
        f"Measured: the first layer's gradient norm is {first / last:.2g} times the last "
        "layer's. ReLU passes the gradient on with slope 1 through every active neuron, and "
        "He initialisation (weight variance 2 / fan-in) keeps the signal's size from layer to "
        "layer, so no factor of 1/4 per layer shrinks it."
    )
    return reveal(prediction, gradient_ratio_outcome(first, last), RELU_OPTIONS, why)
