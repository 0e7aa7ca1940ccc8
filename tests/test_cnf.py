"""Continuous normalizing flows (chapter 10): log-densities, sampling, training, grids."""

import math

import pytest
import torch

from nodelib import cnf, toy_densities
from nodelib.errors import SolverError

A = torch.tensor([[0.3, -1.0], [0.6, -0.2]], dtype=torch.float64)


def linear_flow(**kwargs):
    return cnf.CNF(cnf.LinearField(A), solver=cnf.Solver(rtol=1e-9, atol=1e-10), **kwargs)


def closed_form_log_prob(x, t1=1.0):
    """log N(x; 0, e^{tA} e^{tAᵀ}): the base N(0, I) pushed through z ↦ e^{tA} z."""
    expm = torch.linalg.matrix_exp(t1 * A)
    cov = expm @ expm.T
    return torch.distributions.MultivariateNormal(torch.zeros(2, dtype=A.dtype), cov).log_prob(x)


def test_log_likelihood_of_a_linear_flow_matches_the_closed_form():
    x = torch.randn(20, 2, dtype=torch.float64)
    with torch.no_grad():
        got = linear_flow().log_prob(x)
    torch.testing.assert_close(got, closed_form_log_prob(x), rtol=1e-7, atol=1e-7)


def test_log_likelihood_of_a_linear_flow_at_an_intermediate_time():
    x = torch.randn(5, 2, dtype=torch.float64)
    with torch.no_grad():
        got = linear_flow().log_prob(x, t=0.4)
    torch.testing.assert_close(got, closed_form_log_prob(x, 0.4), rtol=1e-7, atol=1e-7)


def test_a_linear_flow_lowers_every_log_density_by_t_times_the_trace():
    z0 = torch.randn(6, 2, dtype=torch.float64)
    with torch.no_grad():
        positions, logp = linear_flow().flow(z0, [0.0, 0.5, 1.0])
    drop = torch.full((6,), -float(torch.trace(A)), dtype=torch.float64)
    torch.testing.assert_close(logp[-1] - logp[0], drop)
    torch.testing.assert_close(positions[-1], z0 @ torch.linalg.matrix_exp(A).T)


