"""The live flow lab of chapter 10, driven from pytest: train, scrub time, change the target."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
import torch

from nodelib import toy_densities
from nodelib.widgets import flow_lab
from nodelib.widgets.flow_lab import FlowLab


@pytest.fixture(scope="module")
def lab():
    torch.set_num_threads(1)
    return FlowLab(redraw_every=2, batch_size=64, grid_points=12, n_samples=50)


def test_the_lab_is_a_vbox_of_labelled_controls(lab):
    assert isinstance(lab, widgets.VBox) and callable(flow_lab)
    assert list(lab.density.options) == list(toy_densities.DENSITIES)
    for control in (lab.density, lab.iterations, lab.time, lab.train_button, lab.reset_button):
        assert control.description and control.tooltip


def test_a_fresh_flow_shows_the_gaussian_and_integrates_to_one(lab):
    assert "iterations</b> 0" in lab.readout.value
    assert lab.grid.integral == pytest.approx(1.0, abs=0.02)
    assert lab.figure.layout.title.text.startswith("Flow lab")


def test_training_lowers_the_loss_and_updates_the_readout(lab):
    lab.train(iterations=6)
    assert lab.error is None
    assert len(lab.result.losses) == 6 and lab.result.losses[-1] < lab.result.losses[0]
    assert "iterations</b> 6" in lab.readout.value and "NFE" in lab.readout.value
    assert not lab.train_button.disabled  # controls are unlocked again after training


def test_scrubbing_time_redraws_the_density(lab):
    lab.time.value = 1.0
    at_one = lab.grid.density.copy()
    lab.time.value = 0.0
    assert "t = 0.00" in lab.figure.layout.annotations[1].text
    assert not (lab.grid.density == at_one).all()


def test_changing_the_target_resets_the_flow(lab):
    lab.density.value = "rings"
    assert len(lab.result.losses) == 0 and "rings" in lab.figure.layout.title.text
