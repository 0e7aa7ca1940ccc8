"""Neural ODEs, augmented Neural ODEs and ResNets on the crossing problems: chapter 9's models.

A Neural ODE maps an input ``x`` to ``h(1)``, the solution at ``t = 1`` of
``dh/dt = f_θ(h)`` from ``h(0) = x``. That map is a flow, a homeomorphism, so it can
neither swap two points on a line nor pull a disk out of the ring around it
(:mod:`nodelib.crossing_problems`). The *augmented* Neural ODE of Dupont, Doucet and Teh
(2019) solves in a larger space: ``h(0) = (x, 0, ..., 0)`` with ``augment_dim`` extra
coordinates set to zero, so trajectories can pass *around* each other.

- :class:`VectorField`: the dynamics ``f_θ(h)``, a small tanh MLP;
- :class:`NeuralODE`: lift (pad zeros), solve with :func:`nodelib.odeint`, read out; with
  ``augment_dim=0`` it is the plain Neural ODE;
- :class:`ResNet`: ``depth`` residual blocks ``h ← h + (1/depth) f_k(h)`` in the data
  dimension: Euler steps that, being finite, *can* jump over each other (chapter 4);
- :func:`fit`: full-batch Adam on the mean squared error, recording the loss and the
  number of function evaluations (NFE) of every forward solve, and optional snapshots of
  the trajectories;
- :func:`mse`, :func:`accuracy`, :func:`adaptive_nfe`, :func:`euler_refinement`: the scores;
- :func:`contenders` builds the chapter's three models for a problem, :func:`label_of` names
  them, :func:`states_over_time` gives the trajectories that the figures draw.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from nodelib.crossing_problems import ProblemData
from nodelib.euler_view import residual_network
from nodelib.solvers import SolveStats, odeint
from nodelib.tableaus import METHODS

__all__ = [
    "VectorField",
    "NeuralODE",
    "ResNet",
    "TrainingRecord",
    "fit",
    "states_over_time",
    "mse",
    "accuracy",
    "adaptive_nfe",
    "euler_refinement",
    "contenders",
    "label_of",
    "READOUTS",
]

#: How a model turns its final state into an output: ``"project"`` keeps the first
#: ``out_dim`` coordinates (nothing learned: the flow itself must do the work), ``"linear"``
#: applies a learned linear layer to the whole state (for classification).
READOUTS = ("project", "linear")

#: Tolerances of the adaptive solver (dopri5) used for training and for counting evaluations.
RTOL, ATOL = 1e-3, 1e-4


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_inputs(x, data_dim: int) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point tensor of shape (batch, {data_dim}), got {x!r:.80}"
        )
    if x.ndim != 2 or x.shape[1] != data_dim:
        raise ValueError(
            f"x must have shape (batch, data_dim={data_dim}), got shape {tuple(x.shape)}"
        )


class VectorField(nn.Module):
    """The dynamics ``f_θ(t, h) = W3 tanh(W2 tanh(W1 h + b1) + b2) + b3``, independent of t.

    ``h``: (batch, dim) -> (batch, dim), "state per unit time". Time-independent on purpose:
    the argument of the chapter holds for time-dependent fields too, and an autonomous field
    is easier to draw.
    """

    def __init__(self, dim: int, hidden: int = 32):
        super().__init__()
        dim, hidden = _positive_int("dim", dim), _positive_int("hidden", hidden)
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, dim),
        )

    def forward(self, t: torch.Tensor | None, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class _Readout(nn.Module):
    """``"project"``: the first ``out_dim`` coordinates; ``"linear"``: a learned layer."""

    def __init__(self, kind: str, state_dim: int, out_dim: int):
        super().__init__()
        if kind not in READOUTS:
            raise ValueError(f"readout={kind!r} is unknown; valid read-outs are {list(READOUTS)}")
        if kind == "project" and out_dim > state_dim:
            raise ValueError(
                f"readout='project' keeps out_dim={out_dim} coordinates of a state with only "
                f"{state_dim}; use readout='linear' or a smaller out_dim"
            )
        self.kind, self.out_dim = kind, out_dim
        self.linear = nn.Linear(state_dim, out_dim) if kind == "linear" else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h) if self.linear is not None else h[:, : self.out_dim]


class NeuralODE(nn.Module):
    """A (possibly augmented) Neural ODE: ``x ↦ readout(h(1))``, ``h(0) = (x, 0, …, 0)``.

    Args:
        data_dim: the input dimension ``d``.
        augment_dim: the number ``p`` of extra coordinates, zero at ``t = 0`` (0: the plain
            Neural ODE of Chen et al.; the state then has ``d + p`` coordinates).
        hidden: width of the two hidden layers of :class:`VectorField`.
        readout: ``"project"`` or ``"linear"`` (see :data:`READOUTS`).
        out_dim: the output dimension.
        method: the solver of :func:`nodelib.odeint` (``"dopri5"``: adaptive, tolerances
            :data:`RTOL`, :data:`ATOL`; fixed-step methods take ``step_size``).
        step_size: the step of fixed-step methods (default 0.1); ignored by dopri5.
    """

    def __init__(
        self,
        data_dim: int,
        *,
        augment_dim: int = 0,
        hidden: int = 32,
        readout: str = "project",
        out_dim: int = 1,
        method: str = "dopri5",
        step_size: float = 0.1,
    ):
        super().__init__()
        self.data_dim = _positive_int("data_dim", data_dim)
        self.augment_dim = _positive_int("augment_dim", augment_dim, minimum=0)
        self.state_dim = self.data_dim + self.augment_dim
        if method not in METHODS:
            raise ValueError(f"method={method!r} is unknown; valid methods are {list(METHODS)}")
        if not (isinstance(step_size, numbers.Real) and 0 < step_size <= 1):
            raise ValueError(f"step_size must be a number in (0, 1], got {step_size!r}")
        self.method, self.step_size = method, float(step_size)
        self.field = VectorField(self.state_dim, hidden)
        self.readout = _Readout(readout, self.state_dim, _positive_int("out_dim", out_dim))

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (batch, data_dim) -> ``h(0)`` (batch, data_dim + augment_dim): zeros appended."""
        _check_inputs(x, self.data_dim)
        zeros = x.new_zeros(x.shape[0], self.augment_dim)
        return torch.cat([x, zeros], dim=1)

    def _solver_options(self) -> dict:
        if self.method == "dopri5":
            return {"method": "dopri5", "rtol": RTOL, "atol": ATOL}
        return {"method": self.method, "step_size": self.step_size}

    def trajectory(self, x: torch.Tensor, n_times: int = 2) -> tuple[torch.Tensor, SolveStats]:
        """The states at ``n_times`` equally spaced times in ``[0, 1]``.

        Returns ``(states, stats)``: states ``(n_times, batch, state_dim)`` (``states[0]`` is
        the lifted input, ``states[-1]`` the final state ``h(1)``) and the solve's
        :class:`~nodelib.solvers.SolveStats` (its ``nfe`` counts evaluations of ``f_θ``).
        """
        h0 = self.lift(x)
        times = torch.linspace(0.0, 1.0, _positive_int("n_times", n_times, 2), dtype=x.dtype)
        return odeint(self.field, h0, times, return_stats=True, **self._solver_options())

    def forward_with_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, SolveStats]:
        """``(output (batch, out_dim), stats of the forward solve)``."""
        states, stats = self.trajectory(x)
        return self.readout(states[-1]), stats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_stats(x)[0]


