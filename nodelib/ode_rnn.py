"""Recurrent models for irregular series: the ODE-RNN and the GRU given Δt.

Home chapter: ``book/11_latent_odes.ipynb``. Both keep a hidden state ``h`` that an
observation updates with a GRU cell, and both predict an observation *before* they see it,
from the state and the time since the last update. They differ in what happens to ``h``
between observations:

- :class:`GRUDelta`, the baseline a practitioner tries first: ``h`` stays as it is, and the
  elapsed time ``Δt`` is fed to the network as one more input, both to the update and to the
  prediction head ``x̂(t) = head([h, t - t_last])``. How the prediction changes with ``Δt`` is
  whatever the head learned from the gaps it saw in training.
- :class:`ODERNN` (Rubanova, Chen and Duvenaud, 2019): ``h`` follows an ODE
  ``dh/dt = f(h)`` between observations, and ``x̂(t) = readout(h(t))``. Time enters as the
  length of a solve, so a gap of ``Δt₁ + Δt₂`` is the same as two gaps one after the other.

A batch is processed on the union of its times (:class:`nodelib.irregular_series.IrregularBatch`):
at every union time all series predict, and the series observed there update, the others
keep their state (a mask). For the ODE-RNN, evolving a state across a time at which it is not
updated is the same as evolving it in one go, so the union does not change the answer.

Training (:meth:`RecurrentPredictor.loss`) teaches prediction over short and long horizons at
once: each series updates up to a random one of its observations and must predict all the
later ones from there (and each earlier one, one step ahead).
"""

from __future__ import annotations

import numbers

import torch
from torch import nn

from nodelib.irregular_series import IrregularBatch
from nodelib.solvers import odeint

__all__ = ["AutonomousField", "RecurrentPredictor", "ODERNN", "GRUDelta", "query_batch"]


def _check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class AutonomousField(nn.Module):
    """``f(t, h) = MLP(h)``: a vector field that does not depend on time (tanh hidden layer).

    ``h: (batch, dim)`` -> ``(batch, dim)``. ``calls`` counts evaluations.
    """

    def __init__(self, dim: int, hidden: int = 64):
        super().__init__()
        dim, hidden = _check_size("dim", dim), _check_size("hidden", hidden)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))
        self.calls = 0

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.net(h)


def query_batch(batch: IrregularBatch, query_times: torch.Tensor):
    """``batch`` spread onto the union of its times and ``query_times``.

    Returns ``(union_batch, where)``: the observations on the union, and the index of each
    query time in it (``(n_query,)``).
    """
    times = torch.unique(torch.cat([batch.times, query_times.to(batch.times.dtype)]))
    old = torch.searchsorted(times, batch.times)
    values = batch.values.new_zeros(len(batch), len(times), batch.values.shape[2])
    mask = torch.zeros(len(batch), len(times), dtype=torch.bool)
    values[:, old] = batch.values
    mask[:, old] = batch.mask
    return IrregularBatch(times, values, mask), torch.searchsorted(times, query_times)


class RecurrentPredictor(nn.Module):
    """What both recurrent models share: training with random cuts and prediction at any time.

    A subclass defines :meth:`run`: given the union ``times``, the ``values`` and which
    entries to update with (``update: (batch, n) bool``), it returns the prediction at every
    union time made before that time's update, ``(batch, n, obs_dim)``.
    """

    def run(self, times, values, update) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(self, batch: IrregularBatch, generator: torch.Generator | None = None):
        """Mean squared prediction error over the observations that have an update before them.

        Each series updates with its observations up to a random one of them (never the last);
        the later observations are predicted from there, over horizons up to the whole series.
        """
        observed = batch.mask
        counts = observed.sum(dim=1)
        if bool((counts < 2).any()):
            raise ValueError("every series of a training batch needs at least 2 observations")
        keep = (torch.rand(len(batch), generator=generator) * (counts - 1)).long() + 1
        update = observed & (observed.cumsum(dim=1) <= keep[:, None])
        before = (update.cumsum(dim=1) - update.long()) > 0  # an update strictly earlier
        targets = observed & before
        predictions = self.run(batch.times, batch.values, update)
        return ((predictions - batch.values) ** 2).sum(dim=-1)[targets].mean()

    def predict(self, batch: IrregularBatch, query_times: torch.Tensor) -> torch.Tensor:
        """Predictions at ``query_times`` (``(n_query,)``, increasing) after updating with every
        observation of ``batch`` that comes earlier: ``(batch, n_query, obs_dim)``."""
        spread, where = query_batch(batch, query_times)
        return self.run(spread.times, spread.values, spread.mask)[:, where]


