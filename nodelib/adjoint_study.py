"""Measuring the adjoint method: cost of the dual problem, gradient checks, memory and time.

Home chapter: the adjoint chapter (6). :mod:`nodelib.discrete_adjoint` and
:mod:`nodelib.adjoint` hold the methods; this module holds the *experiments* that test them:

- :func:`dual_problem_cost`: ``k`` primal solves ``A b_j = c_j`` against one dual solve
  ``Aᵀ s = g``, counted and timed for growing ``k``;
- :func:`unrolled_gradient` and :func:`stacked_adjoint_system`: two independent ways to get what
  the discrete adjoint recursion gets (autograd through the unrolled steps; the stacked linear
  system ``(I - ∂F/∂Q)ᵀ R = (∂φ/∂Q)ᵀ`` solved as one dense system);
- :func:`algorithm_one`: Algorithm 1 of Chen et al. (2018) spelled out on top of
  :class:`nodelib.adjoint.AugmentedDynamics`;
- :func:`check_gradients`: adjoint vs backprop through the solver vs central finite differences;
- :func:`saved_tensors_peak` and :func:`resident_peak`: two ways to measure the memory of a
  backward pass on a CPU, and :func:`cost_vs_steps`, which uses both for adjoint and backprop;
- :func:`tolerance_study`: gradient error and function evaluations against ``rtol``;
- figure functions (each returns a plotly figure); the live widget built on them is
  :func:`nodelib.widgets.tolerance_explorer`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go
import torch
from torch import nn

import nodelib
from nodelib.adjoint import AugmentedDynamics
from nodelib.solvers import SolveStats
from nodelib.viz import OKABE_ITO, slider_figure

__all__ = [
    "DualCost",
    "dual_problem_cost",
    "dual_cost_figure",
    "unrolled_gradient",
    "stacked_adjoint_system",
    "MLPDynamics",
    "AlgorithmOneResult",
    "algorithm_one",
    "GradientCheck",
    "check_gradients",
    "relative_error",
    "saved_tensors_peak",
    "resident_peak",
    "BackwardCost",
    "backward_cost",
    "cost_vs_steps",
    "cost_figure",
    "ToleranceStudy",
    "tolerance_study",
    "tolerance_figure",
    "reconstruction",
    "reconstruction_slider_figure",
    "reconstruction_traces",
    "reconstruction_layout",
]

ADJOINT_COLOR, BACKPROP_COLOR, FD_COLOR = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish green"],
)


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """``‖value - reference‖ / ‖reference‖`` (Euclidean norms of the flattened tensors)."""
    return ((value - reference).norm() / reference.norm()).item()


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _positive_int_list(name: str, values) -> list[int]:
    values = list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {values!r}")
    return values


# --------------------------------------------------------------------------- the dual problem


@dataclass
class DualCost:
    """Cost of ``gᵀ B`` with ``A B = C`` (primal) against ``sᵀ C`` with ``Aᵀ s = g`` (dual).

    Attributes:
        m: size of the ``(m, m)`` matrix ``A``.
        ks: numbers of right-hand sides (columns of ``C``).
        primal_solves, dual_solves: linear solves each way, per ``k`` (``k`` and ``1``).
        primal_seconds, dual_seconds: best wall-clock time of each way, per ``k``, in seconds.
        max_difference: largest ``|gᵀ B - sᵀ C|`` over all entries and all ``k``.
    """

    m: int
    ks: list[int]
    primal_solves: list[int] = field(default_factory=list)
    dual_solves: list[int] = field(default_factory=list)
    primal_seconds: list[float] = field(default_factory=list)
    dual_seconds: list[float] = field(default_factory=list)
    max_difference: float = 0.0


def _best_time(fn: Callable[[], torch.Tensor], repeats: int) -> tuple[torch.Tensor, float]:
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return value, best


def dual_problem_cost(m: int, ks, *, repeats: int = 3, seed: int = 0) -> DualCost:
    """Time ``gᵀ B`` (one solve per column, as forward sensitivities would) against ``sᵀ C``.

    ``A`` is a random ``(m, m)`` float64 matrix made well-conditioned by adding ``m·I``;
    ``C`` has ``k`` random columns, ``g`` is a random vector. The primal way solves ``A b_j = c_j``
    for every column ``j`` separately (``k`` solves, each ``O(m³)``); the dual way solves
    ``Aᵀ s = g`` once and multiplies ``sᵀ C`` (``O(m k)``). Both give the ``k`` numbers
    ``g·b_j``; :func:`nodelib.discrete_adjoint.dual_identity` checks they agree.
    """
    from nodelib.discrete_adjoint import dual_identity

    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be a positive integer (the matrix size), got {m!r}")
    ks = _positive_int_list("ks", ks)
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(m, m, generator=generator, dtype=torch.float64)
    A += m * torch.eye(m, dtype=torch.float64)
    g = torch.randn(m, generator=generator, dtype=torch.float64)
    cost = DualCost(m=m, ks=ks)
    for k in ks:
        C = torch.randn(m, k, generator=generator, dtype=torch.float64)

        def primal(C=C):
            return torch.stack([g @ torch.linalg.solve(A, c) for c in C.T])

        def dual(C=C):
            return torch.linalg.solve(A.T, g) @ C

        primal_value, primal_seconds = _best_time(primal, repeats)
        dual_value, dual_seconds = _best_time(dual, repeats)
        identity = dual_identity(A, C, g)
        cost.max_difference = max(
            cost.max_difference,
            (primal_value - dual_value).abs().max().item(),
            (identity.primal - identity.dual).abs().max().item(),
        )
        cost.primal_solves.append(k)
        cost.dual_solves.append(1)
        cost.primal_seconds.append(primal_seconds)
        cost.dual_seconds.append(dual_seconds)
    return cost


def dual_cost_figure(cost: DualCost) -> go.Figure:
    """Time of the primal (``k`` solves) and the dual (one solve) way against ``k``, log–log."""
    fig = go.Figure(
        [
            go.Scatter(
                x=cost.ks,
                y=[s * 1e3 for s in cost.primal_seconds],
                name="primal: k solves A b = c",
                mode="lines+markers",
                line={"color": BACKPROP_COLOR},
            ),
            go.Scatter(
                x=cost.ks,
                y=[s * 1e3 for s in cost.dual_seconds],
                name="dual: one solve Aᵀ s = g",
                mode="lines+markers",
                line={"color": ADJOINT_COLOR},
            ),
        ]
    )
    fig.update_layout(
        title=f"Computing gᵀB for k right-hand sides (m = {cost.m})",
        xaxis={"title": "k (number of right-hand sides)", "type": "log"},
        yaxis={"title": "time (ms)", "type": "log"},
        height=400,
    )
    return fig


# --------------------------------------------------------------------------- discrete adjoint


def unrolled_gradient(
    step: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
    q0: torch.Tensor,
    u: torch.Tensor,
    n: int,
    loss: Callable[[list[torch.Tensor], torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """``dφ/du`` by autograd through all ``n`` steps at once: the reference for the recursion.

    Same arguments as :func:`nodelib.discrete_adjoint.discrete_adjoint_gradient`.
    """
    u_leaf = u.detach().clone().requires_grad_(True)
    states, q = [], q0.detach()
    with torch.enable_grad():
        for i in range(n):
            q = step(i, q, u_leaf)
            states.append(q)
        (grad,) = torch.autograd.grad(loss(states, u_leaf), u_leaf)
    return grad


def stacked_adjoint_system(
    step: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
    states: list[torch.Tensor],
    u: torch.Tensor,
    loss: Callable[[list[torch.Tensor], torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The matrix ``I - ∂F/∂Q`` and the vector ``(∂φ/∂Q)ᵀ`` of the stacked system ``Q = F(Q, u)``.

    Args:
        step, u, loss: as in :func:`nodelib.discrete_adjoint.discrete_adjoint_gradient`; each
            state ``q_i`` must be a 1-D tensor of size ``d``.
        states: ``[q_0, …, q_n]`` from :func:`nodelib.discrete_adjoint.forward_states`.

    Returns:
        ``(M, rhs)`` with ``M`` of shape ``(n·d, n·d)`` and ``rhs`` of shape ``(n·d,)``, so that
        ``R = solve(Mᵀ, rhs)`` holds the adjoint states ``r_1, …, r_n`` one after the other. Only
        for small examples: it forms full Jacobians, which the recursion never does.
    """
    n, d = len(states) - 1, states[0].numel()
    if states[0].dim() != 1:
        raise ValueError(f"states must be 1-D vectors, got q_0 of shape {tuple(states[0].shape)}")
    M = torch.eye(n * d, dtype=states[0].dtype)
    # Block row i of F is f_(i-1)(q_(i-1), u); it depends on block i-1 of Q (none for i = 0,
    # since q_0 is fixed), so ∂F/∂Q is zero except for one block below the diagonal.
    for i in range(1, n):
        jacobian = torch.autograd.functional.jacobian(lambda q, i=i: step(i, q, u), states[i])
        M[i * d : (i + 1) * d, (i - 1) * d : i * d] -= jacobian
    Q = [q.clone().requires_grad_(True) for q in states[1:]]
    with torch.enable_grad():
        partials = torch.autograd.grad(loss(Q, u), Q, allow_unused=True)
    rhs = torch.cat(
        [torch.zeros(d, dtype=M.dtype) if p is None else p.reshape(-1) for p in partials]
    )
    return M, rhs


