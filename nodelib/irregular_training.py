"""Training and scoring the three models of irregular series on the same protocol.

Home chapter: ``book/11_latent_odes.ipynb``. The models (:data:`MODELS`) are the latent ODE
(:mod:`nodelib.latent_ode`), the ODE-RNN and the GRU given Δt (:mod:`nodelib.ode_rnn`). Each
has ``loss(batch, generator)`` and ``predict(batch, query_times)``, so one loop trains them
(:func:`fit`) and one function scores them (:func:`evaluate`):

- training sees only the observed part of the training series, each series at its own
  random times (a mix of sparsities, so one model serves every fraction);
- scoring encodes each held-out series from its observations and compares the prediction
  with the noise-free truth on the whole dense grid: ``interp_mse`` on the observed part
  (mostly at times that were *not* observed), ``extrap_mse`` on the part after it, which no
  model ever saw. Mean over series, time points and both coordinates.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from nodelib.irregular_series import SpiralSeries, batch_from_mask, observe
from nodelib.latent_ode import LatentODE
from nodelib.ode_rnn import ODERNN, GRUDelta

__all__ = ["MODELS", "MODEL_LABELS", "make_model", "TrainResult", "fit", "evaluate", "score"]

#: The models of the chapter, by the names the benchmark uses.
MODELS = ("latent_ode", "ode_rnn", "gru_dt")
MODEL_LABELS = {"latent_ode": "latent ODE", "ode_rnn": "ODE-RNN", "gru_dt": "GRU-Δt"}


def make_model(name: str, seed: int = 0) -> torch.nn.Module:
    """A fresh, seeded model: ``"latent_ode"``, ``"ode_rnn"`` or ``"gru_dt"``."""
    if name not in MODELS:
        raise ValueError(f"model {name!r} is unknown; valid models are {list(MODELS)}")
    torch.manual_seed(seed)
    if name == "latent_ode":
        return LatentODE()
    if name == "ode_rnn":
        return ODERNN()
    return GRUDelta()


@dataclass
class TrainResult:
    """Losses per iteration, wall-clock seconds, and ``snapshots``: whatever the callback kept."""

    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    snapshots: list = field(default_factory=list)


def fit(
    model: torch.nn.Module,
    series: SpiralSeries,
    fractions: Sequence[float],
    *,
    iterations: int,
    batch_size: int = 64,
    lr: float = 1e-2,
    seed: int = 0,
    progress: bool = False,
    callback: Callable[[int, TrainResult], None] | None = None,
    result: TrainResult | None = None,
) -> TrainResult:
    """Train ``model`` with Adam on random batches of ``series``.

    Every batch draws fresh observation times: each series gets one of ``fractions`` at
    random and that share of its observed part's grid points. ``callback(iteration, result)``
    runs after every update (e.g. to keep snapshots).
    """
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral):
        raise ValueError(f"iterations must be an integer ≥ 0, got {iterations!r}")
    if iterations < 0:
        raise ValueError(f"iterations must be an integer ≥ 0, got {iterations!r}")
    if not fractions:
        raise ValueError("fractions must hold at least one observed fraction, got none")
    result = result if result is not None else TrainResult()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batch_size = min(batch_size, len(series))
    start = time.perf_counter()
    for iteration in tqdm(range(iterations), desc="training", disable=not progress, leave=False):
        index = torch.randperm(len(series), generator=generator)[:batch_size]
        chosen = series.subset(index)
        pick = torch.randint(len(fractions), (batch_size,), generator=generator)
        mask = observe(chosen, [fractions[i] for i in pick.tolist()], generator)
        loss = model.loss(batch_from_mask(chosen, mask), generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        result.losses.append(loss.item())
        if callback is not None:
            callback(iteration, result)
    result.seconds += time.perf_counter() - start
    return result


def score(prediction: torch.Tensor, series: SpiralSeries) -> dict[str, float]:
    """``interp_mse`` and ``extrap_mse`` of ``prediction`` (``(n_series, n_times, 2)`` on the
    dense grid) against the noise-free truth."""
    if prediction.shape != series.truth.shape:
        raise ValueError(
            f"prediction must have shape {tuple(series.truth.shape)}, got {tuple(prediction.shape)}"
        )
    squared = (prediction.detach() - series.truth) ** 2
    return {
        "interp_mse": float(squared[:, : series.split].mean()),
        "extrap_mse": float(squared[:, series.split :].mean()),
    }


def evaluate(model: torch.nn.Module, series: SpiralSeries, mask: torch.Tensor) -> dict:
    """Encode each series from its observations (``mask``) and score the prediction on the
    whole grid; see :func:`score`."""
    with torch.no_grad():
        prediction = model.predict(batch_from_mask(series, mask), series.times)
    return score(prediction, series)