class ODERNN(RecurrentPredictor):
    """The ODE-RNN: a GRU update at each observation, an ODE for the state in between.

    ``obs_dim``: size of an observation; ``hidden``: size of ``h``; ``field_hidden``: width of
    the field's hidden layer. The state is solved from ``t = 0`` with ``method`` and steps no
    longer than ``step_size`` (nodelib's fixed-step solvers; time units of the data).
    """

    def __init__(
        self,
        obs_dim: int = 2,
        hidden: int = 32,
        field_hidden: int = 64,
        method: str = "rk4",
        step_size: float | None = 0.1,
    ):
        super().__init__()
        obs_dim, hidden = _check_size("obs_dim", obs_dim), _check_size("hidden", hidden)
        self.cell = nn.GRUCell(obs_dim, hidden)
        self.field = AutonomousField(hidden, field_hidden)
        self.readout = nn.Linear(hidden, obs_dim)
        self.hidden, self.method, self.step_size = hidden, method, step_size

    def evolve(self, h: torch.Tensor, t_from: float, t_to: float) -> torch.Tensor:
        """``h`` carried by ``dh/dt = f(h)`` from ``t_from`` to ``t_to``."""
        span = torch.tensor([t_from, t_to], dtype=h.dtype)
        return odeint(self.field, h, span, method=self.method, step_size=self.step_size)[-1]

    def run(self, times, values, update) -> torch.Tensor:
        h = values.new_zeros(values.shape[0], self.hidden)
        t_prev, predictions = 0.0, []
        for k, tau in enumerate(times.tolist()):
            if tau > t_prev:
                h = self.evolve(h, t_prev, tau)
            predictions.append(self.readout(h))
            if bool(update[:, k].any()):
                h = torch.where(update[:, k, None], self.cell(values[:, k], h), h)
            t_prev = tau
        return torch.stack(predictions, dim=1)


class GRUDelta(RecurrentPredictor):
    """The GRU given Δt: ``h`` is held between observations; the time since the last update
    is an input, to the GRU cell (with the observation) and to the prediction head.

    ``obs_dim``: size of an observation; ``hidden``: size of ``h``; ``head_hidden``: width of
    the head's hidden layer.
    """

    def __init__(self, obs_dim: int = 2, hidden: int = 32, head_hidden: int = 64):
        super().__init__()
        obs_dim, hidden = _check_size("obs_dim", obs_dim), _check_size("hidden", hidden)
        head_hidden = _check_size("head_hidden", head_hidden)
        self.cell = nn.GRUCell(obs_dim + 1, hidden)
        self.head = nn.Sequential(
            nn.Linear(hidden + 1, head_hidden), nn.Tanh(), nn.Linear(head_hidden, obs_dim)
        )
        self.hidden = hidden

    def run(self, times, values, update) -> torch.Tensor:
        batch = values.shape[0]
        h = values.new_zeros(batch, self.hidden)
        t_last = values.new_zeros(batch)  # the start of the window counts as the last update
        predictions = []
        for k, tau in enumerate(times.tolist()):
            elapsed = (tau - t_last)[:, None]
            predictions.append(self.head(torch.cat([h, elapsed], dim=1)))
            if bool(update[:, k].any()):
                new_h = self.cell(torch.cat([values[:, k], elapsed], dim=1), h)
                h = torch.where(update[:, k, None], new_h, h)
                t_last = torch.where(update[:, k], torch.full_like(t_last, tau), t_last)
        return torch.stack(predictions, dim=1)
