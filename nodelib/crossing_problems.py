"""Two problems whose solution would make trajectories cross: the home of chapter 9.

The flow of an ODE is a homeomorphism (continuous, invertible, with a continuous inverse):
two trajectories never meet, so points keep their order on a line and an enclosed region
stays enclosed. The chapter (*What a Neural ODE cannot represent*) fits a Neural ODE to two
maps that break this rule, after Dupont, Doucet and Teh (2019):

- :func:`crossing_map`: the one-dimensional map ``g(-1) = 1``, ``g(1) = -1``; the two
  points must swap places, which no order-preserving map does;
- :func:`annuli`: points in a disk of radius ``r1`` labelled -1, points in the annulus
  ``r2 <= |x| <= r3`` around it labelled +1; a linear read-out needs the disk and the
  ring pulled apart, and a homeomorphism of the plane keeps the disk inside the ring.

Both return a :class:`ProblemData`; the targets are ``±1`` floats so that one loss, the
mean squared error, serves both (as in the paper).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

__all__ = ["ProblemData", "crossing_map", "annuli", "PROBLEMS", "make_problem"]


@dataclass(frozen=True)
class ProblemData:
    """A toy problem: ``inputs`` ``(n, data_dim)`` and ``targets`` ``(n, 1)`` in ``{-1, +1}``.

    ``name`` is ``"crossing"`` or ``"annuli"``; ``task`` says how an output is scored:
    ``"regression"`` (mean squared error) or ``"classification"`` (the sign of the output is
    the predicted label).
    """

    name: str
    inputs: torch.Tensor
    targets: torch.Tensor
    task: str

    @property
    def data_dim(self) -> int:
        return self.inputs.shape[1]

    def __len__(self) -> int:
        return self.inputs.shape[0]


def crossing_map(dtype: torch.dtype = torch.float32) -> ProblemData:
    """The map ``g(-1) = 1, g(1) = -1``: inputs ``[[-1], [1]]``, targets ``[[1], [-1]]``."""
    inputs = torch.tensor([[-1.0], [1.0]], dtype=dtype)
    return ProblemData("crossing", inputs, -inputs, "regression")


def _radius(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def annuli(
    n: int = 512,
    *,
    r1: float = 0.5,
    r2: float = 1.0,
    r3: float = 1.5,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> ProblemData:
    """``n`` points in the plane: half in the disk ``|x| <= r1`` (target -1), half in the
    annulus ``r2 <= |x| <= r3`` (target +1), uniform in area, from a seeded generator.

    Returns inputs ``(n, 2)`` and targets ``(n, 1)``; the disk's points come first. The
    radii must satisfy ``0 < r1 < r2 < r3`` (a gap between the two classes).
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (points in both classes), got {n!r}")
    r1, r2, r3 = _radius("r1", r1), _radius("r2", r2), _radius("r3", r3)
    if not r1 < r2 < r3:
        raise ValueError(f"need 0 < r1 < r2 < r3, got r1={r1}, r2={r2}, r3={r3}")
    generator = torch.Generator().manual_seed(seed)
    n_inner = n // 2
    n_outer = n - n_inner
    # Uniform in area: the squared radius is uniform between the squared bounds.
    inner = r1 * torch.sqrt(torch.rand(n_inner, generator=generator, dtype=torch.float64))
    outer_sq = r2**2 + (r3**2 - r2**2) * torch.rand(
        n_outer, generator=generator, dtype=torch.float64
    )
    radius = torch.cat([inner, torch.sqrt(outer_sq)])
    angle = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    inputs = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    targets = torch.cat([-torch.ones(n_inner), torch.ones(n_outer)])[:, None]
    return ProblemData("annuli", inputs.to(dtype), targets.to(dtype), "classification")


#: The problems by name, for widgets and benchmarks.
PROBLEMS = ("crossing", "annuli")


def make_problem(name: str, **kwargs) -> ProblemData:
    """``crossing_map(**kwargs)`` or ``annuli(**kwargs)`` by ``name`` (one of :data:`PROBLEMS`)."""
    if name == "crossing":
        return crossing_map(**kwargs)
    if name == "annuli":
        return annuli(**kwargs)
    raise ValueError(f"problem {name!r} is unknown; valid problems are {list(PROBLEMS)}")
