"""The experiments of the adjoint chapter measure what they claim to measure."""

import math

import pytest
import torch

import nodelib
from nodelib import adjoint_study as study
from nodelib.discrete_adjoint import discrete_adjoint_gradient
from nodelib.widgets import tolerance_explorer

F64 = torch.float64


@pytest.fixture
def dynamics():
    torch.manual_seed(0)
    return study.MLPDynamics(dim=2, hidden=8, damping=1.0).double()


@pytest.fixture
def z0():
    return torch.randn(4, 2, generator=torch.Generator().manual_seed(1), dtype=F64)


def square_loss(z):
    return z.square().sum()


def residual_step(i, q, u):
    return q + 0.1 * torch.tanh(u @ q + i / 10)


def weighted_loss(states, u):
    return sum((k + 1) * q.square().sum() for k, q in enumerate(states)) + u.square().sum()


# --------------------------------------------------------------------------- the dual problem


def test_dual_cost_counts_k_primal_solves_and_one_dual_solve():
    cost = study.dual_problem_cost(20, [1, 3, 7], repeats=1)
    assert cost.primal_solves == [1, 3, 7]
    assert cost.dual_solves == [1, 1, 1]
    assert cost.max_difference < 1e-12


def test_primal_time_grows_with_k_faster_than_dual_time():
    cost = study.dual_problem_cost(100, [1, 200], repeats=3)
    primal_growth = cost.primal_seconds[1] / cost.primal_seconds[0]
    dual_growth = cost.dual_seconds[1] / cost.dual_seconds[0]
    assert primal_growth > 10 * dual_growth


def test_dual_cost_rejects_a_non_positive_k():
    with pytest.raises(ValueError, match="ks must be a non-empty list of positive integers"):
        study.dual_problem_cost(5, [0, 2])


# --------------------------------------------------------------------------- discrete adjoint


def test_unrolled_gradient_matches_the_backward_recursion():
    torch.manual_seed(2)
    q0, u = torch.randn(3, dtype=F64), torch.randn(3, 3, dtype=F64)
    recursion = discrete_adjoint_gradient(residual_step, q0, u, 5, weighted_loss)
    unrolled = study.unrolled_gradient(residual_step, q0, u, 5, weighted_loss)
    assert torch.allclose(recursion.grad_u, unrolled, rtol=1e-12, atol=1e-14)


