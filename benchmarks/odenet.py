"""Seconds per training iteration: the course's ODE-Net against the source's, and a ResNet.

    python benchmarks/odenet.py --out benchmarks/results/odenet.json
    python benchmarks/odenet.py --quick          # a few iterations, for a smoke test

One training iteration = forward pass, cross-entropy, backward pass and one Adam
step on a batch of 32 images of 28×28 pixels (random pixels: the time does not
depend on the values). The models are timed *side by side*: round after round,
each model runs a few iterations in turn, so a machine that gets busier or
quieter during the run slows all of them alike; the median over rounds is kept.

Writes ``{"models": {"course_odenet": {"seconds_per_iter", "params", ...},
"source_odenet": {...}, "resnet": {...}}, "speedup_vs_source": source / course}``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from nodelib import odenet, reproducibility
from nodelib.experiments.classify import train_step

#: name in the JSON -> how to build the model.
MODELS = {
    "course_odenet": lambda: odenet.build_model("odenet"),
    "source_odenet": lambda: odenet.build_model("source_odenet"),
    "resnet": lambda: odenet.build_model("resnet"),
}


def benchmark(rounds: int, iters_per_round: int, batch_size: int = 32, seed: int = 0) -> dict:
    """Time every model of :data:`MODELS`; returns the JSON described in the module docstring."""
    torch.manual_seed(seed)
    images = torch.rand(batch_size, 1, 28, 28)
    labels = torch.randint(0, 10, (batch_size,))
    setups = {}
    for name, build in MODELS.items():
        model = build()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        _, *nfe = train_step(model, images, labels, optimizer)  # warm-up; keeps the NFE
        setups[name] = (model, optimizer, nfe)
    timings = {name: [] for name in MODELS}
    for _ in range(rounds):
        for name, (model, optimizer, _) in setups.items():
            started = time.perf_counter()
            for _ in range(iters_per_round):
                train_step(model, images, labels, optimizer)
            timings[name].append((time.perf_counter() - started) / iters_per_round)
    models = {
        name: {
            "seconds_per_iter": statistics.median(timings[name]),
            "params": odenet.count_parameters(model),
            "nfe_forward": nfe[0],
            "nfe_backward": nfe[1],
            "seconds_per_iter_each_round": timings[name],
        }
        for name, (model, _, nfe) in setups.items()
    }
    course = models["course_odenet"]["seconds_per_iter"]
    source = models["source_odenet"]["seconds_per_iter"]
    return {
        "models": models,
        "speedup_vs_source": source / course,
        "batch_size": batch_size,
        "rounds": rounds,
        "iters_per_round": iters_per_round,
        "settings": {
            "course_odenet": {
                k: odenet.DEFAULTS[k]
                for k in ("channels", "solver", "step_size", "gradient", "end_time")
            },
            "source_odenet": {
                "channels": 64,
                "solver": "euler",
                "step_size": 0.05,
                "gradient": "adjoint",
                "end_time": 1.0,
                "norm": "batch",
                "time_channel": True,
            },
            "resnet": {
                "channels": odenet.DEFAULTS["channels"],
                "residual_blocks": odenet.DEFAULTS["residual_blocks"],
            },
        },  # fmt: skip
        "machine": {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "solver_backend": odenet.solver_backend(),
            "processor": platform.processor() or platform.machine(),
        },
        "command": " ".join(["python", "benchmarks/odenet.py", *sys.argv[1:]]),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON to this file")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of side-by-side timing")
    parser.add_argument("--iters", type=int, default=4, help="iterations per model per round")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 round of 1 iteration: a smoke test",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.iters < 1:
        parser.error(f"--rounds and --iters must be >= 1, got {args.rounds} and {args.iters}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rounds, iters = (1, 1) if args.quick else (args.rounds, args.iters)
    result = benchmark(rounds, iters)
    for name, row in result["models"].items():
        print(f"{name:14s} {row['seconds_per_iter']:.4f} s/iter  {row['params']:>7d} parameters")
    print(f"speedup of the course's ODE-Net over the source's: {result['speedup_vs_source']:.1f}x")
    if args.out is not None:
        # the common stamp (CPU, cores, commit, ...) beside this benchmark's own machine facts
        result = reproducibility.write_result(result, args.out, [__file__, *(argv or sys.argv[1:])])
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
