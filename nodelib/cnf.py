"""Continuous normalizing flows: a density carried by the flow of a neural ODE.

Home chapter: ``book/10_normalizing_flows.ipynb``. A point ``z(0)`` drawn from the base density
``p_0 = N(0, I)`` moves by ``dz/dt = f(t, z)`` until ``t1``; where it lands is a sample of the
model density ``p_1``. Along the way its log-density changes by the *instantaneous change of
variables* (Chen et al., 2018, theorem 1)::

    d log p_t(z(t)) / dt = -tr(∂f/∂z (t, z(t))).

So one ODE for the augmented state ``[z, ℓ]`` with dynamics ``[f, -tr(∂f/∂z)]``
(:class:`CNFDynamics`) gives both the map and its effect on the density. To evaluate ``log p_1``
at a data point ``x`` (:meth:`CNF.log_prob`), solve it *backwards* from ``[x, 0]`` at ``t1`` to
``t = 0``. Then ``z(0)`` is where ``x`` came from and, because ``ℓ`` and ``log p_t(z(t))`` obey
the same ODE, ``ℓ(0) - ℓ(t1) = log p_0(z(0)) - log p_1(x)``, that is::

    log p_1(x) = log N(z(0); 0, I) - ℓ(0).

The trace is computed exactly (2-D) or by Hutchinson's estimator (:mod:`nodelib.traces`). With
Hutchinson the noise is drawn once per solve and held fixed (:meth:`CNFDynamics.begin_solve`):
then the dynamics are an ordinary smooth ODE, and an adaptive solver can control its error.
Redrawing it at every evaluation (``noise="per_call"``, shown in the chapter as what goes
wrong) makes the right-hand side random, and the solver's error estimate sees that randomness.

Training maximises the log-likelihood of the data (:func:`train`); :func:`density_grid`
evaluates the learned density on a grid (it must integrate to about 1); the ``*_figure``
functions draw samples, densities and the morph from the Gaussian to the data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn
from tqdm.auto import tqdm

from nodelib.adjoint import odeint_adjoint
from nodelib.solvers import odeint
from nodelib.traces import NOISE_KINDS, draw_noise, exact_trace, hutchinson_trace

__all__ = [
    "TRACES",
    "NOISE_MODES",
    "TimeMLP",
    "LinearField",
    "CNFDynamics",
    "Solver",
    "CNF",
    "standard_normal_log_prob",
    "train",
    "TrainResult",
    "density_grid",
    "DensityGrid",
    "density_figure",
    "samples_figure",
    "morph_frames",
    "morph_figure",
    "loss_figure",
    "training_figure",
]

#: How :class:`CNFDynamics` computes ``tr(∂f/∂z)``.
TRACES = ("exact", "hutchinson")
#: When the Hutchinson noise is drawn: once per solve (right) or at every evaluation (wrong).
NOISE_MODES = ("fixed", "per_call")


# --------------------------------------------------------------------------- vector fields


class TimeMLP(nn.Module):
    """The vector field ``f(t, z)``: an MLP of ``(z, t)`` with tanh hidden layers.

    ``z: (batch, dim)`` and a 0-d ``t`` -> ``(batch, dim)``. Time enters as one more input
    column, so the field may change along the flow. The last layer starts at zero: the initial
    flow is the identity and the initial model density is the base ``N(0, I)``.
    """

    def __init__(self, dim: int = 2, hidden: int = 64, layers: int = 3):
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden), ("layers", layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        sizes = [dim + 1] + [hidden] * layers
        blocks: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            blocks += [nn.Linear(n_in, n_out), nn.Tanh()]
        last = nn.Linear(hidden, dim)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*blocks, last)
        self.dim = dim

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        time_column = t.to(z.dtype).expand(z.shape[0], 1)
        return self.net(torch.cat([z, time_column], dim=1))


class LinearField(nn.Module):
    """``f(t, z) = A z``: a flow with a closed form, for tests and exercises.

    Its time-``T`` map is ``z ↦ e^{TA} z``, so the base ``N(0, I)`` becomes
    ``N(0, e^{TA} e^{TAᵀ})`` and the log-density of every point drops by ``T tr(A)``.
    """

    def __init__(self, matrix: torch.Tensor):
        super().__init__()
        if not isinstance(matrix, torch.Tensor) or matrix.dim() != 2:
            raise ValueError(f"matrix must be a square 2-D tensor, got {matrix!r}")
        if matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"matrix must be square, got shape {tuple(matrix.shape)}")
        self.matrix = nn.Parameter(matrix.clone())
        self.dim = matrix.shape[0]

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return z @ self.matrix.T


# --------------------------------------------------------------------------- dynamics


class CNFDynamics(nn.Module):
    """The dynamics of the augmented state ``[z, ℓ]``, ``(batch, dim + 1)``: ``[f, -tr(∂f/∂z)]``.

    ``trace``: ``"exact"`` or ``"hutchinson"``. With Hutchinson, ``noise="fixed"`` uses the
    noise drawn by :meth:`begin_solve` for every evaluation of one solve; ``"per_call"`` draws
    new noise at every evaluation (a mistake, kept to show what it does). ``calls`` counts
    evaluations.
    """

    def __init__(
        self,
        field: nn.Module,
        trace: str = "exact",
        noise: str = "fixed",
        noise_kind: str = "rademacher",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if trace not in TRACES:
            raise ValueError(f"trace={trace!r} is unknown; valid traces are {list(TRACES)}")
        if noise not in NOISE_MODES:
            raise ValueError(f"noise={noise!r} is unknown; valid noise modes are {NOISE_MODES}")
        if noise_kind not in NOISE_KINDS:
            raise ValueError(f"noise_kind={noise_kind!r} is unknown; valid: {list(NOISE_KINDS)}")
        self.field = field
        self.trace, self.noise_mode, self.noise_kind = trace, noise, noise_kind
        self.generator = generator
        self.noise: torch.Tensor | None = None
        self.calls = 0

    def begin_solve(self, batch: int, dim: int, dtype: torch.dtype = torch.float32) -> None:
        """Draw the Hutchinson noise ``(batch, dim)`` that the next solve holds fixed."""
        self.noise = draw_noise((batch, dim), self.noise_kind, self.generator, dtype)

    def forward(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        z = state[:, :-1]

        def velocity(points: torch.Tensor) -> torch.Tensor:
            return self.field(t, points)

        if self.trace == "exact":
            dz_dt, trace = exact_trace(velocity, z)
        else:
            if self.noise_mode == "per_call" or self.noise is None:
                self.begin_solve(z.shape[0], z.shape[1], z.dtype)
            if self.noise.shape != z.shape:
                raise ValueError(
                    f"the Hutchinson noise has shape {tuple(self.noise.shape)} but the "
                    f"state's z has {tuple(z.shape)}; call begin_solve(batch, dim) first"
                )
            dz_dt, trace = hutchinson_trace(velocity, z, self.noise)
        return torch.cat([dz_dt, -trace[:, None]], dim=1)


# --------------------------------------------------------------------------- the flow


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` for every row of ``z: (batch, dim)``: ``(batch,)``, in nats."""
    dim = z.shape[1]
    return -0.5 * (z**2).sum(dim=1) - 0.5 * dim * math.log(2 * math.pi)


