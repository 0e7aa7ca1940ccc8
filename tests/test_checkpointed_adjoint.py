"""odeint_checkpointed gives backprop's gradient exactly, keeping K states instead of every step."""

import pytest
import torch
from torch import nn

import nodelib
from nodelib.adjoint_study import saved_tensors_peak
from nodelib.checkpointed_adjoint import odeint_checkpointed

F64 = torch.float64


class TanhDynamics(nn.Module):
    """f(t, y) = W2 tanh(W1 y + b1 + t) + b2, a small net that also depends on time."""

    def __init__(self, dim=2, hidden=8):
        super().__init__()
        self.inner = nn.Linear(dim, hidden)
        self.outer = nn.Linear(hidden, dim)

    def forward(self, t, y):
        return self.outer(torch.tanh(self.inner(y) + t))


def make_problem(seed=0, batch=3):
    torch.manual_seed(seed)
    func = TanhDynamics().to(F64)
    y0 = torch.randn(batch, 2, dtype=F64, requires_grad=True)
    return func, y0


def gradients(solve, func, y0, t, weights, **options):
    solution = solve(func, y0, t, **options)
    loss = (solution * weights).sum()
    return torch.autograd.grad(loss, (y0, *func.parameters()))


def max_relative_difference(first, second):
    return max(((a - b).norm() / b.norm()).item() for a, b in zip(first, second, strict=True))


SOLVERS = {
    "dopri5": {"method": "dopri5", "rtol": 1e-7, "atol": 1e-9},
    "rk4": {"method": "rk4", "step_size": 0.05},
    "euler": {"method": "euler", "step_size": 0.1},
}


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("checkpoints", [1, 3, 1000])
@pytest.mark.parametrize("n_times", [2, 5], ids=["final_time", "several_output_times"])
def test_checkpointed_gradients_equal_backprop_through_the_same_solve(solver, checkpoints, n_times):
    func, y0 = make_problem()
    t = torch.linspace(0.0, 2.0, n_times, dtype=F64)
    weights = torch.randn(n_times, 3, 2, dtype=F64)
    backprop = gradients(nodelib.odeint, func, y0, t, weights, **SOLVERS[solver])
    checkpointed = gradients(
        odeint_checkpointed, func, y0, t, weights, checkpoints=checkpoints, **SOLVERS[solver]
    )
    assert max_relative_difference(checkpointed, backprop) <= 1e-10


def test_checkpointed_gradients_with_backwards_time_and_dense_output():
    func, y0 = make_problem(2)
    t = torch.tensor([1.0, 0.7, 0.1, -0.5], dtype=F64)  # outputs inside dopri5 steps
    weights = torch.randn(4, 3, 2, dtype=F64)
    backprop = gradients(nodelib.odeint, func, y0, t, weights, **SOLVERS["dopri5"])
    checkpointed = gradients(
        odeint_checkpointed, func, y0, t, weights, checkpoints=4, **SOLVERS["dopri5"]
    )
    assert max_relative_difference(checkpointed, backprop) <= 1e-10


def test_checkpointed_solution_equals_odeint():
    func, y0 = make_problem()
    t = torch.linspace(0.0, 1.0, 4, dtype=F64)
    expected = nodelib.odeint(func, y0, t)
    assert torch.equal(odeint_checkpointed(func, y0, t, checkpoints=3), expected)


def test_checkpointed_adjoint_passes_gradcheck():
    torch.manual_seed(0)
    weight = (0.5 * torch.randn(2, 2, dtype=F64)).requires_grad_(True)
    y0 = torch.randn(2, dtype=F64, requires_grad=True)
    t = torch.linspace(0.0, 1.0, 3, dtype=F64)

    def solve(y0, weight):
        def func(t, y):
            return torch.tanh(weight @ y)

        return odeint_checkpointed(
            func, y0, t, method="rk4", step_size=0.1, checkpoints=3, adjoint_params=[weight]
        )

    assert torch.autograd.gradcheck(solve, (y0, weight))


def saved_bytes_after_forward(checkpoints, t_end, batch=16):
    """Bytes autograd holds saved between forward and backward."""
    func, y0 = make_problem(batch=batch)
    t = torch.tensor([0.0, t_end], dtype=F64)
    _, peak = saved_tensors_peak(
        lambda: odeint_checkpointed(
            func, y0, t, method="rk4", step_size=0.1, checkpoints=checkpoints
        )
    )
    return peak


def test_forward_memory_grows_with_checkpoints():
    assert saved_bytes_after_forward(16, 2.0) > saved_bytes_after_forward(2, 2.0)


def test_forward_memory_does_not_grow_with_steps():
    assert saved_bytes_after_forward(4, 4.0) == saved_bytes_after_forward(4, 1.0)


def test_more_checkpoints_lower_the_peak_below_backprop():
    func, y0 = make_problem(batch=16)
    t = torch.tensor([0.0, 2.0], dtype=F64)
    weights = torch.randn(2, 16, 2, dtype=F64)
    options = {"method": "rk4", "step_size": 0.1}
    _, backprop = saved_tensors_peak(
        lambda: gradients(nodelib.odeint, func, y0, t, weights, **options)
    )
    _, checkpointed = saved_tensors_peak(
        lambda: gradients(odeint_checkpointed, func, y0, t, weights, checkpoints=8, **options)
    )
    assert checkpointed < backprop / 2


def test_stats_count_checkpoints_and_replayed_evaluations():
    func, y0 = make_problem()
    t = torch.tensor([0.0, 1.0], dtype=F64)
    solution, stats = odeint_checkpointed(
        func, y0, t, method="rk4", step_size=0.1, checkpoints=5, return_stats=True
    )
    solution.sum().backward()
    assert (stats.checkpoints, stats.backward_nfe, stats.backward_accepted) == (5, 40, 10)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "4"])
def test_bad_checkpoints_are_rejected_with_a_clear_error(bad):
    func, y0 = make_problem()
    with pytest.raises(ValueError, match="checkpoints must be a positive integer"):
        odeint_checkpointed(func, y0, torch.tensor([0.0, 1.0], dtype=F64), checkpoints=bad)


def test_bad_method_is_rejected_with_a_clear_error():
    func, y0 = make_problem()
    with pytest.raises(ValueError, match="method='rk45' is unknown"):
        odeint_checkpointed(func, y0, torch.tensor([0.0, 1.0], dtype=F64), method="rk45")


def test_untracked_tensor_requiring_grad_is_rejected():
    weight = torch.randn(2, 2, dtype=F64, requires_grad=True)
    y0 = torch.randn(2, dtype=F64)
    with pytest.raises(ValueError, match="not in adjoint_params"):
        odeint_checkpointed(lambda t, y: weight @ y, y0, torch.tensor([0.0, 1.0], dtype=F64))
