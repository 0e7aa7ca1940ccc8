"""Benchmark of chapter 9: what a Neural ODE cannot represent, and what augmentation changes.

    python benchmarks/limits.py --out benchmarks/results/limits.json
    python benchmarks/limits.py --quick --out /tmp/limits.json   # a few iterations, for tests

Writes::

    {"crossing": {"node_mse", "anode_mse", "resnet_mse"},
     "annuli": {"node_accuracy", "anode_accuracy", "node_nfe", "anode_nfe"},
     "settings": {...}, "command": ..., "machine": {...}}

Each model is trained full-batch with Adam (backprop through dopri5 at rtol 1e-3, atol 1e-4)
from the same seed. ``*_mse``: mean squared error on the crossing map ``g(-1) = 1,
g(1) = -1``; ``*_accuracy``: fraction of the annuli's training points classified right;
``*_nfe``: evaluations of the dynamics that dopri5 needs to solve the trained model's ODE
for those points (at the end of training). Expected: the plain Neural ODE's MSE stays at or
above 1 (a flow keeps the two points in order), the augmented one's falls below 1e-2, and
the augmented model classifies the annuli at >= 99 % with fewer evaluations.
"""

from __future__ import annotations

import time

import torch

from nodelib import augmented, crossing_problems, reproducibility


def run(quick: bool = False, seed: int = 0, augment_dim: int = 1) -> dict:
    """Train the three contenders on both problems; ``quick`` shrinks everything."""
    settings = {
        "crossing_iterations": 20 if quick else 300,
        "annuli_iterations": 10 if quick else 500,
        "annuli_points": 64 if quick else 512,
        "augment_dim": augment_dim,
        "resnet_depth": 4,
        "lr": 1e-2,
        "solver": f"dopri5, rtol {augmented.RTOL}, atol {augmented.ATOL}",
        "seed": seed,
    }
    started = time.perf_counter()
    crossing = crossing_problems.crossing_map()
    models = augmented.contenders(crossing, augment_dim=augment_dim, seed=seed)
    crossing_result = {}
    for key, model in models.items():
        augmented.fit(
            model, crossing, iterations=settings["crossing_iterations"], lr=settings["lr"],
            desc=f"crossing, {key}",
        )  # fmt: skip
        crossing_result[f"{key}_mse"] = augmented.mse(model, crossing)

    annuli = crossing_problems.annuli(settings["annuli_points"], seed=seed)
    models = augmented.contenders(annuli, augment_dim=augment_dim, seed=seed)
    annuli_result = {}
    for key in ("node", "anode"):
        model = models[key]
        augmented.fit(
            model, annuli, iterations=settings["annuli_iterations"], lr=settings["lr"],
            desc=f"annuli, {key}",
        )  # fmt: skip
        annuli_result[f"{key}_accuracy"] = augmented.accuracy(model, annuli)
        annuli_result[f"{key}_nfe"] = augmented.adaptive_nfe(model, annuli.inputs)
    settings["seconds"] = time.perf_counter() - started
    order = ["node_accuracy", "anode_accuracy", "node_nfe", "anode_nfe"]
    return {
        "crossing": crossing_result,
        "annuli": {key: annuli_result[key] for key in order},
        "settings": settings,
    }


def main(argv=None) -> int:
    parser = reproducibility.benchmark_parser(
        __doc__.splitlines()[0], quick_help="a few iterations only (tests)"
    )
    parser.add_argument("--augment-dim", type=int, default=1, help="extra dimensions (1-5)")
    args = parser.parse_args(argv)
    if not 1 <= args.augment_dim <= 5:
        parser.error(f"--augment-dim must be between 1 and 5, got {args.augment_dim}")
    torch.set_num_threads(args.threads)
    results = run(quick=args.quick, seed=args.seed, augment_dim=args.augment_dim)
    return reproducibility.finish_benchmark(results, args.out, __file__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