# --------------------------------------------------------------------------- continuous adjoint


class MLPDynamics(nn.Module):
    """``f(t, z) = W₂ tanh(W₁ z + b₁) + b₂ - damping · z``: a small neural ODE right-hand side.

    ``z``: ``(batch, dim)``. A positive ``damping`` makes the flow contract forward in time, so
    it *expands* backward in time: the case in which the adjoint's reverse solve struggles.
    """

    def __init__(self, dim: int = 2, hidden: int = 32, damping: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))
        self.damping = damping

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(z) - self.damping * z


def _params(func) -> tuple[torch.Tensor, ...]:
    if not isinstance(func, nn.Module):
        raise TypeError(f"func must be a torch.nn.Module (its parameters), got {type(func)}")
    return tuple(p for p in func.parameters() if p.requires_grad)


@dataclass
class AlgorithmOneResult:
    """What :func:`algorithm_one` returns.

    Attributes:
        z1: ``z(t1)`` from the forward solve.
        z0_reconstructed: ``z(t0)`` as the reverse solve recomputed it (equal to ``z0`` only up
            to the solver's error).
        grad_z0: ``∂L/∂z(t0)``, shaped like ``z0``.
        grad_params: ``∂L/∂θ``, one tensor per parameter of ``func``.
        forward_stats, backward_stats: the two solves' statistics.
    """

    z1: torch.Tensor
    z0_reconstructed: torch.Tensor
    grad_z0: torch.Tensor
    grad_params: list[torch.Tensor]
    forward_stats: SolveStats
    backward_stats: SolveStats


