"""The named checks of chapter 11: right answers pass, typical mistakes are named."""

import math

import pytest
import torch

from nodelib import irregular_series as irs
from nodelib.exercises import chapter11 as checks

MEAN = torch.tensor([0.5, -1.0, 0.2], dtype=torch.float64)
STD = torch.tensor([0.8, 1.5, 0.3], dtype=torch.float64)


def test_kl_passes_the_closed_form(capsys):
    right = (0.5 * (STD**2 + MEAN**2 - 1) - torch.log(STD)).sum()
    assert checks.kl_to_prior(right, MEAN, STD)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        ((torch.log(STD) + (1 + MEAN**2) / (2 * STD**2) - 0.5).sum(), "other way round"),
        ((0.5 * (STD**2 + MEAN**2 - 1) + torch.log(STD)).sum(), "sign of the log σ"),
        ((0.5 * (STD**2 + MEAN**2) - torch.log(STD)).sum(), "-1 per dimension"),
        ((0.5 * (STD**2 + MEAN**2 - 1) - 2 * torch.log(STD)).sum(), "log σ²"),
    ],
)
def test_kl_names_the_mistake(capsys, wrong, message):
    assert not checks.kl_to_prior(wrong, MEAN, STD)
    assert message in capsys.readouterr().out


def test_kl_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="mean and std must be 1-D of one shape"):
        checks.kl_to_prior(0.0, MEAN, STD[:2])


@pytest.fixture(scope="module")
def scored():
    series = irs.make_spirals(4, n_times=20, generator=torch.Generator().manual_seed(0))
    prediction = series.truth + 0.3 * torch.randn(series.truth.shape)
    return series, prediction


def test_extrapolation_mse_passes_the_mean_over_the_second_part(capsys, scored):
    series, prediction = scored
    split = series.split
    right = ((prediction[:, split:] - series.truth[:, split:]) ** 2).mean()
    assert checks.extrapolation_mse(right, prediction, series)
    assert "✅" in capsys.readouterr().out


def test_extrapolation_mse_names_the_mistakes(capsys, scored):
    series, prediction = scored
    split = series.split
    for wrong, message in [
        (((prediction[:, split:] - series.values[:, split:]) ** 2).mean(), "noisy values"),
        (((prediction[:, :split] - series.truth[:, :split]) ** 2).mean(), "observed part"),
        (((prediction - series.truth) ** 2).mean(), "whole grid"),
        (
            ((prediction[:, split:] - series.truth[:, split:]) ** 2).sum(dim=-1).mean(),
            "sums over the two coordinates",
        ),
        (((prediction[:, split:] - series.truth[:, split:]) ** 2).mean(dim=0), "shape"),
    ]:
        assert not checks.extrapolation_mse(wrong, prediction, series)
        assert message in capsys.readouterr().out


def test_mesh_outcome_reads_the_two_differences():
    assert checks.mesh_outcome(1e-9, 1e-6) == "larger"
    assert checks.mesh_outcome(1e-9, 1.5e-9) == "about the same"
    assert checks.mesh_outcome(1e-6, 1e-9) == "smaller"
    with pytest.raises(ValueError, match="fine_difference must be a positive number"):
        checks.mesh_outcome(0.0, 1e-6)


def test_predict_and_reveal_the_coarse_step(capsys):
    assert not checks.predict_coarse_step(...)
    assert "not made yet" in capsys.readouterr().out
    assert checks.predict_coarse_step("smaller")
    assert not checks.reveal_coarse_step("smaller", 1e-9, 1e-6)
    assert "you predicted 'smaller'" in capsys.readouterr().out.splitlines()[-1]
    assert checks.reveal_coarse_step("larger", 1e-9, math.pi * 1e-7)
    assert "✅" in capsys.readouterr().out
