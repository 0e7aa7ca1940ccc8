"""Chapter 5's exercise checks: the right answer passes, typical mistakes are named."""

import numpy as np
import pytest

from nodelib import solver_study as ss
from nodelib.exercises import chapter05 as checks


@pytest.fixture(scope="module")
def convergence():
    return ss.convergence_study(ss.spiral_problem(t1=2.0), {"midpoint": [0.1, 0.05, 0.025]})


@pytest.fixture(scope="module")
def limits():
    return {name: ss.stability_limit(name) for name in ss.SOLVER_METHODS}


def last_ratio(convergence):
    errors = convergence.errors["midpoint"]
    return errors[-2] / errors[-1]


def test_midpoint_order_accepts_log2_of_the_error_ratio(convergence, capsys):
    assert checks.midpoint_order(np.log2(last_ratio(convergence)), convergence)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (np.log, "natural logarithm"),
        (np.log10, "log10"),
        (lambda r: r, "ratio of the errors"),
        (lambda r: -np.log2(r), "sign is flipped"),
    ],
)
def test_midpoint_order_names_the_mistake(convergence, capsys, wrong, message):
    assert not checks.midpoint_order(wrong(last_ratio(convergence)), convergence)
    assert message in capsys.readouterr().out


def test_rk4_stable_step_accepts_limit_over_stiffness(limits, capsys):
    assert checks.rk4_stable_step(limits["rk4"] / 250.0, limits, 250.0)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda lim: 2.0 / 250.0, "Euler's limit"),
        (lambda lim: lim["rk4"] * 250.0, "not limit · |λ|"),
        (lambda lim: 250.0 / lim["rk4"], "upside down"),
        (lambda lim: lim["dopri5"] / 250.0, "Dopri5"),
    ],
)
def test_rk4_stable_step_names_the_mistake(limits, capsys, wrong, message):
    assert not checks.rk4_stable_step(wrong(limits), limits, 250.0)
    assert message in capsys.readouterr().out


def backward_euler_loop(t_grid, lam, slope_time="new", implicit=True):
    y = [0.0]
    for t_old, t_new in zip(t_grid[:-1], t_grid[1:], strict=True):
        h = t_new - t_old
        cos = np.cos(t_new if slope_time == "new" else t_old)
        y.append(
            (y[-1] + h * lam * cos) / (1 + h * lam) if implicit else y[-1] - h * lam * (y[-1] - cos)
        )
    return y


def test_backward_euler_accepts_the_implicit_steps_and_they_stay_bounded(capsys):
    t_grid = np.arange(0.0, 2.2, 0.4)
    y = backward_euler_loop(t_grid, 50.0)
    assert checks.backward_euler(y, t_grid, 50.0)
    assert "✅" in capsys.readouterr().out
    assert max(abs(v) for v in y) < 1.0  # far beyond explicit Euler's limit, still stable


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"implicit": False, "slope_time": "old"}, "explicit (forward) Euler"),
        ({"slope_time": "old"}, "at t_n"),
    ],
)
def test_backward_euler_names_the_mistake(capsys, kwargs, message):
    t_grid = np.arange(0.0, 2.2, 0.4)
    assert not checks.backward_euler(backward_euler_loop(t_grid, 50.0, **kwargs), t_grid, 50.0)
    assert message in capsys.readouterr().out


def test_backward_euler_with_a_placeholder_is_not_attempted(capsys):
    assert not checks.backward_euler([0.0, ..., ...], [0.0, 0.4, 0.8], 50.0)
    assert "not attempted" in capsys.readouterr().out


def test_stiff_tolerance_reveal_reads_the_outcome_from_the_measured_nfe(capsys):
    tight = ss.stiffness_sweep([1000.0], rtol=1e-6)
    loose = ss.stiffness_sweep([1000.0], rtol=1e-3)
    assert checks.predict_stiff_tolerance("b")
    assert checks.reveal_stiff_tolerance("b", tight, loose)
    assert "✅" in capsys.readouterr().out
    assert not checks.reveal_stiff_tolerance("a", tight, loose)
    assert "❌ you predicted 'a'" in capsys.readouterr().out


def test_stiff_tolerance_refuses_an_unknown_option(capsys):
    assert not checks.predict_stiff_tolerance("d")
    assert "not one of the options" in capsys.readouterr().out