def algorithm_one(
    func: nn.Module,
    z0: torch.Tensor,
    t0: float,
    t1: float,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    **solver,
) -> AlgorithmOneResult:
    """Algorithm 1 of Chen et al. (2018): gradients of ``loss_fn(z(t1))`` by one reverse solve.

    1. Solve forward from ``t0`` to ``t1`` without autograd; differentiate only the loss, to get
       ``∂L/∂z(t1)``.
    2. Start the augmented state ``s = [z(t1), ∂L/∂z(t1), 0]`` and solve its dynamics
       ``[f, -aᵀ∂f/∂z, -aᵀ∂f/∂θ]`` (:class:`~nodelib.adjoint.AugmentedDynamics`) from ``t1``
       back to ``t0``.
    3. The end state is ``[z(t0), ∂L/∂z(t0), ∂L/∂θ]``.

    ``solver``: keyword arguments of :func:`nodelib.odeint` (``method``, ``rtol``, …), used for
    both solves.
    """
    params = _params(func)
    times = torch.tensor([t0, t1], dtype=z0.dtype)
    with torch.no_grad():
        z, forward_stats = nodelib.odeint(func, z0, times, return_stats=True, **solver)
    z1 = z[-1]
    z1_leaf = z1.clone().requires_grad_(True)
    with torch.enable_grad():
        (dL_dz1,) = torch.autograd.grad(loss_fn(z1_leaf), z1_leaf)

    n = z0.numel()
    zeros = torch.zeros(sum(p.numel() for p in params), dtype=z0.dtype)
    s0 = torch.cat([z1.reshape(-1), dL_dz1.reshape(-1), zeros])
    with torch.no_grad():
        s, backward_stats = nodelib.odeint(
            AugmentedDynamics(func, z0.shape, params),
            s0,
            times.flip(0),  # reverse time: t1 -> t0
            return_stats=True,
            **solver,
        )
    s_end = s[-1]
    grads, offset = [], 2 * n
    for p in params:
        grads.append(s_end[offset : offset + p.numel()].view_as(p))
        offset += p.numel()
    return AlgorithmOneResult(
        z1=z1,
        z0_reconstructed=s_end[:n].view_as(z0),
        grad_z0=s_end[n : 2 * n].view_as(z0),
        grad_params=grads,
        forward_stats=forward_stats,
        backward_stats=backward_stats,
    )