@dataclass
class Solver:
    """How a :class:`CNF` solves: nodelib's ``odeint`` settings, and adjoint or backprop."""

    method: str = "dopri5"
    rtol: float = 1e-5
    atol: float = 1e-5
    step_size: float | None = None
    adjoint: bool = False
    max_steps: int = 10_000

    def options(self) -> dict:
        return {
            "method": self.method,
            "rtol": self.rtol,
            "atol": self.atol,
            "step_size": self.step_size,
            "max_steps": self.max_steps,
        }


class CNF(nn.Module):
    """A continuous normalizing flow from ``N(0, I)`` at ``t = 0`` to the model density at ``t1``.

    ``field``: the vector field ``f(t, z)`` (a :class:`TimeMLP` by default). ``trace`` and the
    Hutchinson settings go to :class:`CNFDynamics`; ``solver`` says how to solve (default:
    dopri5 with ``rtol = atol = 1e-5``, gradients by backprop). ``last_stats`` holds the
    :class:`~nodelib.solvers.SolveStats` of the latest solve.
    """

    def __init__(
        self,
        field: nn.Module | None = None,
        *,
        t1: float = 1.0,
        trace: str = "exact",
        noise: str = "fixed",
        noise_kind: str = "rademacher",
        solver: Solver | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if not (isinstance(t1, int | float) and not isinstance(t1, bool) and t1 > 0):
            raise ValueError(f"t1 must be a positive number (the length of the flow), got {t1!r}")
        self.field = field if field is not None else TimeMLP()
        self.dim = self.field.dim
        self.t1 = float(t1)
        self.dynamics = CNFDynamics(self.field, trace, noise, noise_kind, generator)
        self.solver = solver if solver is not None else Solver()
        self.last_stats = None

    def _check_points(self, name: str, x) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.dim:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a (batch, {self.dim}) tensor of points, got {got}")
        if not x.is_floating_point() or not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} must hold finite floating point numbers")

    def _solve(self, state: torch.Tensor, times: list[float]) -> torch.Tensor:
        self.dynamics.begin_solve(state.shape[0], self.dim, state.dtype)
        t = torch.tensor(times, dtype=state.dtype)
        solve = odeint_adjoint if self.solver.adjoint else odeint
        solution, self.last_stats = solve(
            self.dynamics, state, t, return_stats=True, **self.solver.options()
        )
        return solution

    def log_prob(self, x: torch.Tensor, t: float | None = None) -> torch.Tensor:
        """``log p_t(x)`` for every row of ``x: (batch, dim)``, in nats: ``(batch,)``.

        ``t`` (default ``t1``): the time whose density to evaluate, ``0 < t <= t1``; the
        solve runs backwards from ``[x, 0]`` at ``t`` to ``0``.
        """
        self._check_points("x", x)
        t = self.t1 if t is None else float(t)
        if not 0 <= t <= self.t1:
            raise ValueError(f"t must lie in [0, t1={self.t1}], got {t}")
        if t == 0:
            return standard_normal_log_prob(x)
        state = torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)
        end = self._solve(state, [t, 0.0])[-1]
        z0, ell = end[:, :-1], end[:, -1]
        return standard_normal_log_prob(z0) - ell

    def flow(self, z0: torch.Tensor, times) -> tuple[torch.Tensor, torch.Tensor]:
        """Carry base points ``z0: (batch, dim)`` forward; return their positions
        ``(len(times), batch, dim)`` and log-densities ``(len(times), batch)`` at ``times``
        (increasing, starting at 0)."""
        self._check_points("z0", z0)
        times = [float(s) for s in times]
        if times[0] != 0.0:
            raise ValueError(f"times must start at 0 (the base density), got {times[0]}")
        logp0 = standard_normal_log_prob(z0)
        state = torch.cat([z0, logp0[:, None]], dim=1)  # here ℓ is log p itself
        solution = self._solve(state, times)
        return solution[..., :-1], solution[..., -1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, dim)`` samples of the model density: base samples carried to ``t1``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        z0 = torch.randn(n, self.dim, generator=generator)
        with torch.no_grad():
            return self.flow(z0, [0.0, self.t1])[0][-1]


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    """What :func:`train` returns: ``losses`` (negative log-likelihood per iteration, nats),
    ``nfe`` (function evaluations of the forward solve per iteration), ``seconds`` (training
    time, snapshots excluded) and ``snapshots`` (``(iterations done, DensityGrid)`` pairs)."""

    losses: list[float] = field(default_factory=list)
    nfe: list[int] = field(default_factory=list)
    seconds: float = 0.0
    snapshots: list[tuple[int, DensityGrid]] = field(default_factory=list)


