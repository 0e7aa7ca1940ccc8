"""Named checks for the exercises of chapter 10 (Continuous normalizing flows).

Each check takes the learner's answer and the chapter's objects, computes the expected
value itself and says what is off (see :mod:`nodelib.exercises`).
"""

from __future__ import annotations

import math

import torch

from nodelib import cnf
from nodelib.exercises import Verdict, check, predict, reveal

# --------------------------------------------------------------------------- exercise 1


def linear_flow_log_density_change(answer, A, T) -> Verdict:
    """Exercise 1 (derive): ``log p_T(z(T)) - log p_0(z(0))`` along the flow of ``f(z) = A z``.

    The expected value is *measured*: a point is carried by the chapter's CNF (dopri5, tight
    tolerances) and the change of its log-density read off; the instantaneous change of
    variables says it is ``-T tr(A)`` for every point.
    """
    A = torch.as_tensor(A, dtype=torch.float64)
    T = float(T)
    model = cnf.CNF(cnf.LinearField(A), t1=T, solver=cnf.Solver(rtol=1e-10, atol=1e-10))
    with torch.no_grad():
        _, logp = model.flow(torch.tensor([[0.7, -0.4]], dtype=torch.float64), [0.0, T])
    expected = float(logp[-1, 0] - logp[0, 0])
    trace, det = float(torch.trace(A)), float(torch.det(A))
    mistakes = [
        (-trace, "you left out the length of the flow: the rate -tr(A) acts for a time T"),
        (
            -T * det,
            "that uses the determinant of A; the rate of change is minus its trace",
        ),
        (
            -math.log(abs(det)) if det != 0 else math.nan,
            "that is the change of variables of the map z ↦ Az, not of the flow of dz/dt = Az",
        ),
    ]
    return check(answer, expected, name="change of log-density", rtol=1e-6, mistakes=mistakes)


# --------------------------------------------------------------------------- exercise 2


def log_likelihood(answer, z0, ell) -> Verdict:
    """Exercise 2 (code): ``log p_1(x)`` from the backward solve's end state ``[z0, ℓ(0)]``.

    ``z0: (batch, 2)``, ``ell: (batch,)``; expected ``log N(z0; 0, I) - ell``, one value per
    point.
    """
    z0 = torch.as_tensor(z0, dtype=torch.float64)
    ell = torch.as_tensor(ell, dtype=torch.float64)
    base = cnf.standard_normal_log_prob(z0)
    dim = z0.shape[1]
    quadratic = -0.5 * (z0**2).sum(dim=1)
    mistakes = [
        (base + ell, "the sign of ℓ is flipped: log p_1(x) = log p_0(z(0)) - ℓ(0)"),
        (
            quadratic - ell,
            "the Gaussian's normalising constant -(d/2) log(2π) is missing",
        ),
        (
            quadratic - 0.5 * math.log(2 * math.pi) - ell,
            f"the normalising constant is that of one dimension; z has {dim}: -(d/2) log(2π)",
        ),
        (base, "ℓ(0) is missing: the flow changes the density along the way"),
    ]
    return check(answer, base - ell, name="log-likelihood", rtol=1e-5, mistakes=mistakes)


# --------------------------------------------------------------------------- exercise 3

#: Exercise 3: what redrawing Hutchinson's noise at every evaluation does to dopri5.
NOISE_OPTIONS = {
    "same": "about the same number of function evaluations as with fixed noise",
    "fewer": "fewer evaluations: the noise averages out over the stages",
    "many more": "many more evaluations (or the solver gives up)",
}


def predict_redrawn_noise(prediction) -> Verdict:
    """Exercise 3: record the prediction (one of :data:`NOISE_OPTIONS`)."""
    return predict(prediction, NOISE_OPTIONS, name="exercise 3")


def noise_outcome(fixed_nfe: float, redrawn_nfe: float) -> str:
    """The key of :data:`NOISE_OPTIONS` that describes the two measured costs
    (``math.inf`` for a solve that gave up)."""
    if not fixed_nfe > 0:
        raise ValueError(f"fixed_nfe must be a positive count, got {fixed_nfe!r}")
    ratio = redrawn_nfe / fixed_nfe
    if ratio > 2:
        return "many more"
    if ratio < 0.75:
        return "fewer"
    return "same"


def reveal_redrawn_noise(prediction, fixed_nfe: float, redrawn_nfe: float) -> Verdict:
    """Exercise 3: compare the prediction with the two solves of the run cell."""
    why = (
        "Dopri5 judges a step by the difference of two solutions built from the same stages. "
        "With new noise at every stage, the stages disagree by the noise itself, not by a "
        "truncation error that shrinks like h⁵; the error estimate then falls only in "
        "proportion to h, so the controller keeps shrinking the step to bring random "
        "differences under the tolerance."
    )
    return reveal(prediction, noise_outcome(fixed_nfe, redrawn_nfe), NOISE_OPTIONS, why)


# --------------------------------------------------------------------------- exercise 4


def rademacher_variance(answer, jacobian) -> Verdict:
    """Exercise 4 (derive): the variance of one Rademacher estimate ``εᵀ J ε``.

    Expected ``2 (‖S‖²_F - Σ S_ii²)`` with ``S = (J + Jᵀ)/2``; the mistakes are the formula
    for Gaussian noise, forgetting to symmetrise, and dropping the factor 2.
    """
    J = torch.as_tensor(jacobian, dtype=torch.float64)
    if J.dim() != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"jacobian must be a square matrix, got shape {tuple(J.shape)}")
    S = (J + J.T) / 2
    off_diagonal = float((S**2).sum() - (torch.diagonal(S) ** 2).sum())
    unsymmetrised = float((J**2).sum() - (torch.diagonal(J) ** 2).sum())
    mistakes = [
        (
            2 * float((S**2).sum()),
            "that is the variance for Gaussian noise; with ε_i² = 1 the "
            "diagonal terms are exact and contribute nothing",
        ),  # fmt: skip
        (
            2 * unsymmetrised,
            "εᵀJε only sees the symmetric part S = (J + Jᵀ)/2: J_ij and J_ji "
            "multiply the same ε_i ε_j",
        ),  # fmt: skip
        (
            off_diagonal,
            "half of it: each pair i < j appears twice in εᵀSε (as S_ij ε_i ε_j "
            "and S_ji ε_j ε_i), so its coefficient is 2 S_ij",
        ),  # fmt: skip
    ]
    return check(answer, 2 * off_diagonal, name="variance", rtol=1e-6, mistakes=mistakes)