def _loss_and_grads(func, z0, t, loss_fn, adjoint: bool, **solver):
    """One forward + backward; returns (loss, grads of (z0, *params), stats)."""
    z0_leaf = z0.detach().clone().requires_grad_(True)
    solve = nodelib.odeint_adjoint if adjoint else nodelib.odeint
    z, stats = solve(func, z0_leaf, t, return_stats=True, **solver)
    loss = loss_fn(z[-1])
    grads = torch.autograd.grad(loss, (z0_leaf, *_params(func)))
    return loss.detach(), grads, stats


@dataclass
class GradientCheck:
    """Three gradients of the same loss and how far apart they are.

    Attributes:
        adjoint, backprop: ``[∂L/∂z0, ∂L/∂θ_1, …]`` from :func:`nodelib.odeint_adjoint` and from
            autograd through :func:`nodelib.odeint`.
        adjoint_vs_backprop: relative error of the adjoint's gradient against backprop's (all
            tensors flattened into one vector).
        finite_difference: the central difference ``(L(x + εv) - L(x - εv)) / 2ε`` along a random
            unit direction ``v`` in the space of ``(z0, θ)``.
        adjoint_vs_fd, backprop_vs_fd: relative error of ``gradient · v`` against it.
        forward_stats, adjoint_stats: statistics of the backprop run and of the adjoint run (the
            latter with ``backward_nfe`` filled in).
    """

    adjoint: list[torch.Tensor]
    backprop: list[torch.Tensor]
    adjoint_vs_backprop: float
    finite_difference: float
    adjoint_vs_fd: float
    backprop_vs_fd: float
    forward_stats: SolveStats
    adjoint_stats: SolveStats


def check_gradients(
    func: nn.Module,
    z0: torch.Tensor,
    t: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    eps: float = 1e-6,
    seed: int = 0,
    **solver,
) -> GradientCheck:
    """Compare adjoint, backprop-through-the-solver and finite-difference gradients.

    ``loss_fn(z(t[-1]))`` is the loss; ``solver`` holds :func:`nodelib.odeint` keyword arguments.
    Use float64 (``z0``, ``t`` and ``func``) so that the finite difference is accurate.
    """
    if not eps > 0:
        raise ValueError(f"eps must be a positive step for the finite difference, got {eps!r}")
    params = _params(func)
    _, adjoint, adjoint_stats = _loss_and_grads(func, z0, t, loss_fn, True, **solver)
    _, backprop, forward_stats = _loss_and_grads(func, z0, t, loss_fn, False, **solver)

    generator = torch.Generator().manual_seed(seed)
    direction = torch.randn(
        z0.numel() + sum(p.numel() for p in params), generator=generator, dtype=z0.dtype
    )
    direction /= direction.norm()

    def loss_at(shift: float) -> float:
        # Move (z0, θ) by shift · direction, evaluate the loss, move the parameters back.
        pieces = torch.split(direction, [z0.numel(), *(p.numel() for p in params)])
        with torch.no_grad():
            for p, v in zip(params, pieces[1:], strict=True):
                p += shift * v.view_as(p)
            z = nodelib.odeint(func, z0 + shift * pieces[0].view_as(z0), t, **solver)
            value = loss_fn(z[-1]).item()
            for p, v in zip(params, pieces[1:], strict=True):
                p -= shift * v.view_as(p)
        return value

    fd = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    return GradientCheck(
        adjoint=list(adjoint),
        backprop=list(backprop),
        adjoint_vs_backprop=relative_error(_flat(adjoint), _flat(backprop)),
        finite_difference=fd,
        adjoint_vs_fd=abs(_flat(adjoint) @ direction - fd).item() / abs(fd),
        backprop_vs_fd=abs(_flat(backprop) @ direction - fd).item() / abs(fd),
        forward_stats=forward_stats,
        adjoint_stats=adjoint_stats,
    )


# --------------------------------------------------------------------------- memory and time


