"""The named checks of chapter 10: right answers pass, typical mistakes are named."""

import math

import pytest
import torch

from nodelib import cnf
from nodelib.exercises import chapter10 as checks

A = torch.tensor([[0.2, -1.0], [0.5, -0.6]])
T = 2.0


def test_linear_flow_change_passes_minus_t_times_the_trace(capsys):
    assert checks.linear_flow_log_density_change(-T * torch.trace(A), A, T)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (-torch.trace(A), "length of the flow"),
        (-T * torch.det(A), "determinant"),
        (T * torch.trace(A), "sign is flipped"),
        (-math.log(abs(float(torch.det(A)))), "map z ↦ Az"),
    ],
)
def test_linear_flow_change_names_the_mistake(capsys, wrong, message):
    assert not checks.linear_flow_log_density_change(wrong, A, T)
    assert message in capsys.readouterr().out


@pytest.fixture
def end_state():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(5, 2, generator=generator), torch.randn(5, generator=generator)


def test_log_likelihood_passes_the_base_log_density_minus_ell(capsys, end_state):
    z0, ell = end_state
    right = -0.5 * (z0**2).sum(dim=1) - math.log(2 * math.pi) - ell
    assert checks.log_likelihood(right, z0, ell)
    assert "✅" in capsys.readouterr().out


def test_log_likelihood_names_the_mistakes(capsys, end_state):
    z0, ell = end_state
    quadratic = -0.5 * (z0**2).sum(dim=1)
    for wrong, message in [
        (quadratic - math.log(2 * math.pi) + ell, "sign of ℓ is flipped"),
        (quadratic - ell, "normalising constant -(d/2) log(2π) is missing"),
        (quadratic - 0.5 * math.log(2 * math.pi) - ell, "that of one dimension"),
        (cnf.standard_normal_log_prob(z0), "ℓ(0) is missing"),
        (quadratic[:3], "shape (3,), expected (5,)"),
    ]:
        assert not checks.log_likelihood(wrong, z0, ell)
        assert message in capsys.readouterr().out


def test_noise_outcome_reads_the_two_costs():
    assert checks.noise_outcome(20, math.inf) == "many more"
    assert checks.noise_outcome(20, 400) == "many more"
    assert checks.noise_outcome(20, 22) == "same"
    assert checks.noise_outcome(20, 8) == "fewer"
    with pytest.raises(ValueError, match="fixed_nfe must be a positive count"):
        checks.noise_outcome(0, 10)


def test_predict_and_reveal_the_redrawn_noise(capsys):
    assert not checks.predict_redrawn_noise(...)
    assert "not made yet" in capsys.readouterr().out
    assert checks.predict_redrawn_noise("same")
    assert not checks.reveal_redrawn_noise("same", 20, math.inf)
    assert "you predicted 'same'" in capsys.readouterr().out.splitlines()[-1]
    assert checks.reveal_redrawn_noise("many more", 20, math.inf)
    assert "✅" in capsys.readouterr().out


def test_rademacher_variance_passes_the_off_diagonal_formula(capsys):
    J = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.4, 0.0, -2.0]])
    S = (J + J.T) / 2
    right = 2 * ((S**2).sum() - (torch.diagonal(S) ** 2).sum())
    assert checks.rademacher_variance(right, J)
    assert "✅" in capsys.readouterr().out
    for wrong, message in [
        (2 * (S**2).sum(), "Gaussian noise"),
        (2 * ((J**2).sum() - (torch.diagonal(J) ** 2).sum()), "symmetric part"),
        ((S**2).sum() - (torch.diagonal(S) ** 2).sum(), "half of it"),
    ]:
        assert not checks.rademacher_variance(wrong, J)
        assert message in capsys.readouterr().out
    with pytest.raises(ValueError, match="jacobian must be a square matrix"):
        checks.rademacher_variance(1.0, torch.ones(2, 3))
