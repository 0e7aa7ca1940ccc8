"""The live solver picker, driven from pytest: controls change the solve, figure and readout."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from nodelib.widgets import solver_picker
from nodelib.widgets.solver_picker import SolverPicker


@pytest.fixture(scope="module")
def picker():
    return solver_picker()


def test_solver_picker_is_an_ipywidgets_container_with_an_svg_figure(picker):
    assert isinstance(picker, SolverPicker) and isinstance(picker, widgets.VBox)
    assert picker.figure.value.startswith("<svg")
    assert list(picker.method.options) == ["euler", "midpoint", "rk4", "dopri5"]


def test_changing_the_method_changes_the_cost_the_error_and_the_figure(picker):
    picker.method.value = "rk4"
    picker.step_size.value = 0.1
    rk4_nfe, rk4_error, rk4_svg = picker.nfe, picker.final_error, picker.figure.value
    picker.method.value = "euler"
    assert picker.nfe == rk4_nfe // 4  # one evaluation per step instead of four
    assert picker.final_error > 100 * rk4_error  # first order is far less accurate
    assert picker.figure.value != rk4_svg
    assert "euler" in picker.readout.value and f"NFE</b> {picker.nfe}" in picker.readout.value


def test_a_tighter_tolerance_costs_more_and_is_more_accurate(picker):
    picker.method.value = "dopri5"
    picker.tolerance.value = 1e-3
    loose_nfe, loose_error, loose_steps = picker.nfe, picker.final_error, picker.run["sizes"]
    picker.tolerance.value = 1e-7
    assert picker.nfe > 2 * loose_nfe
    assert picker.final_error < loose_error / 100
    assert len(picker.run["sizes"]) > len(loose_steps)
    assert f"{picker.nfe}" in picker.readout.value and "1e-07" in picker.readout.value


def test_only_the_control_that_matters_is_enabled(picker):
    picker.method.value = "dopri5"
    assert picker.step_size.disabled and not picker.tolerance.disabled
    picker.method.value = "midpoint"
    assert not picker.step_size.disabled and picker.tolerance.disabled


def test_the_initial_condition_moves_the_trajectory(picker):
    picker.method.value = "rk4"
    picker.x0.value, picker.v0.value = 2.0, 0.0
    before = picker.run["y"][0].copy()
    picker.x0.value = -1.0
    picker.v0.value = 0.5
    np.testing.assert_allclose(picker.run["y"][0], [-1.0, 0.5])
    assert not np.allclose(before, picker.run["y"][0])


def test_a_blow_up_is_reported_in_the_readout_not_raised():
    picker = solver_picker()
    picker.method.value = "euler"
    picker.step_size.value = 0.4
    picker.x0.value = 3.0
    assert picker.run is None and picker.error is not None
    assert "NonFiniteError" in picker.readout.value
    picker.step_size.value = 0.01  # a small enough step recovers
    assert picker.error is None and picker.run is not None
