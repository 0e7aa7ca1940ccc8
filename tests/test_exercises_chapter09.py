"""Chapter 9's named checks: right answers pass, typical wrong ones are named."""

import pytest
import torch

from nodelib.exercises import chapter09 as checks


def test_the_loss_floor_of_an_order_preserving_map_is_one(capsys):
    assert checks.crossing_loss_floor(1.0)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (2.0, "sum of the two squared errors"),
        (0.0, "the order reversed"),
        (4.0, "the identity map"),
        (10.0, "order of magnitude"),
    ],
)
def test_wrong_loss_floors_say_what_is_off(answer, message, capsys):
    assert not checks.crossing_loss_floor(answer)
    assert message in capsys.readouterr().out


def test_the_loss_floor_is_not_attempted_while_it_is_dots(capsys):
    assert not checks.crossing_loss_floor(...)
    assert "not attempted" in capsys.readouterr().out


@pytest.fixture
def x():
    return torch.tensor([[-1.0], [1.0]])


def test_zero_padding_passes(x, capsys):
    assert checks.augmented_input(torch.cat([x, torch.zeros(2, 3)], dim=1), x, 3)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda x: torch.cat([x, torch.ones(2, 3)], dim=1), "must start at 0, not 1"),
        (lambda x: torch.cat([torch.zeros(2, 3), x], dim=1), "the zeros come after the data"),
        (lambda x: torch.cat([x, torch.zeros(2, 2)], dim=1), "shape (2, 3), expected (2, 4)"),
        (lambda x: x, "shape (2, 1), expected (2, 4)"),
    ],
)
def test_wrong_padding_says_what_is_off(x, build, message, capsys):
    assert not checks.augmented_input(build(x), x, 3)
    assert message in capsys.readouterr().out


def test_the_refinement_prediction_must_be_one_of_the_options(capsys):
    assert checks.predict_refinement("rises")
    assert not checks.predict_refinement("falls")
    assert "not one of the options" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("errors", "outcome"),
    [
        ([1e-9, 0.5, 1.13], "rises"),
        ([1e-9, 1e-4, 1e-3], "stays"),
        ([1e-9, 10.0, float("nan")], "blows up"),
        ([1e-9, 1e3], "blows up"),
    ],
)
def test_the_refinement_outcome_is_read_from_the_deepest_error(errors, outcome):
    assert checks.refinement_outcome(errors) == outcome


def test_revealing_compares_the_prediction_with_the_measurement(capsys):
    assert checks.reveal_refinement("rises", [0.0, 1.1])
    assert "✅" in capsys.readouterr().out
    assert not checks.reveal_refinement("stays", [0.0, 1.1])
    out = capsys.readouterr().out
    assert "you predicted 'stays'" in out and "The answer is 'rises'" in out
