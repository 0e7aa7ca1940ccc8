"""The price of training: NFE grows as a neural ODE learns, and regularising the dynamics
keeps it down.

Home chapter: ``book/12_price_of_training.ipynb``. The task is chapter 9's annuli (a disk
labelled -1 inside a ring labelled +1, :func:`nodelib.crossing_problems.annuli`) with an
augmented neural ODE: the state ``(x, 0)`` ``(batch, 3)`` flows from ``t = 0`` to ``t = 1``
under a tanh MLP (:class:`nodelib.augmented.VectorField`) and a linear layer reads the label
off ``z(1)``. Training is full-batch Adam on the mean squared error, with dopri5 at
``rtol = 1e-3``, ``atol = 1e-4`` and backprop through the solver.

- :func:`train_run`: one training run with penalty weight ``weight`` on both of Finlay et
  al.'s terms (:mod:`nodelib.regularisation`; ``weight = 0`` is plain training), recording
  the forward NFE and the loss of every iteration in a :class:`RunRecord`;
- :func:`regularisation_study`: plain training and regularised training at a few weights,
  the weight chosen by measurement (see the function), in a dict for the chapter and the
  benchmark;
- :func:`nfe_figure`, :func:`loss_figure`, :func:`tradeoff_figure`: its figures.

Numbers are "per iteration" (one forward solve of the whole training set); NFE counts
evaluations of the field ``f`` in that forward solve (the backward pass through the solver
adds no evaluations of ``f``, only their derivatives).
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field

import plotly.graph_objects as go
import torch
from torch import nn

from nodelib.augmented import VectorField
from nodelib.crossing_problems import annuli
from nodelib.regularisation import regularised_solve
from nodelib.spiral import single_thread
from nodelib.viz import OKABE_ITO

__all__ = [
    "RTOL",
    "ATOL",
    "AIM_NFE_RATIO",
    "AIM_LOSS_SLACK",
    "AnnuliModel",
    "RunRecord",
    "train_run",
    "final_mean",
    "regularisation_study",
    "nfe_figure",
    "loss_figure",
    "tradeoff_figure",
]

#: dopri5's tolerances for training and for counting evaluations.
RTOL, ATOL = 1e-3, 1e-4
#: The aim of the chapter's comparison: regularised NFE at most this fraction of plain NFE ...
AIM_NFE_RATIO = 0.7
#: ... at a loss at most this much (relative) above the plain loss.
AIM_LOSS_SLACK = 0.10
#: Penalty weights the study tries (full mode), smallest first.
WEIGHTS = (0.001, 0.003, 0.01, 0.03)
#: The fraction of the last iterations averaged for the final NFE and loss (the NFE of a
#: single iteration jumps by the 6 evaluations of one dopri5 step).
FINAL_FRACTION = 0.1


class AnnuliModel(nn.Module):
    """Augmented neural ODE for the annuli: ``x (batch, 2) -> output (batch, 1)``.

    ``field``: the dynamics on the state ``(batch, 2 + augment_dim)``; ``readout``: a linear
    layer on ``z(1)``. :meth:`solve` returns the :class:`~nodelib.regularisation.
    RegularisedSolution` so that callers see ``z(1)``, both penalties and the solve's stats.
    """

    def __init__(self, augment_dim: int = 1, hidden: int = 32):
        super().__init__()
        self.augment_dim = augment_dim
        self.field = VectorField(2 + augment_dim, hidden)
        self.readout = nn.Linear(2 + augment_dim, 1)

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """``x (batch, 2)`` -> ``(batch, 2 + augment_dim)``, zeros appended."""
        return torch.cat([x, x.new_zeros(x.shape[0], self.augment_dim)], dim=1)

    def solve(self, x, *, jacobian: bool, generator=None, rtol=RTOL, atol=ATOL):
        return regularised_solve(
            self.field, self.lift(x), jacobian=jacobian, generator=generator, rtol=rtol, atol=atol
        )


@dataclass
class RunRecord:
    """One training run, one entry per iteration: ``nfe`` (forward NFE), ``mse`` (training
    loss, the mean squared error), ``kinetic`` and ``frobenius`` (batch means of the two
    penalties, (state units)²/time and 1/time); ``weight`` and ``rtol`` the settings, ``seconds``
    the wall time, ``test_mse`` and ``test_nfe`` on held-out points after the last update."""

    weight: float
    rtol: float
    nfe: list[int] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)
    kinetic: list[float] = field(default_factory=list)
    frobenius: list[float] = field(default_factory=list)
    seconds: float = 0.0
    test_mse: float = float("nan")
    test_nfe: int = 0


def _check_weight(weight) -> float:
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not weight >= 0:
        raise ValueError(f"weight must be a number >= 0 (0: no regularisation), got {weight!r}")
    return float(weight)


class Trainer:
    """Training, one iteration at a time (the live widget steps it; :func:`train_run` loops).

    ``weight`` multiplies both penalties (``weight * (K + B)`` is added to the MSE) and
    ``rtol`` (``atol = rtol / 10``) sets the solver; both may change between iterations.
    """

    def __init__(self, n_points: int = 256, *, weight=0.0, rtol=RTOL, lr=1e-2, seed=0):
        self.problem = annuli(n_points, seed=seed)
        torch.manual_seed(seed)
        self.model = AnnuliModel()
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.record = RunRecord(weight=_check_weight(weight), rtol=rtol)

    def step(self) -> None:
        """One Adam update on the whole training set; appends to ``record``."""
        record = self.record
        weight = _check_weight(record.weight)
        solution = self.model.solve(
            self.problem.inputs,
            jacobian=weight > 0,
            generator=self.generator,
            rtol=record.rtol,
            atol=record.rtol / 10,
        )
        output = self.model.readout(solution.z)
        mse = ((output - self.problem.targets) ** 2).mean()
        kinetic, frobenius = solution.kinetic.mean(), solution.frobenius.mean()
        loss = mse + weight * (kinetic + frobenius) if weight > 0 else mse
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        record.nfe.append(solution.stats.nfe)
        record.mse.append(mse.item())
        record.kinetic.append(kinetic.item())
        record.frobenius.append(frobenius.item())

    def evaluate(self, n_points: int = 1024, seed: int = 1) -> None:
        """Held-out MSE and NFE (no penalties, plain dynamics) into ``record``."""
        test = annuli(n_points, seed=seed)
        with torch.no_grad():
            solution = self.model.solve(
                test.inputs, jacobian=False, rtol=self.record.rtol, atol=self.record.rtol / 10
            )
            output = self.model.readout(solution.z)
        self.record.test_mse = float(((output - test.targets) ** 2).mean())
        self.record.test_nfe = solution.stats.nfe


def train_run(
    weight: float,
    *,
    iterations: int,
    rtol: float = RTOL,
    n_points: int = 256,
    seed: int = 0,
    progress: bool = False,
    desc: str = "training",
) -> RunRecord:
    """Train a fresh, seeded model for ``iterations`` updates and return its record.

    The same ``seed`` gives the same data, initial weights and Hutchinson probes whatever the
    ``weight``, so two runs differ only by the penalty.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral):
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    if iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    from tqdm.auto import tqdm

    trainer = Trainer(n_points, weight=weight, rtol=rtol, seed=seed)
    start = time.perf_counter()
    # Tiny tensors (at most 1024 x 32): more torch threads only wait for each other.
    with single_thread():
        for _ in tqdm(range(iterations), desc=desc, leave=False, disable=not progress):
            trainer.step()
        trainer.record.seconds = time.perf_counter() - start
        trainer.evaluate()
    return trainer.record


