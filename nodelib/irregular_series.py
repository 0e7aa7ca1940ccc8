"""Irregularly sampled time series: bidirectional spirals, sparse observations, batches.

Home chapter: ``book/11_latent_odes.ipynb``. The data follow the spirals of Chen et al.
(2018, section 5.1): many two-dimensional spirals, half of them clockwise, each a segment that
starts at its own random angle, and each observed with noise at its own random times.

- :func:`make_spirals` draws the series on one dense time grid ``times`` on ``[0, t_end]``:
  the noise-free ``truth`` and the noisy ``values`` a sensor would report. The first half of
  the grid (``times[:split]``) is the *observed part*; the second half is only ever predicted
  (extrapolation).
- :func:`observe` keeps, for every series, a random subset of the observed part's grid
  points: ``fraction`` 0.1 keeps 10 % of them, at different times for different series.
- A batch of series with different times is stored on the **union** of their times, padded,
  with a mask saying which entries are real (:class:`IrregularBatch`, :func:`union_batch`,
  :func:`batch_from_mask`). Because an ODE's solution at a time does not depend on which other
  output times were asked for, solving one ODE per series on the union of the batch's times
  and reading each series at its own times (:func:`solve_on_union`) gives what solving each
  series on its own times gives (:func:`solve_each`), up to the solver's error; the chapter
  and the tests check this to 1e-6.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from nodelib.solvers import odeint

__all__ = [
    "SpiralSeries",
    "IrregularBatch",
    "make_spirals",
    "spiral_points",
    "observe",
    "observations_per_series",
    "union_batch",
    "batch_from_mask",
    "split_batch",
    "solve_on_union",
    "solve_each",
    "R0",
    "GROWTH",
    "NOISE_STD",
]

#: The spirals ``r(θ) = R0 + GROWTH·θ`` (Archimedean, as in Chen et al.'s experiment).
R0 = 0.25
GROWTH = 0.1
#: The standard deviation of the observation noise, in the units of the coordinates.
NOISE_STD = 0.1
#: Largest starting angle of a segment (radians): the segments lie on ``θ ∈ [0, 5π]``.
MAX_START_ANGLE = 3 * math.pi


# --------------------------------------------------------------------------- the data


@dataclass
class SpiralSeries:
    """Many spirals on one dense time grid.

    Attributes:
        times: ``(n_times,)`` the dense grid on ``[0, t_end]``, increasing.
        truth: ``(n_series, n_times, 2)`` the noise-free points.
        values: ``(n_series, n_times, 2)`` the points with observation noise.
        clockwise: ``(n_series,)`` bool, the direction of rotation.
        split: index of the first grid point of the extrapolation part; ``times[:split]`` is
            the observed part.
    """

    times: torch.Tensor
    truth: torch.Tensor
    values: torch.Tensor
    clockwise: torch.Tensor
    split: int

    def __len__(self) -> int:
        return self.values.shape[0]

    def subset(self, index) -> SpiralSeries:
        """The series ``index`` (a slice, an index tensor or a list), same grid."""
        return SpiralSeries(
            self.times, self.truth[index], self.values[index], self.clockwise[index], self.split
        )


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def spiral_points(angles: torch.Tensor, clockwise: torch.Tensor) -> torch.Tensor:
    """Points ``(r cos θ, r sin θ)`` of the spiral ``r = R0 + GROWTH·θ``, mirrored in the
    vertical axis (``x → -x``) where ``clockwise``: a mirror image turns the other way.

    ``angles: (n_series, n_times)``, ``clockwise: (n_series,)`` bool -> ``(n_series, n_times, 2)``.
    """
    radius = R0 + GROWTH * angles
    x = radius * torch.cos(angles)
    sign = 1.0 - 2.0 * clockwise.to(angles.dtype)[:, None]
    return torch.stack([sign * x, radius * torch.sin(angles)], dim=-1)


def make_spirals(
    n_series: int,
    *,
    n_times: int = 100,
    t_end: float = 4.0,
    noise_std: float = NOISE_STD,
    generator: torch.Generator | None = None,
) -> SpiralSeries:
    """Draw ``n_series`` spiral segments, half of them clockwise, on ``n_times`` grid times.

    Each segment starts at a random angle ``θ0 ∈ [0, 3π]`` and turns once (2π radians) between
    ``t = 0`` and ``t_end``, at constant angular speed; its radius grows along the way. The
    first half of the grid is the observed part, the second half the extrapolation part.
    ``values = truth + noise_std · N(0, I)``. float32.
    """
    n_series = _check_count("n_series", n_series)
    n_times = _check_count("n_times", n_times, minimum=4)
    if not (isinstance(t_end, numbers.Real) and t_end > 0 and math.isfinite(t_end)):
        raise ValueError(f"t_end must be a positive finite number, got {t_end!r}")
    if not (isinstance(noise_std, numbers.Real) and noise_std >= 0):
        raise ValueError(f"noise_std must be a number ≥ 0, got {noise_std!r}")
    times = torch.linspace(0.0, float(t_end), n_times)
    clockwise = torch.arange(n_series) % 2 == 1
    start = torch.rand(n_series, 1, generator=generator) * MAX_START_ANGLE
    angles = start + (2 * math.pi / t_end) * times[None, :]
    truth = spiral_points(angles, clockwise)
    noise = torch.randn(truth.shape, generator=generator) * noise_std
    return SpiralSeries(times, truth, truth + noise, clockwise, split=n_times // 2)


def observations_per_series(fraction: float, n_observed_part: int) -> int:
    """How many grid points of the observed part ``fraction`` keeps: rounded, at least 2."""
    if not (isinstance(fraction, numbers.Real) and 0 < fraction <= 1):
        raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}")
    return max(2, min(n_observed_part, round(fraction * n_observed_part)))


def observe(
    series: SpiralSeries,
    fraction: float | Sequence[float],
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Which grid points each series is observed at: ``(n_series, n_times)`` bool.

    Every series keeps :func:`observations_per_series` random grid points of the observed part
    (none of the extrapolation part), chosen independently of the other series. ``fraction``
    is one number, or one per series (a mix of sparsities).
    """
    n, split = len(series), series.split
    fractions = [fraction] * n if isinstance(fraction, numbers.Real) else list(fraction)
    if len(fractions) != n:
        raise ValueError(f"fraction must be one number or {n} numbers, got {len(fractions)}")
    counts = torch.tensor([observations_per_series(f, split) for f in fractions])
    # a random ranking of the observed part's points; keep each series' lowest-ranked ones
    ranks = torch.rand(n, split, generator=generator).argsort(dim=1).argsort(dim=1)
    mask = torch.zeros(n, len(series.times), dtype=torch.bool)
    mask[:, :split] = ranks < counts[:, None]
    return mask


