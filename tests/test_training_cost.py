"""Chapter 12's study: NFE during training, plain and regularised."""

from __future__ import annotations

import math

import pytest

from nodelib import training_cost
from nodelib.training_cost import final_mean, regularisation_study, train_run
from nodelib.viz import OKABE_ITO

KEYS = ("nfe_plain", "nfe_regularised", "loss_plain", "loss_regularised")


@pytest.fixture(scope="module")
def study():
    return regularisation_study(quick=True)


def test_the_quick_study_returns_finite_numbers_for_every_benchmark_key(study):
    for key in KEYS:
        assert math.isfinite(study[key]) and study[key] > 0, key


def test_the_quick_study_keeps_a_history_per_iteration(study):
    for name in ("plain", "regularised"):
        history = study["history"][name]
        assert len(history["nfe"]) == len(history["mse"]) == study["iterations"]


def test_the_aim_flag_agrees_with_the_ratios(study):
    expected = (
        study["nfe_ratio"] <= training_cost.AIM_NFE_RATIO
        and study["loss_ratio"] <= 1 + training_cost.AIM_LOSS_SLACK
    )
    assert study["aim_met"] == expected


def test_runs_with_the_same_seed_repeat_exactly():
    first = train_run(0.01, iterations=3, n_points=16)
    second = train_run(0.01, iterations=3, n_points=16)
    assert first.nfe == second.nfe and first.mse == second.mse


def test_a_large_weight_lowers_the_kinetic_energy():
    plain = train_run(0.0, iterations=8, n_points=32)
    penalised = train_run(1.0, iterations=8, n_points=32)
    assert penalised.kinetic[-1] < 0.5 * plain.kinetic[-1]


def test_final_mean_averages_the_last_tenth():
    assert final_mean(list(range(100))) == pytest.approx(sum(range(90, 100)) / 10)


def test_a_negative_weight_is_refused_by_name():
    with pytest.raises(ValueError, match="weight must be a number >= 0"):
        train_run(-0.1, iterations=1, n_points=8)


@pytest.mark.parametrize("make", ["nfe_figure", "loss_figure", "tradeoff_figure"])
def test_figures_have_titles_and_course_colours(study, make):
    fig = getattr(training_cost, make)(study)
    assert fig.layout.title.text
    colours = set()
    for trace in fig.data:
        if trace.line and trace.line.color:
            colours.add(trace.line.color)
        if trace.marker and trace.marker.color is not None:
            marker = trace.marker.color
            colours.update(marker if isinstance(marker, list | tuple) else [marker])
    assert colours and colours <= set(OKABE_ITO.values())
