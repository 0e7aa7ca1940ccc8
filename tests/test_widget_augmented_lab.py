"""The augmented lab, driven from pytest: settings make fresh models, Train trains them."""

import ipywidgets as widgets
import pytest
import torch

from nodelib.widgets import augmented_lab
from nodelib.widgets.augmented_lab import AugmentedLab


@pytest.fixture
def lab():
    torch.set_num_threads(1)
    return augmented_lab(n_points=32)


def test_the_lab_is_a_vbox_with_labelled_controls_and_a_figure(lab):
    assert isinstance(lab, AugmentedLab) and isinstance(lab, widgets.VBox)
    for control in (lab.problem, lab.extra_dims, lab.solver, lab.iterations):
        assert control.description and control.tooltip
    assert lab.figure.layout.title.text
    assert lab.output.outputs  # the figure is shown
    assert "NFE of dopri5" in lab.readout.value


def test_extra_dimensions_and_solver_rebuild_the_model(lab):
    lab.extra_dims.value = 3
    assert lab.model.augment_dim == 3 and lab.model.state_dim == 4
    lab.solver.value = "rk4"
    assert lab.model.method == "rk4" and lab.model.augment_dim == 3
    assert lab.record.losses == []


def test_training_the_augmented_model_lowers_the_crossing_loss(lab):
    lab.extra_dims.value = 1
    before = lab.mse
    lab.train(40)
    assert len(lab.record.losses) == 40 and lab.error is None
    assert lab.mse < before / 10
    assert "<b>iterations</b> 40" in lab.readout.value


def test_the_annuli_show_a_decision_boundary_and_an_accuracy(lab):
    lab.problem.value = "annuli"
    assert lab.model.readout.kind == "linear"
    assert "accuracy" in lab.readout.value
    assert any(trace.type == "contour" for trace in lab.figure.data)
    lab.train(10)
    assert len(lab.record.nfe) == 10


def test_a_failure_during_training_is_shown_not_raised(lab, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("solver gave up")

    monkeypatch.setattr("nodelib.augmented.fit", broken)
    lab.train(5)
    assert lab.error == "RuntimeError: solver gave up"
    assert "solver gave up" in lab.readout.value
    assert not lab.train_button.disabled


def test_reset_returns_to_an_untrained_model(lab):
    lab.train(10)
    lab.reset()
    assert lab.record.losses == [] and "<b>iterations</b> 0" in lab.readout.value
