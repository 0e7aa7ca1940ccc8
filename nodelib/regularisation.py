"""Regularising the dynamics: kinetic energy and Jacobian size, integrated along the solve.

Home chapter: ``book/12_price_of_training.ipynb``. An adaptive solver takes as many steps as
the learned field asks for, and training is free to learn a field that bends sharply: the
number of function evaluations (NFE) often grows as the loss falls. Finlay et al. (*How to
train your neural ODE*, 2020) add two penalties to the loss that prefer fields which are
cheap to integrate:

- the **kinetic energy** ``K = ∫ ‖f(t, z(t))‖² dt``: points that move along short, slow paths;
  units (state units)² / time;
- the **Jacobian size** ``B = ∫ ‖∂f/∂z (t, z(t))‖²_F dt``: a field that changes little from
  one point to its neighbour, so a step's error stays small; units 1 / time.

Both are integrals along each trajectory, so they are computed by the solve itself: the state
``z: (batch, dim)`` is *augmented* with two columns whose derivatives are the integrands,
``(batch, dim + 2)``, and one call of :func:`nodelib.odeint` returns ``z(T)``, ``K`` and ``B``.
The Frobenius norm uses Hutchinson's trick (chapter 10, :mod:`nodelib.traces`): for noise
``ε`` with ``E[ε εᵀ] = I``, ``E[‖εᵀ J‖²] = E[εᵀ J Jᵀ ε] = tr(J Jᵀ) = ‖J‖²_F``, and ``εᵀ J``
is one vector-Jacobian product, whatever the dimension. One draw of ``ε`` per point is kept
fixed for the whole solve: the integrand must be one smooth function of time for the adaptive
solver to integrate it.

- :func:`kinetic_rate`, :func:`frobenius_rate`: the integrands for one evaluation;
- :class:`RegularisedDynamics`: the augmented dynamics ``(z, k, b) ↦ (f, ‖f‖², ‖εᵀ J‖²)``;
- :func:`regularised_solve`: solve them; returns a :class:`RegularisedSolution`;
- :func:`exact_frobenius`: ``‖J‖²_F`` from the full Jacobian, to check the estimate.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
from torch import nn

from nodelib.solvers import SolveStats, odeint
from nodelib.traces import NOISE_KINDS, draw_noise

__all__ = [
    "kinetic_rate",
    "frobenius_rate",
    "exact_frobenius",
    "RegularisedDynamics",
    "RegularisedSolution",
    "regularised_solve",
]


def _check_state(name: str, z) -> None:
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or not z.is_floating_point():
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"{name} must be a floating point (batch, dim) tensor, got {got}")


def kinetic_rate(velocity: torch.Tensor) -> torch.Tensor:
    """``‖f‖²`` for every point: ``velocity: (batch, dim)`` -> ``(batch,)``, (state / time)²."""
    _check_state("velocity", velocity)
    return (velocity**2).sum(dim=1)


def frobenius_rate(func, t: torch.Tensor, z: torch.Tensor, noise: torch.Tensor):
    """``f(t, z)`` ``(batch, dim)`` and Hutchinson's estimate of ``‖∂f/∂z‖²_F`` ``(batch,)``.

    ``noise: (batch, dim)``, one draw ``ε`` per point with ``E[ε εᵀ] = I`` (see
    :func:`nodelib.traces.draw_noise`). The estimate ``‖εᵀ J‖²`` costs one vector-Jacobian
    product (no Jacobian is formed) and is unbiased; units 1 / time². ``func`` maps each point
    on its own (row ``b`` of ``f`` depends on row ``b`` of ``z`` only).
    """
    _check_state("z", z)
    if not isinstance(noise, torch.Tensor) or noise.shape != z.shape:
        got = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
        raise ValueError(f"noise must have the shape of z {tuple(z.shape)}, got {got}")
    velocity, vjp = _velocity_and_vjp(func, t, z)
    noise_jacobian = vjp(noise.to(velocity.dtype), last=True)
    return velocity, (noise_jacobian**2).sum(dim=1)


def _velocity_and_vjp(func, t, z):
    """``f(t, z)`` and a function ``v ↦ vᵀ ∂f/∂z`` (``last=True`` on its last use).

    Autograd needs a ``z`` that requires grad; where it does not (the initial state, or any
    state under ``no_grad`` in a widget), a detached copy that does is used: nothing upstream
    of ``z`` needs a gradient then. With grad mode on, the products are themselves
    differentiable (``create_graph``), so a loss built from them trains ``func``'s parameters.
    """
    differentiable = torch.is_grad_enabled()
    with torch.enable_grad():
        if not z.requires_grad:
            z = z.detach().requires_grad_(True)
        velocity = func(t, z)

    def vjp(vector: torch.Tensor, last: bool = False) -> torch.Tensor:
        with torch.enable_grad():
            (product,) = torch.autograd.grad(
                velocity, z, vector, create_graph=differentiable, retain_graph=not last or None
            )
        return product

    return (velocity if differentiable else velocity.detach()), vjp


def exact_frobenius(func, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``‖∂f/∂z‖²_F`` for every point, ``(batch,)``, from all ``dim`` rows of the Jacobian.

    Row ``i`` is ``e_iᵀ J``, one vector-Jacobian product each: ``dim`` products, exact.
    """
    _check_state("z", z)
    _, vjp = _velocity_and_vjp(func, t, z)
    total = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for i in range(z.shape[1]):
        unit = torch.zeros_like(z)
        unit[:, i] = 1.0
        row = vjp(unit, last=i == z.shape[1] - 1)
        total = total + (row**2).sum(dim=1)
    return total