def test_the_adjoint_gives_the_same_gradient_as_backprop():
    x = torch.randn(8, 2, dtype=torch.float64)
    grads = []
    for adjoint in (False, True):
        model = cnf.CNF(
            cnf.LinearField(A), solver=cnf.Solver(method="rk4", step_size=0.05, adjoint=adjoint)
        )
        (-model.log_prob(x).mean()).backward()
        grads.append(model.field.matrix.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def random_flow():
    torch.manual_seed(0)
    field = cnf.TimeMLP(hidden=16, layers=2)
    torch.nn.init.normal_(field.net[-1].weight, std=0.5)  # not the identity flow
    return cnf.CNF(field, solver=cnf.Solver(rtol=1e-6, atol=1e-6))


def test_the_density_of_a_random_flow_integrates_to_one_on_a_grid(random_flow):
    grid = cnf.density_grid(random_flow, extent=6.0, points=80)
    assert grid.integral == pytest.approx(1.0, abs=0.01)
    assert grid.density.shape == (80, 80) and (grid.density >= 0).all()


def test_the_untrained_flow_is_the_identity_and_its_density_the_base():
    model = cnf.CNF(cnf.TimeMLP(hidden=8))
    x = torch.randn(4, 2)
    with torch.no_grad():
        torch.testing.assert_close(model.log_prob(x), cnf.standard_normal_log_prob(x))
    assert cnf.standard_normal_log_prob(torch.zeros(1, 2)).item() == pytest.approx(
        -math.log(2 * math.pi)
    )


def test_hutchinson_log_likelihood_is_unbiased_and_exact_for_a_diagonal_field():
    diagonal = torch.tensor([[0.5, 0.0], [0.0, -1.5]], dtype=torch.float64)
    model = cnf.CNF(cnf.LinearField(diagonal), trace="hutchinson")
    x = torch.randn(5, 2, dtype=torch.float64)
    exact = cnf.CNF(cnf.LinearField(diagonal))
    with torch.no_grad():
        # Rademacher noise counts the diagonal exactly: every draw gives the exact answer.
        torch.testing.assert_close(model.log_prob(x), exact.log_prob(x), rtol=1e-6, atol=1e-6)


def test_hutchinson_noise_is_held_fixed_during_one_solve():
    model = cnf.CNF(cnf.LinearField(A), trace="hutchinson", noise="fixed")
    x = torch.randn(3, 2, dtype=torch.float64)
    with torch.no_grad():
        model.log_prob(x)
    noise = model.dynamics.noise.clone()
    state = torch.cat([x, torch.zeros(3, 1, dtype=x.dtype)], dim=1)
    model.dynamics(torch.tensor(0.0), state)
    torch.testing.assert_close(model.dynamics.noise, noise)


def test_redrawing_the_noise_at_every_evaluation_makes_the_adaptive_solver_crawl():
    torch.manual_seed(0)
    field = cnf.TimeMLP(hidden=16, layers=2).double()
    torch.nn.init.normal_(field.net[-1].weight, std=0.5)
    x = torch.randn(64, 2, dtype=torch.float64)
    nfe = {}
    for noise in cnf.NOISE_MODES:
        model = cnf.CNF(field, trace="hutchinson", noise=noise)
        model.solver.max_steps = 300  # redrawn noise would need far more: stop it early
        try:
            with torch.no_grad():
                model.log_prob(x)
            nfe[noise] = model.last_stats.nfe
        except SolverError:
            nfe[noise] = math.inf
    assert nfe["per_call"] > 5 * nfe["fixed"]


def test_sampling_and_training_lower_the_loss():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = cnf.CNF(
        cnf.TimeMLP(hidden=16, layers=2), solver=cnf.Solver(method="rk4", step_size=0.25)
    )
    result = cnf.train(
        model,
        lambda n: toy_densities.sample("eight gaussians", n, generator),
        iterations=30,
        batch_size=64,
        lr=1e-2,
    )
    assert len(result.losses) == len(result.nfe) == 30 and result.nfe[0] == 16
    assert sum(result.losses[-5:]) / 5 < result.losses[0] - 0.1
    assert model.sample(10, generator).shape == (10, 2)


def test_training_stops_when_the_callback_says_so():
    model = cnf.CNF(cnf.TimeMLP(hidden=4), solver=cnf.Solver(method="euler", step_size=0.5))
    result = cnf.train(
        model, lambda n: torch.randn(n, 2), iterations=10, callback=lambda i, r: i == 2
    )
    assert len(result.losses) == 3


def test_morph_figure_has_a_frame_per_time_with_density_and_samples():
    model = cnf.CNF(cnf.TimeMLP(hidden=4), solver=cnf.Solver(method="rk4", step_size=0.5))
    fig = cnf.morph_figure(model, [0.0, 0.5, 1.0], "morph", n_samples=20, points=10)
    assert len(fig.frames) == 3
    assert [trace.type for trace in fig.frames[1].data] == ["heatmap", "scatter"]
    assert fig.layout.title.text == "morph"


def test_bad_inputs_are_named():
    model = cnf.CNF(cnf.TimeMLP(hidden=4))
    with pytest.raises(ValueError, match=r"x must be a \(batch, 2\) tensor"):
        model.log_prob(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="finite"):
        model.log_prob(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(ValueError, match=r"t must lie in \[0, t1=1.0\]"):
        model.log_prob(torch.zeros(2, 2), t=2.0)
    with pytest.raises(ValueError, match="times must start at 0"):
        model.flow(torch.zeros(2, 2), [0.5, 1.0])
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)
    with pytest.raises(ValueError, match="trace='jacobian' is unknown"):
        cnf.CNF(trace="jacobian")
    with pytest.raises(ValueError, match="noise='sometimes' is unknown"):
        cnf.CNF(trace="hutchinson", noise="sometimes")
    with pytest.raises(ValueError, match="t1 must be a positive number"):
        cnf.CNF(t1=0)
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        cnf.TimeMLP(hidden=0)
    with pytest.raises(ValueError, match="matrix must be square"):
        cnf.LinearField(torch.ones(2, 3))
    with pytest.raises(ValueError, match="iterations must be a non-negative integer"):
        cnf.train(model, lambda n: torch.randn(n, 2), iterations=-1)
    with pytest.raises(ValueError, match="points must be an integer >= 2"):
        cnf.density_grid(model, points=1)
