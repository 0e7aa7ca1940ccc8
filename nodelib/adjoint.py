"""``odeint_adjoint``: gradients of an ODE solve by the continuous adjoint method.

Home chapter: the adjoint chapter. This is Algorithm 1 of Chen et al. (2018). For a loss ``L``
of the solution, the *adjoint* ``a(t) = ∂L/∂z(t)`` obeys its own ODE backwards in time,

.. math::

    \\frac{da}{dt} = -a^\\top \\frac{\\partial f}{\\partial z}, \\qquad
    \\frac{dL}{d\\theta} = \\int_{t_1}^{t_0} -a^\\top \\frac{\\partial f}{\\partial \\theta}\\, dt,

so one backward solve of the *augmented state* ``[z, a, dL/dθ]`` with dynamics
``[f, -aᵀ ∂f/∂z, -aᵀ ∂f/∂θ]`` gives every gradient. Both products ``aᵀ ∂f/∂z`` and
``aᵀ ∂f/∂θ`` are one vector–Jacobian product (one ``torch.autograd.grad`` call with
``grad_outputs=-a``); no Jacobian is ever formed.

When the loss looks at several output times ``t_0 < … < t_N``, the backward solve runs interval by
interval, from ``t_N`` to ``t_0``, and at each observation time ``t_i`` adds the incoming gradient
``∂L/∂z(t_i)`` to ``a``. At these times we also reset ``z`` to the stored forward output
``z(t_i)`` (as torchdiffeq does), so errors of the backward reconstruction of ``z`` do not pile
up. Nothing else of the forward pass is kept: the forward solve runs without autograd, the
backward solve keeps only the current augmented state, so memory does not grow with the number
of steps (benchmarks/adjoint_memory.py measures this).

The price: the backward solve is a *different* numerical solve than the forward one, so the
gradient matches backprop through the solver only up to the solver tolerance (rk4 with small
steps or dopri5 with tight tolerances agree to ~1e-8 in float64), and every backward step
evaluates ``f`` with autograd.
"""

from __future__ import annotations

import torch

from nodelib.solvers import SolveStats, check_inputs, solve
from nodelib.tableaus import TABLEAUS

__all__ = ["odeint_adjoint", "AugmentedDynamics"]


class AugmentedDynamics:
    """The dynamics of the augmented state ``[z, a, dL/dθ]``, flattened into one 1-D tensor.

    ``z`` and ``a`` have ``y0``'s shape; ``dL/dθ`` holds every parameter's gradient, flattened and
    concatenated. Calling the object costs one evaluation of ``func`` and one vector–Jacobian
    product.
    """

    def __init__(self, func, shape: torch.Size, params: tuple[torch.Tensor, ...]):
        self.func = func
        self.shape = shape
        self.size = shape.numel()
        self.params = params

    def __call__(self, t: torch.Tensor, augmented: torch.Tensor) -> torch.Tensor:
        n = self.size
        z = augmented[:n].view(self.shape)
        a = augmented[n : 2 * n].view(self.shape)
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            dz_dt = self.func(t, z)
            # -aᵀ ∂f/∂z and -aᵀ ∂f/∂θ in one backward pass through func.
            vjps = torch.autograd.grad(dz_dt, (z, *self.params), grad_outputs=-a, allow_unused=True)
        parts = [dz_dt.detach().reshape(-1)]
        for vjp, like in zip(vjps, (z, *self.params), strict=True):
            # A parameter func does not use gets a zero gradient.
            parts.append(
                torch.zeros(like.numel(), dtype=a.dtype, device=a.device)
                if vjp is None
                else vjp.reshape(-1).to(a.dtype)
            )
        return torch.cat(parts)


