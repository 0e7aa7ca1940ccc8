"""Named checks for the exercises of chapter 12 (The price of training).

Each check takes the learner's answer and the chapter's objects, computes the expected
value itself and says what is off (see :mod:`nodelib.exercises`).
"""

from __future__ import annotations

import math
import numbers

import torch

from nodelib.exercises import Verdict, check, predict, reveal
from nodelib.regularisation import exact_frobenius, frobenius_rate
from nodelib.stiffness import implicit_stability_function

# --------------------------------------------------------------------------- exercise 1

#: Exercise 1: what doubling the stiffness μ does to dopri5's evaluations on a fixed span.
STIFFNESS_OPTIONS = {
    "same": "about the same number of evaluations (within a factor 1.4)",
    "double": "about twice as many evaluations",
    "quadruple": "about four times as many evaluations, or more",
}


def predict_stiffer_problem(prediction) -> Verdict:
    """Exercise 1: record the prediction (one of :data:`STIFFNESS_OPTIONS`)."""
    return predict(prediction, STIFFNESS_OPTIONS, name="exercise 1")


def stiffness_outcome(nfe_mild: float, nfe_stiff: float) -> str:
    """The key of :data:`STIFFNESS_OPTIONS` that describes the two measured counts: the
    evaluations at ``μ`` (``nfe_mild``) and at ``2μ`` (``nfe_stiff``)."""
    for name, value in (("nfe_mild", nfe_mild), ("nfe_stiff", nfe_stiff)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValueError(f"{name} must be a positive count of evaluations, got {value!r}")
    ratio = nfe_stiff / nfe_mild
    if ratio < 1.4:
        return "same"
    if ratio < 2.8:
        return "double"
    return "quadruple"


def reveal_stiffer_problem(prediction, nfe_mild: float, nfe_stiff: float) -> Verdict:
    """Exercise 1: compare the prediction with the two dopri5 solves of the run cell."""
    why = (
        "On the slow part of the cycle the Jacobian has an eigenvalue near -μ(x² - 1), and "
        "dopri5 is stable only while h|λ| stays below about 3.3. Its step is capped by "
        "stability, not accuracy, at a size proportional to 1/μ: twice the stiffness, half "
        "the step, twice the steps over the same span, however smooth the solution is."
    )
    return reveal(prediction, stiffness_outcome(nfe_mild, nfe_stiff), STIFFNESS_OPTIONS, why)


# --------------------------------------------------------------------------- exercise 2


def backward_euler_amplification(answer, h, lam) -> Verdict:
    """Exercise 2 (derive): backward Euler's amplification ``R(hλ)`` on ``y' = λ y``.

    Expected ``1 / (1 - hλ)``, computed from the tableau by
    :func:`nodelib.stiffness.implicit_stability_function`; the mistakes are forward Euler's
    ``1 + hλ``, a flipped sign in the denominator and forgetting to divide.
    """
    h, lam = float(h), float(lam)
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive step size, got {h!r}")
    z = h * lam
    expected = float(implicit_stability_function("backward_euler", complex(z)).real)
    mistakes = [
        (1 + z, "that is forward Euler's R(z) = 1 + z: the slope taken at the start of the step"),
        (
            1 / (1 + z) if z != -1 else math.nan,
            "the sign in the denominator is flipped: y_next - hλ y_next = y gives 1 - hλ",
        ),
        (1 - z, "you solved for y_next but forgot to divide: y_next = y / (1 - hλ)"),
    ]
    return check(answer, expected, name="R(hλ)", rtol=1e-9, mistakes=mistakes)


# --------------------------------------------------------------------------- exercise 3


def frobenius_estimate(answer, field, t, z, noise) -> Verdict:
    """Exercise 3 (code): Hutchinson's estimate ``‖εᵀ ∂f/∂z‖²`` for every point, ``(batch,)``.

    Expected from :func:`nodelib.regularisation.frobenius_rate` with the same ``noise``; the
    mistakes are the Jacobian-vector product ``‖J ε‖²`` (the other side), the unsquared sum,
    the square of the sum, and the exact norm from every row of the Jacobian.
    """
    z = z.detach().requires_grad_(True)
    _, expected = frobenius_rate(field, t, z, noise)
    expected = expected.detach()
    with torch.enable_grad():
        (product,) = torch.autograd.grad(field(t, z), z, noise)
    # the product from the other side, J ε (a Jacobian-vector product)
    _, jvp = torch.autograd.functional.jvp(lambda x: field(t, x), z.detach(), noise)
    mistakes = [
        (
            (jvp**2).sum(dim=1),
            "that is ‖J ε‖², a Jacobian-vector product; the chapter's estimate is εᵀ J, "
            "the vector-Jacobian product that autograd.grad(velocity, z, noise) returns "
            "(same mean, different draws)",
        ),
        (product.sum(dim=1), "the entries of εᵀ J are not squared before they are summed"),
        (product.sum(dim=1) ** 2, "square each entry of εᵀ J, then sum; not the other way"),
        (
            exact_frobenius(field, t, z).detach(),
            "that is the exact ‖J‖²_F from every row of J: right on average, but the "
            "estimate uses one product with the given noise",
        ),
    ]
    return check(answer, expected, name="Hutchinson estimate", rtol=1e-4, mistakes=mistakes)