def train(
    model: CNF,
    sampler: Callable[[int], torch.Tensor],
    *,
    iterations: int,
    batch_size: int = 256,
    lr: float = 5e-3,
    optimizer: torch.optim.Optimizer | None = None,
    result: TrainResult | None = None,
    progress: bool = False,
    callback: Callable[[int, TrainResult], bool | None] | None = None,
    snapshot_every: int | None = None,
    snapshot_points: int = 40,
) -> TrainResult:
    """Maximum likelihood: minimise ``-mean log p_1(x)`` over fresh batches ``x = sampler(n)``.

    Adam with learning rate ``lr`` (or the ``optimizer`` given, to continue training).
    ``result``: a :class:`TrainResult` to append to. ``callback(iteration, result)`` runs after
    every update; returning ``True`` stops training early. ``snapshot_every``: keep the
    density on a ``snapshot_points``² grid (:func:`density_grid`) before training and after
    every ``snapshot_every`` updates, in ``result.snapshots``. Returns the result.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative integer, got {iterations!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(lr, int | float) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if snapshot_every is not None and (
        isinstance(snapshot_every, bool)
        or not isinstance(snapshot_every, int)
        or snapshot_every < 1
    ):
        raise ValueError(
            f"snapshot_every must be a positive integer or None, got {snapshot_every!r}"
        )
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    result = result or TrainResult()
    done = len(result.losses)

    def snapshot():
        result.snapshots.append((len(result.losses), density_grid(model, points=snapshot_points)))

    if snapshot_every is not None and not result.snapshots:
        snapshot()
    seconds = 0.0
    start = time.perf_counter()
    steps = tqdm(range(iterations), desc="training the flow", disable=not progress)
    for iteration in steps:
        x = sampler(batch_size)
        optimizer.zero_grad()
        loss = -model.log_prob(x).mean()
        loss.backward()
        optimizer.step()
        result.losses.append(float(loss.detach()))
        result.nfe.append(model.last_stats.nfe)
        if progress:
            steps.set_postfix(nll=f"{result.losses[-1]:.3f}")
        if snapshot_every is not None and (len(result.losses) - done) % snapshot_every == 0:
            seconds += time.perf_counter() - start
            snapshot()
            start = time.perf_counter()
        if callback is not None and callback(iteration, result):
            break
    result.seconds += seconds + time.perf_counter() - start
    return result


# --------------------------------------------------------------------------- densities on a grid


@dataclass
class DensityGrid:
    """The model density on a square grid: ``xs`` (n,) cell centres (the same on both axes),
    ``density`` (n, n) with ``density[i, j] = p(xs[j], xs[i])`` (rows are y, as plotly's
    heatmaps want), ``cell_area`` and ``integral`` (the sum of density × cell area)."""

    xs: np.ndarray
    density: np.ndarray
    cell_area: float
    integral: float


def density_grid(
    model: CNF, *, extent: float = 4.0, points: int = 60, t: float | None = None
) -> DensityGrid:
    """``p_t`` (default ``t = t1``) at the centres of ``points × points`` square cells covering
    ``[-extent, extent]²``; the midpoint rule gives its integral over the square."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    if not (isinstance(extent, int | float) and extent > 0):
        raise ValueError(f"extent must be a positive number, got {extent!r}")
    width = 2 * extent / points
    xs = -extent + width * (np.arange(points) + 0.5)
    grid_y, grid_x = np.meshgrid(xs, xs, indexing="ij")
    x = torch.tensor(np.stack([grid_x.ravel(), grid_y.ravel()], axis=1), dtype=torch.float32)
    with torch.no_grad():
        density = model.log_prob(x, t).exp().reshape(points, points).double().numpy()
    return DensityGrid(xs, density, width**2, float(density.sum() * width**2))


