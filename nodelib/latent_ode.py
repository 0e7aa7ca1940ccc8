"""The latent ODE: a variational autoencoder whose decoder is an ODE.

Home chapter: ``book/11_latent_odes.ipynb`` (Chen et al., 2018, section 5; Rubanova, Chen
and Duvenaud, 2019). A whole series is summarised by one latent initial state ``z0``:

1. **Encoder** (:class:`BackwardEncoder`): a GRU reads the observations backwards in time,
   each with the gap to the observation read before it, and ends with the mean and standard
   deviation of a Gaussian ``q(z0 | observations)``. Backwards, so that its last input is the
   observation nearest ``t = 0``, where ``z0`` lives.
2. **Decoder** (:class:`LatentODE`): ``z(t)`` solves ``dz/dt = f(z)`` from ``z(0) = z0``, and
   each observation is ``x(t) ≈ g(z(t))`` with Gaussian noise of standard deviation
   ``obs_std``. Any time, observed or not, before or after the data, is one solve away.
3. **Training** maximises the evidence lower bound (ELBO) of each series,

       ELBO = E_q[ Σ_i log N(x_i; g(z(t_i)), obs_std²) ] - KL(q(z0) ‖ N(0, I)),

   with one reparameterised sample ``z0 = μ + σ ε`` (:meth:`LatentODE.elbo`).

Several samples of ``z0`` decoded side by side show the model's uncertainty: few observations
leave ``q`` wide and the sampled trajectories fan out (:meth:`LatentODE.sample_paths`).
A batch is solved once, on the union of its series' times (:func:`nodelib.irregular_series.
solve_on_union`), which gives each series what its own solve would give.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from nodelib.irregular_series import NOISE_STD, IrregularBatch, solve_on_union
from nodelib.ode_rnn import AutonomousField

__all__ = ["BackwardEncoder", "LatentODE", "gaussian_kl", "gaussian_log_likelihood"]


def _check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def gaussian_kl(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, diag std²) ‖ N(0, I))`` for each row: ``(batch, dim)`` -> ``(batch,)``.

    Per dimension ``(σ² + μ² - 1)/2 - log σ``.
    """
    return (0.5 * (std**2 + mean**2 - 1) - torch.log(std)).sum(dim=-1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, std: float) -> torch.Tensor:
    """``log N(x; mean, std² I)`` of each point: ``(..., dim)`` -> ``(...)``."""
    dim = x.shape[-1]
    squared = ((x - mean) ** 2).sum(dim=-1)
    return -0.5 * squared / std**2 - dim * (math.log(std) + 0.5 * math.log(2 * math.pi))


class BackwardEncoder(nn.Module):
    """A GRU run backwards over a batch's observations; returns ``q(z0)``'s mean and std.

    Input at each observation: ``[x, Δt]``, ``Δt`` the gap to the observation read before
    (the next one in time; 0 for the last observation). After the earliest observation, the
    time from ``t = 0`` to it joins the final state. Each series is read at its own
    observations only (the mask), so its ``q(z0)`` does not depend on the rest of the batch.
    ``batch`` -> ``(mean, std)``, both ``(batch, latent_dim)``.
    """

    def __init__(self, obs_dim: int = 2, hidden: int = 32, latent_dim: int = 4):
        super().__init__()
        obs_dim, hidden = _check_size("obs_dim", obs_dim), _check_size("hidden", hidden)
        latent_dim = _check_size("latent_dim", latent_dim)
        self.cell = nn.GRUCell(obs_dim + 1, hidden)
        self.to_params = nn.Linear(hidden + 1, 2 * latent_dim)
        self.hidden = hidden

    def forward(self, batch: IrregularBatch) -> tuple[torch.Tensor, torch.Tensor]:
        values, mask = batch.values, batch.mask
        n = values.shape[0]
        h = values.new_zeros(n, self.hidden)
        t_next = values.new_zeros(n)  # time of the observation read before (later in time)
        seen = torch.zeros(n, dtype=torch.bool)
        for k in reversed(range(len(batch.times))):
            tau = float(batch.times[k])
            m = mask[:, k]
            if not bool(m.any()):
                continue
            gap = torch.where(seen, t_next - tau, torch.zeros_like(t_next))[:, None]
            h = torch.where(m[:, None], self.cell(torch.cat([values[:, k], gap], dim=1), h), h)
            t_next = torch.where(m, torch.full_like(t_next, tau), t_next)
            seen = seen | m
        mean, raw = self.to_params(torch.cat([h, t_next[:, None]], dim=1)).chunk(2, dim=1)
        return mean, nn.functional.softplus(raw) + 1e-4


