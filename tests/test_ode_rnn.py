"""The ODE-RNN and the GRU given Δt: updates only at observations, predictions at any time."""

from __future__ import annotations

import pytest
import torch

from nodelib import irregular_series as irs
from nodelib.latent_ode import LatentODE
from nodelib.ode_rnn import ODERNN, AutonomousField, GRUDelta, query_batch


@pytest.fixture(scope="module")
def data():
    generator = torch.Generator().manual_seed(0)
    series = irs.make_spirals(4, n_times=24, generator=generator)
    mask = irs.observe(series, [0.3, 0.5, 0.7, 1.0], generator)
    return series, mask


@pytest.mark.parametrize("make", [ODERNN, GRUDelta], ids=["ode_rnn", "gru_dt"])
def test_prediction_of_one_series_ignores_the_rest_of_the_batch(data, make):
    series, mask = data
    torch.manual_seed(0)
    model = make().double()
    times = series.times.double()
    batch = irs.batch_from_mask(series, mask)
    batch.values, batch.times = batch.values.double(), batch.times.double()
    with torch.no_grad():
        together = model.predict(batch, times)
        alone = []
        for b in range(4):
            one = irs.batch_from_mask(series, mask, [b])
            one.values, one.times = one.values.double(), one.times.double()
            alone.append(model.predict(one, times))
    # the ODE-RNN's fixed steps fall differently on different unions: close, not equal
    assert torch.allclose(together, torch.cat(alone), atol=1e-5)


def test_the_gru_prediction_changes_with_the_elapsed_time_only_through_its_input(data):
    series, mask = data
    torch.manual_seed(0)
    model = GRUDelta()
    batch = irs.batch_from_mask(series, mask, [0])
    with torch.no_grad():
        late = model.predict(batch, series.times[series.split :])
    # the state is held after the last observation, so the head alone makes the whole forecast
    h_changes = late[0, 1:] - late[0, :-1]
    assert bool((h_changes.abs().sum(dim=1) > 0).any())


def test_the_ode_rnn_state_follows_its_ode_between_observations():
    torch.manual_seed(0)
    model = ODERNN(step_size=0.01).double()
    h = torch.randn(2, model.hidden, dtype=torch.float64)
    with torch.no_grad():
        in_two = model.evolve(model.evolve(h, 0.0, 0.3), 0.3, 0.7)
        in_one = model.evolve(h, 0.0, 0.7)
    assert torch.allclose(in_two, in_one, atol=1e-8)


def test_query_batch_puts_observations_and_queries_on_one_union():
    batch = irs.union_batch([torch.tensor([0.2, 0.6])], [torch.tensor([[1.0, 2.0], [3.0, 4.0]])])
    spread, where = query_batch(batch, torch.tensor([0.0, 0.6, 1.0]))
    assert spread.times.tolist() == pytest.approx([0.0, 0.2, 0.6, 1.0])
    assert where.tolist() == [0, 2, 3]
    assert spread.mask.tolist() == [[False, True, True, False]]


# The latent ODE's loss is the negative ELBO; the same few steps must lower it too.
@pytest.mark.parametrize(
    "make", [ODERNN, GRUDelta, LatentODE], ids=["ode_rnn", "gru_dt", "latent_ode"]
)
def test_a_few_updates_lower_the_loss(data, make):
    series, mask = data
    torch.manual_seed(0)
    model = make()
    batch = irs.batch_from_mask(series, mask)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = model.loss(batch, torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_training_needs_two_observations_per_series(data):
    series, _ = data
    one_each = torch.zeros(4, 24, dtype=torch.bool)
    one_each[:, 0] = True
    with pytest.raises(ValueError, match="at least 2 observations"):
        GRUDelta().loss(irs.batch_from_mask(series, one_each))


def test_a_bad_size_is_refused_by_name():
    with pytest.raises(ValueError, match="hidden must be a positive integer, got 0"):
        ODERNN(hidden=0)
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        AutonomousField(-1)
