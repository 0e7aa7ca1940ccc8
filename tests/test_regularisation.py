"""Chapter 12's regularisers: kinetic energy and Jacobian size, integrated along the solve."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nodelib import odeint
from nodelib.regularisation import (
    RegularisedDynamics,
    exact_frobenius,
    frobenius_rate,
    regularised_solve,
)
from nodelib.traces import draw_noise


class Linear(nn.Module):
    """``f(t, z) = z Aᵀ``: the Jacobian is ``A`` everywhere."""

    def __init__(self, matrix: torch.Tensor):
        super().__init__()
        self.matrix = matrix

    def forward(self, t, z):
        return z @ self.matrix.T


def mlp(dim: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(dim, 16), nn.Tanh(), nn.Linear(16, dim)).double()
    return lambda t, z: net(z)


def test_kinetic_energy_of_a_decay_equals_its_integral():
    # f = -a z: z(t) = z0 exp(-a t), so ∫_0^T ‖f‖² dt = a ‖z0‖² (1 - exp(-2 a T)) / 2.
    a, t_end = 1.5, 2.0
    z0 = torch.tensor([[1.0, 2.0], [-0.5, 0.3]], dtype=torch.float64)
    field = Linear(-a * torch.eye(2, dtype=torch.float64))
    solution = regularised_solve(field, z0, t_end, rtol=1e-8, atol=1e-10)
    expected = a * (z0**2).sum(dim=1) * (1 - math.exp(-2 * a * t_end)) / 2
    torch.testing.assert_close(solution.kinetic, expected, rtol=1e-6, atol=1e-9)


def test_exact_frobenius_of_a_linear_field_is_the_matrix_norm():
    matrix = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    z = torch.randn(4, 2, dtype=torch.float64)
    frobenius = exact_frobenius(Linear(matrix), torch.tensor(0.0), z)
    torch.testing.assert_close(frobenius, torch.full((4,), float((matrix**2).sum()), dtype=z.dtype))


@pytest.mark.parametrize("kind", ["rademacher", "gaussian"])
def test_hutchinson_frobenius_is_unbiased(kind):
    func = mlp()
    draws = 20_000
    point = torch.randn(1, 3, dtype=torch.float64).expand(draws, 3)
    noise = draw_noise((draws, 3), kind, torch.Generator().manual_seed(0), torch.float64)
    _, estimates = frobenius_rate(func, torch.tensor(0.0), point, noise)
    exact = exact_frobenius(func, torch.tensor(0.0), point[:1])[0]
    standard_error = estimates.std() / math.sqrt(draws)
    assert abs(estimates.mean() - exact) < 4 * standard_error
    assert estimates.std() > 0  # a real estimate, not the exact value in disguise


def test_integrated_frobenius_of_a_linear_field_is_time_times_the_norm():
    # The integrand ‖εᵀ A‖² does not depend on z or t: the solve integrates a constant per
    # point, and the mean over many points' probes approaches T ‖A‖²_F.
    matrix = torch.tensor([[0.0, 1.0], [-1.0, -0.2]], dtype=torch.float64)
    z0 = torch.zeros(5_000, 2, dtype=torch.float64)
    solution = regularised_solve(
        Linear(matrix), z0, 2.0, noise_kind="gaussian", generator=torch.Generator().manual_seed(1)
    )
    exact = 2.0 * float((matrix**2).sum())
    assert solution.frobenius.mean().item() == pytest.approx(exact, rel=0.05)


def test_without_the_jacobian_term_the_solution_is_the_plain_solve():
    func = mlp()
    z0 = torch.randn(6, 3, dtype=torch.float64)
    solution = regularised_solve(func, z0, jacobian=False, rtol=1e-8, atol=1e-10)
    plain = odeint(func, z0, torch.tensor([0.0, 1.0], dtype=torch.float64), rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(solution.z, plain[-1], rtol=1e-6, atol=1e-8)
    assert (solution.frobenius == 0).all()


def test_gradients_of_both_penalties_reach_the_parameters():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    z0 = torch.randn(10, 2)
    solution = regularised_solve(lambda t, z: net(z), z0, generator=torch.Generator())
    (solution.kinetic.mean() + solution.frobenius.mean()).backward()
    for parameter in net.parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all()
        assert parameter.grad.abs().sum() > 0


def test_the_augmented_state_has_two_extra_columns():
    func = mlp()
    dynamics = RegularisedDynamics(func, torch.ones(4, 3, dtype=torch.float64))
    out = dynamics(torch.tensor(0.0), torch.zeros(4, 5, dtype=torch.float64))
    assert out.shape == (4, 5)
    assert (out[:, 3] >= 0).all() and (out[:, 4] >= 0).all()


def test_noise_of_the_wrong_shape_is_refused_by_name():
    with pytest.raises(ValueError, match="noise must have the shape of z"):
        frobenius_rate(mlp(), torch.tensor(0.0), torch.zeros(4, 3), torch.zeros(4, 2))


def test_a_non_positive_end_time_is_refused_by_name():
    with pytest.raises(ValueError, match="t_end must be a positive number"):
        regularised_solve(mlp(), torch.zeros(2, 3, dtype=torch.float64), -1.0)


def test_a_state_without_a_batch_dimension_is_refused():
    with pytest.raises(ValueError, match=r"z0 must be a floating point \(batch, dim\) tensor"):
        regularised_solve(mlp(), torch.zeros(3, dtype=torch.float64))