class ResNet(nn.Module):
    """``depth`` residual blocks ``h_(k+1) = h_k + (1/depth) f_k(h_k)`` in the data dimension.

    With ``shared_weights=False`` (the default) every block has its own
    :class:`VectorField`; with ``shared_weights=True`` there is one field, and the network is
    exactly ``depth`` Euler steps of ``dh/dt = f(h)`` on ``[0, 1]``
    (:func:`nodelib.euler_view.residual_network`, chapter 4). No augmentation: the state
    has ``data_dim`` coordinates throughout.
    """

    def __init__(
        self,
        data_dim: int,
        *,
        depth: int = 4,
        hidden: int = 32,
        readout: str = "project",
        out_dim: int = 1,
        shared_weights: bool = False,
    ):
        super().__init__()
        self.data_dim = _positive_int("data_dim", data_dim)
        self.state_dim = self.data_dim
        self.augment_dim = 0
        self.depth = _positive_int("depth", depth)
        self.shared_weights = bool(shared_weights)
        n_fields = 1 if self.shared_weights else self.depth
        self.fields = nn.ModuleList(VectorField(self.data_dim, hidden) for _ in range(n_fields))
        self.readout = _Readout(readout, self.data_dim, _positive_int("out_dim", out_dim))

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """The identity (a ResNet has no extra coordinates), after checking ``x``."""
        _check_inputs(x, self.data_dim)
        return x

    def path(self, x: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """Hidden states ``h_0, …, h_depth``: (depth + 1, batch, data_dim).

        ``depth`` other than the trained one is allowed only with shared weights: the same
        field, more (or fewer) Euler steps.
        """
        h = self.lift(x)
        depth = self.depth if depth is None else _positive_int("depth", depth)
        if self.shared_weights:
            return residual_network(self.fields[0], h, depth, return_path=True)
        if depth != self.depth:
            raise ValueError(
                f"depth={depth} differs from the network's {self.depth} blocks; only a "
                "ResNet with shared_weights=True can be run at another depth"
            )
        states = [h]
        for block in self.fields:
            h = h + block(None, h) / self.depth  # shortcut + residual: one Euler step of 1/depth
            states.append(h)
        return torch.stack(states)

    def forward_with_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """``(output, None)``: a ResNet makes ``depth`` evaluations and has no solver stats."""
        return self.readout(self.path(x)[-1]), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.path(x)[-1])


