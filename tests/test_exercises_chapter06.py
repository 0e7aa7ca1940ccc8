"""Chapter 6's exercise checks: the right answer passes, typical mistakes are named."""

import pytest
import torch

from nodelib import adjoint_study as study
from nodelib.discrete_adjoint import discrete_adjoint_gradient
from nodelib.exercises import chapter06 as checks

A_COEFF = 0.9


@pytest.fixture(scope="module")
def chain():
    return discrete_adjoint_gradient(
        lambda i, q, u: A_COEFF * q + u,
        torch.tensor([1.0], dtype=torch.float64),
        torch.tensor([0.5], dtype=torch.float64),
        5,
        lambda Q, u: Q[-1].sum(),
    )


@pytest.mark.parametrize(
    "gaps, outcome", [((1e-3, 1e-4), "a"), ((1e-3, 1.2e-5), "b"), ((1e-3, 9e-4), "c")]
)
def test_euler_gap_outcome_is_the_nearest_factor(capsys, gaps, outcome):
    assert checks.reveal_euler_gap(outcome, *gaps)
    assert "✅" in capsys.readouterr().out


def test_chain_gradient_accepts_the_geometric_sum(chain, capsys):
    a = A_COEFF
    assert checks.chain_gradient(1 + a + a**2 + a**3 + a**4, chain, a)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (A_COEFF**4, "r_1 = a^4 alone"),
        (1 + A_COEFF + A_COEFF**2 + A_COEFF**3, "one term short"),
        (sum(A_COEFF**k for k in range(6)), "one term too many"),
    ],
)
def test_chain_gradient_names_the_mistake(chain, capsys, wrong, message):
    assert not checks.chain_gradient(wrong, chain, A_COEFF)
    assert message in capsys.readouterr().out


W = torch.tensor([[0.0, 1.0], [-2.0, -0.5]], dtype=torch.float64)
A_END = torch.tensor([1.0, 0.5], dtype=torch.float64)
H = 0.1


def test_adjoint_step_back_accepts_a_plus_h_w_transpose_a(capsys):
    assert checks.adjoint_euler_step_back(A_END + H * W.T @ A_END, A_END, W, H)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (A_END - H * W.T @ A_END, "sign of the step is flipped"),
        (A_END + H * W @ A_END, "not transposed"),
        (A_END - H * W @ A_END, "both the sign"),
        (H * W.T @ A_END, "only the increment"),
    ],
)
def test_adjoint_step_back_names_the_mistake(capsys, wrong, message):
    assert not checks.adjoint_euler_step_back(wrong, A_END, W, H)
    assert message in capsys.readouterr().out


def test_augmented_state_size_counts_z_a_and_the_parameters(capsys):
    model = study.MLPDynamics(dim=2, hidden=16)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == 82
    assert checks.augmented_state_size(2 * 20 + n_params, model, (10, 2))
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (40, "running integral"),
        (20 + 82, "z and a each"),
        (40 + 164, "appear once"),
        (4 + 82, "whole batch"),
    ],
)
def test_augmented_state_size_names_the_mistake(capsys, wrong, message):
    model = study.MLPDynamics(dim=2, hidden=16)
    assert not checks.augmented_state_size(wrong, model, (10, 2))
    assert message in capsys.readouterr().out
