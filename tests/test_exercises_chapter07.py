"""Chapter 7's exercise checks: the right answer passes, typical mistakes are named."""

import math

import pytest
import torch

from nodelib import spiral
from nodelib.exercises import chapter07 as checks


@pytest.fixture(scope="module")
def data():
    t = torch.linspace(0.0, spiral.T_END, spiral.N_SAMPLES)
    return spiral.SpiralData(t=t, y=spiral.exact_linear_solution(t))


@pytest.mark.parametrize(
    "mses, outcome", [((1e-3, 3e-2), "worse"), ((1e-3, 1.1e-3), "same"), ((1e-3, 1e-4), "better")]
)
def test_half_step_outcome_follows_the_measured_mse(capsys, mses, outcome):
    assert checks.reveal_half_step(outcome, *mses)
    assert "✅" in capsys.readouterr().out


def test_radius_accepts_two_e_to_the_minus_two_and_a_half(data, capsys):
    assert checks.radius_at_end(2 * math.exp(-0.1 * 25), data)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (2 * math.exp(-0.2 * 25), "not 0.2"),
        (4 * math.exp(-0.2 * 25), "squared distance"),
        (math.exp(-0.1 * 25), "1/2 times"),
    ],
)
def test_radius_names_the_mistake(data, capsys, wrong, message):
    assert not checks.radius_at_end(wrong, data)
    assert message in capsys.readouterr().out


@pytest.fixture(scope="module")
def model_and_prediction(data):
    model = spiral.make_model(seed=0)
    return model, spiral.trajectory(model, data.t)


def test_trajectory_mse_accepts_the_mean_over_all_entries(data, model_and_prediction, capsys):
    model, prediction = model_and_prediction
    assert checks.trajectory_mse(float(torch.mean((prediction - data.y) ** 2)), model, data)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda d: float((d**2).sum()), "sum of the squares"),
        (lambda d: math.sqrt(float((d**2).mean())), "RMSE"),
        (lambda d: float((d**2).sum(dim=1).mean()), "both coordinates"),
        (lambda d: float(d.mean()), "square the differences"),
    ],
)
def test_trajectory_mse_names_the_mistake(data, model_and_prediction, capsys, wrong, message):
    model, prediction = model_and_prediction
    assert not checks.trajectory_mse(wrong(prediction - data.y), model, data)
    assert message in capsys.readouterr().out


POINTS = torch.tensor([[2.0, 0.0], [1.0, -1.0], [0.5, 0.3]])


def test_cubic_field_accepts_row_vectors_times_a(capsys):
    assert checks.cubic_field(POINTS**3 @ spiral.TRUE_A, POINTS)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (POINTS**3 @ spiral.TRUE_A.T, "the row vector y^3 by A"),
        ((POINTS @ spiral.TRUE_A) ** 3, "cube first"),
        (POINTS @ spiral.TRUE_A, "must be cubed"),
    ],
)
def test_cubic_field_names_the_mistake(capsys, wrong, message):
    assert not checks.cubic_field(wrong, POINTS)
    assert message in capsys.readouterr().out


def test_loss_figure_tells_overlapping_curves_apart(data):
    """Chapter 7's three loss curves nearly coincide: each needs its own width, dash, marker."""
    result = spiral.source_protocol(data, "euler", iterations=2, seed=0)
    fig = spiral.loss_figure({"euler": result, "rk4": result, "dopri5": result})
    styles = {(t.line.width, t.line.dash, t.marker.symbol) for t in fig.data}
    assert len(fig.data) == 3 and len(styles) == 3
    assert fig.layout.title.text and fig.layout.yaxis.type == "log"
