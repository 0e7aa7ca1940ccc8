"""Named checks for the exercises of chapter 11 (Irregular time series and latent ODEs).

Each check takes the learner's answer and the chapter's objects, computes the expected
value itself and says what is off (see :mod:`nodelib.exercises`).
"""

from __future__ import annotations

import torch

from nodelib.exercises import Verdict, check, predict, reveal
from nodelib.irregular_series import SpiralSeries
from nodelib.latent_ode import gaussian_kl

# --------------------------------------------------------------------------- exercise 1


def kl_to_prior(answer, mean, std) -> Verdict:
    """Exercise 1 (derive): ``KL(N(mean, diag std²) ‖ N(0, I))``, one number.

    Expected: the sum over dimensions of ``(σ² + μ² - 1)/2 - log σ``
    (:func:`nodelib.latent_ode.gaussian_kl`). The mistakes: the KL the other way round, a
    ``+ log σ``, the ``- 1`` left out, and ``log σ²`` where ``log σ`` belongs.
    """
    mean = torch.as_tensor(mean, dtype=torch.float64)
    std = torch.as_tensor(std, dtype=torch.float64)
    if mean.shape != std.shape or mean.dim() != 1:
        raise ValueError(
            f"mean and std must be 1-D of one shape, got {tuple(mean.shape)} and {tuple(std.shape)}"
        )
    expected = float(gaussian_kl(mean[None], std[None])[0])
    quadratic = 0.5 * (std**2 + mean**2 - 1)
    mistakes = [
        (
            float((torch.log(std) + (1 + mean**2) / (2 * std**2) - 0.5).sum()),
            "that is KL(prior ‖ q), the other way round; the ELBO needs KL(q ‖ prior)",
        ),
        (float((quadratic + torch.log(std)).sum()), "the sign of the log σ term is flipped"),
        (
            float((0.5 * (std**2 + mean**2) - torch.log(std)).sum()),
            "the -1 per dimension is missing (the KL of the prior with itself must be 0)",
        ),
        (
            float((quadratic - 2 * torch.log(std)).sum()),
            "that takes log σ² where the formula has log σ (or forgets the 1/2 in front of it)",
        ),
    ]
    return check(answer, expected, name="KL to the prior", rtol=1e-6, mistakes=mistakes)


# --------------------------------------------------------------------------- exercise 2


def extrapolation_mse(answer, prediction, series: SpiralSeries) -> Verdict:
    """Exercise 2 (code): the extrapolation error of ``prediction`` (``(n_series, n_times,
    2)`` on the dense grid): the mean squared difference from the noise-free truth on the grid
    points from ``series.split`` on."""
    prediction = torch.as_tensor(prediction).detach()
    split = series.split
    expected = float(((prediction[:, split:] - series.truth[:, split:]) ** 2).mean())
    mistakes = [
        (
            float(((prediction[:, split:] - series.values[:, split:]) ** 2).mean()),
            "that compares with the noisy values; score against the noise-free truth",
        ),
        (
            float(((prediction[:, :split] - series.truth[:, :split]) ** 2).mean()),
            "that is the observed part (interpolation); extrapolation starts at series.split",
        ),
        (
            float(((prediction - series.truth) ** 2).mean()),
            "that averages over the whole grid; keep only the points from series.split on",
        ),
        (
            float(((prediction[:, split:] - series.truth[:, split:]) ** 2).sum(dim=-1).mean()),
            "that sums over the two coordinates; the course's MSE averages over them too",
        ),
    ]
    return check(answer, expected, name="extrapolation MSE", rtol=1e-5, mistakes=mistakes)


# --------------------------------------------------------------------------- exercise 3

#: Exercise 3: how the union's difference from per-series solves changes with a coarser rk4 step.
MESH_OPTIONS = {
    "larger": "the union and the per-series solves differ more with the coarser step",
    "about the same": "the difference hardly depends on the step",
    "smaller": "the union and the per-series solves differ less with the coarser step",
}


def predict_coarse_step(prediction) -> Verdict:
    """Exercise 3: record the prediction (one of :data:`MESH_OPTIONS`)."""
    return predict(prediction, MESH_OPTIONS, name="exercise 3")


def mesh_outcome(fine_difference: float, coarse_difference: float) -> str:
    """The key of :data:`MESH_OPTIONS` that describes the two measured differences (union
    against per-series solves, with the fine and with the coarse step); a factor of less than
    2 either way counts as about the same."""
    if not fine_difference > 0:
        raise ValueError(f"fine_difference must be a positive number, got {fine_difference!r}")
    ratio = coarse_difference / fine_difference
    if ratio > 2:
        return "larger"
    if ratio < 0.5:
        return "smaller"
    return "about the same"


def reveal_coarse_step(prediction, fine_difference: float, coarse_difference: float) -> Verdict:
    """Exercise 3: compare the prediction with the two differences measured by the run cell."""
    why = (
        "The exact solution does not care which output times were asked for, but a fixed-step "
        "solver does: every output time starts a new step, so the union (many times) and one "
        "series (few times) are solved on different meshes, and their truncation errors "
        "differ. rk4's error grows like h⁴, so five times the step makes that difference many "
        "times larger (5⁴ = 625 for the leading error term). An adaptive solver with dense "
        "output keeps its steps whatever the output times, which is why section 3's dopri5 "
        "solves agree to its tolerance."
    )
    outcome = mesh_outcome(fine_difference, coarse_difference)
    return reveal(prediction, outcome, MESH_OPTIONS, why)
