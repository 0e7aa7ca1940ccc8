"""The spiral lab: learn a two-dimensional linear system with a neural ODE.

Home chapter: ``book/07_spiral_lab.ipynb``. The experiment follows the source
review (section 4.3.2), which follows torchdiffeq's demo:

- the true system ``dy/dt = A y`` with ``A = [[-0.1, 2], [-2, -0.1]]``, started at
  ``(2, 0)`` and sampled 500 times on ``t in [0, 25]`` (a decaying spiral);
- the model: ``dy/dt = f_theta(y)``, an MLP 2-50-2 with tanh;
- training: start the model at a sample, integrate over a short *window* of
  consecutive sample times, compare with the samples (MSE), update ``theta``;
- evaluation: integrate the model from ``(2, 0)`` over all 500 sample times and
  take the MSE against the samples (the *whole-trajectory MSE*).

One class, :class:`SpiralTrainer`, runs both protocols of the chapter and the
live widget: :func:`source_protocol` (RMSprop, adjoint, torchdiffeq - as the
source did) and :func:`course_protocol` (Adam, backprop through a fixed-step
solver, a window curriculum - the course's faster recipe).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn
from torch.nn import functional as F

from nodelib.viz import OKABE_ITO

#: The true system matrix (column convention: ``dy/dt = A @ y``).
TRUE_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
#: The initial state ``(x0, y0)``.
Y0 = (2.0, 0.0)
#: The last sample time and the number of samples of the source.
T_END = 25.0
N_SAMPLES = 500

#: The source's reported results (seconds for 150 iterations, whole-trajectory MSE).
SOURCE_REPORTED = {
    "euler": {"seconds": 13.43, "mse": 0.0183},
    "rk4": {"seconds": 12.95, "mse": 0.0173},
    "dopri5": {"seconds": 39.06, "mse": 0.0167},
}

SOLVERS = ("euler", "midpoint", "rk4", "dopri5")
FIXED_STEP_SOLVERS = ("euler", "midpoint", "rk4")
GRADIENTS = ("backprop", "adjoint")
OPTIMISERS = ("adam", "rmsprop", "sgd")
BACKENDS = ("nodelib", "torchdiffeq")
KINDS = ("linear", "cubic")


# --------------------------------------------------------------------------- data


def true_dynamics(t: torch.Tensor, y: torch.Tensor, kind: str = "linear") -> torch.Tensor:
    """The true right-hand side. ``y: (..., 2)`` -> ``dy/dt: (..., 2)``.

    ``linear``: ``dy/dt = A y``. ``cubic``: torchdiffeq's non-linear variant
    ``dy/dt = y**3 A``, where the row vector ``y**3`` (cubed entry by entry)
    multiplies ``A`` from the left.
    """
    a = TRUE_A.to(y.dtype)
    if kind == "linear":
        return y @ a.T
    if kind == "cubic":
        return y**3 @ a
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


@dataclass
class SpiralData:
    """Samples of a true trajectory.

    ``t: (n,)`` sample times (time units, increasing), ``y: (n, 2)`` the states
    ``(x, y)`` at those times (float32), ``kind`` the true system.
    """

    t: torch.Tensor
    y: torch.Tensor
    kind: str = "linear"

    @property
    def y0(self) -> torch.Tensor:
        """The initial state, ``(2,)``."""
        return self.y[0]


def _odeint(func, y0, t, *, method, rtol, atol, step_size=None, backend="nodelib"):
    """Solve with the course's solvers (``nodelib``) or with torchdiffeq's.

    Falls back to torchdiffeq if ``nodelib.odeint`` is not importable, so the
    lab keeps working in a checkout without the numerics chapters.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    options = {"step_size": step_size} if step_size is not None else None
    if backend == "nodelib":
        try:
            from nodelib import odeint as nodelib_odeint
        except ImportError:
            nodelib_odeint = None
        if nodelib_odeint is not None:
            return nodelib_odeint(
                func, y0, t, method=method, rtol=rtol, atol=atol, step_size=step_size
            )
    import torchdiffeq

    return torchdiffeq.odeint(func, y0, t, method=method, rtol=rtol, atol=atol, options=options)


