"""nodelib.solver_study measures what the solvers chapter claims: orders, costs, stability."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from nodelib import solver_study as ss


@pytest.fixture(scope="module")
def spiral():
    return ss.spiral_problem()


def test_spiral_problem_exact_solution_starts_at_y0_and_solves_the_ode(spiral):
    t = np.array([0.0, 0.7])
    y = spiral.exact(t)
    np.testing.assert_allclose(y[0], spiral.y0.numpy())
    eps = 1e-6
    derivative = (spiral.exact(t + eps) - spiral.exact(t - eps)) / (2 * eps)
    np.testing.assert_allclose(derivative[1], ss.SPIRAL_A @ y[1], rtol=1e-6)


def test_stiff_cosine_exact_solution_solves_the_ode():
    problem = ss.stiff_cosine_problem(50.0)
    t, eps = np.array([0.01, 0.5]), 1e-7
    y = problem.exact(t)[:, 0]
    derivative = (problem.exact(t + eps) - problem.exact(t - eps))[:, 0] / (2 * eps)
    np.testing.assert_allclose(derivative, -50.0 * (y - np.cos(t)), rtol=1e-5)
    assert problem.exact(np.array([0.0]))[0, 0] == pytest.approx(0.0, abs=1e-14)


def test_fitted_order_recovers_the_exponent_of_a_power_law():
    h = np.array([0.1, 0.05, 0.025])
    assert ss.fitted_order(h, 3.0 * h**4) == pytest.approx(4.0)


def test_fitted_order_rejects_a_single_point():
    with pytest.raises(ValueError, match="at least two"):
        ss.fitted_order([0.1], [0.01])


@pytest.mark.parametrize(
    ("method", "order", "h_max"),
    [("euler", 1, 0.05), ("midpoint", 2, 0.05), ("rk4", 4, 0.2), ("dopri5", 5, 0.4)],
)
def test_each_method_converges_with_its_order(spiral, method, order, h_max):
    study = ss.convergence_study(spiral, {method: [h_max / 2**k for k in range(4)]})
    assert study.orders[method] == pytest.approx(order, abs=0.15)


def test_one_step_geometry_of_euler_follows_the_first_slope():
    step = ss.one_step_geometry("euler", lambda t, y: 2 * y, 0.0, 1.0, 0.5)
    assert step.slopes.tolist() == [2.0] and step.y_next == pytest.approx(2.0)


def test_one_step_geometry_of_rk4_is_exact_for_a_cubic_in_t():
    # y' = 3 t^2 -> y = t^3: Simpson's rule is exact for cubics
    step = ss.one_step_geometry("rk4", lambda t, y: 3 * t**2, 1.0, 1.0, 0.5)
    assert step.y_next == pytest.approx(1.5**3)
    assert step.stage_t.tolist() == [1.0, 1.25, 1.25, 1.5]


def test_step_geometry_figure_has_one_frame_per_method():
    fig = ss.step_geometry_figure(
        lambda t, y: y * np.cos(t), lambda t: np.exp(np.sin(t)), 0.0, 1.0, 1.5
    )
    assert isinstance(fig, go.Figure)
    assert len(fig.frames) == 4
    stage_counts = [len(frame.data[3].x) for frame in fig.frames]
    assert stage_counts == [1, 2, 4, 7]


def test_stability_limits_match_the_known_values():
    assert ss.stability_limit("euler") == pytest.approx(2.0, abs=1e-9)
    assert ss.stability_limit("midpoint") == pytest.approx(2.0, abs=1e-9)
    assert ss.stability_limit("rk4") == pytest.approx(2.7853, abs=1e-4)
    assert ss.stability_limit("dopri5") == pytest.approx(3.3066, abs=1e-3)


def test_stability_function_of_rk4_is_the_taylor_polynomial_of_exp():
    z = np.array([-0.3 + 0.2j, 0.5])
    expected = 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24
    np.testing.assert_allclose(ss.stability_function("rk4", z), expected)


def test_euler_blows_up_just_above_two_over_lambda_and_not_just_below():
    demo = ss.euler_stability_demo(50.0, factors=(0.9, 1.1))
    t, below = demo[0.9]
    _, above = demo[1.1]
    exact = ss.stiff_cosine_problem(50.0).exact(t)[:, 0]
    assert np.abs(below - exact)[len(t) // 2 :].max() < 0.05
    assert np.abs(above).max() > 100


def test_dopri5_work_grows_with_stiffness_and_steps_sit_at_the_stability_limit():
    sweep = ss.stiffness_sweep([1.0, 100.0, 1000.0], rtol=1e-6, t1=1.0)
    assert sweep.nfe[0] < sweep.nfe[1] < sweep.nfe[2]
    assert sweep.median_h_lambda[-1] == pytest.approx(ss.stability_limit("dopri5"), rel=0.15)
    assert max(sweep.errors) < 1e-4


def test_work_precision_dopri5_costs_more_for_tighter_tolerances():
    problem = ss.van_der_pol_problem(t1=5.0)
    wp = ss.work_precision(problem, {"rk4": [0.1, 0.05]}, [1e-4, 1e-7])
    assert wp.nfe["dopri5"][1] > wp.nfe["dopri5"][0]
    assert wp.errors["dopri5"][1] < wp.errors["dopri5"][0]
    assert wp.nfe["rk4"] == [1 + 4 * 50 - 1, 1 + 4 * 100 - 1]


def test_step_history_splits_the_mesh_into_steps():
    problem = ss.van_der_pol_problem(mu=5.0, t1=10.0)
    _, stats = ss.adaptive_solve(problem, 1e-5)
    history = ss.step_history(stats)
    assert len(history.sizes) == stats.accepted
    assert history.starts[0] == 0.0 and history.starts[-1] + history.sizes[-1] == 10.0
    assert len(history.rejected_sizes) == stats.rejected > 0


def test_picker_frames_figure_has_a_frame_and_a_title_per_setting():
    problem = ss.van_der_pol_problem(t1=5.0)
    fig = ss.picker_frames_figure(problem, {"euler": [0.2], "dopri5": [1e-3, 1e-6]})
    assert len(fig.frames) == 3
    titles = [frame.layout.title.text for frame in fig.frames]
    assert titles[0].startswith("euler") and "NFE" in titles[2]
    assert len(set(titles)) == 3


def test_bad_method_names_the_valid_ones():
    with pytest.raises(ValueError, match="method='rk5'"):
        ss.picker_run(ss.van_der_pol_problem(t1=1.0), "rk5", 0.1)


def test_dopri5_stability_polynomial_has_the_known_sixth_order_term():
    coefficients = ss.stability_polynomial("dopri5")
    np.testing.assert_allclose(coefficients[:7], [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 600])
    assert coefficients[7] == pytest.approx(0.0, abs=1e-15)


def test_stability_boundary_points_have_modulus_one():
    z = ss.stability_boundary("rk4", n_angles=90)
    np.testing.assert_allclose(np.abs(ss.stability_function("rk4", z)), 1.0, atol=1e-10)
