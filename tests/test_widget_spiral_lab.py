"""The live spiral lab, driven from pytest: buttons, the background thread, the plots."""

from __future__ import annotations

import time

import ipywidgets as widgets
import numpy as np
import pytest

from nodelib.widgets.spiral_lab import SpiralLab, spiral_lab


@pytest.fixture
def lab():
    lab = spiral_lab()
    lab.iterations.value = 60
    lab.window.value = 3
    yield lab
    lab.stop()


def test_spiral_lab_is_an_ipywidgets_container_with_an_svg_figure(lab):
    assert isinstance(lab, widgets.VBox)
    assert lab.figure.value.startswith("<svg")
    labels = {b.description for b in (lab.train_button, lab.stop_button, lab.reset_button)}
    assert labels == {"Train", "Stop", "Reset"}


def test_solver_choices_are_nodelibs_solvers(lab):
    assert list(lab.solver.options) == ["euler", "midpoint", "rk4", "dopri5"]


def test_train_changes_the_prediction_and_lowers_the_loss(lab):
    before_prediction, before_svg = lab.prediction.copy(), lab.figure.value
    lab.solver.value = "euler"
    lab.lr.value = 0.1
    lab.train_button.click()
    assert lab.wait(timeout=60)
    assert lab.error is None
    assert lab.trainer.iteration == 60 and lab.trainer.solver == "euler"
    assert np.max(np.abs(lab.prediction - before_prediction)) > 0.1
    assert lab.figure.value != before_svg
    assert np.mean(lab.trainer.losses[-5:]) < 0.5 * lab.trainer.losses[0]


def test_settings_are_disabled_while_training(lab):
    lab.iterations.value = 2000
    lab.train_button.click()
    assert lab.running and lab.solver.disabled and lab.train_button.disabled
    lab.stop_button.click()
    assert not lab.solver.disabled and not lab.train_button.disabled


def test_stop_halts_training_within_a_second(lab):
    lab.iterations.value = 2000
    lab.train_button.click()
    time.sleep(0.5)
    clicked = time.perf_counter()
    lab.stop_button.click()
    assert not lab.running
    assert time.perf_counter() - clicked < 1.0
    halted_at = lab.trainer.iteration
    time.sleep(0.3)
    assert lab.trainer.iteration == halted_at < 2000


def test_train_after_stop_continues_from_the_current_model(lab):
    lab.train_button.click()
    lab.wait()
    lab.train_button.click()
    lab.wait()
    assert lab.trainer.iteration == 120


def test_reset_restores_the_initial_model(lab):
    initial = lab.prediction.copy()
    lab.train_button.click()
    lab.wait()
    lab.reset_button.click()
    assert lab.trainer.iteration == 0 and lab.trainer.losses == []
    np.testing.assert_allclose(lab.prediction, initial)


def test_rapid_clicks_leave_a_consistent_state(lab):
    lab.iterations.value = 2000
    buttons = [lab.train_button, lab.stop_button, lab.reset_button, lab.train_button]
    for k in range(24):
        buttons[k % len(buttons)].click()
    lab.stop_button.click()
    assert not lab.running and lab.error is None
    assert not lab.train_button.disabled and lab.stop_button.disabled
    assert len(lab.trainer.losses) == lab.trainer.iteration


def test_an_error_during_training_is_shown_in_the_readout_not_raised(lab):
    def failing_step():
        raise RuntimeError("solver gave up")

    lab.trainer.step = failing_step  # Train keeps the trainer, so the patch stays in place
    lab.train_button.click()
    assert lab.wait(timeout=30)
    assert lab.error == "RuntimeError: solver gave up"
    assert "solver gave up" in lab.readout.value
    assert not lab.train_button.disabled and not lab.solver.disabled


def test_spiral_lab_class_is_exported():
    assert spiral_lab.__module__ == SpiralLab.__module__