def final_mean(values: list[float]) -> float:
    """The mean of the last :data:`FINAL_FRACTION` of ``values`` (at least one value)."""
    if not values:
        raise ValueError("final_mean needs at least one value, got an empty list")
    count = max(1, round(len(values) * FINAL_FRACTION))
    return sum(values[-count:]) / count


def regularisation_study(quick: bool = False, *, progress: bool = False) -> dict:
    """Train plainly, then with each penalty weight in :data:`WEIGHTS`; compare the cost.

    The final NFE and loss of a run are the means over its last 10 % of iterations
    (:func:`final_mean`); the loss is the training MSE. The weight reported as "regularised"
    is chosen by measurement: the one with the lowest final NFE among those whose loss is
    within :data:`AIM_LOSS_SLACK` of the plain loss, or, if none is, the one with the lowest
    loss. ``quick``: 64 points, 30 iterations and one weight (seconds, for tests and fast
    mode); else 256 points and 600 iterations (a few CPU-minutes).

    Returns ``{"nfe_plain", "nfe_regularised", "loss_plain", "loss_regularised", "weight",
    "nfe_ratio", "loss_ratio", "aim_met", "test_mse_plain", "test_mse_regularised",
    "test_nfe_plain", "test_nfe_regularised", "seconds_plain", "seconds_regularised",
    "iterations", "sweep", "history"}`` (``test_*``: on 1024 held-out
    points after training); ``sweep`` lists ``{"weight", "nfe", "loss", "test_mse"}`` per weight
    tried and ``history`` holds the per-iteration ``nfe``/``mse`` lists of the two runs
    compared (keys ``"plain"`` and ``"regularised"``).
    """
    iterations, n_points = (30, 64) if quick else (600, 256)
    weights = (0.01,) if quick else WEIGHTS

    def run(weight):
        desc = "plain" if weight == 0 else f"weight {weight:g}"
        return train_run(
            weight, iterations=iterations, n_points=n_points, progress=progress, desc=desc
        )

    plain = run(0.0)
    runs = [run(weight) for weight in weights]
    loss_plain, nfe_plain = final_mean(plain.mse), final_mean(plain.nfe)
    matched = [r for r in runs if final_mean(r.mse) <= (1 + AIM_LOSS_SLACK) * loss_plain]
    if matched:
        chosen = min(matched, key=lambda r: final_mean(r.nfe))
    else:
        chosen = min(runs, key=lambda r: final_mean(r.mse))
    nfe_reg, loss_reg = final_mean(chosen.nfe), final_mean(chosen.mse)
    nfe_ratio, loss_ratio = nfe_reg / nfe_plain, loss_reg / loss_plain
    return {
        "nfe_plain": nfe_plain,
        "nfe_regularised": nfe_reg,
        "loss_plain": loss_plain,
        "loss_regularised": loss_reg,
        "weight": chosen.weight,
        "nfe_ratio": nfe_ratio,
        "loss_ratio": loss_ratio,
        "aim_met": bool(nfe_ratio <= AIM_NFE_RATIO and loss_ratio <= 1 + AIM_LOSS_SLACK),
        "test_mse_plain": plain.test_mse,
        "test_mse_regularised": chosen.test_mse,
        "test_nfe_plain": plain.test_nfe,
        "test_nfe_regularised": chosen.test_nfe,
        "seconds_plain": plain.seconds,
        "seconds_regularised": chosen.seconds,
        "iterations": iterations,
        "sweep": [
            {
                "weight": r.weight,
                "nfe": final_mean(r.nfe),
                "loss": final_mean(r.mse),
                "test_mse": r.test_mse,
            }
            for r in [plain, *runs]
        ],
        "history": {
            "plain": {"nfe": plain.nfe, "mse": plain.mse},
            "regularised": {"nfe": chosen.nfe, "mse": chosen.mse},
        },
    }


