"""Implicit Runge–Kutta methods: data, orders, L-stability, a stiff problem, bad input."""

import numpy as np
import pytest
import torch

from nodelib.errors import MaxStepsExceededError, SolverError
from nodelib.implicit_solvers import (
    NewtonConvergenceError,
    hermite_interpolate,
    jacobian,
    odeint_implicit,
)
from nodelib.implicit_tableaus import IMPLICIT_METHODS, IMPLICIT_TABLEAUS, ImplicitTableau
from nodelib.solver_study import fitted_order, spiral_problem
from nodelib.stiffness import implicit_stability_function, stiff_van_der_pol_problem

F64 = torch.float64


def _final_errors(method, step_sizes):
    problem = spiral_problem(t1=1.0)
    errors = []
    for h in step_sizes:
        solution, _ = odeint_implicit(
            problem.func, problem.y0, [problem.t0, problem.t1], method=method, step_size=h
        )
        errors.append(float(np.linalg.norm(solution[-1].numpy() - problem.y_end)))
    return errors


@pytest.mark.parametrize("method", IMPLICIT_METHODS)
def test_tableau_rows_sum_to_c(method):
    assert IMPLICIT_TABLEAUS[method].row_sums_match_c()


@pytest.mark.parametrize("method", IMPLICIT_METHODS)
def test_tableau_is_stiffly_accurate(method):
    assert IMPLICIT_TABLEAUS[method].stiffly_accurate


def test_sdirk2_markdown_shows_gamma_on_the_diagonal():
    text = IMPLICIT_TABLEAUS["sdirk2"].to_markdown()
    assert "0.292893" in text and "adaptive" in text


def test_tableau_rejects_a_row_without_its_diagonal():
    with pytest.raises(ValueError, match="row 1 of a must have 2 entries"):
        ImplicitTableau("bad", 1, c=(0.5, 1.0), a=((0.5,), (1.0,)), b=(0.5, 0.5))


def test_backward_euler_converges_with_order_one():
    step_sizes = [0.02, 0.01, 0.005, 0.0025]
    order = fitted_order(step_sizes, _final_errors("backward_euler", step_sizes))
    assert abs(order - 1.0) < 0.1


def test_sdirk2_converges_with_order_two():
    step_sizes = [0.1, 0.05, 0.025, 0.0125]
    order = fitted_order(step_sizes, _final_errors("sdirk2", step_sizes))
    assert abs(order - 2.0) < 0.1


@pytest.mark.parametrize("method", IMPLICIT_METHODS)
def test_stability_function_vanishes_at_minus_infinity(method):
    assert abs(implicit_stability_function(method, -1e12)) < 1e-9


@pytest.mark.parametrize("method", IMPLICIT_METHODS)
def test_stability_function_is_at_most_one_on_the_left_half_plane(method):
    x, y = np.meshgrid(-np.logspace(-3, 3, 60), np.linspace(-50, 50, 61))
    assert np.abs(implicit_stability_function(method, x + 1j * y)).max() <= 1 + 1e-12


def test_stability_function_of_backward_euler_is_one_over_one_minus_z():
    z = np.array([-3.0, 0.5j, -1 + 2j])
    np.testing.assert_allclose(implicit_stability_function("backward_euler", z), 1 / (1 - z))


@pytest.mark.parametrize("method", IMPLICIT_METHODS)
def test_one_step_on_linear_problem_multiplies_by_stability_function(method):
    lam, h = -50.0, 0.1
    solution, _ = odeint_implicit(
        lambda t, y: lam * y, torch.ones(1, dtype=F64), [0.0, h], method=method, step_size=h
    )
    expected = implicit_stability_function(method, lam * h).real
    assert float(solution[-1, 0]) == pytest.approx(float(expected), rel=1e-8)


def test_jacobian_matches_the_analytic_one_per_sample():
    matrix = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64)
    y = torch.randn(5, 2, dtype=F64)
    f, jac = jacobian(lambda t, y: (y**2) @ matrix.T, 0.0, y)
    expected = matrix * (2 * y)[:, None, :]
    torch.testing.assert_close(jac, expected)
    torch.testing.assert_close(f, (y**2) @ matrix.T)


def test_hermite_interpolation_is_exact_for_a_cubic():
    def cubic(t):
        return torch.tensor([t**3 - 2 * t + 1.0], dtype=F64)

    def slope(t):
        return torch.tensor([3 * t**2 - 2.0], dtype=F64)

    value = hermite_interpolate(cubic(0.5), slope(0.5), cubic(2.0), slope(2.0), 1.5, 0.4)
    torch.testing.assert_close(value, cubic(0.5 + 0.4 * 1.5))


