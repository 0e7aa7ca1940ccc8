"""nodelib.spiral: the data, the model, the windows, both training protocols, the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nodelib import spiral

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return spiral.make_data()


def test_data_has_500_samples_on_0_to_25_from_2_0(data):
    assert data.t.shape == (500,) and data.y.shape == (500, 2)
    assert data.t[0] == 0 and data.t[-1] == pytest.approx(25.0)
    assert data.y[0].tolist() == [2.0, 0.0]


def test_data_matches_the_closed_form_solution(data):
    exact = spiral.exact_linear_solution(data.t)
    assert torch.max(torch.abs(data.y - exact)) < 1e-5


def test_make_data_returns_copies_the_caller_may_change():
    mine = spiral.make_data()
    mine.y[0, 0] = 100.0
    assert spiral.make_data().y[0, 0] == 2.0


def test_cubic_dynamics_multiply_the_cubed_row_vector_by_a():
    y = torch.tensor([[1.0, 2.0]])
    expected = torch.tensor([[1.0, 8.0]]) @ spiral.TRUE_A
    assert torch.allclose(spiral.true_dynamics(0.0, y, "cubic"), expected)


def test_unknown_kind_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="kind must be one of"):
        spiral.make_data("quadratic")


def test_model_is_a_2_50_2_mlp_with_zero_biases_and_small_weights():
    model = spiral.make_model(0)
    first, last = model.net[0], model.net[2]
    assert first.weight.shape == (50, 2) and last.weight.shape == (2, 50)
    assert torch.all(first.bias == 0) and torch.all(last.bias == 0)
    assert 0.07 < float(first.weight.detach().std()) < 0.13


def test_make_model_is_repeatable_for_a_seed():
    a, b = spiral.make_model(3), spiral.make_model(3)
    assert torch.equal(a.net[0].weight, b.net[0].weight)


def test_sample_windows_are_consecutive_samples(data):
    y0, t, target = spiral.sample_windows(data, 16, 10, torch.Generator().manual_seed(0))
    assert y0.shape == (16, 2) and t.shape == (10,) and target.shape == (10, 16, 2)
    assert torch.equal(target[0], y0)
    start = int(torch.nonzero(torch.all(data.y == y0[0], dim=1))[0])
    assert torch.equal(target[:, 0], data.y[start : start + 10])


def test_all_windows_covers_every_start(data):
    y0, _, target = spiral.all_windows(data, 5)
    assert y0.shape == (496, 2) and target.shape == (5, 496, 2)


def test_window_length_out_of_range_is_refused(data):
    with pytest.raises(ValueError, match="length must be between 2 and 500"):
        spiral.sample_windows(data, 16, 1)


def test_trainer_refuses_an_unknown_solver(data):
    with pytest.raises(ValueError, match="solver must be one of"):
        spiral.SpiralTrainer(data, solver="rk45")


@pytest.mark.parametrize("gradient", ["backprop", "adjoint"])
def test_a_few_adam_steps_lower_the_window_loss(data, gradient):
    trainer = spiral.SpiralTrainer(
        data, solver="rk4", gradient=gradient, lr=0.05, n_windows=None, window=3
    )
    losses = [trainer.step() for _ in range(15)]
    assert losses[-1] < 0.5 * losses[0]


def test_backprop_and_adjoint_give_the_same_gradient(data):
    grads = []
    for gradient in ("backprop", "adjoint"):
        trainer = spiral.SpiralTrainer(data, solver="rk4", gradient=gradient, n_windows=None)
        y0, t, target = trainer.batch()
        with spiral.single_thread():
            loss = torch.mean((trainer._solve(y0, t, adjoint=gradient == "adjoint") - target) ** 2)
            loss.backward()
        grads.append(trainer.model.net[0].weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-6)


def test_source_protocol_times_and_scores_its_iterations(data):
    result = spiral.source_protocol(data, "euler", iterations=2, snapshot_every=1)
    assert result.iterations == 2 and len(result.losses) == 2
    assert result.seconds > 0 and result.mse > 0 and result.nfe > 0
    assert [s.iteration for s in result.snapshots] == [0, 1, 2]


def test_course_curriculum_lengthens_the_windows():
    protocol = spiral.CourseProtocol(curriculum=((0, 2), (100, 5), (200, 20)))
    assert [protocol.window_at(i) for i in (0, 99, 100, 250)] == [2, 2, 5, 20]


@pytest.mark.slow
def test_course_protocol_reaches_the_target_mse(data):
    result = spiral.course_protocol(data, seed=0)
    assert result.mse <= 1e-3
    assert result.iterations < spiral.CourseProtocol().max_iterations


def test_single_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with spiral.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_vector_field_of_the_true_system_is_a_times_the_point():
    x, y, u, v = spiral.vector_field(spiral.true_field(), lim=1.0, n=3)
    assert x.shape == (3, 3)
    assert u[0, 0] == pytest.approx(-0.1 * x[0, 0] + 2 * y[0, 0])
    assert v[0, 0] == pytest.approx(-2 * x[0, 0] - 0.1 * y[0, 0])


def test_animation_figure_has_one_frame_per_snapshot(data):
    result = spiral.source_protocol(data, "euler", iterations=2, snapshot_every=1)
    fig = spiral.animation_figure(data, {"euler": result})
    assert len(fig.frames) == 3
    assert fig.layout.sliders[0].steps[-1].label == "2"


@pytest.mark.slow
def test_benchmark_quick_writes_the_documented_json(tmp_path):
    out = tmp_path / "spiral.json"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "spiral.py"), "--quick", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    result = json.loads(out.read_text())
    assert set(result) == {
        "source_protocol",
        "course_protocol",
        "time_ratio",
        "command",
        "machine",
    }
    assert set(result["source_protocol"]) == {"euler", "rk4", "dopri5"}
    assert all(set(v) == {"seconds", "mse"} for v in result["source_protocol"].values())
    assert set(result["course_protocol"]) == {"seconds", "mse", "iterations", "solver"}
    ratio = result["course_protocol"]["seconds"] / result["source_protocol"]["euler"]["seconds"]
    assert np.isclose(result["time_ratio"], ratio)
