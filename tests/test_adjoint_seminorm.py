"""odeint_adjoint(..., adjoint_norm="seminorm"): fewer backward steps, the same gradient."""

import pytest
import torch
from torch import nn

import nodelib
from nodelib.adjoint import seminorm
from nodelib.step_size import error_ratio, rms_norm

F64 = torch.float64


def make_problem(seed=0):
    torch.manual_seed(seed)
    func = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2)).to(F64)
    dynamics = lambda t, y: func(y)  # noqa: E731
    y0 = torch.randn(8, 2, dtype=F64, requires_grad=True)
    return func, dynamics, y0


def adjoint_gradients(norm, rtol=1e-6):
    func, dynamics, y0 = make_problem()
    t = torch.tensor([0.0, 1.0], dtype=F64)
    solution, stats = nodelib.odeint_adjoint(
        dynamics,
        y0,
        t,
        rtol=rtol,
        atol=rtol * 1e-2,
        adjoint_params=list(func.parameters()),
        adjoint_norm=norm,
        return_stats=True,
    )
    grads = torch.autograd.grad(solution[-1].square().sum(), (y0, *func.parameters()))
    return grads, stats


def test_seminorm_ignores_the_parameter_gradient_entries():
    scaled_error = torch.tensor([3.0, 4.0, 0.0, 0.0, 100.0, -7.0], dtype=F64)
    assert seminorm(2)(scaled_error) == pytest.approx(rms_norm(scaled_error[:4]))


def test_error_ratio_uses_the_norm_it_is_given():
    error = torch.tensor([1e-6, 1e-3], dtype=F64)
    y = torch.zeros(2, dtype=F64)
    ratio = error_ratio(error, y, y, rtol=1e-3, atol=1e-6, norm=lambda x: x[0].item())
    assert ratio == pytest.approx(1.0)


def test_error_ratio_default_norm_is_rms():
    error = torch.tensor([1e-6, 3e-6], dtype=F64)
    y = torch.zeros(2, dtype=F64)
    assert error_ratio(error, y, y, rtol=1e-3, atol=1e-6) == pytest.approx(5**0.5)


@pytest.fixture(scope="module")
def both():
    """Gradients and stats of the default norm and the seminorm, same problem, rtol 1e-7."""
    return {norm: adjoint_gradients(norm, rtol=1e-7) for norm in ("default", "seminorm")}


def test_seminorm_takes_fewer_backward_evaluations(both):
    assert both["seminorm"][1].backward_nfe < both["default"][1].backward_nfe


def test_seminorm_gradient_equals_default_gradient_to_tolerance(both):
    default, semi = both["default"][0], both["seminorm"][0]
    assert (
        max(((a - b).norm() / b.norm()).item() for a, b in zip(semi, default, strict=True)) <= 1e-5
    )


def test_seminorm_does_not_change_the_forward_solve(both):
    default, semi = both["default"][1], both["seminorm"][1]
    assert (semi.nfe, semi.accepted) == (default.nfe, default.accepted)


def test_unknown_adjoint_norm_is_rejected_with_a_clear_error():
    func, dynamics, y0 = make_problem()
    with pytest.raises(ValueError, match="adjoint_norm='max' is unknown"):
        nodelib.odeint_adjoint(
            dynamics,
            y0,
            torch.tensor([0.0, 1.0], dtype=F64),
            adjoint_params=list(func.parameters()),
            adjoint_norm="max",
        )
