"""Benchmark of chapter 7: the source's spiral protocol against the course's, in one run.

    python benchmarks/spiral.py --out benchmarks/results/spiral.json
    python benchmarks/spiral.py --quick --out /tmp/spiral.json   # a few iterations, for tests

Writes::

    {"source_protocol": {"euler": {"seconds", "mse"}, "rk4": {...}, "dopri5": {...}},
     "course_protocol": {"seconds", "mse", "iterations", "solver"},
     "time_ratio": course seconds / source euler seconds}

The source protocol (RMSprop, adjoint, 150 iterations) runs on torchdiffeq, as the
source did; the course protocol on nodelib's solvers. ``seconds`` is training time
(the course's includes its stopping checks); ``mse`` is the whole-trajectory MSE.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

from nodelib import reproducibility, spiral


def run(quick: bool = False, seed: int = 0, repeats: int = 3) -> dict:
    """Measure both protocols; ``quick`` shrinks them to a few iterations.

    The source's Euler run and the course protocol are timed ``repeats`` times,
    alternately, and each reports its median: the two then see the same machine
    load, and one busy moment does not decide the ratio.
    """
    data = spiral.make_data()
    iterations = 3 if quick else 150
    protocol = spiral.CourseProtocol(max_iterations=10, check_every=5) if quick else None
    # warm-up, untimed: the first solve of a process pays for lazy imports and caches
    spiral.source_protocol(data, "euler", iterations=2, seed=seed)
    spiral.course_protocol(data, spiral.CourseProtocol(max_iterations=2), seed=seed)
    euler_runs, course_runs = [], []
    for _ in range(repeats):
        euler_runs.append(spiral.source_protocol(data, "euler", iterations=iterations, seed=seed))
        course_runs.append(spiral.course_protocol(data, protocol, seed=seed))
    euler_seconds = statistics.median(r.seconds for r in euler_runs)
    course_seconds = statistics.median(r.seconds for r in course_runs)
    euler, course = euler_runs[-1], course_runs[-1]  # seeded: every repeat scores the same
    source = {"euler": {"seconds": euler_seconds, "mse": euler.mse}}
    for solver in ("rk4", "dopri5"):
        result = spiral.source_protocol(data, solver, iterations=iterations, seed=seed)
        source[solver] = {"seconds": result.seconds, "mse": result.mse}
    return {
        "source_protocol": source,
        "course_protocol": {
            "seconds": course_seconds,
            "mse": course.mse,
            "iterations": course.iterations,
            "solver": course.solver,
        },
        "time_ratio": course_seconds / euler_seconds,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="a few iterations only (tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="timings of Euler vs course")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (tiny tensors: 1 is fastest)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = run(quick=args.quick, seed=args.seed, repeats=1 if args.quick else args.repeats)
    results = reproducibility.write_result(results, args.out, [__file__, *(argv or sys.argv[1:])])
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
