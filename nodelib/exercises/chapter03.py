"""Named checks for the exercises of chapter 3 (Residual networks).

Each check takes the learner's answer and the chapter's objects, computes the expected
value itself and says what is off (see :mod:`nodelib.exercises`).
"""

from __future__ import annotations

import torch

from nodelib.exercises import Verdict, check, predict, reveal
from nodelib.networks import ResidualBlock

#: Exercise 1: how the gradient reaching the first block of a deep plain network compares
#: with the gradient at its last block.
GRADIENT_OPTIONS = {
    "vanish": "the first block's gradient is more than 100 times smaller than the last block's",
    "comparable": "the two are within a factor of 100 of each other",
    "grow": "the first block's gradient is more than 100 times larger than the last block's",
}


def predict_plain_gradients(prediction) -> Verdict:
    """Exercise 1: record the prediction (one of :data:`GRADIENT_OPTIONS`)."""
    return predict(prediction, GRADIENT_OPTIONS, name="exercise 1")


def block_gradient_ratio(norms) -> float:
    """First block's gradient norm over the last block's, from the norms of a ``DeepNet``.

    norms: one per weight layer, input to output (stem, two per block, head), as
    ``networks.gradient_norms_per_layer`` returns them; stem and head are left out.
    """
    inner = [float(n) for n in norms[1:-1]]
    if len(inner) < 2:
        raise ValueError(f"norms must cover at least one block (4 values), got {len(norms)}")
    return inner[0] / inner[-1]


def gradient_outcome(ratio: float) -> str:
    """The key of :data:`GRADIENT_OPTIONS` for a first-block / last-block ratio."""
    if ratio < 1e-2:
        return "vanish"
    if ratio > 1e2:
        return "grow"
    return "comparable"


def reveal_plain_gradients(prediction, plain_norms) -> Verdict:
    """Exercise 1: compare the prediction with the norms measured by the run cell."""
    ratio = block_gradient_ratio(plain_norms)
    why = (
        f"Measured: the first block's gradient norm is {ratio:.3g} times the last block's. "
        "The gradients do not vanish - batch normalisation rescales every block's input, so "
        "no factor of 1/4 per layer shrinks them - but they are far from even: each plain "
        "block multiplies the gradient on its way back."
    )
    return reveal(prediction, gradient_outcome(ratio), GRADIENT_OPTIONS, why)


def residual_chain_derivative(derivative, depth, slope) -> Verdict:
    """Exercise 2: d h_L / d h_0 for ``depth`` scalar residual blocks ``h ↦ h + slope·h``.

    The expected value is computed by autograd through the chain itself.
    """
    depth, slope = int(depth), float(slope)
    h0 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    h = h0
    for _ in range(depth):
        h = h + slope * h  # shortcut + residual branch F(h) = slope · h
    (expected,) = torch.autograd.grad(h, h0)
    mistakes = [
        (
            slope**depth,
            "that is the plain chain h ↦ slope·h: the shortcut adds the identity, so each "
            "block's factor is 1 + slope",
        ),
        (
            1 + depth * slope,
            "that keeps only the first-order terms of the product: multiply the factors out "
            "exactly",
        ),
        (
            depth * (1 + slope),
            "the chain rule multiplies the blocks' factors, it does not add them",
        ),
        (1 + slope, f"that is one block; the chain has {depth}"),
    ]
    return check(derivative, float(expected), name="exercise 2", mistakes=mistakes)


def residual_block_output(y, block: ResidualBlock, x_in: torch.Tensor) -> Verdict:
    """Exercise 3: the output of the identity-shortcut ``block`` on ``x_in``."""
    with torch.no_grad():
        expected = block(x_in)
        branch = block.residual_branch(x_in)
        mistakes = [
            (branch + x_in, "the ReLU after the sum is missing"),
            (
                torch.relu(branch) + x_in,
                "the ReLU comes after the sum, not before it: relu(F(x) + x)",
            ),
            (torch.relu(branch), "the shortcut is missing: that is the plain block relu(F(x))"),
            (branch, "both the shortcut and the ReLU are missing: that is F(x) alone"),
        ]
    if isinstance(y, torch.Tensor):
        y = y.detach()
    return check(y, expected, name="exercise 3", mistakes=mistakes)


def projection_parameters(answer, block: ResidualBlock) -> Verdict:
    """Exercise 4: the number of weights and biases of ``block``'s projection shortcut W_s."""
    shortcut = block.shortcut
    if not isinstance(shortcut, torch.nn.Conv2d):
        raise ValueError(f"block must have a projection shortcut (a Conv2d), got {shortcut!r}")
    c_in, c_out = shortcut.in_channels, shortcut.out_channels
    expected = sum(p.numel() for p in shortcut.parameters())
    mistakes = [
        (c_out * c_in, "the biases are missing: one per output channel"),
        (
            c_out * (c_in * 9 + 1),
            "that counts 3x3 kernels; the shortcut W_s is a 1x1 convolution",
        ),
        (c_in * (c_out + 1), "one bias per *output* channel, not per input channel"),
        (c_out * c_in + 1, "one bias per output channel, not a single bias"),
    ]
    return check(answer, expected, name="exercise 4", mistakes=mistakes)
