"""PINNs and Neural ODEs side by side, on one small problem: the home of chapter 4's comparison.

The problem is logistic growth, ``dy/dt = f(t, y) = y · (1 - y)``, whose solution
``y(t) = y0 / (y0 + (1 - y0) · exp(-t))`` is known exactly, so both models can be scored.

- A **PINN** (physics-informed neural network) is handed ``f`` and one initial
  value and learns the *solution* ``y_θ(t)`` by minimising the ODE residual
  ``dy_θ/dt - f(t, y_θ)`` at collocation times (:func:`pinn_loss`,
  :func:`train_pinn`). It never sees a solution value.
- A **Neural ODE** is handed observed *trajectories* and learns the *dynamics*
  ``f_θ(t, y)``; its prediction comes from an ODE solver, from any initial value
  (:func:`trajectory_loss`, :func:`train_neural_ode`).

Both trainers return a small result object with the loss history and the
prediction next to the exact solution.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import nn
from tqdm.auto import tqdm

from nodelib.viz import OKABE_ITO

# --------------------------------------------------------------------------- the problem


def known_dynamics(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The ODE both models are about: logistic growth ``dy/dt = y · (1 - y)``. Shapes broadcast."""
    return y * (1 - y)


def exact_solution(t: torch.Tensor, y0: float | torch.Tensor) -> torch.Tensor:
    """``y(t) = y0 / (y0 + (1 - y0) e^{-t})``, the solution of :func:`known_dynamics`.

    ``t`` and ``y0`` broadcast: ``t`` (n, 1, 1) with ``y0`` (batch, 1) gives (n, batch, 1).
    """
    return y0 / (y0 + (1 - y0) * torch.exp(-t))


# --------------------------------------------------------------------------- input checks


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _mlp(n_in: int, width: int, n_out: int) -> nn.Sequential:
    """Two tanh hidden layers of ``width`` units: smooth, so ``dy/dt`` by autograd is smooth too."""
    return nn.Sequential(
        nn.Linear(n_in, width),
        nn.Tanh(),
        nn.Linear(width, width),
        nn.Tanh(),
        nn.Linear(width, n_out),
    )


# --------------------------------------------------------------------------- PINN


class PINN(nn.Module):
    """A candidate solution ``y_θ(t)`` on ``[0, t_max]``: time (n, 1) → value (n, 1).

    Time is rescaled to ``[-1, 1]`` before the network sees it, which keeps the
    tanh units in their useful range. Two ways to meet ``y(0) = y0``:

    - ``hard_initial_condition=True``: ``y_θ(t) = y0 + (t / t_max) · N_θ(t)``
      satisfies it for every ``θ``; training only has to remove the residual.
    - ``False``: ``y_θ(t) = N_θ(t)``, and the loss gets a penalty
      ``(y_θ(0) - y0)²`` (the textbook PINN).
    """

    def __init__(
        self, y0: float, t_max: float, *, width: int = 32, hard_initial_condition: bool = True
    ):
        super().__init__()
        self.y0 = float(y0)
        self.t_max = _positive("t_max", t_max)
        self.hard_initial_condition = hard_initial_condition
        self.net = _mlp(1, _count("width", width, 1), 1)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        out = self.net(2 * t / self.t_max - 1)
        if self.hard_initial_condition:
            return self.y0 + (t / self.t_max) * out
        return out


def ode_residual(model: PINN, t: torch.Tensor) -> torch.Tensor:
    """``dy_θ/dt - f(t, y_θ)`` at times ``t`` (n, 1); returns (n, 1).

    ``dy_θ/dt`` is the derivative of the network's output with respect to its
    *input* time, computed by autograd (``create_graph=True`` so that the loss
    built from it can itself be differentiated with respect to ``θ``).
    """
    t = t.detach().clone().requires_grad_(True)
    y = model(t)
    (dy_dt,) = torch.autograd.grad(y.sum(), t, create_graph=True)
    return dy_dt - known_dynamics(t, y)


def pinn_loss(model: PINN, t_colloc: torch.Tensor) -> torch.Tensor:
    """The PINN loss: mean squared residual at ``t_colloc`` (n, 1), plus the initial-condition
    penalty ``(y_θ(0) - y0)²`` (exactly zero when the model builds the condition in).

    No solution value enters: only ``f``, ``y0`` and the collocation times.
    """
    if t_colloc.ndim != 2 or t_colloc.shape[1] != 1:
        raise ValueError(f"t_colloc must have shape (n, 1), got {tuple(t_colloc.shape)}")
    residual_term = ode_residual(model, t_colloc).pow(2).mean()
    y_at_zero = model(torch.zeros(1, 1, dtype=t_colloc.dtype))
    initial_term = (y_at_zero - model.y0).pow(2).sum()
    return residual_term + initial_term