def contenders(
    problem: ProblemData, *, augment_dim: int = 1, depth: int = 4, seed: int = 0
) -> dict[str, NeuralODE | ResNet]:
    """The chapter's three models for ``problem``, each freshly initialised from ``seed``:
    ``"node"`` (plain Neural ODE), ``"anode"`` (``augment_dim`` extra dimensions) and
    ``"resnet"`` (``depth`` blocks). The crossing map's models output their first state
    coordinate (read-out ``"project"``); the annuli's apply a learned linear read-out."""
    from nodelib.seeding import seed_everything

    readout = "project" if problem.task == "regression" else "linear"
    builders = {
        "node": lambda: NeuralODE(problem.data_dim, readout=readout),
        "anode": lambda: NeuralODE(problem.data_dim, augment_dim=augment_dim, readout=readout),
        "resnet": lambda: ResNet(problem.data_dim, depth=depth, readout=readout),
    }
    models = {}
    for key, build in builders.items():
        seed_everything(seed)  # the same start whatever the order of construction
        models[key] = build()
    return models


def label_of(model: NeuralODE | ResNet) -> str:
    """A short name for legends: "Neural ODE", "augmented, p = 1", "ResNet, 4 blocks"."""
    if isinstance(model, ResNet):
        shared = ", shared weights" if model.shared_weights else ""
        return f"ResNet, {model.depth} block{'s' if model.depth > 1 else ''}{shared}"
    if model.augment_dim == 0:
        return "Neural ODE"
    return f"augmented, p = {model.augment_dim}"


# --------------------------------------------------------------------------- training


@dataclass
class TrainingRecord:
    """What :func:`fit` saw: one entry per iteration unless said otherwise.

    ``losses``: the mean squared error before each update; ``nfe``: evaluations of the
    dynamics in that iteration's forward solve (empty for a ResNet); ``snapshots``:
    ``(iteration, states)`` pairs, states ``(n_times, n, state_dim)`` the trajectories of
    the training inputs (taken every ``snapshot_every`` iterations and after the last).
    """

    losses: list[float] = field(default_factory=list)
    nfe: list[int] = field(default_factory=list)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)