class _Packed:
    """What the pack hook keeps instead of a saved tensor; its death means the tensor was freed."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor


def saved_tensors_peak(fn: Callable[[], object]) -> tuple[object, int]:
    """Run ``fn()``; return its result and the peak bytes autograd held *saved for backward*.

    Every tensor that autograd saves for a backward pass (inputs of a matmul, outputs of a tanh,
    …) goes through a pack hook (:func:`torch.autograd.graph.saved_tensors_hooks`), and is
    released when the graph that saved it is freed. We add each saved tensor's storage size when
    it is first saved and subtract it when its last saver lets go; storages saved several times
    (a weight used at every step) count once. The peak of this running sum is the memory that
    the graph of backprop holds, and it includes the small graphs the adjoint builds inside its
    backward pass. It does not count temporaries that are not saved; :func:`resident_peak` does.
    """
    live: dict[int, list[int]] = {}  # storage address -> [times saved and not yet freed, bytes]
    total = {"now": 0, "peak": 0}

    def release(key: int) -> None:
        live[key][0] -= 1
        if live[key][0] == 0:
            total["now"] -= live.pop(key)[1]

    def pack(tensor: torch.Tensor) -> _Packed:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key in live:
            live[key][0] += 1
        else:
            live[key] = [1, storage.nbytes()]
            total["now"] += storage.nbytes()
            total["peak"] = max(total["peak"], total["now"])
        packed = _Packed(tensor)
        weakref.finalize(packed, release, key)
        return packed

    def unpack(packed: _Packed) -> torch.Tensor:
        return packed.tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        result = fn()
    return result, total["peak"]


def _status_bytes(name: str) -> int | None:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024  # the kernel reports kB
    return None


def resident_peak(fn: Callable[[], object]) -> tuple[object, int | None]:
    """Run ``fn()``; return its result and the peak growth of resident memory (bytes) it caused.

    The approach of ``benchmarks/adjoint_memory.py``: reset the kernel's high-water mark of
    resident memory (write ``5`` to ``/proc/self/clear_refs``), note the resident size, run, and
    read the high-water mark ``VmHWM``. This sees *all* memory (temporaries too). The benchmark
    runs every case in a fresh process so that memory freed by earlier cases, but kept by the C
    allocator, cannot be reused unseen; in one process we instead ask glibc to give free memory
    back to the system first (``malloc_trim(0)``). Linux with glibc only: elsewhere the peak is
    ``None``.
    """
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name) if libc_name else None
        trim = libc.malloc_trim if libc is not None else None
        Path("/proc/self/clear_refs").write_text("5")
    except (OSError, AttributeError):
        return fn(), None
    trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _status_bytes("VmRSS")
    result = fn()
    peak = _status_bytes("VmHWM")
    if baseline is None or peak is None:
        return result, None
    return result, max(peak - baseline, 0)


GRADIENTS = ("adjoint", "backprop")


@dataclass
class BackwardCost:
    """Cost of one forward + backward pass.

    Attributes:
        gradient: ``"adjoint"`` or ``"backprop"``.
        steps: number of solver steps from ``t0`` to ``t1``.
        forward_seconds, backward_seconds: wall-clock time of the solve and of ``backward``.
        saved_bytes: :func:`saved_tensors_peak` of forward + backward.
        resident_bytes: :func:`resident_peak` of forward + backward (``None`` off Linux).
        forward_nfe, backward_nfe: evaluations of ``func`` in the forward solve and in the
            backward pass (the adjoint's reverse solve; for backprop, ``0``: it re-evaluates
            nothing, it walks back through the saved graph).
    """

    gradient: str
    steps: int
    forward_seconds: float
    backward_seconds: float
    saved_bytes: int
    resident_bytes: int | None
    forward_nfe: int
    backward_nfe: int


def backward_cost(
    func: nn.Module,
    z0: torch.Tensor,
    steps: int,
    *,
    gradient: str,
    method: str = "rk4",
    t1: float = 1.0,
    repeats: int = 1,
) -> BackwardCost:
    """Measure time and memory of ``loss = mean(z(t1)²)``, ``loss.backward()`` with fixed steps.

    ``steps`` equal steps of ``method`` from 0 to ``t1``; ``gradient`` chooses
    :func:`nodelib.odeint_adjoint` or backprop through :func:`nodelib.odeint`. Times are the
    best of ``repeats`` plain runs (the least disturbed by other programs); memory is measured in
    two more runs, one per measurement, since the hooks of :func:`saved_tensors_peak` slow a run
    down.
    """
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient={gradient!r} is unknown; valid: {list(GRADIENTS)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    solve = nodelib.odeint_adjoint if gradient == "adjoint" else nodelib.odeint
    t = torch.tensor([0.0, t1], dtype=z0.dtype)
    params = _params(func)

    def forward_backward(timings: dict | None = None):
        z0_leaf = z0.detach().clone().requires_grad_(True)
        start = time.perf_counter()
        z, stats = solve(func, z0_leaf, t, method=method, step_size=t1 / steps, return_stats=True)
        loss = z[-1].square().mean()
        middle = time.perf_counter()
        torch.autograd.grad(loss, (z0_leaf, *params))
        if timings is not None:
            timings["forward"], timings["backward"] = middle - start, time.perf_counter() - middle
        return stats

    best = {"forward": float("inf"), "backward": float("inf")}
    for _ in range(repeats):
        timings: dict = {}
        stats = forward_backward(timings)
        best = {key: min(best[key], timings[key]) for key in best}
    _, saved = saved_tensors_peak(forward_backward)
    _, resident = resident_peak(forward_backward)
    return BackwardCost(
        gradient=gradient,
        steps=steps,
        forward_seconds=best["forward"],
        backward_seconds=best["backward"],
        saved_bytes=saved,
        resident_bytes=resident,
        forward_nfe=stats.nfe,
        backward_nfe=stats.backward_nfe or 0,
    )


def cost_vs_steps(
    func: nn.Module,
    z0: torch.Tensor,
    steps_list,
    *,
    method: str = "rk4",
    repeats: int = 1,
    progress: bool = True,
) -> dict[str, list[BackwardCost]]:
    """:func:`backward_cost` of both gradients for every number of steps in ``steps_list``.

    Returns ``{"adjoint": [...], "backprop": [...]}``, each ordered like ``steps_list``. A
    warm-up pass first makes one-off allocations of the libraries, so they do not count.
    """
    from tqdm.auto import tqdm

    steps_list = _positive_int_list("steps_list", steps_list)
    for gradient in GRADIENTS:  # warm-up
        backward_cost(func, z0, 1, gradient=gradient, method=method)
    results: dict[str, list[BackwardCost]] = {g: [] for g in GRADIENTS}
    cases = [(steps, g) for steps in steps_list for g in GRADIENTS]
    for steps, gradient in tqdm(cases, desc="backward passes", disable=not progress):
        results[gradient].append(
            backward_cost(func, z0, steps, gradient=gradient, method=method, repeats=repeats)
        )
    return results


def cost_figure(results: dict[str, list[BackwardCost]]) -> go.Figure:
    """Two panels against the number of steps: peak memory (MiB) and backward time (s)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("peak memory of forward + backward", "time of the backward pass"),
    )
    colors = {"adjoint": ADJOINT_COLOR, "backprop": BACKPROP_COLOR}
    for gradient, costs in results.items():
        steps = [c.steps for c in costs]
        mib = 2**20
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=[c.saved_bytes / mib for c in costs],
                name=f"{gradient}: saved for backward",
                mode="lines+markers",
                line={"color": colors[gradient]},
            ),
            row=1,
            col=1,
        )
        if all(c.resident_bytes is not None for c in costs):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=[c.resident_bytes / mib for c in costs],
                    name=f"{gradient}: resident memory",
                    mode="lines+markers",
                    line={"color": colors[gradient], "dash": "dot"},
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=[c.backward_seconds for c in costs],
                name=f"{gradient}: backward time",
                mode="lines+markers",
                line={"color": colors[gradient], "dash": "dash"},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title="solver steps", type="log")
    fig.update_yaxes(title="MiB", type="log", row=1, col=1)
    fig.update_yaxes(title="seconds", type="log", row=1, col=2)
    fig.update_layout(title="Adjoint vs backprop through the solver: memory and time", height=430)
    return fig


