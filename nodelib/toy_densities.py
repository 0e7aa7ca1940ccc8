"""Two-dimensional toy densities to fit with a flow, and the best single Gaussian as a baseline.

Home chapter: ``book/10_normalizing_flows.ipynb``. Each density is known only through a
sampler, as a data set is: :func:`sample` draws ``(n, 2)`` points. The shapes are the ones
FFJORD (Grathwohl et al., 2019) and many tutorials since use to show what a flow can learn,
scaled to lie mostly inside the square ``[-4, 4]²``:

- ``"two moons"``: two interleaved half circles with Gaussian noise;
- ``"rings"``: three concentric circles (radii 1, 2, 3), points in proportion to the length;
- ``"checkerboard"``: uniform on the eight dark squares of a 4 × 4 board of side 8;
- ``"eight gaussians"``: eight small Gaussians on a circle of radius 2.8.

:func:`gaussian_fit` and :func:`gaussian_nll` give the baseline a flow must beat: the single
Gaussian of maximum likelihood (the samples' mean and covariance) and its negative
log-likelihood on other samples, in nats per point.
"""

from __future__ import annotations

import math

import torch

__all__ = ["DENSITIES", "EXTENT", "sample", "gaussian_fit", "gaussian_nll"]

#: The names :func:`sample` accepts.
DENSITIES = ("two moons", "rings", "checkerboard", "eight gaussians")

#: Half the side of the square ``[-EXTENT, EXTENT]²`` that holds (nearly) every sample.
EXTENT = 4.0


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of points), got {n!r}")
    return n


def _two_moons(n, g):
    # Like sklearn's make_moons(noise=0.1), scaled by 2 and centred (as in FFJORD).
    upper = n // 2
    angle = math.pi * torch.rand(n, generator=g)
    x = torch.where(torch.arange(n) < upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(torch.arange(n) < upper, torch.sin(angle), 0.5 - torch.sin(angle))
    points = torch.stack([x, y], dim=1) + 0.1 * torch.randn(n, 2, generator=g)
    return 2 * points + torch.tensor([-1.0, -0.5])


def _rings(n, g):
    radii = torch.tensor([1.0, 2.0, 3.0])
    # A point lands on a ring with probability proportional to its circumference.
    ring = torch.multinomial(radii / radii.sum(), n, replacement=True, generator=g)
    angle = 2 * math.pi * torch.rand(n, generator=g)
    radius = radii[ring] + 0.08 * torch.randn(n, generator=g)
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


def _checkerboard(n, g):
    # x uniform on [-4, 4); y uniform on the two squares of x's column that are dark.
    x = 8 * torch.rand(n, generator=g) - 4
    column = torch.floor(x / 2)
    row = 2 * torch.randint(0, 2, (n,), generator=g) + (column.long() % 2)
    y = 2 * (row - 2) + 2 * torch.rand(n, generator=g)
    return torch.stack([x, y], dim=1)


def _eight_gaussians(n, g):
    k = torch.randint(0, 8, (n,), generator=g)
    angle = 2 * math.pi * k / 8
    centres = 2.8 * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return centres + 0.3 * torch.randn(n, 2, generator=g)


_SAMPLERS = {
    "two moons": _two_moons,
    "rings": _rings,
    "checkerboard": _checkerboard,
    "eight gaussians": _eight_gaussians,
}


def sample(name: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(n, 2)`` float32 points of the toy density ``name`` (one of :data:`DENSITIES`).

    Pass a seeded ``generator`` for repeatable draws (default: torch's global generator).
    """
    if name not in _SAMPLERS:
        raise ValueError(f"density {name!r} is unknown; valid densities are {list(DENSITIES)}")
    return _SAMPLERS[name](_check_n(n), generator).float()


def _check_points(name: str, points) -> torch.Tensor:
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or points.shape[0] < 3:
        shape = tuple(points.shape) if isinstance(points, torch.Tensor) else type(points).__name__
        raise ValueError(f"{name} must be a (n, dim) tensor of n >= 3 points, got {shape}")
    return points.double()


def gaussian_fit(train: torch.Tensor) -> torch.distributions.MultivariateNormal:
    """The maximum-likelihood Gaussian of ``train`` ``(n, dim)``: its mean and covariance.

    The covariance divides by ``n`` (maximum likelihood), not ``n - 1``; float64.
    """
    train = _check_points("train", train)
    mean = train.mean(dim=0)
    centred = train - mean
    covariance = centred.T @ centred / len(train)
    return torch.distributions.MultivariateNormal(mean, covariance_matrix=covariance)


def gaussian_nll(train: torch.Tensor, test: torch.Tensor) -> float:
    """Mean negative log-likelihood of ``test`` under the Gaussian fit to ``train``, in nats
    per point. Both ``(n, dim)``; the baseline a density model should beat on the same data.
    """
    fit = gaussian_fit(train)
    test = _check_points("test", test)
    if test.shape[1] != fit.mean.shape[0]:
        raise ValueError(
            f"test has dimension {test.shape[1]} but train has {fit.mean.shape[0]}; they must match"
        )
    return float(-fit.log_prob(test).mean())