class LatentODE(nn.Module):
    """Encoder, latent dynamics ``f`` and decoder ``g``; see the module's docstring.

    ``latent_dim``: size of ``z``; ``hidden``: the encoder's GRU state; ``field_hidden``,
    ``decoder_hidden``: widths of the hidden layers of ``f`` and ``g``; ``obs_std``: the
    observation noise of the likelihood; ``method``, ``step_size`` (or ``rtol``, ``atol`` for
    dopri5): how the latent ODE is solved with :func:`nodelib.odeint`; ``forecast_training``:
    train the encoder on the earlier observations only (see :meth:`loss`).
    """

    def __init__(
        self,
        obs_dim: int = 2,
        latent_dim: int = 4,
        hidden: int = 32,
        field_hidden: int = 64,
        decoder_hidden: int = 32,
        obs_std: float = NOISE_STD,
        method: str = "rk4",
        step_size: float | None = 0.1,
        forecast_training: bool = True,
    ):
        super().__init__()
        if not (isinstance(obs_std, numbers.Real) and obs_std > 0):
            raise ValueError(f"obs_std must be a positive number, got {obs_std!r}")
        decoder_hidden = _check_size("decoder_hidden", decoder_hidden)
        self.encoder = BackwardEncoder(obs_dim, hidden, latent_dim)
        self.field = AutonomousField(latent_dim, field_hidden)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, decoder_hidden), nn.Tanh(), nn.Linear(decoder_hidden, obs_dim)
        )
        self.latent_dim, self.obs_std = latent_dim, float(obs_std)
        self.solver = {"method": method, "step_size": step_size}
        self.forecast_training = bool(forecast_training)

    def posterior(self, batch: IrregularBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of ``q(z0)``, each ``(batch, latent_dim)``."""
        return self.encoder(batch)

    def latent_path(self, z0: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """``z(t)`` from ``z(0) = z0`` (``(batch, latent_dim)``) at ``times`` (increasing,
        ``≥ 0``): ``(batch, n_times, latent_dim)``, one solve on the shared times."""
        return solve_on_union(self.field, z0, times, 0.0, **self.solver)

    def decode(self, z0: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """The mean observation ``g(z(t))`` at ``times``: ``(batch, n_times, obs_dim)``."""
        return self.decoder(self.latent_path(z0, times))

    def elbo(
        self,
        batch: IrregularBatch,
        generator: torch.Generator | None = None,
        encode: torch.Tensor | None = None,
    ):
        """The ELBO of each series with one sample of ``z0``.

        ``encode``: ``(batch, n_union)`` bool, the observations the encoder reads (default:
        all of them); the likelihood always scores every observation. Any ``q`` gives a lower
        bound, so encoding only the earlier observations is still an ELBO: one that rewards
        forecasting the later ones.

        Returns ``(elbo, log_likelihood, kl)``, each ``(batch,)``: the log-likelihood sums over
        the series' own observations (the mask).
        """
        read = batch if encode is None else IrregularBatch(batch.times, batch.values, encode)
        mean, std = self.posterior(read)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
        z0 = mean + std * noise
        decoded = self.decode(z0, batch.times)
        per_point = gaussian_log_likelihood(batch.values, decoded, self.obs_std)
        log_likelihood = (per_point * batch.mask).sum(dim=1)
        kl = gaussian_kl(mean, std)
        return log_likelihood - kl, log_likelihood, kl

    def loss(self, batch: IrregularBatch, generator: torch.Generator | None = None):
        """The negative ELBO of the batch per observation (what training minimises).

        With ``forecast_training`` (the default), each series' encoder reads its observations
        up to a random one of them (at least the first two), and the ELBO scores them all.
        """
        encode = None
        if self.forecast_training:
            counts = batch.mask.sum(dim=1)
            keep = (torch.rand(len(batch), generator=generator) * (counts - 1)).long() + 2
            encode = batch.mask & (batch.mask.cumsum(dim=1) <= keep[:, None])
        elbo, _, _ = self.elbo(batch, generator, encode)
        return -elbo.sum() / batch.mask.sum()

    def predict(self, batch: IrregularBatch, query_times: torch.Tensor) -> torch.Tensor:
        """The decoded posterior mean at ``query_times``: ``(batch, n_query, obs_dim)``."""
        mean, _ = self.posterior(batch)
        return self.decode(mean, query_times)

    def sample_paths(
        self,
        batch: IrregularBatch,
        query_times: torch.Tensor,
        n_samples: int = 20,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Decoded samples ``z0 ~ q``: ``(n_samples, batch, n_query, obs_dim)``."""
        n_samples = _check_size("n_samples", n_samples)
        mean, std = self.posterior(batch)
        noise = torch.randn((n_samples, *mean.shape), generator=generator, dtype=mean.dtype)
        z0 = (mean + std * noise).reshape(-1, self.latent_dim)
        paths = self.decode(z0, query_times)
        return paths.reshape(n_samples, len(batch), len(query_times), -1)