@dataclass
class PinnResult:
    """What :func:`train_pinn` returns."""

    model: PINN
    losses: list[float]  # pinn_loss at each optimiser step, before the update
    y0: float  # the one initial value it solves for
    t: torch.Tensor  # (n,) evaluation times on [0, t_max]
    y_pred: torch.Tensor  # (n,) the PINN's solution y_θ(t)
    y_exact: torch.Tensor  # (n,)
    max_error: float  # max |y_pred - y_exact| over t


def minimise(loss_fn, model: nn.Module, *, steps: int, lr: float, name: str, progress: bool):
    """Minimise ``loss_fn()`` over ``model``'s parameters with Adam; return the loss per step.

    Both models of this module train the same way, so that the comparison is about
    *what* they fit, not how: Adam, with the learning rate decaying from ``lr`` to
    zero on a cosine schedule over ``steps``.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    losses = []
    for _ in tqdm(range(steps), desc=name, disable=not progress):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def train_pinn(
    *,
    y0: float = 0.2,
    t_max: float = 5.0,
    n_collocation: int = 64,
    steps: int = 1000,
    lr: float = 1e-2,
    hard_initial_condition: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> PinnResult:
    """Fit a PINN to ``dy/dt = y (1 - y)``, ``y(0) = y0`` on ``[0, t_max]`` with Adam.

    ``n_collocation`` equally spaced times carry the residual; the learning rate
    decays to zero on a cosine schedule over ``steps``. No solution data is used;
    the exact solution only scores the result.
    """
    if isinstance(y0, bool) or not isinstance(y0, numbers.Real) or not 0 < y0 < 1:
        raise ValueError(f"y0 must be a number in (0, 1), got {y0!r}")
    t_max = _positive("t_max", t_max)
    n_collocation = _count("n_collocation", n_collocation, 2)
    steps = _count("steps", steps, 1)
    lr = _positive("lr", lr)

    torch.manual_seed(seed)
    model = PINN(y0, t_max, hard_initial_condition=hard_initial_condition)
    t_colloc = torch.linspace(0, t_max, n_collocation).unsqueeze(1)
    losses = minimise(
        lambda: pinn_loss(model, t_colloc),
        model,
        steps=steps,
        lr=lr,
        name="PINN",
        progress=progress,
    )
    t = torch.linspace(0, t_max, 200)
    with torch.no_grad():
        y_pred = model(t.unsqueeze(1)).squeeze(1)
    y_exact = exact_solution(t, y0)
    max_error = float((y_pred - y_exact).abs().max())
    return PinnResult(
        model=model,
        losses=losses,
        y0=float(y0),
        t=t,
        y_pred=y_pred,
        y_exact=y_exact,
        max_error=max_error,
    )


# --------------------------------------------------------------------------- Neural ODE


class DynamicsNet(nn.Module):
    """A network ``f_θ(t, y)`` that *defines* an ODE: state (batch, 1) → rate (batch, 1).

    It ignores ``t`` (the law it should discover does not change with time),
    which keeps it small; a time-dependent law would take ``t`` as a second input.
    """

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = _mlp(1, _count("width", width, 1), 1)

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)


def trajectory_data(
    y0s, t: torch.Tensor, *, noise: float = 0.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Observed trajectories of the logistic law from each initial value in ``y0s``.

    ``t``: (n,) observation times. Returns ``y0`` (batch, 1) and ``ys`` (n, batch, 1),
    with Gaussian noise of standard deviation ``noise`` added to the observations.
    """
    y0 = torch.as_tensor(y0s, dtype=torch.float32).reshape(-1, 1)
    if len(y0) == 0 or not bool(torch.all(y0 > 0)):
        raise ValueError(f"y0s must be a non-empty list of positive numbers, got {y0s!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    generator = torch.Generator().manual_seed(seed)
    ys = exact_solution(t.reshape(-1, 1, 1), y0)
    return y0, ys + noise * torch.randn(ys.shape, generator=generator)


def trajectory_loss(
    func: nn.Module, y0: torch.Tensor, t: torch.Tensor, ys: torch.Tensor, *, solver_step: float
) -> torch.Tensor:
    """Mean squared distance between ``ODESolve(y0, func)`` at times ``t`` and observations ``ys``.

    ``y0``: (batch, 1); ``t``: (n,); ``ys``: (n, batch, 1). The solver is RK4 with
    steps no longer than ``solver_step``; gradients flow by ordinary backprop
    through its steps (chapter 6 computes them with the adjoint method instead).
    """
    from nodelib.solvers import odeint  # chapter 5 explains the solver

    pred = odeint(func, y0, t, method="rk4", step_size=solver_step)
    return (pred - ys).pow(2).mean()


@dataclass
class NeuralOdeResult:
    """What :func:`train_neural_ode` returns."""

    func: DynamicsNet
    losses: list[float]  # trajectory_loss at each optimiser step
    t: torch.Tensor  # (n,) evaluation times
    y0_test: float  # an initial value not in the training data
    y_pred: torch.Tensor  # (n,) solution of the learned ODE from y0_test
    y_exact: torch.Tensor  # (n,)
    max_error: float  # max |y_pred - y_exact| over t


def train_neural_ode(
    *,
    y0s=(0.05, 0.2, 0.6, 1.5),
    y0_test: float = 0.35,
    t_max: float = 5.0,
    n_times: int = 21,
    noise: float = 0.01,
    steps: int = 300,
    lr: float = 1e-2,
    solver_step: float = 0.25,
    seed: int = 0,
    progress: bool = True,
) -> NeuralOdeResult:
    """Fit ``f_θ`` so that solving ``dy/dt = f_θ(t, y)`` reproduces noisy observed trajectories.

    Training data: the logistic law's trajectories from ``y0s`` at ``n_times``
    equally spaced times on ``[0, t_max]``. The learned ODE is then solved from
    ``y0_test``, an initial value it never saw, and compared with the exact solution.
    """
    from nodelib.solvers import odeint

    t_max = _positive("t_max", t_max)
    n_times = _count("n_times", n_times, 2)
    steps = _count("steps", steps, 1)
    lr = _positive("lr", lr)
    solver_step = _positive("solver_step", solver_step)
    y0_test = _positive("y0_test", y0_test)

    torch.manual_seed(seed)
    t_obs = torch.linspace(0, t_max, n_times)
    y0, ys = trajectory_data(y0s, t_obs, noise=noise, seed=seed)
    func = DynamicsNet()
    losses = minimise(
        lambda: trajectory_loss(func, y0, t_obs, ys, solver_step=solver_step),
        func,
        steps=steps,
        lr=lr,
        name="Neural ODE",
        progress=progress,
    )
    t = torch.linspace(0, t_max, 200)
    with torch.no_grad():
        y_pred = odeint(func, torch.tensor([[y0_test]]), t, method="rk4", step_size=solver_step)
    y_pred = y_pred[:, 0, 0]
    y_exact = exact_solution(t, y0_test)
    max_error = float((y_pred - y_exact).abs().max())
    return NeuralOdeResult(
        func=func,
        losses=losses,
        t=t,
        y0_test=y0_test,
        y_pred=y_pred,
        y_exact=y_exact,
        max_error=max_error,
    )


# --------------------------------------------------------------------------- figures


def comparison_figure(
    pinn: PinnResult, node: NeuralOdeResult, penalty_pinn: PinnResult | None = None
) -> go.Figure:
    """Left: the PINN's solution (and, if given, a PINN trained with the initial condition as a
    penalty); right: the learned ODE solved from an initial value it never saw."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=(
            f"PINN: y_θ(t) for y(0) = {pinn.y0:g}",
            f"Neural ODE: f_θ solved from y(0) = {node.y0_test:g}",
        ),
    )
    exact_style = {"color": "black", "dash": "dash"}
    fig.add_trace(
        go.Scatter(
            x=pinn.t.tolist(), y=pinn.y_exact.tolist(), name="exact solution", line=exact_style
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Scatter(
            x=pinn.t.tolist(),
            y=pinn.y_pred.tolist(),
            name=f"PINN, max error {pinn.max_error:.1e}",
            line={"color": OKABE_ITO["orange"]},
        ),
        1,
        1,
    )
    if penalty_pinn is not None:
        fig.add_trace(
            go.Scatter(
                x=penalty_pinn.t.tolist(),
                y=penalty_pinn.y_pred.tolist(),
                name=f"PINN, initial condition as penalty, max error {penalty_pinn.max_error:.2f}",
                line={"color": OKABE_ITO["vermillion"], "dash": "dot"},
            ),
            1,
            1,
        )
    fig.add_trace(
        go.Scatter(x=node.t.tolist(), y=node.y_exact.tolist(), line=exact_style, showlegend=False),
        1,
        2,
    )
    fig.add_trace(
        go.Scatter(
            x=node.t.tolist(),
            y=node.y_pred.tolist(),
            name=f"Neural ODE, max error {node.max_error:.1e}",
            line={"color": OKABE_ITO["blue"]},
        ),
        1,
        2,
    )
    fig.update_annotations(font_size=13)
    fig.update_xaxes(title_text="t")
    fig.update_yaxes(title_text="y")
    fig.update_layout(
        title="A PINN fits one solution; a neural ODE learns the dynamics",
        height=460,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def loss_figure(pinn: PinnResult, node: NeuralOdeResult) -> go.Figure:
    """Both training losses against the optimiser step, on a log scale."""
    fig = go.Figure(
        [
            go.Scatter(
                y=pinn.losses, name="PINN: residual loss", line={"color": OKABE_ITO["orange"]}
            ),
            go.Scatter(
                y=node.losses, name="Neural ODE: trajectory loss", line={"color": OKABE_ITO["blue"]}
            ),
        ]
    )
    fig.update_layout(
        title="Training losses",
        xaxis={"title": "optimiser step"},
        yaxis={"title": "loss", "type": "log", "exponentformat": "power"},
        height=360,
    )
    return fig