def _odeint_adjoint(func, y0, t, *, method, rtol, atol, step_size=None, backend="nodelib"):
    """The adjoint counterpart of :func:`_odeint` (gradients by a backward solve)."""
    options = {"step_size": step_size} if step_size is not None else None
    if backend == "nodelib":
        try:
            from nodelib import odeint_adjoint as nodelib_adjoint
        except ImportError:
            nodelib_adjoint = None
        if nodelib_adjoint is not None:
            return nodelib_adjoint(
                func, y0, t, method=method, rtol=rtol, atol=atol, step_size=step_size
            )
    import torchdiffeq

    return torchdiffeq.odeint_adjoint(
        func, y0, t, method=method, rtol=rtol, atol=atol, options=options
    )


def make_data(
    kind: str = "linear", n_samples: int = N_SAMPLES, t_end: float = T_END, backend="nodelib"
) -> SpiralData:
    """Sample the true trajectory from ``(2, 0)``: dopri5 at rtol 1e-10, atol 1e-12, in float64.

    The tight solve takes a few seconds, so results are cached; each call returns copies.
    """
    cached = _make_data_cached(kind, n_samples, float(t_end), backend)
    return SpiralData(t=cached.t.clone(), y=cached.y.clone(), kind=kind)


@functools.lru_cache(maxsize=8)
def _make_data_cached(kind: str, n_samples: int, t_end: float, backend: str) -> SpiralData:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    t = torch.linspace(0.0, t_end, n_samples, dtype=torch.float64)
    y0 = torch.tensor(Y0, dtype=torch.float64)
    with torch.no_grad(), single_thread():
        y = _odeint(
            lambda s, v: true_dynamics(s, v, kind),
            y0,
            t,
            method="dopri5",
            rtol=1e-10,
            atol=1e-12,
            backend=backend,
        )
    return SpiralData(t=t.float(), y=y.float(), kind=kind)


def exact_linear_solution(t: torch.Tensor) -> torch.Tensor:
    """The closed form of the linear system from ``(2, 0)``: ``2 e^{-0.1 t} (cos 2t, -sin 2t)``.

    ``t: (n,)`` -> ``(n, 2)``. Used to check :func:`make_data`.
    """
    decay = 2.0 * torch.exp(-0.1 * t)
    return torch.stack([decay * torch.cos(2 * t), -decay * torch.sin(2 * t)], dim=-1)


@contextlib.contextmanager
def single_thread():
    """Run the enclosed code with one torch CPU thread, then restore the setting.

    The lab's tensors are tiny (at most 500 x 50): splitting their arithmetic
    between threads costs more than it saves, and on a busy machine waiting
    threads can slow training by an order of magnitude.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- model


class SpiralODEFunc(nn.Module):
    """``f_theta(t, y)``: the MLP 2-50-2 with tanh that models ``dy/dt``.

    Weights start as N(0, 0.1), biases at zero (as in the source), so the first
    field is small: the initial prediction barely moves from ``(2, 0)``.
    ``nfe`` counts calls (function evaluations), forward and backward solves alike.
    """

    def __init__(self, hidden: int = 50):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, mean=0.0, std=0.1)
                nn.init.zeros_(layer.bias)
        self.nfe = 0

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``y: (..., 2)`` -> ``dy/dt: (..., 2)``; ``t`` is ignored (autonomous system)."""
        self.nfe += 1
        # The same arithmetic as ``self.net(y)``, called directly: a solve makes thousands of
        # calls on tiny tensors, and nn.Module's per-call bookkeeping would double their cost.
        hidden, _, output = self.net
        features = torch.tanh(F.linear(y, hidden.weight, hidden.bias))  # (..., hidden)
        return F.linear(features, output.weight, output.bias)


