"""The latent ODE: its encoder, its ELBO, and one solve on the union of a batch's times."""

from __future__ import annotations

import math

import pytest
import torch

from nodelib import irregular_series as irs
from nodelib.latent_ode import LatentODE, gaussian_kl, gaussian_log_likelihood


@pytest.fixture(scope="module")
def data():
    generator = torch.Generator().manual_seed(0)
    series = irs.make_spirals(5, n_times=30, generator=generator)
    mask = irs.observe(series, [0.2, 0.4, 0.6, 0.8, 1.0], generator)
    return series, mask


def test_kl_of_the_prior_against_itself_is_zero():
    assert torch.allclose(gaussian_kl(torch.zeros(3, 4), torch.ones(3, 4)), torch.zeros(3))


def test_kl_matches_torch_distributions():
    mean, std = torch.randn(2, 3), torch.rand(2, 3) + 0.5
    q = torch.distributions.Normal(mean, std)
    p = torch.distributions.Normal(torch.zeros(2, 3), torch.ones(2, 3))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1)
    assert torch.allclose(gaussian_kl(mean, std), expected, atol=1e-6)


def test_log_likelihood_matches_torch_distributions():
    x, mean = torch.randn(4, 2), torch.randn(4, 2)
    expected = torch.distributions.Normal(mean, 0.3).log_prob(x).sum(dim=1)
    assert torch.allclose(gaussian_log_likelihood(x, mean, 0.3), expected, atol=1e-5)


def test_the_encoder_of_one_series_ignores_the_rest_of_the_batch(data):
    series, mask = data
    torch.manual_seed(0)
    model = LatentODE()
    with torch.no_grad():
        together, _ = model.posterior(irs.batch_from_mask(series, mask))
        alone = [model.posterior(irs.batch_from_mask(series, mask, [b]))[0] for b in range(5)]
    assert torch.allclose(together, torch.cat(alone), atol=1e-6)


def test_decoding_on_the_union_equals_decoding_each_series_on_its_own(data):
    series, mask = data
    torch.manual_seed(0)
    model = LatentODE(method="dopri5", step_size=None).double()
    model.solver.update(rtol=1e-10, atol=1e-12)
    batch = irs.batch_from_mask(series, mask)
    z0 = torch.randn(5, model.latent_dim, dtype=torch.float64)
    with torch.no_grad():
        on_union = model.decode(z0, batch.times.double())
        own = [model.decode(z0[b : b + 1], series.times[mask[b]].double())[0] for b in range(5)]
    worst = max(float((on_union[b][batch.mask[b]] - own[b]).abs().max()) for b in range(5))
    assert worst < 1e-6


def test_the_elbo_is_the_log_likelihood_minus_the_kl(data):
    series, mask = data
    torch.manual_seed(0)
    model = LatentODE()
    batch = irs.batch_from_mask(series, mask)
    with torch.no_grad():
        elbo, log_likelihood, kl = model.elbo(batch, torch.Generator().manual_seed(0))
    assert elbo.shape == (5,) and bool((kl >= 0).all())
    assert torch.allclose(elbo, log_likelihood - kl)


def test_the_loss_is_the_negative_elbo_per_observation(data):
    series, mask = data
    torch.manual_seed(0)
    model = LatentODE(forecast_training=False)
    batch = irs.batch_from_mask(series, mask)
    with torch.no_grad():
        elbo, _, _ = model.elbo(batch, torch.Generator().manual_seed(1))
        loss = model.loss(batch, torch.Generator().manual_seed(1))
    assert float(loss) == pytest.approx(-float(elbo.sum()) / int(mask.sum()), rel=1e-5)


def test_forecast_training_encodes_only_the_earlier_observations(data):
    series, mask = data
    torch.manual_seed(0)
    model = LatentODE()
    batch = irs.batch_from_mask(series, mask)
    read = []
    model.encoder.register_forward_pre_hook(lambda module, args: read.append(args[0].mask))
    with torch.no_grad():
        model.loss(batch, torch.Generator().manual_seed(0))
    encoded = read[0]
    assert bool((encoded <= batch.mask).all()) and bool((encoded.sum(dim=1) >= 2).all())
    # what is read is a prefix of each series' observations
    for row, observed in zip(encoded, batch.mask, strict=True):
        kept = int(row.sum())
        assert torch.equal(row, observed & (observed.cumsum(dim=0) <= kept))


def test_posterior_samples_have_one_path_per_sample_series_and_time(data):
    series, mask = data
    model = LatentODE()
    with torch.no_grad():
        paths = model.sample_paths(irs.batch_from_mask(series, mask), series.times, n_samples=3)
    assert paths.shape == (3, 5, 30, 2) and bool(torch.isfinite(paths).all())


def test_a_bad_obs_std_is_refused_by_name():
    with pytest.raises(ValueError, match="obs_std must be a positive number, got 0"):
        LatentODE(obs_std=0)
    assert math.isfinite(LatentODE().obs_std)
