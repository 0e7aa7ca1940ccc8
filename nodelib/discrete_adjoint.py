"""The discrete adjoint method of the source's §4.2.1 (after McNamara et al., 2004).

Home chapter: the adjoint chapter. Two small ideas, each checkable in a few lines:

1. **The dual problem.** For ``A b = c`` and ``Aᵀ s = g``,
   ``gᵀ b = gᵀ A⁻¹ c = (A⁻ᵀ g)ᵀ c = sᵀ c``. When ``c`` is replaced by a matrix ``C`` with many
   columns (one per parameter), the primal needs one solve per column but the dual needs one solve
   in total: :func:`dual_identity` computes both sides.
2. **The backward recursion.** For states ``q_(i+1) = f_i(q_i, u)``, ``i = 0 … n-1`` (``q_0``
   fixed) and a scalar ``φ(Q, u)`` of ``Q = (q_1, …, q_n)``, the adjoint states

   .. math::

       r_n = (\\partial φ / \\partial q_n)^\\top, \\qquad
       r_i = (\\partial f_i / \\partial q_i)^\\top r_{i+1} + (\\partial φ / \\partial q_i)^\\top,

   give ``dφ/du = Σ_i r_(i+1)ᵀ ∂f_i/∂u + ∂φ/∂u``. (The source writes the first term as
   ``Rᵀ ∂F/∂q``; it is ``Rᵀ ∂F/∂u``.) :func:`discrete_adjoint_gradient` runs exactly this
   recursion, with each transposed Jacobian applied as one vector–Jacobian product of a single
   step. This is what backpropagation does through a ResNet or through the steps of an ODE solver;
   the continuous adjoint (:mod:`nodelib.adjoint`) is its limit for infinitely many small steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = [
    "DualIdentity",
    "dual_identity",
    "DiscreteAdjointResult",
    "forward_states",
    "discrete_adjoint_gradient",
]


@dataclass
class DualIdentity:
    """Both sides of ``gᵀ b = sᵀ c``.

    Attributes:
        b: ``(m,)`` or ``(m, k)`` solution of ``A b = c``.
        s: ``(m,)`` solution of the dual ``Aᵀ s = g``.
        primal: ``gᵀ b`` (a scalar, or ``(k,)`` when ``c`` has ``k`` columns).
        dual: ``sᵀ c`` (same shape as ``primal``).
    """

    b: torch.Tensor
    s: torch.Tensor
    primal: torch.Tensor
    dual: torch.Tensor


def dual_identity(A: torch.Tensor, c: torch.Tensor, g: torch.Tensor) -> DualIdentity:
    """Compute ``gᵀ b`` with ``A b = c`` and ``sᵀ c`` with ``Aᵀ s = g`` (they are equal).

    Args:
        A: ``(m, m)`` invertible matrix.
        c: ``(m,)`` vector or ``(m, k)`` matrix ``C`` (``k`` right-hand sides).
        g: ``(m,)`` vector.
    """
    if A.dim() != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
    if c.shape[0] != A.shape[0] or g.shape != (A.shape[0],):
        raise ValueError(
            f"c must have {A.shape[0]} rows and g shape ({A.shape[0]},), "
            f"got c {tuple(c.shape)} and g {tuple(g.shape)}"
        )
    b = torch.linalg.solve(A, c)  # k solves when c has k columns
    s = torch.linalg.solve(A.T, g)  # always one solve
    return DualIdentity(b=b, s=s, primal=g @ b, dual=s @ c)


@dataclass
class DiscreteAdjointResult:
    """What :func:`discrete_adjoint_gradient` returns.

    Attributes:
        grad_u: ``dφ/du``, shaped like ``u``.
        states: ``[q_0, q_1, …, q_n]`` (detached).
        adjoints: ``[r_1, …, r_n]``, each shaped like the states.
    """

    grad_u: torch.Tensor
    states: list[torch.Tensor]
    adjoints: list[torch.Tensor]


def forward_states(
    step: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
    q0: torch.Tensor,
    u: torch.Tensor,
    n: int,
) -> list[torch.Tensor]:
    """``[q_0, …, q_n]`` with ``q_(i+1) = step(i, q_i, u)``, computed without autograd."""
    states = [q0.detach()]
    with torch.no_grad():
        for i in range(n):
            states.append(step(i, states[-1], u))
    return states


def discrete_adjoint_gradient(
    step: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
    q0: torch.Tensor,
    u: torch.Tensor,
    n: int,
    loss: Callable[[list[torch.Tensor], torch.Tensor], torch.Tensor],
) -> DiscreteAdjointResult:
    """``dφ/du`` by the backward recursion of the adjoint states ``r_n, …, r_1``.

    Args:
        step: ``step(i, q_i, u) -> q_(i+1)`` (the map ``f_i``), differentiable in ``q_i`` and ``u``.
        q0: the fixed initial state ``q_0``.
        u: the parameters (one tensor).
        n: number of steps.
        loss: ``loss([q_1, …, q_n], u) -> φ``, a scalar tensor.

    Only one step at a time is ever differentiated: the recursion needs the states ``q_i`` (kept
    from the forward sweep) and the vector–Jacobian products ``r_(i+1)ᵀ ∂f_i/∂q_i`` and
    ``r_(i+1)ᵀ ∂f_i/∂u`` of a single step.
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of steps, got {n}")
    states = forward_states(step, q0, u, n)
    # ∂φ/∂q_i for every i and ∂φ/∂u: one differentiation of the loss alone.
    Q = [q.clone().requires_grad_(True) for q in states[1:]]
    u_leaf = u.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        phi = loss(Q, u_leaf)
        partials = torch.autograd.grad(phi, [*Q, u_leaf], allow_unused=True)
    dphi_dq = [
        torch.zeros_like(q) if d is None else d for d, q in zip(partials[:-1], Q, strict=True)
    ]
    grad_u = torch.zeros_like(u_leaf) if partials[-1] is None else partials[-1].clone()

    adjoints = [dphi_dq[n - 1]]  # r_n; dphi_dq[i - 1] is ∂φ/∂q_i
    for i in range(n - 1, -1, -1):
        r_next = adjoints[0]  # r_(i+1)
        q_i = states[i].clone().requires_grad_(True)
        u_i = u.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            out = step(i, q_i, u_i)
            vjp_q, vjp_u = torch.autograd.grad(
                out, (q_i, u_i), grad_outputs=r_next, allow_unused=True
            )
        if vjp_u is not None:
            grad_u += vjp_u
        if i >= 1:  # q_0 is fixed, so r_0 is not needed
            vjp_q = torch.zeros_like(q_i) if vjp_q is None else vjp_q
            adjoints.insert(0, vjp_q + dphi_dq[i - 1])
    return DiscreteAdjointResult(grad_u=grad_u, states=states, adjoints=adjoints)
