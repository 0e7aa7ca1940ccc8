"""Solves at the edges: empty batches, half precision, dynamics cut off from the autograd graph."""

import pytest
import torch
from torch import nn

import nodelib
from nodelib.tableaus import METHODS

F64 = torch.float64
SOLVERS = [nodelib.odeint, nodelib.odeint_adjoint]


class Linear(nn.Module):
    """f(t, y) = y Wᵀ: one parameter, so the adjoint also has a parameter gradient to carry."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=F64))

    def forward(self, t, y):
        return y @ self.weight.T


# --------------------------------------------------------------------- empty batches


@pytest.mark.parametrize("solve", SOLVERS, ids=["odeint", "odeint_adjoint"])
@pytest.mark.parametrize("method", METHODS)
def test_an_empty_batch_gives_an_empty_solution_and_zero_gradients(method, solve):
    func = Linear()
    y0 = torch.zeros(0, 2, dtype=F64, requires_grad=True)
    t = torch.tensor([0.0, 0.5, 1.0], dtype=F64)
    solution = solve(func, y0, t, method=method)
    assert solution.shape == (3, 0, 2)
    solution.sum().backward()
    assert y0.grad.shape == (0, 2)
    assert func.weight.grad is None or torch.equal(func.weight.grad, torch.zeros(2, 2, dtype=F64))


@pytest.mark.parametrize("backwards", [False, True], ids=["forwards", "backwards"])
def test_dopri5_on_an_empty_batch_takes_few_steps(backwards):
    t = torch.tensor([1.0, 0.0] if backwards else [0.0, 1.0], dtype=F64)
    solution, stats = nodelib.odeint(
        lambda s, y: -y, torch.zeros(0, 3, dtype=F64), t, return_stats=True
    )
    assert solution.shape == (2, 0, 3)
    assert stats.rejected == 0 and stats.accepted <= 10


# --------------------------------------------------------------------- half precision


@pytest.mark.parametrize("solve", SOLVERS, ids=["odeint", "odeint_adjoint"])
@pytest.mark.parametrize("method", ["euler", "dopri5"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_rejected_with_the_fix(dtype, method, solve):
    y0 = torch.ones(2, 2, dtype=dtype)
    t = torch.tensor([0.0, 1.0], dtype=dtype)
    with pytest.raises(ValueError, match=rf"y0 has dtype {dtype}.*float32 or float64.*float\(\)"):
        solve(lambda s, y: -y, y0, t, method=method)


# --------------------------------------------------------------------- adjoint: cut-off graphs


class TimeOnly(nn.Module):
    """f depends on t only: its output depends neither on y nor on the parameter."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(2, dtype=F64))

    def forward(self, t, y):
        return torch.cos(t) * torch.ones_like(y)


class Zero(TimeOnly):
    """f = 0: a constant solution."""

    def forward(self, t, y):
        return torch.zeros_like(y)


class NoGradInside(TimeOnly):
    """f computed under no_grad: autograd sees a constant (backprop treats it so too)."""

    def forward(self, t, y):
        with torch.no_grad():
            return -self.weight * y


class ParameterOnly(TimeOnly):
    """f depends on the parameter but not on y."""

    def forward(self, t, y):
        return self.weight.expand_as(y)


class UnusedParameter(TimeOnly):
    """f depends on y but not on the parameter."""

    def forward(self, t, y):
        return -y


@pytest.mark.parametrize("dynamics", [TimeOnly, Zero, NoGradInside, ParameterOnly, UnusedParameter])
@pytest.mark.parametrize("y0_requires_grad", [True, False], ids=["y0_grad", "no_y0_grad"])
def test_adjoint_handles_dynamics_disconnected_from_y_or_parameters(dynamics, y0_requires_grad):
    t = torch.tensor([0.0, 0.5, 1.0], dtype=F64)
    weights = torch.randn(3, 3, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    gradients = {}
    for solve in SOLVERS:
        func = dynamics()
        y0 = torch.ones(3, 2, dtype=F64, requires_grad=y0_requires_grad)
        solution = solve(func, y0, t, method="rk4", step_size=0.05)
        if solution.requires_grad:  # with odeint nothing requires grad when f is cut off
            (solution * weights).sum().backward()
        gradients[solve] = [
            torch.zeros(3, 2, dtype=F64) if y0.grad is None else y0.grad,
            torch.zeros(2, dtype=F64) if func.weight.grad is None else func.weight.grad,
        ]
    for adjoint, backprop in zip(*gradients.values(), strict=True):
        torch.testing.assert_close(adjoint, backprop, rtol=1e-6, atol=1e-9)


class DivergenceDynamics(torch.nn.Module):
    """A continuous normalizing flow's dynamics written the usual way: the divergence of the
    field is taken by autograd with respect to a slice of the state made to require grad."""

    def __init__(self, detach_first: bool):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
        ).double()
        self.detach_first = detach_first

    def forward(self, t, state):
        z = state[:, :2]
        with torch.enable_grad():
            if self.detach_first:
                z = z.detach()
            if not z.requires_grad:
                z = z.requires_grad_(True)
            dz = self.net(z)
            divergence = sum(
                torch.autograd.grad(dz[:, i].sum(), z, create_graph=True)[0][:, i] for i in range(2)
            )
        return torch.cat([dz, -divergence[:, None]], dim=1)


@pytest.mark.parametrize("detach_first", [False, True], ids=["slice", "detached_slice"])
def test_adjoint_accepts_dynamics_that_make_their_own_state_require_grad(detach_first):
    func = DivergenceDynamics(detach_first)
    y0 = torch.cat([torch.randn(4, 2, dtype=torch.float64), torch.zeros(4, 1).double()], 1)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    nodelib.odeint_adjoint(func, y0, t, method="rk4", step_size=0.05)[-1].sum().backward()
    adjoint_grads = [p.grad.clone() for p in func.parameters()]
    func.zero_grad()
    nodelib.odeint(func, y0, t, method="rk4", step_size=0.05)[-1].sum().backward()
    for from_adjoint, p in zip(adjoint_grads, func.parameters(), strict=True):
        torch.testing.assert_close(from_adjoint, p.grad, rtol=1e-3, atol=1e-6)
