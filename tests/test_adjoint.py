"""odeint_adjoint gives the same solution as odeint and the same gradients as backprop."""

import pytest
import torch
from torch import nn

import nodelib

F64 = torch.float64


class TanhDynamics(nn.Module):
    """f(t, y) = W2 tanh(W1 y + b1 + t) + b2, a small net that also depends on time."""

    def __init__(self, dim=2, hidden=8):
        super().__init__()
        self.inner = nn.Linear(dim, hidden)
        self.outer = nn.Linear(hidden, dim)

    def forward(self, t, y):
        return self.outer(torch.tanh(self.inner(y) + t))


def make_problem(seed=0):
    torch.manual_seed(seed)
    func = TanhDynamics().to(F64)
    y0 = torch.randn(3, 2, dtype=F64, requires_grad=True)
    return func, y0


def gradients(solve, func, y0, t, weights, **options):
    """d/d(y0, params) of a loss that looks at every output time with the given weights."""
    solution = solve(func, y0, t, **options)
    loss = (solution * weights).sum()
    return torch.autograd.grad(loss, (y0, *func.parameters()))


def max_relative_difference(first, second):
    return max(((a - b).norm() / b.norm()).item() for a, b in zip(first, second, strict=True))


TIGHT = {"method": "dopri5", "rtol": 1e-11, "atol": 1e-12}


@pytest.mark.parametrize("n_times", [2, 5], ids=["one_output_time", "several_output_times"])
def test_adjoint_gradients_equal_backprop_gradients(n_times):
    func, y0 = make_problem()
    t = torch.linspace(0.0, 1.5, n_times, dtype=F64)
    weights = torch.randn(n_times, 3, 2, dtype=F64)
    if n_times == 2:
        weights[0] = 0  # the loss looks at the final time only
    backprop = gradients(nodelib.odeint, func, y0, t, weights, **TIGHT)
    adjoint = gradients(nodelib.odeint_adjoint, func, y0, t, weights, **TIGHT)
    assert max_relative_difference(adjoint, backprop) <= 1e-5


def test_adjoint_gradients_equal_backprop_with_fixed_rk4_steps():
    func, y0 = make_problem(1)
    t = torch.linspace(0.0, 1.0, 4, dtype=F64)
    weights = torch.randn(4, 3, 2, dtype=F64)
    options = {"method": "rk4", "step_size": 0.01}
    backprop = gradients(nodelib.odeint, func, y0, t, weights, **options)
    adjoint = gradients(nodelib.odeint_adjoint, func, y0, t, weights, **options)
    assert max_relative_difference(adjoint, backprop) <= 1e-5


def test_adjoint_gradients_backwards_in_time():
    func, y0 = make_problem(2)
    t = torch.linspace(1.0, -0.5, 3, dtype=F64)
    weights = torch.randn(3, 3, 2, dtype=F64)
    backprop = gradients(nodelib.odeint, func, y0, t, weights, **TIGHT)
    adjoint = gradients(nodelib.odeint_adjoint, func, y0, t, weights, **TIGHT)
    assert max_relative_difference(adjoint, backprop) <= 1e-5


def test_adjoint_forward_solution_equals_odeint():
    func, y0 = make_problem()
    t = torch.linspace(0.0, 1.0, 5, dtype=F64)
    assert torch.equal(nodelib.odeint_adjoint(func, y0, t), nodelib.odeint(func, y0, t))


def test_adjoint_params_name_the_parameters_of_a_plain_function():
    weight = torch.randn(2, 2, dtype=F64, requires_grad=True)
    y0 = torch.randn(2, dtype=F64)
    t = torch.tensor([0.0, 1.0], dtype=F64)

    def linear(s, y):
        return torch.tanh(weight @ y)

    def final_loss(solve, **extra):
        return solve(linear, y0, t, **TIGHT, **extra)[-1].square().sum()

    (backprop,) = torch.autograd.grad(final_loss(nodelib.odeint), weight)
    (adjoint,) = torch.autograd.grad(
        final_loss(nodelib.odeint_adjoint, adjoint_params=[weight]), weight
    )
    assert max_relative_difference([adjoint], [backprop]) <= 1e-5