def test_stacked_system_solution_is_the_sequence_of_adjoint_states():
    torch.manual_seed(3)
    q0, u = torch.randn(3, dtype=F64), torch.randn(3, 3, dtype=F64)
    recursion = discrete_adjoint_gradient(residual_step, q0, u, 4, weighted_loss)
    M, rhs = study.stacked_adjoint_system(residual_step, recursion.states, u, weighted_loss)
    assert M.shape == (12, 12)
    R = torch.linalg.solve(M.T, rhs)
    assert torch.allclose(R, torch.cat(recursion.adjoints), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- continuous adjoint


def test_algorithm_one_gives_the_gradients_of_odeint_adjoint(dynamics, z0):
    solver = {"method": "dopri5", "rtol": 1e-8, "atol": 1e-10}
    result = study.algorithm_one(dynamics, z0, 0.0, 1.0, square_loss, **solver)
    z0_leaf = z0.clone().requires_grad_(True)
    z = nodelib.odeint_adjoint(dynamics, z0_leaf, torch.tensor([0.0, 1.0], dtype=F64), **solver)
    expected = torch.autograd.grad(square_loss(z[-1]), (z0_leaf, *dynamics.parameters()))
    for got, want in zip([result.grad_z0, *result.grad_params], expected, strict=True):
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


def test_algorithm_one_reconstructs_the_initial_state(dynamics, z0):
    result = study.algorithm_one(dynamics, z0, 0.0, 1.0, square_loss, rtol=1e-9, atol=1e-11)
    assert torch.allclose(result.z0_reconstructed, z0, atol=1e-7)


def test_gradient_check_agrees_at_tight_tolerance(dynamics, z0):
    check = study.check_gradients(
        dynamics, z0, torch.tensor([0.0, 1.0], dtype=F64), square_loss, rtol=1e-9, atol=1e-11
    )
    assert check.adjoint_vs_backprop < 1e-7
    assert check.adjoint_vs_fd < 1e-6
    assert check.backprop_vs_fd < 1e-6
    assert check.adjoint_stats.backward_nfe > 0


def test_gradient_check_reports_the_gap_of_coarse_euler_steps(dynamics, z0):
    # With 4 Euler steps the reverse solve is a different discretisation than the exact
    # gradient of the forward steps: the check must show a visible gap, while backprop stays
    # the exact derivative of what was computed (it matches the finite difference).
    check = study.check_gradients(
        dynamics,
        z0,
        torch.tensor([0.0, 1.0], dtype=F64),
        square_loss,
        method="euler",
        step_size=0.25,
    )
    assert check.adjoint_vs_backprop > 1e-3
    assert check.adjoint_vs_fd > 1e-4
    assert check.backprop_vs_fd < 1e-6


# --------------------------------------------------------------------------- memory and time


def test_saved_tensors_peak_counts_the_bytes_a_graph_saves():
    x = torch.randn(1000, requires_grad=True)  # 4000 bytes of float32
    _, peak = study.saved_tensors_peak(lambda: torch.tanh(x).sum().backward())
    assert peak == 4000  # tanh saves its output: one vector of 1000 floats


def test_saved_tensors_peak_counts_a_tensor_saved_twice_once():
    x = torch.randn(1000, requires_grad=True)
    _, peak = study.saved_tensors_peak(lambda: (x * x).sum().backward())
    assert peak == 4000


def test_backprop_memory_grows_with_steps_and_adjoint_memory_does_not():
    torch.manual_seed(0)
    func = study.MLPDynamics(hidden=16)
    z0 = torch.randn(32, 2)
    results = study.cost_vs_steps(func, z0, [5, 40], progress=False)
    adjoint, backprop = results["adjoint"], results["backprop"]
    assert backprop[1].saved_bytes / backprop[0].saved_bytes == pytest.approx(8, rel=0.1)
    assert adjoint[1].saved_bytes == adjoint[0].saved_bytes
    assert adjoint[0].backward_nfe == 4 * 5  # rk4, one reverse solve of 5 steps
    assert backprop[0].backward_nfe == 0


def test_resident_peak_sees_a_large_temporary():
    _, peak = study.resident_peak(lambda: torch.ones(50 * 2**20 // 4).sum())
    if peak is None:
        pytest.skip("resident memory is only measured on Linux with glibc")
    assert 40 * 2**20 < peak < 200 * 2**20


def test_backward_cost_rejects_an_unknown_gradient(dynamics, z0):
    with pytest.raises(ValueError, match="gradient='forward' is unknown"):
        study.backward_cost(dynamics, z0, 3, gradient="forward")


def test_cost_figure_has_memory_and_time_for_both_gradients():
    torch.manual_seed(0)
    results = study.cost_vs_steps(
        study.MLPDynamics(hidden=4), torch.randn(2, 2), [2, 4], progress=False
    )
    names = [trace.name for trace in study.cost_figure(results).data]
    assert "adjoint: saved for backward" in names
    assert "backprop: backward time" in names


# --------------------------------------------------------------------------- tolerance


def test_gradient_error_falls_with_the_tolerance(dynamics, z0):
    result = study.tolerance_study(dynamics, z0, 1.0, [1e-3, 1e-7])
    assert result.adjoint_error[1] < result.adjoint_error[0] / 100
    assert result.backprop_error[1] < result.backprop_error[0] / 100
    assert result.reconstruction_error[1] < result.reconstruction_error[0]
    assert result.forward_nfe[1] > result.forward_nfe[0]
    assert all(n > 0 for n in result.backward_nfe)


def test_tolerance_study_rejects_a_negative_tolerance(dynamics, z0):
    with pytest.raises(ValueError, match="rtols must be a non-empty list of positive"):
        study.tolerance_study(dynamics, z0, 1.0, [1e-3, -1.0])


def test_reconstruction_slider_has_one_frame_per_tolerance(dynamics, z0):
    fig = study.reconstruction_slider_figure(dynamics, z0, 1.0, [1e-2, 1e-6])
    assert len(fig.frames) == 2
    assert "gradient error" in fig.layout.sliders[0].steps[0].label


def test_reverse_solve_error_is_larger_at_loose_tolerance(dynamics, z0):
    loose = study.reconstruction(dynamics, z0, 1.0, 1e-2)
    tight = study.reconstruction(dynamics, z0, 1.0, 1e-7)
    assert loose["z_error"][0] > 100 * tight["z_error"][0]  # at t0, the end of the way back
    # the forward flow contracts, so errors grow on the way back from t1 to t0
    assert loose["z_error"][0] > loose["z_error"][-1]
    assert loose["gradient_error"] > tight["gradient_error"]


def test_tolerance_explorer_readout_changes_with_the_slider(dynamics, z0):
    explorer = tolerance_explorer(dynamics, z0, 1.0)
    before = explorer.readout.value
    z_error_before = list(explorer.figure.data[0].y)
    explorer.controls["log10_rtol"].value = -8.0
    assert explorer.readout.value != before
    assert "1.0e-08" in explorer.readout.value
    assert not all(
        math.isclose(a, b) for a, b in zip(z_error_before, explorer.figure.data[0].y, strict=True)
    )
