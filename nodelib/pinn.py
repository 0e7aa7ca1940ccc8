"""PINNs and Neural ODEs side by side, on one small problem (chapter 4).

The problem is the logistic equation ``dy/dt = f(t, y) = y · (1 - y)``, whose
solution ``y(t) = y0 / (y0 + (1 - y0) · exp(-t))`` we know exactly, so both
models can be scored.

- A **PINN** (physics-informed neural network) is handed ``f`` and learns the
  *solution* ``y_θ(t)`` for one initial value by minimising the residual
  ``dy_θ/dt - f(t, y_θ)`` at collocation times (:func:`train_pinn`).
- A **Neural ODE** is handed *trajectories* and learns the *dynamics*
  ``f_θ(t, y)``; its solution comes from an ODE solver, from any initial value
  (:func:`train_neural_ode`).
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import nn
from tqdm.auto import tqdm


def known_dynamics(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The ODE both models are about: logistic growth ``dy/dt = y · (1 - y)``. Shapes broadcast."""
    return y * (1 - y)


def exact_solution(t: torch.Tensor, y0: float | torch.Tensor = 0.1) -> torch.Tensor:
    """``y(t) = y0 / (y0 + (1 - y0) e^{-t})``: the solution of :func:`known_dynamics`, ``y(0) = y0``."""
    return y0 / (y0 + (1 - y0) * torch.exp(-t))


def _mlp(n_in: int, width: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, n_out)
    )


class PINN(nn.Module):
    """A candidate solution ``y_θ(t) = y0 + t · N_θ(t / t_max)``: time (n, 1) → value (n, 1).

    Writing the network this way builds the initial condition ``y_θ(0) = y0``
    in, so training only has to drive the ODE residual to zero (otherwise the
    trivial solution ``y ≡ 0`` of the logistic law is a tempting local minimum).
    Scaling time to ``[0, 1]`` keeps the tanh units out of saturation.
    """

    def __init__(self, y0: float, t_max: float, width: int = 32):
        super().__init__()
        self.y0, self.t_max = y0, t_max
        self.net = _mlp(1, width, 1)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.y0 + t * self.net(t / self.t_max)


@dataclass
class PinnResult:
    model: PINN
    losses: list[float]
    y0: float  # the one initial value it solves for
    t: torch.Tensor  # (n,) evaluation times
    y_pred: torch.Tensor  # (n,) the PINN's solution
    y_exact: torch.Tensor  # (n,)
    max_error: float  # max |y_pred - y_exact| on t


def pinn_residual_loss(model: PINN, t_colloc: torch.Tensor) -> torch.Tensor:
    """The PINN loss: the mean squared ODE residual at collocation times ``t_colloc`` (n, 1).

    The derivative ``dy_θ/dt`` comes from autograd with respect to the *input*
    time, not from data: no solution values are ever used.
    """
    t = t_colloc.clone().requires_grad_(True)
    y = model(t)
    (dy_dt,) = torch.autograd.grad(y.sum(), t, create_graph=True)
    residual = dy_dt - known_dynamics(t, y)
    return residual.pow(2).mean()


def train_pinn(
    *,
    y0: float = 0.1,
    t_max: float = 8.0,
    n_collocation: int = 64,
    steps: int = 1500,
    lr: float = 1e-2,
    seed: int = 0,
    progress: bool = True,
) -> PinnResult:
    """Fit a PINN to ``dy/dt = y (1 - y)`` on ``[0, t_max]``; no solution data is used."""
    torch.manual_seed(seed)
    model = PINN(y0, t_max)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    t_colloc = torch.linspace(0, t_max, n_collocation).unsqueeze(1)
    losses = []
    for _ in tqdm(range(steps), desc="PINN", disable=not progress):
        loss = pinn_residual_loss(model, t_colloc)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    t = torch.linspace(0, t_max, 200)
    with torch.no_grad():
        y_pred = model(t.unsqueeze(1)).squeeze(1)
    y_exact = exact_solution(t, y0)
    return PinnResult(model, losses, y0, t, y_pred, y_exact, float((y_pred - y_exact).abs().max()))