class _OdeintAdjointFunction(torch.autograd.Function):
    """Forward: solve without autograd. Backward: the augmented solve from ``t_N`` to ``t_0``."""

    @staticmethod
    def forward(ctx, settings: dict, y0: torch.Tensor, t: torch.Tensor, *params: torch.Tensor):
        with torch.no_grad():
            solution = solve(
                settings["func"], y0, t.tolist(), stats=settings["stats"], **settings["solver"]
            )
        ctx.settings = settings
        ctx.save_for_backward(t, solution, *params)
        return solution

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_solution: torch.Tensor):
        t, solution, *params = ctx.saved_tensors
        settings = ctx.settings
        func, stats = settings["func"], settings["stats"]
        times = t.tolist()
        shape = solution.shape[1:]
        n = shape.numel()
        dynamics = AugmentedDynamics(func, shape, tuple(params))
        backward_stats = SolveStats(method=stats.method)

        a = grad_solution[-1].reshape(-1)
        param_grads = torch.zeros(
            sum(p.numel() for p in params), dtype=solution.dtype, device=solution.device
        )
        with torch.no_grad():
            for i in range(len(times) - 1, 0, -1):
                # Reset z to the stored output at t_i; a already holds every ∂L/∂z(t_j), j ≥ i.
                augmented = torch.cat([solution[i].reshape(-1), a, param_grads])
                end = solve(
                    dynamics,
                    augmented,
                    [times[i], times[i - 1]],
                    stats=backward_stats,
                    **settings["solver"],
                )[-1]
                a = end[n : 2 * n] + grad_solution[i - 1].reshape(-1)
                param_grads = end[2 * n :]

        stats.backward_nfe = backward_stats.nfe
        stats.backward_accepted = backward_stats.accepted
        stats.backward_rejected = backward_stats.rejected
        grads, offset = [], 0
        for p in params:
            grads.append(param_grads[offset : offset + p.numel()].view_as(p).to(p.dtype))
            offset += p.numel()
        return (None, a.view(shape), None, *grads)


def odeint_adjoint(
    func,
    y0: torch.Tensor,
    t: torch.Tensor,
    *,
    method: str = "dopri5",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    step_size: float | None = None,
    max_steps: int = 10_000,
    backend: str = "nodelib",
    return_stats: bool = False,
    adjoint_params=None,
):
    """Like :func:`nodelib.odeint`, but gradients come from the adjoint method (constant memory).

    Args:
        func: the dynamics; an ``nn.Module`` (its parameters that require grad get gradients) or
            any callable together with ``adjoint_params``.
        adjoint_params: the tensors to differentiate with respect to (besides ``y0``); default:
            ``func.parameters()`` for a module, nothing for a plain function.
        y0, t, method, rtol, atol, step_size, max_steps, backend, return_stats: as in
            :func:`nodelib.odeint`; the backward solve uses the same method and settings.

    Returns:
        The ``(len(t), *y0.shape)`` solution, or ``(solution, stats)``. After ``.backward()``,
        ``stats.backward_nfe``, ``backward_accepted`` and ``backward_rejected`` describe the
        backward solve (summed over the intervals between output times).
    """
    t, rtol, atol, step_size = check_inputs(
        func, y0, t, method, rtol, atol, step_size, max_steps, backend
    )
    if adjoint_params is None:
        adjoint_params = func.parameters() if isinstance(func, torch.nn.Module) else ()
    params = tuple(p for p in adjoint_params if p.requires_grad)
    for p in params:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"adjoint_params must hold tensors, got {type(p).__name__}")

    stats = SolveStats(method=method)
    if backend == "torchdiffeq":
        import torchdiffeq

        from nodelib.solvers import TORCHDIFFEQ_METHODS, _CountingFunc, _torchdiffeq_options

        stats.accepted = stats.rejected = None
        solution = torchdiffeq.odeint_adjoint(
            _CountingFunc(func, stats),
            y0,
            t,
            rtol=rtol,
            atol=atol,
            method=TORCHDIFFEQ_METHODS[method],
            options=_torchdiffeq_options(method, step_size, max_steps),
            adjoint_params=params,
        )
        return (solution, stats) if return_stats else solution

    settings = {
        "func": func,
        "stats": stats,
        "solver": {
            "tableau": TABLEAUS[method],
            "rtol": rtol,
            "atol": atol,
            "step_size": step_size,
            "max_steps": max_steps,
        },
    }
    solution = _OdeintAdjointFunction.apply(settings, y0, t, *params)
    return (solution, stats) if return_stats else solution
