"""Tolerance as a hyperparameter: cost and reverse-solve error of an adaptive solve.

Home chapter: 9 (conclusion). The adjoint method (chapter 6) never stores the
forward trajectory; it re-solves the ODE *backwards* from h(T) and trusts that
this brings it back to h(0). Every solve has an error set by the tolerance, so
the backward solve does not land exactly on h(0), and the gradient is computed
along a slightly wrong path. :func:`tolerance_sweep` measures, for one small
ODE, how the cost (NFE) and that reverse-solve error change with the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nodelib.odenet import CountedDynamics, solve_ode


class SmallMLPDynamics(nn.Module):
    """f(t, z) = W2 tanh(W1 z + b1) + b2 for 2-D states z: (B, 2) -> (B, 2)."""

    def __init__(self, hidden: int = 50, scale: float = 2.0, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.w1 = nn.Parameter(scale * torch.randn(2, hidden, generator=generator) / 2**0.5)
        self.b1 = nn.Parameter(torch.zeros(hidden))
        self.w2 = nn.Parameter(scale * torch.randn(hidden, 2, generator=generator) / hidden**0.5)

    def forward(self, t, z):
        return torch.tanh(z @ self.w1 + self.b1) @ self.w2


@dataclass
class ToleranceResult:
    """One tolerance of :func:`tolerance_sweep`.

    forward: (len(times), 2) trajectory solved forwards; backward: the same times,
    solved backwards from forward[-1]; nfe_forward / nfe_backward: evaluations of f;
    reverse_error: |backward[0] - forward[0]|, how far the reverse solve misses z(0).
    """

    rtol: float
    nfe_forward: int
    nfe_backward: int
    reverse_error: float
    forward: torch.Tensor
    backward: torch.Tensor


@torch.no_grad()
def tolerance_sweep(
    rtols=(1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
    *,
    end_time: float = 5.0,
    points: int = 60,
    seed: int = 0,
) -> list[ToleranceResult]:
    """Solve z' = f(z) forwards on [0, end_time] and back again with dopri5, per tolerance.

    ``atol`` is set to ``rtol / 100`` each time. Returns one :class:`ToleranceResult`
    per entry of ``rtols``.
    """
    dynamics = CountedDynamics(SmallMLPDynamics(seed=seed))
    z0 = torch.tensor([[0.6, -0.4]])
    times = torch.linspace(0.0, end_time, points)
    results = []
    for rtol in rtols:
        options = {"solver": "dopri5", "rtol": rtol, "atol": rtol / 100}
        dynamics.reset()
        forward = solve_ode(dynamics, z0, times, **options)[:, 0]
        nfe_forward = dynamics.evaluations
        dynamics.reset()
        backward = solve_ode(dynamics, forward[-1:], times.flip(0), **options)[:, 0].flip(0)
        results.append(
            ToleranceResult(
                rtol=rtol,
                nfe_forward=nfe_forward,
                nfe_backward=dynamics.evaluations,
                reverse_error=float((backward[0] - z0[0]).norm()),
                forward=forward,
                backward=backward,
            )
        )
    return results
