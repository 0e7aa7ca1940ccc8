"""Chapter 8's comparison in numbers: means and spreads over seeds, the gap between two
models with its uncertainty, and the training time each model needs to reach an accuracy.

Home chapter: 8. The inputs are the results files of :mod:`nodelib.experiments.suite`, as
:func:`nodelib.experiments.suite.load_suite` returns them: ``{model: [result, ...]}``, one
result per seed.

Why the statistics: one training run is one draw. Another seed changes the initial
weights and the order of the batches, and the test accuracy moves by a few tenths of a
percentage point. A difference between two models means something only when it is large
against that spread, so :func:`accuracy_gap` compares them with Welch's t-test and picks the
word ("matches", "trails", "leads") from it, not from the sign of the difference.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from scipy import stats

from nodelib import odenet

#: Two models "match" when their mean accuracies differ by less than this test finds
#: significant: a two-sided Welch t-test at the 5 % level.
SIGNIFICANCE = 0.05


@dataclass
class ModelSummary:
    """One model of the comparison, over its seeds.

    accuracy_mean, accuracy_sd: test accuracy after the last epoch, as a fraction; the sd is
    the sample standard deviation over seeds (None with one seed). seconds_per_epoch: mean
    wall-clock training time per epoch (s), evaluation excluded. nfe_forward, nfe_backward:
    evaluations of the dynamics per training batch in the last epoch, mean over seeds.
    activation_mib: MiB that autograd keeps for the backward pass of one batch.
    load_average: mean 1-minute load average at the ends of the epochs (how busy the machine
    was; 1.0 per busy core).
    """

    model: str
    label: str
    seeds: int
    accuracies: list[float]
    accuracy_mean: float
    accuracy_sd: float | None
    seconds_per_epoch: float
    params: int
    nfe_forward: float
    nfe_backward: float
    activation_mib: float
    load_average: float | None

    def accuracy_text(self) -> str:
        """The accuracy as the chapters print it: ``"91.28 ± 0.16 %"``, or with one seed
        ``"91.26 % (1 seed)"``."""
        if self.accuracy_sd is None:
            return f"{100 * self.accuracy_mean:.2f} % (1 seed)"
        return f"{100 * self.accuracy_mean:.2f} ± {100 * self.accuracy_sd:.2f} %"


def summarise(model: str, runs: list[dict]) -> ModelSummary:
    """The :class:`ModelSummary` of ``model`` from its results files (one per seed)."""
    if not runs:
        raise ValueError(f"no results for model {model!r}: train it first (make results)")
    accuracies = [r["test_accuracy"] for r in runs]
    loads = [h.get("load_average") for r in runs for h in r["history"]]
    loads = [x for x in loads if x is not None]
    return ModelSummary(
        model=model,
        label=odenet.MODEL_LABELS.get(model, model),
        seeds=len(runs),
        accuracies=accuracies,
        accuracy_mean=statistics.fmean(accuracies),
        accuracy_sd=statistics.stdev(accuracies) if len(runs) > 1 else None,
        seconds_per_epoch=statistics.fmean(r["seconds_per_epoch"] for r in runs),
        params=runs[0]["params"],
        nfe_forward=statistics.fmean(r["nfe_forward"] for r in runs),
        nfe_backward=statistics.fmean(r["nfe_backward"] for r in runs),
        activation_mib=statistics.fmean(r["activation_bytes_per_batch"] for r in runs) / 2**20,
        load_average=statistics.fmean(loads) if loads else None,
    )


def summarise_suite(found: dict[str, list[dict]]) -> dict[str, ModelSummary]:
    """A summary per model found, in the order of :data:`nodelib.odenet.MODELS`."""
    return {model: summarise(model, found[model]) for model in odenet.MODELS if model in found}


@dataclass
class Gap:
    """Mean accuracy of model ``a`` minus model ``b``, in percentage points.

    standard_error: of the difference, in percentage points (None if either model has one
    seed); p_value: Welch's two-sided t-test (None likewise); word: how the chapter says it.
    """

    a: str
    b: str
    difference: float
    standard_error: float | None
    p_value: float | None
    word: str


def accuracy_gap(a: ModelSummary, b: ModelSummary) -> Gap:
    """Compare the mean accuracies of two models and choose the word for the difference.

    ``word`` is "matches" when Welch's t-test does not find the difference significant at
    :data:`SIGNIFICANCE`, else "trails" (a below b) or "leads"; with one seed on either side
    there is no spread to compare with and the word is "cannot be compared with".
    """
    difference = 100 * (a.accuracy_mean - b.accuracy_mean)
    if a.accuracy_sd is None or b.accuracy_sd is None:
        return Gap(a.model, b.model, difference, None, None, "cannot be compared with")
    var_a, var_b = (100 * a.accuracy_sd) ** 2 / a.seeds, (100 * b.accuracy_sd) ** 2 / b.seeds
    standard_error = math.sqrt(var_a + var_b)
    if standard_error == 0:
        p_value = 1.0 if difference == 0 else 0.0
    else:
        # Welch-Satterthwaite degrees of freedom
        dof = (var_a + var_b) ** 2 / (var_a**2 / (a.seeds - 1) + var_b**2 / (b.seeds - 1))
        p_value = float(2 * stats.t.sf(abs(difference) / standard_error, dof))
    if p_value >= SIGNIFICANCE:
        word = "matches"
    else:
        word = "trails" if difference < 0 else "leads"
    return Gap(a.model, b.model, difference, standard_error, p_value, word)


def accuracy_curve(run: dict) -> tuple[list[float], list[float]]:
    """(cumulative training seconds, test accuracy) at the end of each epoch of one run."""
    seconds, elapsed = [], 0.0
    for h in run["history"]:
        elapsed += h["seconds"]
        seconds.append(elapsed)
    return seconds, [h["test_accuracy"] for h in run["history"]]


def seconds_to_reach(run: dict, accuracy: float) -> float | None:
    """Training seconds until the run's test accuracy first reached ``accuracy``.

    Between two epochs the accuracy is interpolated linearly in time; reached already
    after the first epoch, the answer is that epoch's time (an upper bound: the test set
    is only checked at the end of an epoch). None if the run never reached it.
    """
    seconds, accuracies = accuracy_curve(run)
    previous = None
    for s, acc in zip(seconds, accuracies, strict=True):
        if acc >= accuracy:
            if previous is None:
                return s
            s0, acc0 = previous
            return s0 + (s - s0) * (accuracy - acc0) / (acc - acc0)
        previous = (s, acc)
    return None


def minutes_to_reach(runs: list[dict], accuracy: float) -> float | None:
    """Mean over seeds of :func:`seconds_to_reach`, in minutes; None if a seed never did."""
    times = [seconds_to_reach(run, accuracy) for run in runs]
    if any(t is None for t in times):
        return None
    return statistics.fmean(times) / 60


def common_accuracy(summaries: dict[str, ModelSummary], models: list[str]) -> float:
    """The highest accuracy every seed of every one of ``models`` reached by the end.

    Times to reach it compare the models' speed at equal accuracy.
    """
    return min(min(summaries[m].accuracies) for m in models)
