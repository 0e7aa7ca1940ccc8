"""Chapter 4: a PINN learns a solution of a known ODE, a Neural ODE learns the ODE from data."""

from __future__ import annotations

import pytest
import torch

from nodelib import pinn


@pytest.fixture(scope="module")
def pinn_result():
    return pinn.train_pinn(steps=600, progress=False)


@pytest.fixture(scope="module")
def node_result():
    return pinn.train_neural_ode(steps=150, progress=False)


def test_exact_solution_satisfies_the_logistic_law():
    t = torch.linspace(0, 5, 50, dtype=torch.float64, requires_grad=True)
    y = pinn.exact_solution(t, 0.2)
    (dy_dt,) = torch.autograd.grad(y.sum(), t)
    torch.testing.assert_close(dy_dt, pinn.known_dynamics(t, y).detach())
    assert y[0].item() == pytest.approx(0.2)


def test_pinn_with_hard_initial_condition_meets_it_before_training():
    model = pinn.PINN(0.3, 5.0)
    assert model(torch.zeros(1, 1)).item() == pytest.approx(0.3)


def test_ode_residual_of_the_exact_solution_is_zero():
    class Exact(pinn.PINN):
        def forward(self, t):
            return pinn.exact_solution(t, self.y0)

    residual = pinn.ode_residual(Exact(0.2, 5.0), torch.linspace(0, 5, 30).unsqueeze(1))
    assert residual.abs().max().item() < 1e-5


def test_pinn_residual_loss_decreases(pinn_result):
    assert pinn_result.losses[-1] < 1e-3 * pinn_result.losses[0]


def test_pinn_solution_approaches_the_exact_one(pinn_result):
    assert pinn_result.max_error < 0.01
    untrained = pinn.PINN(0.2, 5.0)
    with torch.no_grad():
        before = (untrained(pinn_result.t.unsqueeze(1)).squeeze(1) - pinn_result.y_exact).abs()
    assert pinn_result.max_error < before.max().item() / 10


def test_neural_ode_trajectory_loss_decreases(node_result):
    assert node_result.losses[-1] < 0.1 * node_result.losses[0]


def test_neural_ode_predicts_an_unseen_initial_value(node_result):
    assert node_result.y_pred.shape == node_result.t.shape
    assert node_result.max_error < 0.25


def test_trajectory_data_has_one_trajectory_per_initial_value():
    y0, ys = pinn.trajectory_data([0.1, 0.5, 2.0], torch.linspace(0, 1, 7))
    assert y0.shape == (3, 1) and ys.shape == (7, 3, 1)
    torch.testing.assert_close(ys[0], y0)


def test_comparison_and_loss_figures_have_their_traces(pinn_result, node_result):
    assert len(pinn.comparison_figure(pinn_result, node_result).data) == 4
    with_penalty = pinn.comparison_figure(pinn_result, node_result, penalty_pinn=pinn_result)
    assert len(with_penalty.data) == 5
    assert len(pinn.loss_figure(pinn_result, node_result).data) == 2


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"y0": 1.5}, "y0"),
        ({"t_max": 0}, "t_max"),
        ({"steps": 0}, "steps"),
        ({"n_collocation": 1}, "n_collocation"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_train_pinn_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        pinn.train_pinn(progress=False, **kwargs)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"y0s": []}, "y0s"), ({"n_times": 1}, "n_times"), ({"solver_step": 0.0}, "solver_step")],
)
def test_train_neural_ode_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        pinn.train_neural_ode(progress=False, **kwargs)


def test_pinn_loss_rejects_collocation_times_of_the_wrong_shape():
    with pytest.raises(ValueError, match="t_colloc"):
        pinn.pinn_loss(pinn.PINN(0.2, 5.0), torch.linspace(0, 5, 10))