class DynamicsNet(nn.Module):
    """A network ``f_θ(t, y)`` that *defines* an ODE: (batch, 1) state → (batch, 1) rate.

    It ignores ``t`` (the logistic law does not change with time), which keeps
    the model small; a time-dependent law would take ``t`` as a second input.
    """

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = _mlp(1, width, 1)

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)


@dataclass
class NeuralOdeResult:
    func: DynamicsNet
    losses: list[float]
    t: torch.Tensor  # (n,) evaluation times
    y0_test: float  # an initial value not in the training data
    y_pred: torch.Tensor  # (n,) solution of the learned ODE from y0_test
    y_exact: torch.Tensor  # (n,)
    max_error: float


def trajectory_data(
    y0s, t: torch.Tensor, *, noise: float = 0.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Observed trajectories of the known ODE: ``(y0s (batch, 1), ys (len(t), batch, 1))``."""
    generator = torch.Generator().manual_seed(seed)
    y0 = torch.as_tensor(y0s, dtype=torch.float32).reshape(-1, 1)
    ys = exact_solution(t.reshape(-1, 1, 1), y0)
    ys = ys + noise * torch.randn(ys.shape, generator=generator)
    return y0, ys


def train_neural_ode(
    *,
    y0s=(0.05, 0.2, 0.6, 1.5),
    y0_test: float = 0.35,
    t_max: float = 8.0,
    n_times: int = 17,
    steps: int = 200,
    lr: float = 1e-2,
    solver_step: float = 0.5,
    seed: int = 0,
    progress: bool = True,
) -> NeuralOdeResult:
    """Fit ``f_θ`` so that solving ``dy/dt = f_θ(t, y)`` reproduces observed trajectories.

    The solver is RK4 with a fixed step ``solver_step``; gradients flow by
    ordinary backprop through the solver's steps (chapter 6 has the adjoint).
    """
    from nodelib.solvers import odeint

    torch.manual_seed(seed)
    t_obs = torch.linspace(0, t_max, n_times)
    y0, ys = trajectory_data(y0s, t_obs, noise=0.01, seed=seed)
    func = DynamicsNet()
    optimizer = torch.optim.Adam(func.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    losses = []
    for _ in tqdm(range(steps), desc="Neural ODE", disable=not progress):
        pred = odeint(func, y0, t_obs, method="rk4", step_size=solver_step)
        loss = (pred - ys).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    t = torch.linspace(0, t_max, 200)
    with torch.no_grad():
        y_pred = odeint(func, torch.tensor([[y0_test]]), t, method="rk4", step_size=solver_step)
    y_pred = y_pred[:, 0, 0]
    y_exact = exact_solution(t, y0_test)
    return NeuralOdeResult(
        func, losses, t, y0_test, y_pred, y_exact, float((y_pred - y_exact).abs().max())
    )


def comparison_figure(pinn: PinnResult, node: NeuralOdeResult) -> go.Figure:
    """Left: the PINN's solution; right: the Neural ODE solved from an unseen initial value."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            f"PINN: learns y(t) for y(0)={pinn.y0} (max error {pinn.max_error:.3f})",
            f"Neural ODE: learns f, solved from y(0)={node.y0_test} "
            f"(max error {node.max_error:.3f})",
        ),
    )
    exact_style = {"color": "black", "dash": "dash"}
    fig.add_trace(
        go.Scatter(x=pinn.t, y=pinn.y_exact, name="exact solution", line=exact_style), 1, 1
    )
    fig.add_trace(go.Scatter(x=pinn.t, y=pinn.y_pred, name="PINN y_θ(t)"), 1, 1)
    fig.add_trace(
        go.Scatter(x=node.t, y=node.y_exact, name="exact solution", line=exact_style, showlegend=False),
        1,
        2,
    )
    fig.add_trace(go.Scatter(x=node.t, y=node.y_pred, name="ODESolve(f_θ)"), 1, 2)
    fig.update_xaxes(title_text="t")
    fig.update_yaxes(title_text="y")
    fig.update_layout(height=420)
    return fig