def states_over_time(model: NeuralODE | ResNet, x: torch.Tensor, n_times: int = 41):
    """Trajectories to draw: (n_times, batch, state_dim) for a Neural ODE, and the
    (depth + 1, batch, data_dim) hidden states of a ResNet, without gradients."""
    with torch.no_grad():
        if isinstance(model, ResNet):
            return model.path(x)
        return model.trajectory(x, n_times)[0]


def fit(
    model: NeuralODE | ResNet,
    problem: ProblemData,
    *,
    iterations: int,
    lr: float = 1e-2,
    snapshot_every: int | None = None,
    n_times: int = 41,
    callback: Callable[[int, float], None] | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> TrainingRecord:
    """Train ``model`` on all of ``problem`` at once with Adam; return a :class:`TrainingRecord`.

    The loss is the mean squared error between outputs (batch, 1) and the ±1 targets;
    gradients flow back through the solver's steps (backprop through the solver).
    ``callback(iteration, loss)`` runs after each update (the live widget redraws there).
    """
    iterations = _positive_int("iterations", iterations)
    if not (isinstance(lr, numbers.Real) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if snapshot_every is not None:
        snapshot_every = _positive_int("snapshot_every", snapshot_every)
    if problem.data_dim != model.data_dim:
        raise ValueError(
            f"the model takes inputs of dimension {model.data_dim} but problem "
            f"{problem.name!r} has dimension {problem.data_dim}"
        )
    from tqdm.auto import tqdm

    record = TrainingRecord()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = problem.inputs, problem.targets
    steps = tqdm(range(iterations), desc=desc or "training", leave=False, disable=not progress)
    for iteration in steps:
        if snapshot_every is not None and iteration % snapshot_every == 0:
            record.snapshots.append((iteration, states_over_time(model, x, n_times)))
        output, stats = model.forward_with_stats(x)
        loss = ((output - y) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        record.losses.append(loss.item())
        if stats is not None:
            record.nfe.append(stats.nfe)
        if callback is not None:
            callback(iteration, record.losses[-1])
    if snapshot_every is not None:
        record.snapshots.append((iterations, states_over_time(model, x, n_times)))
    return record


# --------------------------------------------------------------------------- scores


def mse(model: NeuralODE | ResNet, problem: ProblemData) -> float:
    """Mean squared error of the model's outputs against the targets."""
    with torch.no_grad():
        return float(((model(problem.inputs) - problem.targets) ** 2).mean())


def accuracy(model: NeuralODE | ResNet, problem: ProblemData) -> float:
    """The fraction of points whose output has the sign of the target (0 counts as wrong)."""
    with torch.no_grad():
        output = model(problem.inputs)
    return float((torch.sign(output) == problem.targets).float().mean())


def adaptive_nfe(model: NeuralODE, x: torch.Tensor) -> int:
    """Evaluations of ``f_θ`` that dopri5 (rtol :data:`RTOL`, atol :data:`ATOL`) needs to
    solve the model's ODE from ``x`` to ``t = 1``, whatever solver the model trains with:
    a measure of how hard the learned dynamics are to integrate."""
    if not isinstance(model, NeuralODE):
        raise TypeError(f"adaptive_nfe needs a NeuralODE, got {type(model).__name__}")
    times = torch.tensor([0.0, 1.0], dtype=x.dtype)
    with torch.no_grad():
        _, stats = odeint(
            model.field, model.lift(x), times, method="dopri5", rtol=RTOL, atol=ATOL,
            return_stats=True,
        )  # fmt: skip
    return stats.nfe


def euler_refinement(model: ResNet, problem: ProblemData, depths) -> list[float]:
    """The MSE of a shared-weight ResNet's field run with each of ``depths`` Euler steps.

    As the depth grows the network approaches the field's flow (chapter 4), and a flow
    cannot solve the crossing map: the MSE climbs towards 1 or beyond.
    """
    if not (isinstance(model, ResNet) and model.shared_weights):
        raise ValueError("euler_refinement needs a ResNet with shared_weights=True")
    depths = [_positive_int("depth", d) for d in depths]
    errors = []
    with torch.no_grad():
        for depth in depths:
            output = model.readout(model.path(problem.inputs, depth)[-1])
            errors.append(float(((output - problem.targets) ** 2).mean()))
    return errors
