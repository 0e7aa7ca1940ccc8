"""The conclusion's exercise checks: the right answer passes, typical mistakes are named."""

import pytest
import torch

from nodelib.exercises import conclusion as checks
from nodelib.experiments.tradeoffs import ToleranceResult


def result(rtol, nfe_forward, nfe_backward, reverse_error=1e-3):
    path = torch.zeros(2, 2)
    return ToleranceResult(rtol, nfe_forward, nfe_backward, reverse_error, path, path)


SWEEP = [result(1e-1, 20, 20), result(1e-3, 62, 38), result(1e-6, 182, 240)]


@pytest.mark.parametrize(
    "errors, outcome", [((1e-3, 1.0), "larger"), ((1e-3, 2e-3), "same"), ((1e-3, 1e-4), "smaller")]
)
def test_longer_span_outcome_follows_the_measured_errors(capsys, errors, outcome):
    short, long = result(1e-3, 62, 38, errors[0]), result(1e-3, 86, 60, errors[1])
    assert checks.reveal_longer_span(outcome, short, long)
    assert "✅" in capsys.readouterr().out


def test_step_growth_accepts_the_fifth_root(capsys):
    assert checks.step_growth((1e-1 / 1e-6) ** (1 / 5), SWEEP)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (1e5, "does not grow like the tolerance"),
        (1e5 ** (1 / 4), "local error estimate"),
        (1e5 ** (-1 / 5), "upside down"),
    ],
)
def test_step_growth_names_the_mistake(capsys, wrong, message):
    assert not checks.step_growth(wrong, SWEEP)
    assert message in capsys.readouterr().out


def test_cost_ratio_accepts_total_over_total(capsys):
    assert checks.cost_ratio(422 / 40, SWEEP)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [(40 / 422, "upside down"), (182 / 20, "forward solve only"), (422 - 40, "a difference")],
)
def test_cost_ratio_names_the_mistake(capsys, wrong, message):
    assert not checks.cost_ratio(wrong, SWEEP)
    assert message in capsys.readouterr().out
