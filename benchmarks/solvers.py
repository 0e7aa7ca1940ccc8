"""Wall time per solve: nodelib's solvers against torchdiffeq's, same method, same problem.

Run from the repository root::

    python benchmarks/solvers.py --out benchmarks/results/solvers.json
    python benchmarks/solvers.py --quick --out /tmp/solvers.json   # tiny sizes, seconds

Problem: ``dy/dt = MLP(y)`` with a 2-50-2 tanh MLP (float32, parameters requiring grad, autograd
on, as a user would call it), batch 1 and 1024, on ``t in [0, 1]``.

- Fixed-step methods (euler, midpoint, rk4_38 vs torchdiffeq's "rk4", which is the 3/8 rule):
  ``t = linspace(0, 1, steps + 1)`` with 100 and 1000 steps, default step size (the spacing of
  ``t``), so both libraries take exactly ``steps`` steps and return every step.
- dopri5 at rtol=1e-6, atol=1e-8 with ``t = linspace(0, 10, 11)`` (a longer span, so that step
  control has work to do); ``steps`` is the number of steps nodelib accepted.

For each case the two libraries run alternately (warm-up, then at least 7 rounds, up to 35 while
the case has taken under 6 s), in one
process, so machine load and thread settings affect both alike; the JSON holds medians and
``ratio = nodelib_s / torchdiffeq_s``. torch runs on one thread unless ``--threads N`` says
otherwise (steadier timings on a shared machine; the ratio compares like with like).
Targets: ratio ≤ 1.0 for fixed steps, ≤ 1.2 for dopri5.

Output: ``{"cases": [{"method", "batch", "steps", "nodelib_s", "torchdiffeq_s", "ratio"}]}``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torchdiffeq
from torch import nn

import nodelib
from nodelib import reproducibility

TORCHDIFFEQ_NAME = {"euler": "euler", "midpoint": "midpoint", "rk4_38": "rk4", "dopri5": "dopri5"}


class MLPDynamics(nn.Module):
    """``f(t, y) = W2 tanh(W1 y + b1) + b2``: the 2-50-2 tanh MLP, ignoring ``t``."""

    def __init__(self, hidden: int = 50):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)


def _time_once(solve) -> float:
    start = time.perf_counter()
    solve()
    return time.perf_counter() - start


def time_case(
    method: str, batch: int, steps: int | None, repeats: int, budget_s: float = 0.0
) -> dict:
    """Median wall time of nodelib and torchdiffeq on one case, run alternately."""
    torch.manual_seed(0)
    func = MLPDynamics()
    y0 = torch.randn(batch, 2)
    if method == "dopri5":
        t = torch.linspace(0.0, 10.0, 11)
        options = {"rtol": 1e-6, "atol": 1e-8}
        _, stats = nodelib.odeint(func, y0, t, method=method, return_stats=True, **options)
        steps = stats.accepted
    else:
        t = torch.linspace(0.0, 1.0, steps + 1)
        options = {}

    def run_nodelib():
        return nodelib.odeint(func, y0, t, method=method, **options)

    def run_torchdiffeq():
        return torchdiffeq.odeint(func, y0, t, method=TORCHDIFFEQ_NAME[method], **options)

    run_nodelib(), run_torchdiffeq()  # warm-up
    ours, theirs = [], []
    # At least `repeats` rounds, more (up to 5x) while the case has run for under `budget_s`:
    # cheap cases get many rounds, so their medians are steady on a busy machine.
    while len(ours) < repeats or (len(ours) < 5 * repeats and sum(ours) + sum(theirs) < budget_s):
        ours.append(_time_once(run_nodelib))
        theirs.append(_time_once(run_torchdiffeq))
    nodelib_s, torchdiffeq_s = statistics.median(ours), statistics.median(theirs)
    return {
        "method": method,
        "batch": batch,
        "steps": steps,
        "nodelib_s": nodelib_s,
        "torchdiffeq_s": torchdiffeq_s,
        "ratio": nodelib_s / torchdiffeq_s,
    }


def run(quick: bool) -> dict:
    batches = [1, 8] if quick else [1, 1024]
    step_counts = [5, 10] if quick else [100, 1000]
    repeats = 2 if quick else 7
    budget_s = 0.0 if quick else 6.0
    cases = []
    for method in ["euler", "midpoint", "rk4_38"]:
        for batch in batches:
            for steps in step_counts:
                cases.append(time_case(method, batch, steps, repeats, budget_s))
                print(cases[-1], flush=True)
    for batch in batches:
        cases.append(time_case("dopri5", batch, None, repeats, budget_s))
        print(cases[-1], flush=True)
    return {"cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}", flush=True)
    result = run(args.quick)
    reproducibility.write_result(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
