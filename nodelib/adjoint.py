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

**The seminorm** (home chapter: the price of training; Kidger, Chen & Lyons, "Hey, that's not an
ODE", ICML 2021). With an adaptive method the backward solve controls the error of the whole
augmented state, the ``dL/dθ`` entries included. But those entries are plain integrals: nothing
in the dynamics reads them back, so their local errors never feed into later steps, and the
gradient's accuracy is set by ``z`` and ``a``. ``odeint_adjoint(..., adjoint_norm="seminorm")``
measures the backward error estimate on the ``z`` and ``a`` entries only (an RMS *seminorm*: it
is zero for an error living in the ``dL/dθ`` entries alone), which accepts larger backward steps.
``stats.backward_nfe`` shows the saving; :mod:`nodelib.adjoint_variants` measures it.
"""

from __future__ import annotations

import torch

from nodelib.solvers import SolveStats, check_inputs, first_derivative, solve
from nodelib.step_size import rms_norm
from nodelib.tableaus import TABLEAUS

__all__ = [
    "odeint_adjoint",
    "AugmentedDynamics",
    "ADJOINT_NORMS",
    "seminorm",
    "check_adjoint_params",
    "untracked_tensors",
]

#: Norms of the backward solve's error estimate: ``"default"`` (RMS over the whole augmented
#: state, as the forward solve) or ``"seminorm"`` (RMS over the ``z`` and ``a`` entries only).
ADJOINT_NORMS = ("default", "seminorm")


def seminorm(state_size: int):
    """The seminorm of the backward solve: RMS over the first ``2 · state_size`` entries.

    The augmented state is ``[z, a, dL/dθ]`` flattened, ``z`` and ``a`` having ``state_size``
    entries each; the returned callable takes the scaled error estimate (a 1-D tensor) and
    ignores its ``dL/dθ`` entries.
    """

    def norm(scaled_error: torch.Tensor) -> float:
        return rms_norm(scaled_error[: 2 * state_size])

    return norm


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
            inputs = (z, *self.params)
            if dz_dt.requires_grad:
                # -aᵀ ∂f/∂z and -aᵀ ∂f/∂θ in one backward pass through func.
                vjps = torch.autograd.grad(dz_dt, inputs, grad_outputs=-a, allow_unused=True)
            else:
                # f depends on neither z nor any parameter (f = f(t), f = 0, or computed under
                # no_grad): there is no graph to go back through and every product is zero.
                vjps = (None,) * len(inputs)
        parts = [dz_dt.detach().reshape(-1)]
        for vjp, like in zip(vjps, inputs, strict=True):
            # An input func does not use (allow_unused gives None) gets a zero product.
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
                settings["func"],
                y0,
                t.tolist(),
                stats=settings["stats"],
                f0=settings["f0"],
                **settings["solver"],
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
        norm = seminorm(n) if settings["adjoint_norm"] == "seminorm" else None

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
                    norm=norm,
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


# --------------------------------------------------------------------------- input checking


def check_adjoint_params(func, adjoint_params) -> tuple[torch.Tensor, ...]:
    """The tensors to differentiate with respect to: each once, only those that require grad.

    ``None`` means ``func.parameters()`` for an ``nn.Module`` and nothing for a plain function.
    Raises :class:`TypeError` unless ``adjoint_params`` is an iterable of tensors.
    """
    if adjoint_params is None:
        adjoint_params = func.parameters() if isinstance(func, torch.nn.Module) else ()
    elif isinstance(adjoint_params, torch.Tensor):  # iterating it would give its rows
        raise TypeError(
            f"adjoint_params must be a list or tuple of tensors, got a Tensor of shape "
            f"{tuple(adjoint_params.shape)}; wrap it in a list: adjoint_params=[w]"
        )
    try:
        adjoint_params = tuple(adjoint_params)
    except TypeError:
        raise TypeError(
            "adjoint_params must be a list or tuple of tensors (or module.parameters()), "
            f"got {type(adjoint_params).__name__}"
        ) from None
    for i, p in enumerate(adjoint_params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(
                f"adjoint_params must hold tensors, got {type(p).__name__} at position {i}"
            )
    # A tensor listed twice would get its gradient twice.
    unique = {id(p): p for p in adjoint_params if p.requires_grad}
    return tuple(unique.values())


def untracked_tensors(
    output: torch.Tensor, known: tuple[torch.Tensor, ...], state: torch.Tensor
) -> list:
    """The tensors requiring grad that ``output`` was computed from, other than ``known``.

    Walks ``output``'s autograd graph back to its leaves (``AccumulateGrad`` nodes hold them) and
    stops at ``known`` tensors, which may also be non-leaf tensors. A leaf that shares the memory
    of ``state`` was made from the state inside func (``y[:, :2].requires_grad_()``, the usual
    way to take a divergence, as in continuous normalizing flows): it is the state, not a
    parameter, so it is not reported.
    """
    if not output.requires_grad:
        return []
    state_memory = state.untyped_storage().data_ptr() if state.numel() else None

    def is_state(x: torch.Tensor) -> bool:
        return state_memory is not None and x.untyped_storage().data_ptr() == state_memory

    known_ids = {id(x) for x in known}
    if output.grad_fn is None:  # output is itself a leaf
        return [] if id(output) in known_ids or is_state(output) else [output]
    stops = {x.grad_fn for x in known if x.grad_fn is not None}
    found, seen, todo = [], set(), [output.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen or node in stops:
            continue
        seen.add(node)
        leaf = getattr(node, "variable", None)
        if leaf is not None:
            if id(leaf) not in known_ids and not is_state(leaf):
                found.append(leaf)
            continue
        todo.extend(next_node for next_node, _ in node.next_functions)
    return found


def checked_first_derivative(func, y0: torch.Tensor, t0: float, params) -> torch.Tensor:
    """``func(t0, y0)``, checked like :func:`nodelib.solvers.first_derivative`, and checked to
    use no tensor requiring grad outside ``params``.

    The forward solve runs without autograd, so such a tensor would silently get no gradient
    (backprop through :func:`nodelib.odeint` would give it one). To find one, ``func`` runs
    with autograd on but with ``y0`` detached and the parameters' ``requires_grad`` switched off
    for this one call: autograd then records a graph only if some *other* tensor requires grad,
    so the usual case costs no graph and no memory. Returns ``f0`` detached.
    """
    y = y0.detach()
    # Only a leaf's requires_grad can be switched; the graph walk stops at non-leaf params.
    leaves = [p for p in params if p.is_leaf]
    try:
        for p in leaves:
            p.requires_grad_(False)
        with torch.enable_grad():
            f0 = first_derivative(func, t0, y)
        # Before switching requires_grad back on: f0 may be a view of a parameter, and a view
        # follows its base. y is known too: func may switch on requires_grad of its input.
        untracked = untracked_tensors(f0, (y, *params), state=y)
        f0 = f0.detach()
    finally:
        for p in leaves:
            p.requires_grad_(True)
    if untracked:
        shapes = ", ".join(str(tuple(x.shape)) for x in untracked)
        if len(untracked) == 1:
            what, it = f"1 tensor that requires grad (shape {shapes}) but is", "it"
        else:
            what, it = (
                f"{len(untracked)} tensors that require grad (shapes {shapes}) but are",
                "them",
            )
        raise ValueError(
            f"func uses {what} not in adjoint_params; odeint_adjoint would silently give {it} no "
            f"gradient. Pass every tensor to differentiate as adjoint_params=[...] (an "
            f"nn.Module's own parameters are found automatically), or .detach() {it} inside "
            "func if no gradient is wanted"
        )
    return f0


# --------------------------------------------------------------------------- entry point


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
    adjoint_norm: str = "default",
):
    """Like :func:`nodelib.odeint`, but gradients come from the adjoint method (constant memory).

    The forward solve runs without autograd, so only ``y0`` and ``adjoint_params`` can get
    gradients. A ``func`` that uses another tensor requiring grad (a closed-over weight, or
    ``y0`` itself) would silently leave it without one, so that raises :class:`ValueError`
    (checked at the first evaluation of ``func``, only when autograd is on).

    Args:
        func: the dynamics; an ``nn.Module`` (its parameters that require grad get gradients) or
            any callable together with ``adjoint_params``.
        adjoint_params: a list or tuple of the tensors to differentiate with respect to (besides
            ``y0``); default: ``func.parameters()`` for a module, nothing for a plain function.
            Tensors that do not require grad are skipped; a tensor listed twice counts once.
        y0, t, method, rtol, atol, step_size, max_steps, backend, return_stats: as in
            :func:`nodelib.odeint`; the backward solve uses the same method and settings.
        adjoint_norm: how the backward solve measures its error estimate (adaptive methods
            only; fixed-step methods ignore it): ``"default"`` (RMS over the whole augmented
            state ``[z, a, dL/dθ]``) or ``"seminorm"`` (RMS over ``z`` and ``a`` only, which
            takes fewer backward steps; see the module docstring). With
            ``backend="torchdiffeq"`` this is torchdiffeq's ``adjoint_options={"norm": ...}``.

    Returns:
        The ``(len(t), *y0.shape)`` solution, or ``(solution, stats)``. After ``.backward()``,
        ``stats.backward_nfe``, ``backward_accepted`` and ``backward_rejected`` describe the
        backward solve (summed over the intervals between output times).

    Raises:
        TypeError: ``adjoint_params`` is not a list or tuple of tensors.
        ValueError: a bad argument (as :func:`nodelib.odeint`), or ``func`` uses a tensor
            requiring grad that is not in ``adjoint_params``.
    """
    t, rtol, atol, step_size = check_inputs(
        func, y0, t, method, rtol, atol, step_size, max_steps, backend
    )
    params = check_adjoint_params(func, adjoint_params)
    if adjoint_norm not in ADJOINT_NORMS:
        raise ValueError(
            f"adjoint_norm={adjoint_norm!r} is unknown; valid norms are {list(ADJOINT_NORMS)}"
        )
    f0 = None  # under no_grad no gradient is wanted: the solver evaluates and checks f0 itself
    if torch.is_grad_enabled():
        f0 = checked_first_derivative(func, y0, t[0].item(), params)

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
            adjoint_options={"norm": "seminorm"} if adjoint_norm == "seminorm" else None,
        )
        return (solution, stats) if return_stats else solution

    settings = {
        "func": func,
        "stats": stats,
        "f0": f0,
        "adjoint_norm": adjoint_norm,
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