# --------------------------------------------------------------------------- figures

_SQUARE = {"scaleanchor": "x", "scaleratio": 1}


def _panels(names: list[str], title: str):
    """Square panels, one per name: one row of up to three, else rows of two."""
    from plotly.subplots import make_subplots

    cols = len(names) if len(names) <= 3 else 2
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names)
    fig.update_layout(title=title, height=40 + 340 * rows, margin={"t": 80})
    places = [(1 + k // cols, 1 + k % cols) for k in range(len(names))]
    for k, (row, col) in enumerate(places):
        # each panel square: the axes shrink inside their cell instead of stretching the range
        fig.update_xaxes(constrain="domain", row=row, col=col)
        fig.update_yaxes(scaleanchor=f"x{k + 1 if k else ''}", constrain="domain", row=row, col=col)
    return fig, places


def density_figure(grids: dict[str, DensityGrid], title: str) -> go.Figure:
    """Heatmaps of densities side by side, one per entry of ``grids`` (name -> grid)."""
    fig, places = _panels(list(grids), title)
    for k, ((row, col), grid) in enumerate(zip(places, grids.values(), strict=True)):
        fig.add_trace(
            go.Heatmap(
                x=grid.xs,
                y=grid.xs,
                z=grid.density,
                colorscale="Viridis",
                showscale=k == 0,
                colorbar={"title": "density"},
                hovertemplate="x %{x:.2f}, y %{y:.2f}: %{z:.3f}",
            ),  # fmt: skip
            row=row,
            col=col,
        )
    return fig


def samples_figure(samples: dict[str, torch.Tensor], title: str, extent: float = 4.0) -> go.Figure:
    """Scatter plots of point clouds side by side (name -> ``(n, 2)`` tensor)."""
    fig, places = _panels(list(samples), title)
    for (row, col), points in zip(places, samples.values(), strict=True):
        points = points.detach().numpy()
        fig.add_trace(
            go.Scatter(
                x=points[:, 0],
                y=points[:, 1],
                mode="markers",
                marker={"size": 2, "opacity": 0.5},
                showlegend=False,
            ),  # fmt: skip
            row=row,
            col=col,
        )
        fig.update_xaxes(range=[-extent, extent], row=row, col=col)
        fig.update_yaxes(range=[-extent, extent], row=row, col=col)
    return fig


def morph_frames(
    model: CNF, times, *, n_samples: int = 1000, points: int = 50, extent: float = 4.0, seed=0
) -> list[list[go.BaseTraceType]]:
    """For each time in ``times`` (increasing, from 0): the heatmap of ``p_t`` and the cloud of
    base samples carried to ``t``. Traces of :func:`morph_figure`."""
    times = [float(s) for s in times]
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        positions, _ = model.flow(torch.randn(n_samples, model.dim, generator=generator), times)
    frames = []
    for k, t in enumerate(times):
        grid = density_grid(model, extent=extent, points=points, t=t)
        cloud = positions[k].numpy()
        frames.append(
            [
                go.Heatmap(
                    x=grid.xs,
                    y=grid.xs,
                    z=grid.density,
                    colorscale="Viridis",
                    zmin=0,
                    colorbar={"title": "p_t"},
                    hovertemplate="x %{x:.2f}, y %{y:.2f}: %{z:.3f}",
                ),  # fmt: skip
                go.Scatter(
                    x=cloud[:, 0],
                    y=cloud[:, 1],
                    mode="markers",
                    name="samples z(t)",
                    marker={"size": 2, "color": "white", "opacity": 0.6},
                ),  # fmt: skip
            ]
        )
    return frames


def morph_layout(title: str, extent: float = 4.0) -> dict:
    """The layout of the morph figure: square axes over ``[-extent, extent]²``."""
    return {
        "title": title,
        "xaxis": {"range": [-extent, extent], "title": "z₁", "constrain": "domain"},
        "yaxis": {"range": [-extent, extent], "title": "z₂", "constrain": "domain", **_SQUARE},
        "height": 560,
        "showlegend": False,
    }


def morph_figure(model: CNF, times, title: str, **kwargs) -> go.Figure:
    """The Gaussian flowing into the model density: a slider (and Play) over ``times``."""
    from nodelib.viz import slider_figure

    frames = morph_frames(model, times, **kwargs)
    extent = kwargs.get("extent", 4.0)
    return slider_figure(
        frames,
        [f"{t:.2f}" for t in times],
        slider_label="time t",
        layout=morph_layout(title, extent),
        play_button=True,
    )


def loss_figure(results: dict[str, TrainResult], title: str) -> go.Figure:
    """Training loss (negative log-likelihood, nats) per iteration, one line per run."""
    fig = go.Figure()
    for name, result in results.items():
        fig.add_trace(go.Scatter(y=result.losses, mode="lines", name=name))
    fig.update_layout(
        title=title, xaxis_title="iteration", yaxis_title="negative log-likelihood (nats)"
    )
    return fig


def training_figure(result: TrainResult, title: str) -> go.Figure:
    """The density after each snapshot of ``result`` (see :func:`train`), on a slider."""
    from nodelib.viz import slider_figure

    if not result.snapshots:
        raise ValueError("result has no snapshots; train with snapshot_every=...")
    peak = max(float(grid.density.max()) for _, grid in result.snapshots)
    frames = [
        [
            go.Heatmap(
                x=grid.xs,
                y=grid.xs,
                z=grid.density,
                colorscale="Viridis",
                zmin=0,
                zmax=peak,
                colorbar={"title": "density"},
                hovertemplate="x %{x:.2f}, y %{y:.2f}: %{z:.3f}",
            )  # fmt: skip
        ]
        for _, grid in result.snapshots
    ]
    xs = result.snapshots[0][1].xs
    extent = float(
        xs[-1] + (xs[1] - xs[0]) / 2
    )  # the grid's edge: half a cell past the last centre
    return slider_figure(
        frames,
        [str(iteration) for iteration, _ in result.snapshots],
        slider_label="iterations",
        layout=morph_layout(title, extent),
        play_button=True,
    )
