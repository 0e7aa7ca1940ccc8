"""Chapter 4's named checks: the right answer passes, typical wrong ones are named."""

import pytest
import torch

from nodelib import euler_view
from nodelib.exercises import chapter04 as checks

FIELD = euler_view.TanhField(seed=0)
H0 = euler_view.initial_grid(2)


def test_the_first_block_output_passes(capsys):
    with torch.no_grad():
        assert checks.first_block_output(H0 + 0.25 * FIELD(None, H0), FIELD, H0, 0.25)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "make_wrong, message",
    [
        (lambda G: H0 + G, "Δt is missing"),
        (lambda G: 0.25 * G, "the shortcut is missing"),
        (lambda G: H0 - 0.25 * G, "not subtracted"),
    ],
)
def test_first_block_mistakes_are_named(capsys, make_wrong, message):
    with torch.no_grad():
        wrong = make_wrong(FIELD(None, H0))
    assert not checks.first_block_output(wrong, FIELD, H0, 0.25)
    assert message in capsys.readouterr().out


@pytest.fixture(scope="module")
def study():
    return euler_view.error_vs_depth(FIELD, H0, [128, 256])


def test_a_first_order_prediction_passes(capsys, study):
    assert checks.error_at_depth_1024(study.errors[1] / 4, study, FIELD, H0)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "factor, message",
    [(1 / 16, "second-order"), (1 / 2, "one halving"), (4, "does not grow"), (1, "falls like")],
)
def test_depth_prediction_mistakes_are_named(capsys, study, factor, message):
    assert not checks.error_at_depth_1024(study.errors[1] * factor, study, FIELD, H0)
    assert message in capsys.readouterr().out


def test_the_depth_prediction_needs_depth_256():
    study = euler_view.error_vs_depth(FIELD, H0, [2, 4])
    with pytest.raises(ValueError, match="must include depth 256"):
        checks.error_at_depth_1024(0.1, study, FIELD, H0)


def test_the_difference_without_division_goes_to_zero(capsys):
    differences = [0.02 * 10.0**-k for k in range(1, 7)]
    assert checks.difference_outcome(differences, 0.2) == "zero"
    assert checks.difference_outcome([0.21, 0.2], 0.2) == "slope"
    assert checks.reveal_difference_limit("zero", differences, 0.2)
    assert "✅" in capsys.readouterr().out
    assert not checks.reveal_difference_limit("slope", differences, 0.2)
    assert "❌ you predicted 'slope'" in capsys.readouterr().out


def test_the_constant_solutions_pass(capsys):
    assert checks.constant_solutions([0.0, 1.0])
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        ([1.0, 0.0], "increasing order"),
        ([0.0, 0.5], "fastest"),
        ([0.0], "shape (1,), expected (2,)"),
    ],
)
def test_constant_solution_mistakes_are_named(capsys, wrong, message):
    assert not checks.constant_solutions(wrong)
    assert message in capsys.readouterr().out
