"""Exact and Hutchinson traces of a Jacobian (chapter 10)."""

import pytest
import torch
from torch import nn

from nodelib import traces


def mlp(dim, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(dim, 16), nn.Tanh(), nn.Linear(16, dim)).double()


def jacobian_traces(net, z):
    """The trace of the full autograd Jacobian, point by point."""
    return torch.stack([torch.trace(torch.autograd.functional.jacobian(net, point)) for point in z])


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_exact_trace_equals_the_trace_of_the_autograd_jacobian(dim):
    net = mlp(dim)
    z = torch.randn(7, dim, dtype=torch.float64)
    dz_dt, got = traces.exact_trace(net, z)
    torch.testing.assert_close(got, jacobian_traces(net, z))
    torch.testing.assert_close(dz_dt, net(z))


def test_exact_trace_of_a_linear_map_is_the_trace_of_its_matrix():
    matrix = torch.tensor([[1.5, -2.0], [0.3, -0.25]], dtype=torch.float64)
    z = torch.randn(4, 2, dtype=torch.float64)
    _, got = traces.exact_trace(lambda points: points @ matrix.T, z)
    torch.testing.assert_close(got, torch.full((4,), 1.25, dtype=torch.float64))


def test_both_traces_are_differentiable_with_respect_to_the_parameters():
    net = mlp(3)
    z = torch.randn(5, 3, dtype=torch.float64)
    noise = traces.draw_noise((5, 3), dtype=torch.float64)
    (
        traces.exact_trace(net, z)[1].sum() + traces.hutchinson_trace(net, z, noise)[1].sum()
    ).backward()
    # the trace depends on both weight matrices (not on the last bias, which shifts f only)
    assert net[0].weight.grad.abs().sum() > 0 and net[2].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", traces.NOISE_KINDS)
def test_hutchinson_is_unbiased_mean_within_three_standard_errors(kind):
    net = mlp(6)
    z = torch.randn(1, 6, dtype=torch.float64)
    exact = float(traces.exact_trace(net, z)[1].detach())
    generator = torch.Generator().manual_seed(1)
    draws = 4000
    noise = traces.draw_noise((draws, 6), kind, generator, torch.float64)
    with torch.no_grad():
        _, estimates = traces.hutchinson_trace(net, z.expand(draws, 6), noise)
    standard_error = float(estimates.std()) / draws**0.5
    assert standard_error > 0  # the estimator is random: a test of its mean is meaningful
    assert abs(float(estimates.mean()) - exact) <= 3 * standard_error


@pytest.mark.parametrize("kind", traces.NOISE_KINDS)
def test_hutchinson_variance_matches_its_closed_form(kind):
    generator = torch.Generator().manual_seed(2)
    jacobian = torch.randn(4, 4, generator=generator, dtype=torch.float64)
    noise = traces.draw_noise((20000, 4), kind, generator, torch.float64)
    estimates = torch.einsum("bi,ij,bj->b", noise, jacobian, noise)
    want = float(traces.hutchinson_variance(jacobian, kind))
    assert float(estimates.var()) == pytest.approx(want, rel=0.06)


def test_rademacher_noise_estimates_a_diagonal_jacobian_exactly():
    z = torch.randn(3, 4, dtype=torch.float64)
    scales = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    noise = traces.draw_noise((3, 4), "rademacher", dtype=torch.float64)
    _, got = traces.hutchinson_trace(lambda points: points * scales, z, noise)
    torch.testing.assert_close(got, torch.full((3,), 2.5, dtype=torch.float64))
    assert float(traces.hutchinson_variance(torch.diag(scales))) == 0.0


def test_draw_noise_has_unit_covariance():
    noise = traces.draw_noise((50000, 3), "gaussian", torch.Generator().manual_seed(0))
    torch.testing.assert_close(noise.T @ noise / len(noise), torch.eye(3), atol=0.03, rtol=0)
    assert set(traces.draw_noise((100, 2)).unique().tolist()) == {-1.0, 1.0}


def test_trace_cost_times_both_methods_for_every_dimension():
    cost = traces.trace_cost([2, 8], batch=8, hidden=8, repeats=1)
    assert cost["dims"] == [2, 8]
    assert len(cost["exact_s"]) == len(cost["hutchinson_s"]) == 2
    assert all(s > 0 for s in cost["exact_s"] + cost["hutchinson_s"])


def test_bad_inputs_are_named():
    z = torch.randn(3, 2)
    with pytest.raises(ValueError, match=r"func\(z\) must have the shape of z \(3, 2\)"):
        traces.exact_trace(lambda points: points.sum(dim=1), z)
    with pytest.raises(TypeError, match="func must be callable"):
        traces.exact_trace(z, z)
    with pytest.raises(ValueError, match=r"z must be a floating point \(batch, dim\) tensor"):
        traces.exact_trace(torch.sin, z[0])
    with pytest.raises(ValueError, match="noise must have the shape of z"):
        traces.hutchinson_trace(torch.sin, z, torch.ones(3, 3))
    with pytest.raises(ValueError, match="kind='uniform' is unknown"):
        traces.draw_noise((2, 2), "uniform")
    with pytest.raises(ValueError, match="jacobian must be square"):
        traces.hutchinson_variance(torch.ones(2, 3))
    with pytest.raises(ValueError, match="dims must be a non-empty list"):
        traces.trace_cost([0])
