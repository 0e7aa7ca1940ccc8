"""How an adaptive solver chooses its step: error ratio, optimal next step, initial step.

Home chapter: the solvers chapter. Each helper computes one formula (Hairer, Nørsett & Wanner,
*Solving Ordinary Differential Equations I*, §II.4):

- :func:`error_ratio`: the embedded error estimate measured in units of the tolerance, with a
  mixed absolute/relative scale ``atol + rtol · max(|y|, |y_next|)`` and a root-mean-square norm
  over all entries (batch included, so a batch shares one step size). A step is accepted when the
  ratio is ≤ 1. The norm of no entries at all (an empty batch) is 0: nothing can be wrong.
  Another norm can be passed in (the adjoint's *seminorm*, which ignores some entries, see
  :mod:`nodelib.adjoint`).
- :func:`optimal_step`: the error of a method whose error estimate has order ``q`` behaves like
  ``C h^(q+1)``, so the step that would have given ratio 1 is ``h · ratio^(-1/(q+1))``. We aim a
  little lower (``safety`` = 0.9), never grow by more than ``max_growth`` = 10 nor shrink by more
  than ``min_shrink`` = 0.2 in one go, and never shrink after an accepted step.
- :func:`initial_step`: a first guess from the size of ``y`` and ``f(t0, y0)`` and one extra
  evaluation of ``f`` to see how fast ``f`` changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "rms_norm",
    "error_ratio",
    "optimal_step",
    "initial_step",
    "SAFETY",
    "MAX_GROWTH",
    "MIN_SHRINK",
]

SAFETY = 0.9
MAX_GROWTH = 10.0
MIN_SHRINK = 0.2


def rms_norm(x: torch.Tensor) -> float:
    """Root mean square of all entries of ``x`` as a float; 0 for a tensor with no entries.

    (The mean of no numbers is NaN in torch; an empty batch has no error, so its norm is 0.)
    """
    if x.numel() == 0:
        return 0.0
    return math.sqrt(x.square().mean().item())


def error_ratio(
    error: torch.Tensor,
    y: torch.Tensor,
    y_next: torch.Tensor,
    rtol: float,
    atol: float,
    norm: Callable[[torch.Tensor], float] | None = None,
) -> float:
    """RMS of ``error / (atol + rtol · max(|y|, |y_next|))`` over all entries, as a float.

    Args:
        error: ``(*shape)`` embedded local error estimate of the step.
        y, y_next: ``(*shape)`` the states at the start and the end of the step.
        norm: measures the scaled error instead of :func:`rms_norm` (``None``: RMS).

    Returns:
        The ratio (≤ 1: the step meets the tolerance). NaN or inf if anything was non-finite.
    """
    # Step-size control is not part of the computation being differentiated.
    scale = torch.maximum(y.detach().abs(), y_next.detach().abs()).mul_(rtol).add_(atol)
    if norm is None:
        return rms_norm(error.detach() / scale)
    return norm(error.detach() / scale)


def optimal_step(
    h: float,
    ratio: float,
    error_order: int,
    safety: float = SAFETY,
    max_growth: float = MAX_GROWTH,
    min_shrink: float = MIN_SHRINK,
) -> float:
    """The next step size after a step of size ``h`` had error ratio ``ratio``.

    ``error_order`` is ``q``, the order of the embedded (lower-order) method: its local error is
    ``O(h^(q+1))``. Works for negative ``h`` (integrating backwards in time).
    """
    if ratio == 0.0:
        return h * max_growth
    factor = safety * ratio ** (-1.0 / (error_order + 1))
    lower = 1.0 if ratio <= 1.0 else min_shrink  # accepted steps never shrink
    return h * min(max_growth, max(lower, factor))


def initial_step(
    func,
    t0: float,
    y0: torch.Tensor,
    f0: torch.Tensor,
    direction: float,
    error_order: int,
    rtol: float,
    atol: float,
    norm: Callable[[torch.Tensor], float] | None = None,
) -> float:
    """Hairer's automatic first step (costs one evaluation of ``func``).

    ``d0 = ‖y0‖``, ``d1 = ‖f0‖`` (scaled RMS norms) give a step ``h0 = 0.01 d0/d1`` over which
    ``y`` changes by about 1 %; one Euler step of size ``h0`` then estimates the second derivative
    ``d2 ≈ ‖f(t0 + h0, y0 + h0 f0) - f0‖ / h0``, and ``h1 = (0.01 / max(d1, d2))^(1/(q+1))``
    makes the local error about 1 % of the tolerance. Returns ``min(100 h0, h1)`` with the sign
    of ``direction``. ``norm`` replaces :func:`rms_norm` as in :func:`error_ratio`.
    """
    y0, f0 = y0.detach(), f0.detach()
    scale = y0.abs().mul(rtol).add_(atol)
    base_norm = rms_norm if norm is None else norm

    def scaled_norm(x: torch.Tensor) -> float:
        return base_norm(x / scale)

    d0, d1 = scaled_norm(y0), scaled_norm(f0)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    t1 = torch.scalar_tensor(t0 + direction * h0, dtype=y0.dtype, device=y0.device)
    f1 = func(t1, y0 + (direction * h0) * f0).detach()
    d2 = scaled_norm(f1 - f0) / h0
    if max(d1, d2) <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (error_order + 1))
    return direction * min(100 * h0, h1)