def make_model(seed: int = 0) -> SpiralODEFunc:
    """A freshly initialised :class:`SpiralODEFunc`, the same for the same ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return SpiralODEFunc()


# --------------------------------------------------------------------------- windows


def all_windows(data: SpiralData, length: int):
    """Every window of ``length`` consecutive samples.

    Returns ``(y0, t, y)``: starts ``(M, 2)``, window times ``(length,)`` from 0,
    targets ``(length, M, 2)``, with ``M = n - length + 1``.
    """
    n = len(data.t)
    if not 2 <= length <= n:
        raise ValueError(f"length must be between 2 and {n} samples, got {length}")
    starts = torch.arange(0, n - length + 1)
    return _gather(data, starts, length)


def sample_windows(
    data: SpiralData, n_windows: int = 16, length: int = 10, generator=None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n_windows`` random windows of ``length`` consecutive samples (the source's mini-batch).

    Returns ``(y0, t, y)``: ``(n_windows, 2)``, ``(length,)``, ``(length, n_windows, 2)``.
    """
    n = len(data.t)
    if not 2 <= length <= n:
        raise ValueError(f"length must be between 2 and {n} samples, got {length}")
    if n_windows < 1:
        raise ValueError(f"n_windows must be at least 1, got {n_windows}")
    starts = torch.randint(0, n - length + 1, (n_windows,), generator=generator)
    return _gather(data, starts, length)


def _gather(data: SpiralData, starts: torch.Tensor, length: int):
    offsets = torch.arange(length)
    targets = data.y[starts[None, :] + offsets[:, None]]  # (length, M, 2)
    times = data.t[:length] - data.t[0]
    return data.y[starts], times, targets


# --------------------------------------------------------------------------- training


@dataclass
class Snapshot:
    """The model's whole predicted trajectory ``(n, 2)`` after ``iteration`` updates."""

    iteration: int
    prediction: np.ndarray
    mse: float


@dataclass
class TrainResult:
    """What a protocol returns: seconds of training (evaluations for stopping included),
    final whole-trajectory ``mse``, ``iterations`` run, the per-iteration ``losses``,
    function evaluations ``nfe`` and optional ``snapshots``."""

    solver: str
    seconds: float
    mse: float
    iterations: int
    losses: list[float]
    nfe: int
    model: SpiralODEFunc
    snapshots: list[Snapshot] = field(default_factory=list)