# --------------------------------------------------------------------------- tolerance


@dataclass
class ToleranceStudy:
    """Gradient error and work against the solver tolerance (dopri5, ``atol = rtol / 100``).

    Attributes:
        rtols: the relative tolerances.
        adjoint_error, backprop_error: relative error of each gradient against a reference
            (backprop through dopri5 at ``reference_rtol``).
        adjoint_vs_backprop: relative difference of the two gradients at the same tolerance.
        reconstruction_error: ``‖z(t0) reconstructed by the reverse solve - z0‖ / ‖z0‖``.
        forward_nfe, backward_nfe: evaluations of ``func`` in the forward solve and in the
            adjoint's reverse solve (each backward evaluation also costs a vector–Jacobian
            product).
    """

    rtols: list[float]
    adjoint_error: list[float] = field(default_factory=list)
    backprop_error: list[float] = field(default_factory=list)
    adjoint_vs_backprop: list[float] = field(default_factory=list)
    reconstruction_error: list[float] = field(default_factory=list)
    forward_nfe: list[int] = field(default_factory=list)
    backward_nfe: list[int] = field(default_factory=list)


def _square_loss(z: torch.Tensor) -> torch.Tensor:
    return z.square().sum()


def tolerance_study(
    func: nn.Module,
    z0: torch.Tensor,
    t1: float,
    rtols,
    *,
    reference_rtol: float = 1e-11,
    loss_fn: Callable[[torch.Tensor], torch.Tensor] = _square_loss,
) -> ToleranceStudy:
    """Adjoint and backprop gradients of ``loss_fn(z(t1))`` with dopri5 at each ``rtol``.

    Use float64 (``func``, ``z0``) so that the reference is far more accurate than the cases.
    """
    rtols = [float(r) for r in rtols]
    if not rtols or any(not r > 0 for r in rtols):
        raise ValueError(f"rtols must be a non-empty list of positive tolerances, got {rtols!r}")
    t = torch.tensor([0.0, t1], dtype=z0.dtype)
    _, reference, _ = _loss_and_grads(
        func, z0, t, loss_fn, False, rtol=reference_rtol, atol=reference_rtol / 100
    )
    reference = _flat(reference)
    study = ToleranceStudy(rtols=rtols)
    for rtol in rtols:
        solver = {"method": "dopri5", "rtol": rtol, "atol": rtol / 100}
        _, adjoint, stats = _loss_and_grads(func, z0, t, loss_fn, True, **solver)
        _, backprop, _ = _loss_and_grads(func, z0, t, loss_fn, False, **solver)
        walk = algorithm_one(func, z0, 0.0, t1, loss_fn, **solver)
        study.adjoint_error.append(relative_error(_flat(adjoint), reference))
        study.backprop_error.append(relative_error(_flat(backprop), reference))
        study.adjoint_vs_backprop.append(relative_error(_flat(adjoint), _flat(backprop)))
        study.reconstruction_error.append(relative_error(walk.z0_reconstructed, z0))
        study.forward_nfe.append(stats.nfe)
        study.backward_nfe.append(stats.backward_nfe)
    return study