def test_batched_solve_equals_solving_each_sample_alone():
    def func(t, y):
        return torch.stack([y[..., 1], -10 * y[..., 0] * y[..., 1] - y[..., 0]], dim=-1)

    y0 = torch.tensor([[1.0, 0.0], [0.5, 0.3]], dtype=F64)
    batch, _ = odeint_implicit(func, y0, [0.0, 1.0], method="sdirk2", step_size=0.05)
    alone, _ = odeint_implicit(func, y0[1], [0.0, 1.0], method="sdirk2", step_size=0.05)
    torch.testing.assert_close(batch[:, 1], alone, rtol=1e-8, atol=1e-10)


def test_adaptive_sdirk2_matches_reference_on_stiff_van_der_pol():
    problem = stiff_van_der_pol_problem(mu=1000.0, t1=2.0)
    times = np.linspace(0.0, 2.0, 11)
    solution, _ = odeint_implicit(
        problem.func, problem.y0, torch.tensor(times, dtype=F64), rtol=1e-6, atol=1e-8
    )
    reference = problem.exact(times)
    relative = np.abs(solution.numpy() - reference) / (np.abs(reference) + 1e-8)
    assert relative.max() < 1e-4


def test_adaptive_sdirk2_takes_far_fewer_steps_than_the_stability_limit_allows():
    # dopri5 needs h below about 3.3 / 3000 here; an implicit method is not bound by it.
    problem = stiff_van_der_pol_problem(mu=1000.0, t1=2.0)
    _, stats = odeint_implicit(problem.func, problem.y0, [0.0, 2.0], rtol=1e-4)
    assert stats.accepted < 2.0 / (3.3 / 3000) / 10


def test_stats_count_vjps_as_dim_per_jacobian_and_add_them_to_equivalent_nfe():
    problem = spiral_problem()
    _, stats = odeint_implicit(problem.func, problem.y0, [0.0, 1.0], step_size=0.1)
    assert stats.vjps == 2 * stats.jacobian_evaluations
    assert stats.equivalent_nfe == stats.nfe + stats.vjps


def test_unknown_method_is_rejected_with_the_valid_ones():
    with pytest.raises(ValueError, match="valid methods are"):
        odeint_implicit(lambda t, y: -y, torch.ones(1, dtype=F64), [0.0, 1.0], method="rk4")


def test_missing_step_size_and_rtol_is_rejected():
    with pytest.raises(ValueError, match="pass step_size"):
        odeint_implicit(lambda t, y: -y, torch.ones(1, dtype=F64), [0.0, 1.0])


def test_backward_euler_with_rtol_says_it_takes_fixed_steps_only():
    with pytest.raises(ValueError, match="fixed steps only"):
        odeint_implicit(
            lambda t, y: -y, torch.ones(1, dtype=F64), [0.0, 1.0], method="backward_euler",
            rtol=1e-3,
        )  # fmt: skip


def test_func_with_wrong_output_shape_is_rejected():
    with pytest.raises(ValueError, match="must return dy/dt with the shape"):
        odeint_implicit(lambda t, y: y[:1], torch.ones(2, dtype=F64), [0.0, 1.0], step_size=0.1)


def test_too_many_fixed_steps_raise_max_steps_exceeded():
    with pytest.raises(MaxStepsExceededError, match="max_steps=5"):
        odeint_implicit(
            lambda t, y: -y, torch.ones(1, dtype=F64), [0.0, 1.0], step_size=0.1, max_steps=5
        )


def test_newton_failure_says_what_to_try():
    # y' = -y³ from y = 10 with h = 1: the simplified Newton iteration (Jacobian frozen at the
    # start of the step) overshoots and diverges.
    with pytest.raises(NewtonConvergenceError, match="smaller step_size"):
        odeint_implicit(
            lambda t, y: -(y**3), torch.full((1,), 10.0, dtype=F64), [0.0, 1.0], step_size=1.0,
            method="backward_euler",
        )  # fmt: skip


def test_solution_is_detached_even_for_y0_that_requires_grad():
    y0 = torch.ones(1, dtype=F64, requires_grad=True)
    solution, _ = odeint_implicit(lambda t, y: -y, y0, [0.0, 1.0], step_size=0.5)
    assert not solution.requires_grad


def test_adaptive_solve_gives_up_with_advice_when_newton_keeps_failing():
    def finite_only_at_the_start(t, y):
        return -y if float(t) == 0.0 else torch.full_like(y, float("nan"))

    with pytest.raises(NewtonConvergenceError, match="did not converge.*loosen rtol/atol"):
        odeint_implicit(
            finite_only_at_the_start, torch.ones(1, dtype=F64), [0.0, 1.0], rtol=1e-4,
            step_size=0.1,
        )  # fmt: skip


def test_adaptive_solve_names_the_time_where_func_returns_nan():
    def breaks_after_half(t, y):
        return -y if float(t) < 0.5 else torch.full_like(y, float("nan"))

    with pytest.raises(SolverError, match="t=0.5"):
        odeint_implicit(breaks_after_half, torch.ones(1, dtype=F64), [0.0, 1.0], rtol=1e-4)