class SpiralTrainer:
    """One training run, advanced an iteration at a time by :meth:`step`.

    Settings (all attributes can be changed between steps):

    - ``solver``: one of ``euler``, ``midpoint``, ``rk4``, ``dopri5``;
    - ``step_size``: the fixed step (time units) of euler/midpoint/rk4; ``None`` steps
      from sample to sample (0.05 time units);
    - ``rtol``, ``atol``: dopri5's tolerances;
    - ``gradient``: ``backprop`` (through the solver's operations) or ``adjoint``;
    - ``optimiser`` (``adam``, ``rmsprop``, ``sgd``) and ``lr``;
    - ``window``: samples per training window; ``n_windows``: windows per
      mini-batch (``None``: all of them, a full batch);
    - ``backend``: ``nodelib`` (the course's solvers) or ``torchdiffeq``.
    """

    def __init__(
        self,
        data: SpiralData,
        *,
        solver: str = "rk4",
        step_size: float | None = None,
        rtol: float = 1e-7,
        atol: float = 1e-9,
        gradient: str = "backprop",
        optimiser: str = "adam",
        lr: float = 1e-2,
        window: int = 10,
        n_windows: int | None = 16,
        backend: str = "nodelib",
        seed: int = 0,
    ):
        _check_choice("solver", solver, SOLVERS)
        _check_choice("gradient", gradient, GRADIENTS)
        _check_choice("optimiser", optimiser, OPTIMISERS)
        _check_choice("backend", backend, BACKENDS)
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.data = data
        self.solver, self.step_size, self.rtol, self.atol = solver, step_size, rtol, atol
        self.gradient, self.backend = gradient, backend
        self.window, self.n_windows = window, n_windows
        self.seed = seed
        self.model = make_model(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.iteration = 0
        self.losses: list[float] = []
        self.training_nfe = 0  # evaluations in step() only; predictions are not counted
        self._window_cache: dict[int, tuple] = {}
        self.set_optimiser(optimiser, lr)

    def set_optimiser(self, optimiser: str, lr: float) -> None:
        """Start a new optimiser (its running averages are lost) on the current model."""
        _check_choice("optimiser", optimiser, OPTIMISERS)
        make = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
        self.optimiser_name, self.lr = optimiser, lr
        self.optimiser = make[optimiser](self.model.parameters(), lr=lr)

    @property
    def nfe(self) -> int:
        """Function evaluations so far (forward and backward solves, predictions included);
        ``training_nfe`` counts those of the training steps alone."""
        return self.model.nfe

    def _solve(self, y0, t, *, adjoint: bool):
        kwargs = dict(method=self.solver, rtol=self.rtol, atol=self.atol, backend=self.backend)
        if self.solver in FIXED_STEP_SOLVERS:
            kwargs["step_size"] = self.step_size
        if adjoint:
            return _odeint_adjoint(self.model, y0, t, **kwargs)
        return _odeint(self.model, y0, t, **kwargs)

    def batch(self):
        """The next mini-batch ``(y0, t, y)`` (see :func:`sample_windows`)."""
        if self.n_windows is None:
            if self.window not in self._window_cache:
                self._window_cache[self.window] = all_windows(self.data, self.window)
            return self._window_cache[self.window]
        return sample_windows(self.data, self.n_windows, self.window, self.generator)

    def step(self) -> float:
        """One optimiser update on one mini-batch; returns the window MSE before the update."""
        y0, t, target = self.batch()
        nfe_before = self.model.nfe
        with single_thread():
            self.optimiser.zero_grad()
            prediction = self._solve(y0, t, adjoint=self.gradient == "adjoint")
            loss = torch.mean((prediction - target) ** 2)
            loss.backward()
            self.optimiser.step()
        self.training_nfe += self.model.nfe - nfe_before
        self.iteration += 1
        self.losses.append(loss.item())
        return self.losses[-1]

    def predict(self, t: torch.Tensor | None = None) -> torch.Tensor:
        """The model's trajectory from ``(2, 0)`` at times ``t`` (default: samples), ``(n, 2)``."""
        t = self.data.t if t is None else t
        with torch.no_grad(), single_thread():
            return self._solve(self.data.y0, t, adjoint=False)

    def trajectory_mse(self) -> float:
        """Whole-trajectory MSE against all samples (the source's error measure)."""
        return float(torch.mean((self.predict() - self.data.y) ** 2))

    def snapshot(self) -> Snapshot:
        prediction = self.predict()
        mse = float(torch.mean((prediction - self.data.y) ** 2))
        return Snapshot(self.iteration, prediction.numpy().copy(), mse)


def _check_choice(name: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {tuple(valid)}, got {value!r}")


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, leave=False)


def source_protocol(
    data: SpiralData,
    solver: str,
    *,
    iterations: int = 150,
    seed: int = 0,
    snapshot_every: int | None = None,
    progress: bool = False,
) -> TrainResult:
    """The source's protocol: RMSprop (lr 1e-3), 16 random windows of 10 samples,
    adjoint gradients (rtol 1e-7, atol 1e-9), torchdiffeq's solvers.

    ``seconds`` times the ``iterations`` updates only (snapshots excluded); ``mse``
    is measured once at the end.
    """
    trainer = SpiralTrainer(
        data,
        solver=solver,
        rtol=1e-7,
        atol=1e-9,
        gradient="adjoint",
        optimiser="rmsprop",
        lr=1e-3,
        window=10,
        n_windows=16,
        backend="torchdiffeq",
        seed=seed,
    )
    with single_thread():
        snapshots = [trainer.snapshot()] if snapshot_every else []
        seconds = 0.0
        for _ in _progress(range(iterations), progress, f"source protocol, {solver}"):
            start = time.perf_counter()
            trainer.step()
            seconds += time.perf_counter() - start
            if snapshot_every and trainer.iteration % snapshot_every == 0:
                snapshots.append(trainer.snapshot())
        mse = trainer.trajectory_mse()
    return TrainResult(
        solver=solver,
        seconds=seconds,
        mse=mse,
        iterations=trainer.iteration,
        losses=trainer.losses,
        nfe=trainer.nfe,
        model=trainer.model,
        snapshots=snapshots,
    )


@dataclass
class CourseProtocol:
    """The course's recipe; each choice is measured in chapter 7.

    - ``solver`` euler, stepping from sample to sample, ``gradient`` backprop: the
      cheapest exact gradient of what is evaluated;
    - Adam with ``lr`` 0.1: the field must grow from ~0 to entries of size 2;
    - every window at once (``n_windows=None``): a full, noise-free batch;
    - ``curriculum``: ``(first_iteration, window)`` pairs - short windows first
      (a cheap fit of the local field), longer ones later (they punish phase drift);
    - stop when the whole-trajectory MSE, checked every ``check_every`` updates,
      reaches ``target_mse`` (or after ``max_iterations``).
    """

    solver: str = "euler"
    gradient: str = "backprop"
    optimiser: str = "adam"
    lr: float = 0.1
    n_windows: int | None = None
    curriculum: tuple[tuple[int, int], ...] = ((0, 2), (150, 5))
    check_every: int = 25
    target_mse: float = 1e-3
    max_iterations: int = 1000

    def window_at(self, iteration: int) -> int:
        """The window length the curriculum prescribes at ``iteration``."""
        window = self.curriculum[0][1]
        for first, length in self.curriculum:
            if iteration >= first:
                window = length
        return window


def course_protocol(
    data: SpiralData,
    protocol: CourseProtocol | None = None,
    *,
    seed: int = 0,
    backend: str = "nodelib",
    snapshot_every: int | None = None,
    stop_at_target: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Train with :class:`CourseProtocol`; ``seconds`` includes the stopping checks."""
    protocol = protocol or CourseProtocol()
    trainer = SpiralTrainer(
        data,
        solver=protocol.solver,
        gradient=protocol.gradient,
        optimiser=protocol.optimiser,
        lr=protocol.lr,
        window=protocol.window_at(0),
        n_windows=protocol.n_windows,
        backend=backend,
        seed=seed,
    )
    with single_thread():
        snapshots = [trainer.snapshot()] if snapshot_every else []
        seconds, mse = 0.0, float("nan")
        for _ in _progress(range(protocol.max_iterations), progress, "course protocol"):
            start = time.perf_counter()
            trainer.window = protocol.window_at(trainer.iteration)
            trainer.step()
            if trainer.iteration % protocol.check_every == 0:
                mse = trainer.trajectory_mse()
            seconds += time.perf_counter() - start
            if snapshot_every and trainer.iteration % snapshot_every == 0:
                snapshots.append(trainer.snapshot())
            if stop_at_target and trainer.iteration % protocol.check_every == 0:
                if mse <= protocol.target_mse:
                    break
        mse = trainer.trajectory_mse()
    return TrainResult(
        solver=protocol.solver,
        seconds=seconds,
        mse=mse,
        iterations=trainer.iteration,
        losses=trainer.losses,
        nfe=trainer.nfe,
        model=trainer.model,
        snapshots=snapshots,
    )


def trajectory(
    model: SpiralODEFunc,
    t: torch.Tensor,
    *,
    solver: str = "euler",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    backend: str = "nodelib",
) -> torch.Tensor:
    """The model's trajectory from ``(2, 0)`` at times ``t: (n,)`` (e.g. beyond 25), ``(n, 2)``.

    Fixed-step solvers step from one time of ``t`` to the next.
    """
    y0 = torch.tensor(Y0)
    with torch.no_grad(), single_thread():
        return _odeint(model, y0, t, method=solver, rtol=rtol, atol=atol, backend=backend)


def seconds_per_iteration(data: SpiralData, iterations: int = 20, **settings) -> float:
    """Mean wall time of one :meth:`SpiralTrainer.step` with ``settings`` (after one warm-up)."""
    trainer = SpiralTrainer(data, **settings)
    with single_thread():
        trainer.step()
        start = time.perf_counter()
        for _ in range(iterations):
            trainer.step()
        return (time.perf_counter() - start) / iterations


def window_gradient(data: SpiralData, **settings) -> torch.Tensor:
    """The gradient of the window loss of a fresh model on one batch, flattened ``(p,)``."""
    trainer = SpiralTrainer(data, **settings)
    y0, t, target = trainer.batch()
    with single_thread():
        prediction = trainer._solve(y0, t, adjoint=trainer.gradient == "adjoint")
        torch.mean((prediction - target) ** 2).backward()
    return torch.cat([p.grad.reshape(-1) for p in trainer.model.parameters()])


# --------------------------------------------------------------------------- figures


def vector_field(
    func: Callable[[torch.Tensor], torch.Tensor], lim: float = 2.2, n: int = 15
) -> tuple[np.ndarray, ...]:
    """A field sampled on an ``n x n`` grid of ``[-lim, lim]^2``.

    ``func: (m, 2) -> (m, 2)``. Returns ``X, Y, U, V``, each ``(n, n)``.
    """
    axis = torch.linspace(-lim, lim, n)
    grid_x, grid_y = torch.meshgrid(axis, axis, indexing="xy")
    points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=-1)
    with torch.no_grad():
        uv = func(points)
    u, v = uv[:, 0].reshape(n, n), uv[:, 1].reshape(n, n)
    return grid_x.numpy(), grid_y.numpy(), u.numpy(), v.numpy()


def learned_field(model: SpiralODEFunc) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model as a plain ``(m, 2) -> (m, 2)`` function (without counting evaluations)."""
    return lambda points: model.net(points)


def true_field(kind: str = "linear") -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda points: true_dynamics(None, points, kind)


def _arrows(x, y, u, v, scale: float, name: str, color: str) -> go.Scatter:
    """Arrows as line segments with a marker head, normalised to a common length ``scale``."""
    length = np.sqrt(u**2 + v**2) + 1e-12
    u, v = u / length * scale, v / length * scale
    xs, ys = [], []
    for x0, y0, du, dv in zip(x.ravel(), y.ravel(), u.ravel(), v.ravel(), strict=True):
        xs += [x0, x0 + du, None]
        ys += [y0, y0 + dv, None]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines+markers",
        name=name,
        line={"color": color, "width": 1.5},
        marker={"symbol": "arrow", "angleref": "previous", "size": 7, "color": color},
    )


def vector_field_figure(model: SpiralODEFunc, data: SpiralData, lim: float = 2.2, n: int = 13):
    """Directions of the true (grey) and learned (red) fields, with the samples."""
    step = 2 * lim / (n - 1) * 0.45
    fig = go.Figure()
    fig.add_trace(_arrows(*vector_field(true_field(data.kind), lim, n), step, "true field", "#888"))
    fig.add_trace(
        _arrows(
            *vector_field(learned_field(model), lim, n), step, "learned", OKABE_ITO["vermillion"]
        )
    )
    fig.add_trace(
        go.Scatter(
            x=data.y[:, 0].numpy(),
            y=data.y[:, 1].numpy(),
            mode="markers",
            name="samples",
            marker={"size": 3, "color": OKABE_ITO["blue"]},
        )
    )
    fig.update_layout(
        title="True and learned vector fields (arrow directions)",
        xaxis={"title": "x", "range": [-lim - 0.2, lim + 0.2]},
        yaxis={"title": "y", "scaleanchor": "x", "range": [-lim - 0.2, lim + 0.2]},
        height=520,
        width=560,
    )
    return fig


def field_error(model: SpiralODEFunc, kind: str = "linear", lim: float = 2.0, n: int = 41):
    """Median relative error ``|f_theta - f| / |f|`` of the learned field on ``[-lim, lim]^2``."""
    _, _, u, v = vector_field(true_field(kind), lim, n)
    _, _, lu, lv = vector_field(learned_field(model), lim, n)
    error = np.sqrt((lu - u) ** 2 + (lv - v) ** 2) / (np.sqrt(u**2 + v**2) + 1e-12)
    return float(np.median(error))


def fit_traces(data: SpiralData, prediction, name: str, color: str, show_samples: bool = True):
    """Traces for a phase portrait (subplot 1) and x(t), y(t) (subplot 2)."""
    prediction = np.asarray(prediction)
    t, samples = data.t.numpy(), data.y.numpy()
    traces = []
    if show_samples:
        traces += [
            go.Scatter(
                x=samples[:, 0],
                y=samples[:, 1],
                mode="markers",
                marker={"size": 3, "color": OKABE_ITO["blue"]},
                name="samples",
            ),
            go.Scatter(
                x=t,
                y=samples[:, 0],
                mode="markers",
                marker={"size": 2, "color": OKABE_ITO["blue"]},
                showlegend=False,
                xaxis="x2",
                yaxis="y2",
            ),
            go.Scatter(
                x=t,
                y=samples[:, 1],
                mode="markers",
                marker={"size": 2, "color": OKABE_ITO["sky blue"]},
                showlegend=False,
                xaxis="x2",
                yaxis="y2",
            ),
        ]
    traces += [
        go.Scatter(
            x=prediction[:, 0], y=prediction[:, 1], mode="lines", name=name, line={"color": color}
        ),
        go.Scatter(
            x=t[: len(prediction)],
            y=prediction[:, 0],
            mode="lines",
            line={"color": color},
            showlegend=False,
            xaxis="x2",
            yaxis="y2",
        ),
        go.Scatter(
            x=t[: len(prediction)],
            y=prediction[:, 1],
            mode="lines",
            line={"color": color, "dash": "dot"},
            showlegend=False,
            xaxis="x2",
            yaxis="y2",
        ),
    ]
    return traces


def fit_layout(title: str, lim: float = 2.4) -> dict:
    """Two panels: the phase portrait (left) and x(t) solid, y(t) dotted (right)."""
    return {
        "title": title,
        "xaxis": {"domain": [0.0, 0.38], "title": "x", "range": [-lim, lim]},
        "yaxis": {"title": "y", "range": [-lim, lim]},
        "xaxis2": {"domain": [0.48, 1.0], "title": "t", "anchor": "y2"},
        "yaxis2": {"title": "x (solid), y (dotted)", "anchor": "x2", "range": [-lim, lim]},
        "height": 420,
    }


COLORS = {
    "euler": OKABE_ITO["vermillion"],
    "midpoint": OKABE_ITO["reddish purple"],
    "rk4": OKABE_ITO["bluish green"],
    "dopri5": OKABE_ITO["orange"],
}


def fit_figure(data: SpiralData, predictions: dict, title: str) -> go.Figure:
    """The samples and one predicted trajectory per entry of ``predictions`` (name -> (n, 2))."""
    palette = list(COLORS.values()) + [OKABE_ITO["sky blue"], OKABE_ITO["black"]]
    traces = []
    for k, (name, prediction) in enumerate(predictions.items()):
        traces += fit_traces(data, prediction, name, palette[k % len(palette)], k == 0)
    return go.Figure(data=traces, layout=fit_layout(title))


def loss_figure(results: dict, title: str = "Training loss per iteration") -> go.Figure:
    """Window MSE per iteration (log scale) for each ``name -> TrainResult``.

    Curves of different solvers can lie on top of each other, so each one also differs in
    width (the first is the widest, drawn underneath), dash style and marker symbol.
    """
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot"]
    symbols = ["circle", "square", "diamond", "triangle-up"]
    for k, (name, result) in enumerate(results.items()):
        line = {"width": max(1.5, 5.0 - 1.5 * k), "dash": dashes[k % len(dashes)]}
        if name in COLORS:
            line["color"] = COLORS[result.solver]
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, len(result.losses) + 1),
                y=result.losses,
                mode="lines+markers",
                name=name,
                line=line,
                # a few markers per curve, so overlapping curves stay tellable apart
                marker={"symbol": symbols[k % len(symbols)], "size": 8, "maxdisplayed": 12},
            )
        )
    fig.update_layout(
        title=title, xaxis={"title": "iteration"}, yaxis={"title": "window MSE", "type": "log"}
    )
    return fig


def animation_figure(data: SpiralData, results: dict) -> go.Figure:
    """The static stand-in of the lab: one frame per snapshot, one trajectory per solver.

    ``results``: name -> :class:`TrainResult` with the same snapshot iterations.
    """
    counts = {len(r.snapshots) for r in results.values()}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(f"every result needs the same, non-zero number of snapshots, got {counts}")
    names = list(results)
    frames, labels = [], []
    for k in range(counts.pop()):
        traces = []
        for j, name in enumerate(names):
            snap = results[name].snapshots[k]
            label = f"{name} (MSE {snap.mse:.3g})"
            traces += fit_traces(data, snap.prediction, label, COLORS.get(name, "#000"), j == 0)
        frames.append(traces)
        labels.append(str(results[names[0]].snapshots[k].iteration))
    from nodelib.viz import slider_figure

    layout = fit_layout("The fit as training goes on (press Play)")
    layout["height"] = 480
    return slider_figure(frames, labels, slider_label="iteration", layout=layout, play_button=True)
