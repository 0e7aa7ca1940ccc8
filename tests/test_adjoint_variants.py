"""The studies of adjoint_variants run in quick mode and return what the chapter reads."""

import pytest

from nodelib.adjoint_variants import (
    adjoint_variants_study,
    gradient_error_figure,
    memory_figure,
    seminorm_figure,
    seminorm_study,
)


@pytest.fixture(scope="module")
def variants():
    return adjoint_variants_study(quick=True)


@pytest.fixture(scope="module")
def semi():
    return seminorm_study(quick=True)


def test_variants_study_has_one_error_per_horizon(variants):
    lengths = {len(variants[key]) for key in ("T", "backsolve_rel_err", "checkpoint_rel_err")}
    assert lengths == {len(variants["T"])}


def test_checkpointed_error_is_at_rounding_level(variants):
    assert max(variants["checkpoint_rel_err"]) <= 1e-10


def test_backsolve_error_grows_with_the_horizon(variants):
    assert variants["backsolve_rel_err"][-1] > variants["backsolve_rel_err"][0]


def test_checkpointed_memory_lies_between_backsolve_and_backprop(variants):
    peaks = variants["checkpoint_peak_mb"].values()
    assert variants["backsolve_peak_mb"] < min(peaks) <= max(peaks) <= variants["backprop_peak_mb"]


def test_seminorm_study_reports_a_saving(semi):
    assert semi["backward_nfe_seminorm"] < semi["backward_nfe_default"]


def test_seminorm_study_saving_matches_its_counts(semi):
    expected = 1 - semi["backward_nfe_seminorm"] / semi["backward_nfe_default"]
    assert semi["saving"] == pytest.approx(expected)


@pytest.mark.parametrize("make", [gradient_error_figure, memory_figure])
def test_variants_figures_have_titles(variants, make):
    assert make(variants).layout.title.text


def test_seminorm_figure_has_one_bar_group_per_norm(semi):
    fig = seminorm_figure(semi)
    assert [trace.name for trace in fig.data] == ["default norm", "seminorm"]
