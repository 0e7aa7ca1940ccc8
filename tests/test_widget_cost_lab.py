"""The live cost lab of chapter 12, driven from pytest: train, change settings, start/stop."""

from __future__ import annotations

import time

import ipywidgets as widgets
import pytest

from nodelib.widgets.cost_lab import CostLab, cost_lab, precompute_runs, stand_in_figure


@pytest.fixture(scope="module")
def lab():
    return CostLab(n_points=32)


def test_the_lab_is_a_vbox_of_labelled_controls(lab):
    assert isinstance(lab, widgets.VBox) and callable(cost_lab)
    for control in (lab.rtol, lab.weight, lab.start_button, lab.stop_button, lab.reset_button):
        assert control.description and control.tooltip


def test_a_fresh_lab_shows_no_iterations(lab):
    lab.reset()
    assert "iterations</b> 0" in lab.readout.value
    assert lab.figure.layout.title.text.startswith("Cost lab")


def test_stepping_records_nfe_and_loss_and_updates_the_readout(lab):
    lab.reset()
    lab.step(3)
    assert len(lab.trainer.record.nfe) == 3 and "iterations</b> 3" in lab.readout.value
    assert list(lab.figure.data[0].y) == lab.trainer.record.nfe


def test_a_changed_setting_applies_from_the_next_iteration_and_is_marked(lab):
    lab.reset()
    lab.step(2)
    lab.weight.value = 0.01
    lab.rtol.value = 1e-2
    lab.step(1)
    assert lab.changes[-1] == (2, 1e-2, 0.01)
    assert lab.trainer.record.weight == 0.01 and lab.trainer.record.rtol == 1e-2
    assert any("weight 0.01" in a.text for a in lab.figure.layout.annotations)
    lab.weight.value, lab.rtol.value = 0.0, 1e-3


def test_start_trains_in_the_background_and_stop_ends_it(lab):
    lab.reset()
    lab.start()
    assert lab.running and lab.start_button.disabled and not lab.stop_button.disabled
    deadline = time.monotonic() + 30
    while len(lab.trainer.record.nfe) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lab.stop()
    assert not lab.running and lab.error is None
    assert len(lab.trainer.record.nfe) >= 2
    assert not lab.start_button.disabled and lab.stop_button.disabled


def test_reset_starts_from_a_fresh_model(lab):
    lab.step(1)
    lab.reset()
    assert lab.trainer.record.nfe == [] and len(lab.changes) == 1


def test_the_stand_in_has_a_slider_over_the_settings():
    runs = precompute_runs((1e-2, 1e-3), (0.0,), iterations=2, n_points=16, progress=False)
    fig = stand_in_figure(runs)
    labels = [step.label for step in fig.layout.sliders[0].steps]
    assert labels == ["rtol 0.01, weight 0", "rtol 0.001, weight 0"]
    assert len(fig.frames) == 2 and fig.layout.title.text
