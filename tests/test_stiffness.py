"""The stiffness study: stiff Van der Pol, the explicit/implicit comparison, the figures."""

import numpy as np
import pytest

from nodelib.stiffness import (
    implicit_stability_boundary,
    implicit_stability_function,
    stability_regions_figure,
    step_size_comparison_figure,
    stiff_comparison,
    stiff_solution_figure,
    stiff_van_der_pol_problem,
    stiff_work_figure,
)
from nodelib.viz import OKABE_ITO

BENCHMARK_KEYS = {"problem", "explicit_nfe", "implicit_nfe", "explicit_seconds", "implicit_seconds"}


@pytest.fixture(scope="module")
def quick_comparison():
    return stiff_comparison(quick=True, return_runs=True)


def test_comparison_has_the_benchmark_keys(quick_comparison):
    result, _ = quick_comparison
    assert BENCHMARK_KEYS <= set(result)


def test_implicit_method_needs_fewer_evaluations_than_dopri5(quick_comparison):
    result, _ = quick_comparison
    assert result["implicit_nfe"] < result["explicit_nfe"]


def test_implicit_method_is_at_least_as_accurate_at_the_same_tolerance(quick_comparison):
    result, _ = quick_comparison
    assert result["accuracy_matched"]
    assert result["implicit_max_error"] < 1e-4


def test_dopri5_runs_out_of_steps_on_a_whole_period(quick_comparison):
    result, _ = quick_comparison
    assert result["explicit_hit_max_steps"]
    assert 0 < result["explicit_stopped_at"] < result["period_t1"] / 100


def test_comparison_numbers_are_plain_json_values(quick_comparison):
    result, _ = quick_comparison
    assert all(isinstance(v, str | int | float | bool) for v in result.values())


def test_reference_solution_starts_at_the_initial_state():
    problem = stiff_van_der_pol_problem(mu=1000.0, t1=1.0)
    np.testing.assert_allclose(problem.exact(np.array([0.0]))[0], [2.0, 0.0])


def test_stiff_problem_rejects_a_negative_mu():
    with pytest.raises(ValueError, match="mu must be a positive"):
        stiff_van_der_pol_problem(mu=-1.0)


def test_stability_function_rejects_an_explicit_method():
    with pytest.raises(ValueError, match="not one of"):
        implicit_stability_function("rk4", -1.0)


def test_backward_euler_boundary_is_the_circle_around_one():
    z = implicit_stability_boundary("backward_euler")
    np.testing.assert_allclose(np.abs(z - 1), 1.0, atol=1e-9)


def test_sdirk2_boundary_has_modulus_one_and_lies_in_the_right_half_plane():
    z = implicit_stability_boundary("sdirk2")
    np.testing.assert_allclose(np.abs(implicit_stability_function("sdirk2", z)), 1.0, atol=1e-9)
    assert z.real.min() > -1e-9


def test_stability_regions_figure_has_a_title_and_course_colours():
    fig = stability_regions_figure()
    assert fig.layout.title.text
    palette = set(OKABE_ITO.values())
    assert all(trace.marker.color in palette for trace in fig.data)


def test_step_size_figure_draws_one_curve_per_run(quick_comparison):
    _, runs = quick_comparison
    fig = step_size_comparison_figure(runs)
    assert fig.layout.title.text
    assert len(fig.data) == len(runs)


def test_solution_figure_shows_reference_and_run(quick_comparison):
    _, runs = quick_comparison
    fig = stiff_solution_figure(runs["implicit"], stiff_van_der_pol_problem(1000.0, 1.0))
    assert fig.layout.title.text
    assert len(fig.data) == 2


def test_work_figure_puts_the_ratio_in_its_title(quick_comparison):
    result, _ = quick_comparison
    fig = stiff_work_figure(result)
    assert f"{result['nfe_ratio']:.0f}× fewer" in fig.layout.title.text
    assert len(fig.data) == 2
