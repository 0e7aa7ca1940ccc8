"""The named checks of chapter 12: right answers pass, typical mistakes are named."""

import pytest
import torch

from nodelib.exercises import chapter12 as checks
from nodelib.training_cost import AnnuliModel

# --------------------------------------------------------------------------- exercise 1


def test_stiffer_prediction_records_a_valid_option(capsys):
    assert checks.predict_stiffer_problem("double")
    assert "recorded" in capsys.readouterr().out


def test_stiffer_prediction_rejects_an_unknown_option(capsys):
    assert not checks.predict_stiffer_problem("twice")
    assert "not one of the options" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mild, stiff, outcome",
    [(1000, 1100, "same"), (3464, 6848, "double"), (1000, 4100, "quadruple")],
)
def test_stiffness_outcome_names_the_measured_growth(mild, stiff, outcome):
    assert checks.stiffness_outcome(mild, stiff) == outcome


def test_stiffness_outcome_rejects_a_count_that_is_not_positive():
    with pytest.raises(ValueError, match="nfe_mild must be a positive count"):
        checks.stiffness_outcome(0, 100)


def test_reveal_stiffer_confirms_a_right_prediction(capsys):
    assert checks.reveal_stiffer_problem("double", 3464, 6848)
    assert "✅" in capsys.readouterr().out


def test_reveal_stiffer_names_the_outcome_of_a_wrong_prediction(capsys):
    assert not checks.reveal_stiffer_problem("same", 3464, 6848)
    assert "The answer is 'double'" in capsys.readouterr().out


# --------------------------------------------------------------------------- exercise 2

H, LAM = 0.1, -1000.0


def test_backward_euler_amplification_passes_one_over_one_minus_z(capsys):
    assert checks.backward_euler_amplification(1 / (1 - H * LAM), H, LAM)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (1 + H * LAM, "forward Euler"),
        (1 / (1 + H * LAM), "sign in the denominator is flipped"),
        (1 - H * LAM, "forgot to divide"),
    ],
)
def test_backward_euler_amplification_names_the_mistake(capsys, wrong, message):
    assert not checks.backward_euler_amplification(wrong, H, LAM)
    assert message in capsys.readouterr().out


def test_backward_euler_amplification_rejects_a_negative_step():
    with pytest.raises(ValueError, match="h must be a positive step size"):
        checks.backward_euler_amplification(0.5, -0.1, LAM)


# --------------------------------------------------------------------------- exercise 3


@pytest.fixture
def probe():
    torch.manual_seed(0)
    field = AnnuliModel().field
    generator = torch.Generator().manual_seed(1)
    z = torch.randn(6, 3, generator=generator)
    noise = torch.randn(6, 3, generator=generator)
    return field, torch.tensor(0.0), z, noise


def _vector_jacobian_product(field, t, z, noise):
    z = z.clone().requires_grad_(True)
    (product,) = torch.autograd.grad(field(t, z), z, noise)
    return product


def test_frobenius_estimate_passes_the_squared_vector_jacobian_product(capsys, probe):
    product = _vector_jacobian_product(*probe)
    assert checks.frobenius_estimate((product**2).sum(dim=1), *probe)
    assert "✅" in capsys.readouterr().out


def test_frobenius_estimate_names_the_jacobian_vector_product(capsys, probe):
    field, t, z, noise = probe
    _, jvp = torch.autograd.functional.jvp(lambda x: field(t, x), z, noise)
    assert not checks.frobenius_estimate((jvp**2).sum(dim=1), *probe)
    assert "Jacobian-vector product" in capsys.readouterr().out


def test_frobenius_estimate_names_the_missing_square(capsys, probe):
    product = _vector_jacobian_product(*probe)
    assert not checks.frobenius_estimate(product.sum(dim=1), *probe)
    assert "not squared" in capsys.readouterr().out


def test_frobenius_estimate_names_a_wrong_shape(capsys, probe):
    product = _vector_jacobian_product(*probe)
    assert not checks.frobenius_estimate(product**2, *probe)
    assert "shape (6, 3), expected (6,)" in capsys.readouterr().out
