"""Benchmark of chapter 12, the price of training: four measurements, each checked against its aim.

    python benchmarks/training_practice.py --out benchmarks/results/training_practice.json
    python benchmarks/training_practice.py --quick --out /tmp/training_practice.json  # tests

Writes::

    {"regularisation": {"nfe_plain", "nfe_regularised", "loss_plain", "loss_regularised", ...},
     "adjoint_variants": {"T": [...], "backsolve_rel_err": [...], "checkpoint_rel_err": [...],
                          "checkpoint_peak_mb": {K: MB}, ...},
     "seminorm": {"backward_nfe_default", "backward_nfe_seminorm", "grad_rel_diff", ...},
     "stiff": {"problem", "explicit_nfe", "implicit_nfe", "explicit_seconds",
               "implicit_seconds", ...},
     "aims": {...}, "seconds": {...}, "command", "machine"}

- ``regularisation`` (:func:`nodelib.training_cost.regularisation_study`): forward NFE per
  iteration and training loss at the end of training, plain and with Finlay et al.'s kinetic
  and Jacobian penalties. Aim: regularised NFE at most 0.7 of plain, loss within 10 %.
- ``adjoint_variants`` (:func:`nodelib.adjoint_variants.adjoint_variants_study`): worst relative
  gradient error against backprop for the backsolve and the checkpointed adjoint at each
  horizon ``T``, and the memory saved for backward against the number of checkpoints ``K``.
  Aim: checkpointed error at most 1e-6 at every ``T``, backsolve's above 1e-3 at the largest.
- ``seminorm`` (:func:`nodelib.adjoint_variants.seminorm_study`): backward evaluations of the
  backsolve adjoint with the default norm and with the seminorm. Aim: at least 20 % saved,
  the two gradients equal to the solver's tolerance.
- ``stiff`` (:func:`nodelib.stiffness.stiff_comparison`): dopri5 against SDIRK2 on Van der Pol
  with ``μ = 1000``. Aim: at least 10 times fewer evaluations for the implicit method.
- ``aims``: whether each aim holds in this run (``true``/``false``), with the thresholds.
- ``seconds``: wall time of each study.
"""

from __future__ import annotations

import sys
import time

import torch

from nodelib import reproducibility
from nodelib.adjoint_variants import adjoint_variants_study, seminorm_study
from nodelib.seeding import seed_everything
from nodelib.stiffness import stiff_comparison
from nodelib.training_cost import AIM_LOSS_SLACK, AIM_NFE_RATIO, regularisation_study

#: The issue's aims, in one place: the chapter and the tests read them from here.
AIMS = {
    "regularised_nfe_ratio_at_most": AIM_NFE_RATIO,
    "regularised_loss_slack_at_most": AIM_LOSS_SLACK,
    "checkpoint_rel_err_at_most": 1e-6,
    "backsolve_rel_err_above": 1e-3,
    "seminorm_saving_at_least": 0.20,
    "seminorm_grad_rel_diff_at_most": 1e-3,
    "stiff_nfe_ratio_at_least": 10.0,
}


def aims_met(result: dict) -> dict:
    """Whether each of the issue's aims holds for ``result`` (plain booleans, JSON-ready).

    ``seminorm_same_gradient``: the two gradients differ by at most
    ``seminorm_grad_rel_diff_at_most`` relative, the tolerance of the loosest solve studied.
    """
    reg, adj = result["regularisation"], result["adjoint_variants"]
    semi, stiff = result["seminorm"], result["stiff"]
    return {
        "regularisation": bool(
            reg["nfe_regularised"] <= AIMS["regularised_nfe_ratio_at_most"] * reg["nfe_plain"]
            and reg["loss_regularised"]
            <= (1 + AIMS["regularised_loss_slack_at_most"]) * reg["loss_plain"]
        ),
        "checkpoint_exact": bool(
            max(adj["checkpoint_rel_err"]) <= AIMS["checkpoint_rel_err_at_most"]
        ),
        "backsolve_breaks": bool(adj["backsolve_rel_err"][-1] > AIMS["backsolve_rel_err_above"]),
        "seminorm_saving": bool(
            1 - semi["backward_nfe_seminorm"] / semi["backward_nfe_default"]
            >= AIMS["seminorm_saving_at_least"]
        ),
        "seminorm_same_gradient": bool(
            semi["grad_rel_diff"] <= AIMS["seminorm_grad_rel_diff_at_most"]
        ),
        "stiff": bool(
            stiff["explicit_nfe"] >= AIMS["stiff_nfe_ratio_at_least"] * stiff["implicit_nfe"]
        ),
    }


def run(quick: bool = False, seed: int = 0, progress: bool = True) -> dict:
    """The four studies (``quick``: the small sizes their authors chose for tests)."""
    result, seconds = {}, {}
    studies = {
        "regularisation": lambda: regularisation_study(quick, progress=progress),
        "adjoint_variants": lambda: adjoint_variants_study(quick, seed=seed),
        "seminorm": lambda: seminorm_study(quick, seed=seed),
        "stiff": lambda: stiff_comparison(quick),
    }
    for name, study in studies.items():
        seed_everything(seed)
        start = time.perf_counter()
        result[name] = study()
        seconds[name] = time.perf_counter() - start
        if progress:
            print(f"{name}: {seconds[name]:.1f} s", file=sys.stderr)
    # The per-iteration histories are for the chapter's figures; the benchmark keeps numbers.
    result["regularisation"].pop("history", None)
    result["aims"] = {"thresholds": dict(AIMS), "met": aims_met(result)}
    result["seconds"] = seconds
    result["quick"] = quick
    return result


def main(argv=None) -> int:
    parser = reproducibility.benchmark_parser(
        __doc__.splitlines()[0], quick_help="small sizes only (tests)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = run(quick=args.quick, seed=args.seed, progress=not args.quick)
    return reproducibility.finish_benchmark(results, args.out, __file__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