def test_adjoint_stats_describe_the_backward_solve():
    func, y0 = make_problem()
    t = torch.linspace(0.0, 1.0, 3, dtype=F64)
    solution, stats = nodelib.odeint_adjoint(func, y0, t, return_stats=True)
    assert stats.backward_nfe is None
    solution.sum().backward()
    assert stats.backward_nfe > 0 and stats.backward_accepted > 0
    assert stats.backward_rejected >= 0


def test_adjoint_passes_gradcheck_on_a_small_network():
    torch.manual_seed(4)
    weight = torch.randn(2, 2, dtype=F64, requires_grad=True)
    bias = torch.randn(2, dtype=F64, requires_grad=True)
    y0 = torch.randn(2, 2, dtype=F64, requires_grad=True)
    t = torch.tensor([0.0, 0.4, 1.0], dtype=F64)

    def solve(y0, weight, bias):
        def func(s, y):
            return torch.tanh(y @ weight.T + bias)

        return nodelib.odeint_adjoint(
            func, y0, t, method="rk4", step_size=0.05, adjoint_params=[weight, bias]
        )

    assert torch.autograd.gradcheck(solve, (y0, weight, bias), atol=1e-6, rtol=1e-4)


def test_adjoint_memory_does_not_keep_an_autograd_graph_of_the_steps():
    func, y0 = make_problem()
    t = torch.tensor([0.0, 1.0], dtype=F64)
    solution = nodelib.odeint_adjoint(func, y0, t, method="euler", step_size=0.01)
    # The graph has one node for the whole solve, whatever the number of steps.
    assert type(solution.grad_fn).__name__ == "_OdeintAdjointFunctionBackward"
    assert all(
        f[0] is None or "AccumulateGrad" in type(f[0]).__name__
        for f in solution.grad_fn.next_functions
    )


def test_torchdiffeq_backend_adjoint_gives_the_same_gradients():
    pytest.importorskip("torchdiffeq")
    func, y0 = make_problem()
    t = torch.linspace(0.0, 1.0, 3, dtype=F64)
    weights = torch.randn(3, 3, 2, dtype=F64)
    ours = gradients(nodelib.odeint_adjoint, func, y0, t, weights, **TIGHT)
    theirs = gradients(nodelib.odeint_adjoint, func, y0, t, weights, backend="torchdiffeq", **TIGHT)
    assert max_relative_difference(ours, theirs) <= 1e-5


def test_a_parameter_listed_twice_in_adjoint_params_gets_its_gradient_once():
    weight = torch.tensor(0.7, dtype=F64, requires_grad=True)
    y0 = torch.ones(2, dtype=F64)
    t = torch.tensor([0.0, 1.0], dtype=F64)

    def decay_at_rate(s, y):
        return -weight * y

    (once,) = torch.autograd.grad(
        nodelib.odeint_adjoint(decay_at_rate, y0, t, adjoint_params=[weight]).sum(), weight
    )
    (twice,) = torch.autograd.grad(
        nodelib.odeint_adjoint(decay_at_rate, y0, t, adjoint_params=[weight, weight]).sum(), weight
    )
    torch.testing.assert_close(twice, once)


def test_adjoint_forward_pass_saves_only_times_solution_and_parameters():
    # The forward solve runs without autograd, and the check for tensors missing from
    # adjoint_params records no graph when there are none: no activation is kept for backward.
    func, y0 = make_problem()
    t = torch.linspace(0.0, 1.0, 3, dtype=F64)
    saved = []

    def pack(tensor):
        saved.append(tuple(tensor.shape))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        solution = nodelib.odeint_adjoint(func, y0, t)
    parameters = [tuple(p.shape) for p in func.parameters()]
    assert saved == [tuple(t.shape), tuple(solution.shape), *parameters]


def test_parameters_still_require_grad_after_func_fails_during_the_first_evaluation():
    func, y0 = make_problem()

    def broken(s, y):
        raise ZeroDivisionError("inside func")

    with pytest.raises(ZeroDivisionError):
        nodelib.odeint_adjoint(
            broken, y0, torch.tensor([0.0, 1.0], dtype=F64), adjoint_params=list(func.parameters())
        )
    assert all(p.requires_grad for p in func.parameters())