# --------------------------------------------------------------------------- figures

_PLAIN, _REGULARISED = OKABE_ITO["vermillion"], OKABE_ITO["blue"]


def _history_figure(study: dict, key: str, title: str, y_title: str, log: bool) -> go.Figure:
    fig = go.Figure()
    for name, color, label in (
        ("plain", _PLAIN, "plain"),
        ("regularised", _REGULARISED, f"regularised (weight {study['weight']:g})"),
    ):
        values = study["history"][name][key]
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(values) + 1)),
                y=values,
                mode="lines",
                name=label,
                line={"color": color},
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="iteration",
        yaxis={"title": y_title, "type": "log" if log else "linear"},
    )
    return fig


def nfe_figure(study: dict, title: str = "Evaluations per forward solve during training"):
    """Forward NFE per iteration, plain and regularised, from :func:`regularisation_study`."""
    return _history_figure(study, "nfe", title, "NFE (forward solve)", log=False)


def loss_figure(study: dict, title: str = "Training loss during training"):
    """Training MSE per iteration (log scale), plain and regularised."""
    return _history_figure(study, "mse", title, "mean squared error", log=True)


def tradeoff_figure(study: dict, title: str = "Cost against loss for each penalty weight"):
    """Final NFE against final loss, one point per weight of the study's sweep."""
    sweep = study["sweep"]
    fig = go.Figure(
        go.Scatter(
            x=[entry["loss"] for entry in sweep],
            y=[entry["nfe"] for entry in sweep],
            mode="markers+text",
            text=[f"weight {entry['weight']:g}" for entry in sweep],
            textposition="top center",
            marker={
                "size": 10,
                "color": [_PLAIN if e["weight"] == 0 else _REGULARISED for e in sweep],
            },
            name="final NFE and loss",
        )
    )
    fig.update_layout(
        title=title,
        xaxis={"title": "final training loss (MSE)", "type": "log"},
        yaxis_title="final NFE per forward solve",
        showlegend=False,
    )
    return fig
