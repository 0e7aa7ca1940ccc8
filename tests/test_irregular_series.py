"""Bidirectional spirals, sparse observations and batches on the union of their times."""

from __future__ import annotations

import math

import pytest
import torch

from nodelib import irregular_series as irs
from nodelib.ode_rnn import AutonomousField


@pytest.fixture(scope="module")
def spirals():
    return irs.make_spirals(6, n_times=40, generator=torch.Generator().manual_seed(0))


def test_half_of_the_spirals_turn_clockwise(spirals):
    truth = spirals.truth
    # the sign of the cross product of consecutive points is the direction of rotation
    cross = truth[:, :-1, 0] * truth[:, 1:, 1] - truth[:, :-1, 1] * truth[:, 1:, 0]
    turns_clockwise = (cross < 0).all(dim=1)
    assert torch.equal(turns_clockwise, spirals.clockwise)
    assert int(spirals.clockwise.sum()) == 3


def test_each_segment_turns_once_with_a_growing_radius(spirals):
    radius = spirals.truth.norm(dim=-1)
    assert bool((radius[:, 1:] > radius[:, :-1]).all())
    growth = radius[:, -1] - radius[:, 0]
    assert torch.allclose(growth, torch.full_like(growth, irs.GROWTH * 2 * math.pi), atol=1e-5)


def test_noise_has_the_requested_standard_deviation():
    many = irs.make_spirals(200, noise_std=0.2, generator=torch.Generator().manual_seed(1))
    assert float((many.values - many.truth).std()) == pytest.approx(0.2, rel=0.03)


def test_observe_keeps_the_fraction_of_the_observed_part_only(spirals):
    mask = irs.observe(spirals, 0.3, torch.Generator().manual_seed(0))
    assert mask.shape == (6, 40) and spirals.split == 20
    assert mask.sum(dim=1).tolist() == [6] * 6  # 30 % of 20 grid points
    assert not bool(mask[:, spirals.split :].any())


def test_observe_gives_each_series_its_own_times(spirals):
    mask = irs.observe(spirals, 0.5, torch.Generator().manual_seed(0))
    assert len({tuple(row.tolist()) for row in mask}) == len(spirals)


def test_observe_takes_one_fraction_per_series(spirals):
    mask = irs.observe(spirals, [0.1, 0.5, 1.0, 0.1, 0.5, 1.0])
    assert mask.sum(dim=1).tolist() == [2, 10, 20, 2, 10, 20]


def test_a_fraction_outside_zero_one_is_refused_by_name(spirals):
    with pytest.raises(ValueError, match=r"fraction must be a number in \(0, 1\], got 1.5"):
        irs.observe(spirals, 1.5)


def test_union_batch_and_split_batch_are_inverse():
    times = [torch.tensor([0.1, 0.5]), torch.tensor([0.2, 0.5, 0.9]), torch.tensor([0.9])]
    values = [torch.randn(len(t), 2) for t in times]
    batch = irs.union_batch(times, values)
    assert batch.times.tolist() == pytest.approx([0.1, 0.2, 0.5, 0.9])
    assert batch.mask.sum(dim=1).tolist() == [2, 3, 1]
    back_times, back_values = irs.split_batch(batch)
    for a, b in zip(back_times + back_values, times + values, strict=True):
        assert torch.equal(a, b)


def test_union_batch_refuses_unsorted_times_naming_the_series():
    with pytest.raises(ValueError, match="series 1: times must be strictly increasing"):
        irs.union_batch(
            [torch.tensor([0.1]), torch.tensor([0.3, 0.2])], [torch.zeros(1, 2), torch.zeros(2, 2)]
        )


def test_batch_from_mask_keeps_only_the_times_somebody_observed(spirals):
    mask = irs.observe(spirals, 0.1, torch.Generator().manual_seed(3))
    batch = irs.batch_from_mask(spirals, mask)
    assert len(batch.times) == int(mask.any(dim=0).sum())
    assert torch.equal(batch.mask.sum(dim=1), mask.sum(dim=1))
    assert torch.equal(batch.values[batch.mask], spirals.values[mask])


def test_solving_on_the_union_equals_solving_each_series_on_its_own():
    torch.manual_seed(0)
    field = AutonomousField(3, 16).double()
    times = [torch.tensor([0.3, 1.1]), torch.tensor([0.0, 0.4, 2.0]), torch.tensor([1.7])]
    times = [t.double() for t in times]
    batch = irs.union_batch(times, [torch.zeros(len(t), 3, dtype=torch.float64) for t in times])
    y0 = torch.randn(3, 3, dtype=torch.float64)
    solver = {"method": "dopri5", "rtol": 1e-10, "atol": 1e-12}
    with torch.no_grad():
        on_union = irs.solve_on_union(field, y0, batch.times, **solver)
        each = irs.solve_each(field, y0, times, **solver)
    differences = [(on_union[b][batch.mask[b]] - each[b]).abs().max() for b in range(len(times))]
    assert max(float(d) for d in differences) < 1e-6


def test_solve_on_union_refuses_times_before_t0():
    field = AutonomousField(2, 4)
    with pytest.raises(ValueError, match="times must not start before t0=0.5"):
        irs.solve_on_union(field, torch.zeros(1, 2), torch.tensor([0.1, 1.0]), t0=0.5)