class RegularisedDynamics(nn.Module):
    """The augmented dynamics: state ``(batch, dim + 2)`` = ``(z, k, b)``.

    ``dz/dt = f(t, z)``, ``dk/dt = ‖f‖²`` and ``db/dt = ‖εᵀ ∂f/∂z‖²`` (``noise`` is ``ε``,
    ``(batch, dim)``, fixed during a solve). With ``jacobian=False`` the last column has
    derivative zero and no vector-Jacobian product is computed (the kinetic term alone costs
    nothing beyond ``f``). ``func`` is counted once per evaluation of this module.
    """

    def __init__(self, func, noise: torch.Tensor, *, jacobian: bool = True):
        super().__init__()
        if not callable(func):
            raise TypeError(f"func must be callable as func(t, z), got {type(func).__name__}")
        _check_state("noise", noise)
        self.func, self.noise, self.jacobian = func, noise, bool(jacobian)

    def forward(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        z = state[:, :-2]
        if self.jacobian:
            velocity, frobenius = frobenius_rate(self.func, t, z, self.noise)
        else:
            velocity = self.func(t, z)
            frobenius = torch.zeros_like(velocity[:, 0])
        return torch.cat([velocity, kinetic_rate(velocity)[:, None], frobenius[:, None]], dim=1)


@dataclass
class RegularisedSolution:
    """What :func:`regularised_solve` returns.

    ``z``: ``(batch, dim)`` the state at the end time; ``kinetic``: ``(batch,)`` ``∫ ‖f‖² dt``
    in (state units)² / time; ``frobenius``: ``(batch,)`` the Hutchinson estimate of
    ``∫ ‖∂f/∂z‖²_F dt`` in 1 / time (zeros when not computed); ``stats``: the solve's
    :class:`~nodelib.solvers.SolveStats` (``nfe`` counts evaluations of ``f``).
    """

    z: torch.Tensor
    kinetic: torch.Tensor
    frobenius: torch.Tensor
    stats: SolveStats


def regularised_solve(
    func,
    z0: torch.Tensor,
    t_end: float = 1.0,
    *,
    jacobian: bool = True,
    noise: torch.Tensor | None = None,
    noise_kind: str = "rademacher",
    generator: torch.Generator | None = None,
    method: str = "dopri5",
    rtol: float = 1e-3,
    atol: float = 1e-4,
    step_size: float | None = None,
) -> RegularisedSolution:
    """Solve ``dz/dt = func(t, z)`` from ``z0`` ``(batch, dim)`` at ``t = 0`` to ``t_end`` and
    integrate the two penalties along the way, in one solve of the augmented state.

    ``noise`` (``(batch, dim)``) is the Hutchinson probe; when ``None`` one is drawn with
    ``noise_kind`` (``"rademacher"`` or ``"gaussian"``) from ``generator``. ``method``,
    ``rtol``, ``atol``, ``step_size`` go to :func:`nodelib.odeint`; the penalty columns take
    part in its error control, as in Finlay et al.'s code. Differentiable (backprop through
    the solver) in ``z0`` and in ``func``'s parameters.
    """
    _check_state("z0", z0)
    if isinstance(t_end, bool) or not isinstance(t_end, numbers.Real) or not t_end > 0:
        raise ValueError(f"t_end must be a positive number (the solve runs from 0), got {t_end!r}")
    if noise is None:
        if noise_kind not in NOISE_KINDS:
            raise ValueError(
                f"noise_kind={noise_kind!r} is unknown; valid kinds are {list(NOISE_KINDS)}"
            )
        noise = draw_noise(tuple(z0.shape), noise_kind, generator, z0.dtype)
    dynamics = RegularisedDynamics(func, noise, jacobian=jacobian)
    start = torch.cat([z0, z0.new_zeros(z0.shape[0], 2)], dim=1)
    times = torch.tensor([0.0, float(t_end)], dtype=z0.dtype, device=z0.device)
    states, stats = odeint(
        dynamics,
        start,
        times,
        method=method,
        rtol=rtol,
        atol=atol,
        step_size=step_size,
        return_stats=True,
    )
    end = states[-1]
    return RegularisedSolution(end[:, :-2], end[:, -2], end[:, -1], stats)
