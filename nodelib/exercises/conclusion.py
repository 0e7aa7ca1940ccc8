"""Checks for the exercises of the conclusion (tolerance as the hyperparameter of depth).

Each check takes the learner's answer and the chapter's own objects (the list ``sweep`` of
:class:`nodelib.experiments.tradeoffs.ToleranceResult`), computes the expected value itself
and names the mistakes a learner is likely to make.
"""

from __future__ import annotations

from nodelib.exercises import Verdict, check, predict, reveal
from nodelib.experiments.tradeoffs import ToleranceResult

#: Exercise 1: what a twice as long time span does to the reverse solve's error.
LONGER_SPAN_OPTIONS = {
    "larger": "a larger reverse-solve error (more than 3 times)",
    "same": "about the same error (within a factor 3 either way)",
    "smaller": "a smaller error (less than a third)",
}


def predict_longer_span(prediction) -> Verdict:
    """Record the prediction of exercise 1 (one of :data:`LONGER_SPAN_OPTIONS`)."""
    return predict(prediction, LONGER_SPAN_OPTIONS, name="exercise 1")


def reveal_longer_span(prediction, short: ToleranceResult, long: ToleranceResult) -> Verdict:
    """Compare the reverse-solve errors of the same tolerance on a short and a long span."""
    ratio = long.reverse_error / short.reverse_error
    outcome = "larger" if ratio > 3 else ("smaller" if ratio < 1 / 3 else "same")
    why = (
        f"At rtol {short.rtol:.0e} the reverse solve missed z(0) by {short.reverse_error:.2e} "
        f"on the short span and by {long.reverse_error:.2e} on the long one ({ratio:.3g} "
        "times). The forward flow contracts towards its fixed point, so the backward flow "
        "expands, and the longer it runs, the more it amplifies the errors of every step."
    )
    return reveal(prediction, outcome, LONGER_SPAN_OPTIONS, why)


def step_growth(answer, sweep: list[ToleranceResult]) -> Verdict:
    """Exercise 2: the factor by which the h^5 law says the steps grow, loosest to tightest.

    A step of an adaptive fifth-order method has a local error estimate ∝ h^5; meeting a
    tolerance ``rtol`` takes steps h ∝ rtol^(1/5), so their number grows like
    ``(rtol_loose / rtol_tight) ** (1/5)``.
    """
    factor = sweep[0].rtol / sweep[-1].rtol
    return check(
        answer,
        factor ** (1 / 5),
        name="exercise 2",
        mistakes=[
            (
                factor,
                "the number of steps does not grow like the tolerance itself: the error "
                "of a step is ∝ h^5, so h ∝ rtol^(1/5)",
            ),
            (
                factor ** (1 / 4),
                "the exponent comes from the local error estimate, ∝ h^5 "
                "(the embedded method is of order 4, its local error of order 5)",
            ),
            (factor ** (-1 / 5), "upside down: a tighter tolerance needs more steps, not fewer"),
        ],
    )


def cost_ratio(answer, sweep: list[ToleranceResult]) -> Verdict:
    """Exercise 3: total NFE (forward + backward) of the tightest over the loosest tolerance."""
    tight, loose = sweep[-1], sweep[0]
    total_tight = tight.nfe_forward + tight.nfe_backward
    total_loose = loose.nfe_forward + loose.nfe_backward
    return check(
        answer,
        total_tight / total_loose,
        name="exercise 3",
        mistakes=[
            (
                total_loose / total_tight,
                "upside down: divide the tightest tolerance's total by the loosest's",
            ),
            (
                tight.nfe_forward / loose.nfe_forward,
                "that counts the forward solve only; the adjoint pays for the backward solve too",
            ),
            (total_tight - total_loose, "that is a difference; the question asks for a ratio"),
        ],
    )