# --------------------------------------------------------------------------- batches


@dataclass
class IrregularBatch:
    """Series with different observation times, stored on the union of their times.

    Attributes:
        times: ``(n_union,)`` every time at which some series of the batch is observed,
            increasing.
        values: ``(batch, n_union, dim)`` the observations; zeros where a series has none.
        mask: ``(batch, n_union)`` bool, True where the series is observed.
    """

    times: torch.Tensor
    values: torch.Tensor
    mask: torch.Tensor

    def __len__(self) -> int:
        return self.values.shape[0]


def union_batch(times: Sequence[torch.Tensor], values: Sequence[torch.Tensor]) -> IrregularBatch:
    """Pad series with their own times onto the union of the times, with a mask.

    ``times[b]: (n_b,)`` strictly increasing, ``values[b]: (n_b, dim)``.
    """
    if len(times) != len(values) or len(times) == 0:
        raise ValueError(
            f"times and values must be non-empty lists of the same length, got {len(times)} "
            f"and {len(values)}"
        )
    for b, (t, v) in enumerate(zip(times, values, strict=True)):
        if t.dim() != 1 or v.dim() != 2 or v.shape[0] != t.shape[0]:
            raise ValueError(
                f"series {b}: times must be (n,) and values (n, dim), got shapes "
                f"{tuple(t.shape)} and {tuple(v.shape)}"
            )
        if len(t) > 1 and not bool((t[1:] > t[:-1]).all()):
            raise ValueError(f"series {b}: times must be strictly increasing, got {t.tolist()}")
    union = torch.unique(torch.cat(list(times)))  # sorted
    dim = values[0].shape[1]
    padded = torch.zeros(len(times), len(union), dim, dtype=values[0].dtype)
    mask = torch.zeros(len(times), len(union), dtype=torch.bool)
    for b, (t, v) in enumerate(zip(times, values, strict=True)):
        where = torch.searchsorted(union, t)
        padded[b, where] = v
        mask[b, where] = True
    return IrregularBatch(union, padded, mask)