def tolerance_figure(study: ToleranceStudy) -> go.Figure:
    """Left: gradient errors against ``rtol``; right: forward and backward NFE against ``rtol``."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("gradient error", "function evaluations (NFE)")
    )
    lines = [
        (study.adjoint_error, "adjoint vs exact", ADJOINT_COLOR, "solid", 1),
        (study.backprop_error, "backprop vs exact", BACKPROP_COLOR, "solid", 1),
        (
            study.reconstruction_error,
            "adjoint: error of reconstructed z(t0)",
            ADJOINT_COLOR,
            "dot",
            1,
        ),
        (study.forward_nfe, "forward solve", BACKPROP_COLOR, "solid", 2),
        (study.backward_nfe, "adjoint reverse solve", ADJOINT_COLOR, "solid", 2),
    ]
    for values, name, color, dash, col in lines:
        fig.add_trace(
            go.Scatter(
                x=study.rtols,
                y=values,
                name=name,
                mode="lines+markers",
                line={"color": color, "dash": dash},
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(title="rtol (atol = rtol/100)", type="log", autorange="reversed")
    fig.update_yaxes(title="relative error", type="log", exponentformat="power", row=1, col=1)
    fig.update_yaxes(title="evaluations of f", type="log", row=1, col=2)
    fig.update_layout(title="Loose tolerances: cheaper solves, less accurate gradients", height=430)
    return fig


def _reverse_solve(func, z0, t1, rtol, n_points):
    """Forward solve, then Algorithm 1's reverse solve with ``n_points`` output times.

    The loss is ``sum(z(t1)²)``. Returns ``(times, z_forward, z_reverse, a_reverse, gradient)``:
    the trajectories on the same increasing times, each ``(n_points, *z0.shape)``, and the
    flattened gradient ``[∂L/∂z0, ∂L/∂θ]`` at the end of the reverse solve.
    """
    params = _params(func)
    solver = {"method": "dopri5", "rtol": rtol, "atol": rtol / 100}
    times = torch.linspace(0.0, t1, n_points, dtype=z0.dtype)
    n = z0.numel()
    with torch.no_grad():
        forward = nodelib.odeint(func, z0, times, **solver)
        zeros = torch.zeros(sum(p.numel() for p in params), dtype=z0.dtype)
        # ∂/∂z of sum(z²) is 2z
        s0 = torch.cat([forward[-1].reshape(-1), 2 * forward[-1].reshape(-1), zeros])
        s = nodelib.odeint(AugmentedDynamics(func, z0.shape, params), s0, times.flip(0), **solver)
    s = s.flip(0)  # increasing times again
    z_reverse = s[:, :n].reshape(n_points, *z0.shape)
    a_reverse = s[:, n : 2 * n].reshape(n_points, *z0.shape)
    gradient = torch.cat([s[0, n : 2 * n], s[0, 2 * n :]])
    return times, forward, z_reverse, a_reverse, gradient


def reconstruction(
    func: nn.Module, z0: torch.Tensor, t1: float, rtol: float, n_points: int = 41
) -> dict:
    """How far the adjoint's reverse solve at ``rtol`` is from the truth, along the way back.

    Runs Algorithm 1 (loss ``sum(z(t1)²)``, dopri5, ``atol = rtol / 100``) with ``n_points``
    output times, and once more at ``rtol = 1e-10`` as the reference. Returns

    - ``"t"``: ``(n_points,)`` increasing times;
    - ``"z_error"``: relative error of the reverse solve's ``z(t)`` against the reference
      forward solve, at each time;
    - ``"a_error"``: relative error of its adjoint ``a(t)`` against the reference adjoint;
    - ``"gradient_error"``: relative error of ``[∂L/∂z0, ∂L/∂θ]`` against the reference.
    """
    times, _, z_reverse, a_reverse, gradient = _reverse_solve(func, z0, t1, rtol, n_points)
    _, z_true, _, a_true, gradient_true = _reverse_solve(func, z0, t1, 1e-10, n_points)
    z_true = z_true.reshape(n_points, -1)
    a_true = a_true.reshape(n_points, -1)
    return {
        "t": times,
        "z_error": ((z_reverse.reshape(n_points, -1) - z_true).norm(dim=1) / z_true.norm(dim=1)),
        "a_error": ((a_reverse.reshape(n_points, -1) - a_true).norm(dim=1) / a_true.norm(dim=1)),
        "gradient_error": relative_error(gradient, gradient_true),
    }


def reconstruction_traces(result: dict) -> list[go.Scatter]:
    t = result["t"].tolist()
    return [
        go.Scatter(
            x=t,
            y=result["z_error"].tolist(),
            name="state z(t) recomputed backwards",
            mode="lines+markers",
            line={"color": BACKPROP_COLOR},
        ),
        go.Scatter(
            x=t,
            y=result["a_error"].tolist(),
            name="adjoint a(t)",
            mode="lines+markers",
            line={"color": ADJOINT_COLOR},
        ),
    ]


def reconstruction_layout(title: str) -> dict:
    return {
        "title": title,
        "xaxis": {"title": "t (the reverse solve runs from right to left)"},
        "yaxis": {
            "title": "relative error",
            "type": "log",
            "exponentformat": "power",
            "range": [-10, 7],
        },
        "height": 450,
    }


def reconstruction_slider_figure(func: nn.Module, z0: torch.Tensor, t1: float, rtols) -> go.Figure:
    """Static stand-in of :func:`tolerance_explorer`: one slider position per ``rtol``.

    Each frame draws the relative error of the reverse solve's ``z(t)`` and ``a(t)`` against
    ``t`` (see :func:`reconstruction`); the slider label gives the gradient's relative error.
    """
    results = [reconstruction(func, z0, t1, rtol) for rtol in rtols]
    labels = [
        f"{rtol:.0e} (gradient error {r['gradient_error']:.1e})"
        for rtol, r in zip(rtols, results, strict=True)
    ]
    return slider_figure(
        [reconstruction_traces(r) for r in results],
        labels,
        slider_label="rtol",
        layout=reconstruction_layout("Errors of the reverse solve along the way back"),
    )
