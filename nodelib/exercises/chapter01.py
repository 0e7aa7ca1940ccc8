"""Named checks for the exercises of chapter 1 (Convolutions).

Each check takes the learner's answer and the chapter's objects, computes the expected
value itself and says what is off (see :mod:`nodelib.exercises`).
"""

from __future__ import annotations

import numpy as np

from nodelib import conv
from nodelib.exercises import Verdict, check, predict, reveal
from nodelib.widgets import convolution as conv_widgets

#: Exercise 1: what the true convolution of an image with the Sobel kernel gives.
SOBEL_OPTIONS = {
    "same": "exactly the numbers of the cross-correlation",
    "negated": "the numbers of the cross-correlation with the opposite sign",
    "different": "different numbers, not simply related to the cross-correlation",
}


def predict_sobel_convolution(prediction) -> Verdict:
    """Exercise 1: record the prediction (one of :data:`SOBEL_OPTIONS`)."""
    return predict(prediction, SOBEL_OPTIONS, name="exercise 1")


def sobel_outcome(correlation, convolution) -> str:
    """The key of :data:`SOBEL_OPTIONS` that describes two computed feature maps."""
    correlation, convolution = np.asarray(correlation), np.asarray(convolution)
    if correlation.shape != convolution.shape:
        raise ValueError(
            f"correlation and convolution must have the same shape, got {correlation.shape} "
            f"and {convolution.shape}"
        )
    if np.allclose(convolution, correlation):
        return "same"
    if np.allclose(convolution, -correlation):
        return "negated"
    return "different"


def reveal_sobel_convolution(prediction, correlation, convolution) -> Verdict:
    """Exercise 1: compare the prediction with the two feature maps computed by the run cell."""
    why = (
        "A true convolution mirrors the kernel in both directions. Mirroring the Sobel "
        "kernel swaps its left (negative) and right (positive) columns and leaves its rows "
        "as they are, so the mirrored kernel is minus the kernel: every output changes sign."
    )
    return reveal(prediction, sobel_outcome(correlation, convolution), SOBEL_OPTIONS, why)


def box_exponential_convolution(value, t) -> Verdict:
    """Exercise 2: ``(f*g)(t)`` for the box ``f`` on [0, 1] and ``g(τ) = e^{-2τ}`` (τ ≥ 0).

    The expected value is the chapter's trapezoid-rule integral
    (``conv_widgets.continuous_convolution``), accurate to a few per cent at the grid's
    spacing, hence the 5 % tolerance.
    """
    if not 0.0 < float(t) <= 1.0:
        raise ValueError(f"t must lie in (0, 1] for this exercise, got {t!r}")
    t = float(t)
    expected = conv_widgets.continuous_convolution("box", "decaying exponential", [t])[0]
    mistakes = [
        (
            1 - np.exp(-2 * t),
            "twice too large: the antiderivative of e^(-2s) is -e^(-2s)/2 - keep the 1/2",
        ),
        (
            1 - np.exp(-t),
            "that integrates e^(-s); the kernel decays like e^(-2s)",
        ),
        (
            np.exp(-2 * t) / 2,
            "only one end of the integral: the overlap is 0 ≤ τ ≤ t, evaluate "
            "[e^(-2(t-τ))/2] at both ends",
        ),
        (
            (1 - np.exp(-2.0)) / 2,
            "that is (f*g)(1): for t < 1 the box and the mirrored kernel overlap on [0, t] only",
        ),
    ]
    return check(value, expected, name="exercise 2", rtol=0.05, mistakes=mistakes)


def mirrored_kernel(v, x, w) -> Verdict:
    """Exercise 3: ``conv.cross_correlation1d(x, v)`` must equal ``np.convolve(x, w, "valid")``."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    expected = np.convolve(x, w, mode="valid")
    if v is None or v is Ellipsis:
        return check(v, expected, name="exercise 3")
    v = np.asarray(v, dtype=float)
    if v.shape != w.shape:
        return check(v, w, name="exercise 3 (the kernel v)")
    mistakes = [
        (
            conv.cross_correlation1d(x, w),
            "v = w slides the kernel without mirroring it: that is the cross-correlation "
            "with w, not its convolution",
        ),
        (
            conv.cross_correlation1d(x, -w[::-1]),
            "mirrored, but the sign is flipped: mirroring reverses the order of the entries, "
            "it does not negate them",
        ),
    ]
    return check(conv.cross_correlation1d(x, v), expected, name="exercise 3", mistakes=mistakes)
