"""The toy densities of chapter 10 and their single-Gaussian baseline."""

import math

import pytest
import torch

from nodelib import toy_densities


@pytest.mark.parametrize("name", toy_densities.DENSITIES)
def test_every_density_gives_repeatable_points_inside_the_square(name):
    a = toy_densities.sample(name, 2000, torch.Generator().manual_seed(0))
    b = toy_densities.sample(name, 2000, torch.Generator().manual_seed(0))
    assert a.shape == (2000, 2) and a.dtype == torch.float32
    torch.testing.assert_close(a, b)
    inside = (a.abs() <= toy_densities.EXTENT).all(dim=1).float().mean()
    assert inside > 0.99


def test_rings_have_radii_one_two_three_weighted_by_length():
    points = toy_densities.sample("rings", 30000, torch.Generator().manual_seed(0))
    radius = points.norm(dim=1)
    ring = torch.round(radius).long()
    assert set(ring.unique().tolist()) == {1, 2, 3}
    shares = torch.bincount(ring, minlength=4)[1:].float() / len(ring)
    torch.testing.assert_close(shares, torch.tensor([1 / 6, 2 / 6, 3 / 6]), atol=0.01, rtol=0)


def test_checkerboard_leaves_alternate_squares_empty():
    points = toy_densities.sample("checkerboard", 20000, torch.Generator().manual_seed(0))
    column, row = torch.floor(points[:, 0] / 2).long(), torch.floor(points[:, 1] / 2).long()
    assert bool(((column + row) % 2 == 0).all())


def test_the_gaussian_fit_of_gaussian_data_scores_its_entropy():
    generator = torch.Generator().manual_seed(0)
    train = 2 * torch.randn(40000, 2, generator=generator)
    test = 2 * torch.randn(40000, 2, generator=generator)
    entropy = 1 + math.log(2 * math.pi) + 2 * math.log(2)  # of N(0, 4 I) in 2-D, nats
    assert toy_densities.gaussian_nll(train, test) == pytest.approx(entropy, abs=0.02)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="density 'spiral' is unknown"):
        toy_densities.sample("spiral", 10)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        toy_densities.sample("rings", 0)
    with pytest.raises(ValueError, match=r"train must be a \(n, dim\) tensor"):
        toy_densities.gaussian_nll(torch.zeros(5), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="test has dimension 3 but train has 2"):
        toy_densities.gaussian_nll(torch.randn(5, 2), torch.randn(5, 3))