def batch_from_mask(series: SpiralSeries, mask: torch.Tensor, index=None) -> IrregularBatch:
    """The observations ``series.values`` where ``mask`` (``(n_series, n_times)`` bool), as a
    batch on the union of their times; ``index`` picks some series (default: all)."""
    if mask.shape != series.values.shape[:2]:
        raise ValueError(
            f"mask must have shape {tuple(series.values.shape[:2])} (series, times), got "
            f"{tuple(mask.shape)}"
        )
    values, mask = (series.values, mask) if index is None else (series.values[index], mask[index])
    keep = mask.any(dim=0)  # grid times at which somebody is observed: the union
    return IrregularBatch(
        series.times[keep], values[:, keep] * mask[:, keep, None], mask[:, keep].clone()
    )


def split_batch(batch: IrregularBatch) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The inverse of :func:`union_batch`: each series' own times and values."""
    times = [batch.times[m] for m in batch.mask]
    values = [v[m] for v, m in zip(batch.values, batch.mask, strict=True)]
    return times, values


# --------------------------------------------------------------------------- solving


def _with_start(t0: float, times: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``times`` with ``t0`` put in front (unless it is there); says whether it was added."""
    if float(times[0]) < t0:
        raise ValueError(f"times must not start before t0={t0}, got first time {float(times[0])}")
    if float(times[0]) == t0:
        return times, False
    return torch.cat([times.new_tensor([t0]), times]), True


def solve_on_union(func, y0: torch.Tensor, times: torch.Tensor, t0: float = 0.0, **solver):
    """Solve ``dy/dt = func(t, y)`` for the whole batch at once on the union ``times``.

    ``y0: (batch, dim)`` at time ``t0``; ``times: (n_union,)`` increasing, ``≥ t0``. Returns
    ``(batch, n_union, dim)``; a series is then read at its own times with its mask. ``solver``
    is passed to :func:`nodelib.odeint` (method, rtol, atol, step_size).
    """
    grid, added = _with_start(t0, times.to(y0.dtype))
    if len(grid) == 1:  # only t0 asked for
        return y0[:, None, :]
    solution = odeint(func, y0, grid, **solver)  # (n, batch, dim)
    return solution[1:].transpose(0, 1) if added else solution.transpose(0, 1)


def solve_each(
    func, y0: torch.Tensor, times: Sequence[torch.Tensor], t0: float = 0.0, **solver
) -> list[torch.Tensor]:
    """Solve every series on its own times: ``y0[b]`` at ``t0`` -> ``(n_b, dim)``, one solve
    per series (the slow, obviously right reference for :func:`solve_on_union`)."""
    if len(times) != y0.shape[0]:
        raise ValueError(f"times must hold one tensor per series ({y0.shape[0]}), got {len(times)}")
    return [solve_on_union(func, y0[b : b + 1], t, t0, **solver)[0] for b, t in enumerate(times)]
