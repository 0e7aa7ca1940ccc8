"""The live latent lab of chapter 11, driven from pytest: add, drop and redraw observations."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
import torch

from nodelib import irregular_series as irs
from nodelib.latent_ode import LatentODE
from nodelib.widgets.latent_lab import LatentLab, latent_lab


@pytest.fixture(scope="module")
def lab():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    series = irs.make_spirals(3, n_times=20, generator=torch.Generator().manual_seed(0))
    return LatentLab(LatentODE(), series, n_samples=4)


def test_the_lab_is_a_vbox_of_labelled_controls(lab):
    assert isinstance(lab, widgets.VBox) and callable(latent_lab)
    assert len(lab.time_buttons) == 10  # one per grid time of the observed part
    controls = [lab.series, lab.samples, lab.fraction, lab.random_button, lab.clear_button]
    for control in controls + lab.time_buttons:
        assert control.description and control.tooltip


def test_it_starts_with_the_chosen_share_of_random_observations(lab):
    assert int(lab.observed.sum()) == 3  # 30 % of 10 grid times
    assert "3 observations" in lab.figure.layout.title.text
    assert "observations</b> 3 of 10" in lab.readout.value


def test_toggling_a_time_adds_and_then_drops_that_observation(lab):
    free = int(torch.nonzero(~lab.observed[:10])[0])
    before = lab.errors["interp_mse"]
    lab.toggle(free)
    assert bool(lab.observed[free]) and int(lab.observed.sum()) == 4
    assert "4 observations" in lab.figure.layout.title.text
    assert lab.errors["interp_mse"] != before  # the encoder read the new observation
    lab.toggle(free)
    assert not bool(lab.observed[free]) and lab.errors["interp_mse"] == pytest.approx(before)


def test_pressing_a_time_button_redraws_like_toggle(lab):
    button = next(b for b in lab.time_buttons if not b.value)
    button.value = True
    assert f"{int(lab.observed.sum())} observations" in lab.figure.layout.title.text


def test_the_figure_shows_posterior_samples_and_the_extrapolation(lab):
    names = [trace.name for trace in lab.figure.data]
    assert "latent ODE: posterior samples" in names
    assert "latent ODE: extrapolation" in names and "observations" in names
    assert lab.spread > 0


def test_clearing_every_observation_still_draws_and_says_so(lab):
    lab.set_observed([])
    assert lab.error is None and "nothing to read" in lab.readout.value
    lab.randomise()
    assert int(lab.observed.sum()) == 3


def test_an_index_outside_the_observed_part_is_refused_by_name(lab):
    with pytest.raises(ValueError, match="k must be a grid index from 0 to 9, got 15"):
        lab.toggle(15)
