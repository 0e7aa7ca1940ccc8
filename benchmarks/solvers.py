"""Time per solve: nodelib's solvers against every PyTorch peer (torchdiffeq, torchode,
torchdyn), same method, same problem, same number of function evaluations.

Run from the repository root (the peers come from ``requirements-peers.txt``)::

    python benchmarks/solvers.py --out benchmarks/results/solvers.json
    python benchmarks/solvers.py --quick --out /tmp/solvers.json   # tiny sizes, seconds

Problem: ``dy/dt = MLP(y)`` with a 2-50-2 tanh MLP (float32, parameters requiring grad, autograd
on, as a user would call it), batch 1 and 1024, on ``t in [0, 1]``.

- Fixed-step methods (euler, midpoint, rk4_38, the 3/8 rule that torchdiffeq calls "rk4"):
  ``t = linspace(0, 1, steps + 1)`` with 100 and 1000 steps, one step per interval of ``t``, so
  every library takes exactly ``steps`` steps and returns every step. A peer that does not ship
  a method runs it from our tableau through its own generic Runge–Kutta step (torchode: midpoint
  and rk4_38 through ``ExplicitRungeKutta``; torchdyn: rk4_38 through its ``RungeKutta4`` step
  with the 3/8 coefficients); each case's ``notes`` say so.
- dopri5 at rtol=1e-6, atol=1e-8 with ``t = linspace(0, 10, 11)`` (a longer span, so that step
  control has work to do); ``steps`` is the number of steps nodelib accepted. Every library
  controls one step size for the whole batch with an RMS error norm over all entries (torchode
  controls each sample separately by default, so it gets the batch flattened into one sample;
  its per-sample mode is timed as well, as ``torchode_per_sample_s``), and fills in the output
  times by dense output (torchdyn: its ``interpolator="4th"``).

NFE: every library gets the same ``func`` wrapped in a counter for one untimed solve, which also
checks that the solutions agree (``max_abs_diff`` against nodelib); the timed solves use the
bare ``func``. Fixed steps: the NFE must be equal, or the run stops. dopri5: the NFE can differ,
because the step controllers differ in details and, above all, nodelib's error estimate is
Hairer's (``b - b̂`` ending in -1/40, as in SciPy's RK45) while the three peers use Shampine's
embedded weights (ending in -1/60): nodelib's estimate is exactly 1.5 times theirs, so at the
same rtol/atol it takes steps about 1.5**(-1/5) ≈ 0.92 times as long. The JSON keeps every NFE,
and ``ratio_to_fastest_peer_per_nfe`` compares seconds per evaluation.

For each case the libraries run in turn, in a rotating order (warm-up, then at least 5 rounds,
more while the case has taken under ``budget`` seconds), in one process, so machine load and
thread settings affect all alike; the JSON holds medians. torch runs on one thread unless
``--threads N`` says otherwise. Each solve is timed by the CPU time of this process
(``time.process_time``): with one thread that is the wall time an idle machine would show, and
other programs competing for the cores do not inflate it (``--clock wall`` times wall-clock
seconds instead). Targets: nodelib no slower than the fastest peer for fixed steps
(``ratio_to_fastest_peer ≤ 1.0``), within 1.2× for dopri5.

Output: ``{"cases": [{"method", "batch", "steps", "nodelib_s", "torchdiffeq_s", "ratio",
"torchode_s", "torchdyn_s", "fastest_peer", "ratio_to_fastest_peer", "nfe", "max_abs_diff",
"notes", ...}]}``; ``ratio = nodelib_s / torchdiffeq_s`` as before.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import torchdiffeq
from torch import nn

import nodelib
from nodelib import reproducibility
from nodelib.tableaus import TABLEAUS

with warnings.catch_warnings():
    # Importing torchdyn imports pytorch-lightning, which may warn about its own set-up.
    warnings.simplefilter("ignore")
    import torchode
    from torchdyn.numerics import odeint as torchdyn_odeint
    from torchdyn.numerics.solvers.ode import Euler, Midpoint, RungeKutta4
from torchode.interpolation import LinearInterpolation
from torchode.single_step_methods.runge_kutta import ButcherTableau, ExplicitRungeKutta

LIBRARIES = ("nodelib", "torchdiffeq", "torchode", "torchdyn")
PEERS = LIBRARIES[1:]
TORCHDIFFEQ_NAME = {"euler": "euler", "midpoint": "midpoint", "rk4_38": "rk4", "dopri5": "dopri5"}
RTOL, ATOL = 1e-6, 1e-8
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


class MLPDynamics(nn.Module):
    """``f(t, y) = W2 tanh(W1 y + b1) + b2``: the 2-50-2 tanh MLP, ignoring ``t``."""

    def __init__(self, hidden: int = 50):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)


class Counting(nn.Module):
    """``func`` that counts its calls: one call evaluates the whole batch once."""

    def __init__(self, func):
        super().__init__()
        self.func, self.calls = func, 0

    def forward(self, t, y):
        self.calls += 1
        return self.func(t, y)


# --------------------------------------------------------------------------- torchode


class TorchodeFixedRK(ExplicitRungeKutta):
    """One of our fixed-step tableaus as a torchode step method (torchode ships no midpoint
    and no fourth-order fixed-step method, but steps any tableau with ``ExplicitRungeKutta``)."""

    def __init__(self, term, method: str):
        ours = TABLEAUS[method]
        tableau = ButcherTableau.from_lists(
            c=[float(x) for x in ours.c],
            a=[[float(x) for x in row] for row in ours.a],
            b=[float(x) for x in ours.b],
            b_err=[0.0] * ours.stages,  # fixed steps: the error estimate is never used
        )
        super().__init__(term, tableau)
        self.order = ours.order

    def convergence_order(self):
        return self.order

    def build_interpolation(self, data):
        # Every output time is a step end, where linear interpolation is exact.
        return LinearInterpolation(data.t0, data.dt, data.y0, data.y1)


def torchode_solver(func, y0, t, method: str, per_sample: bool):
    """A function that solves with torchode and returns ``(len(t), *y0.shape)`` like odeint.

    torchode wants ``(batch, features)`` states and controls each sample's step separately.
    Unless ``per_sample``, the batch is flattened into one sample of ``batch * 2`` features,
    so that one step size serves the whole batch with an RMS norm over all entries, as in
    nodelib and the other peers.
    """
    batch = y0.shape[0]
    if per_sample:
        f, y_start = func, y0
    else:

        def f(t_, y):
            return func(t_, y.view(batch, -1)).view(1, -1)

        y_start = y0.reshape(1, -1)
    samples = y_start.shape[0]
    # with_stats=False: torchode's own NFE counter costs a little time; we count ourselves.
    term = torchode.ODETerm(f, with_stats=False)
    if method == "dopri5":
        step_method = torchode.Dopri5(term=term)
        controller = torchode.IntegralController(atol=ATOL, rtol=RTOL, term=term)
        dt0 = None
    else:
        step_method = torchode.Euler(term=term) if method == "euler" else None
        step_method = step_method or TorchodeFixedRK(term, method)
        controller = torchode.FixedStepController()
        # torchode advances its time by t += dt; summed in floating point, `steps` steps can end
        # just short of the end and add a tiny extra step. Time in float64 and a step longer
        # by 1e-9 (relative) avoid that; torchode clips the last step to the end time.
        dt0 = torch.full((samples,), float(t[-1] - t[0]) / (len(t) - 1) * (1 + 1e-9),
                         dtype=torch.float64)  # fmt: skip
    adjoint = torchode.AutoDiffAdjoint(step_method, controller)
    t_eval = t.to(torch.float64).expand(samples, -1)
    problem = torchode.InitialValueProblem(y0=y_start, t_start=t_eval[:, 0], t_end=t_eval[:, -1],
                                           t_eval=t_eval)  # fmt: skip

    def solve():
        ys = adjoint.solve(problem, dt0=dt0).ys  # (samples, len(t), features)
        return ys.transpose(0, 1).reshape(len(t), *y0.shape)

    return solve


# --------------------------------------------------------------------------- torchdyn


class TorchdynRK38(RungeKutta4):
    """torchdyn's ``RungeKutta4`` step (which is the classic method) with the 3/8 rule's
    coefficients: the same four evaluations and multiply-adds, torchdiffeq's "rk4"."""

    def __init__(self, dtype=torch.float32):
        super().__init__(dtype)
        ours = TABLEAUS["rk4_38"]
        as_tensor = lambda xs: torch.tensor([float(x) for x in xs], dtype=dtype)  # noqa: E731
        self.tableau = (as_tensor(ours.c[1:]), [as_tensor(row) for row in ours.a[1:]],
                        as_tensor(ours.b), torch.tensor([0.0]))  # fmt: skip


def torchdyn_solver(func, y0, t, method: str):
    """A function that solves with torchdyn and returns ``(len(t), *y0.shape)`` like odeint."""
    if method == "dopri5":
        options = {"solver": "dopri5", "atol": ATOL, "rtol": RTOL, "interpolator": "4th"}
    else:
        solver = {"euler": Euler, "midpoint": Midpoint, "rk4_38": TorchdynRK38}[method]()
        options = {"solver": solver}
    return lambda: torchdyn_odeint(func, y0, t, **options)[1]


# --------------------------------------------------------------------------- timing


def solvers_for(method: str, func, y0, t, per_sample: bool) -> dict:
    """One no-argument solve per library (and torchode's per-sample mode when asked)."""
    options = {"rtol": RTOL, "atol": ATOL} if method == "dopri5" else {}
    solvers = {
        "nodelib": lambda: nodelib.odeint(func, y0, t, method=method, **options),
        "torchdiffeq": lambda: torchdiffeq.odeint(
            func, y0, t, method=TORCHDIFFEQ_NAME[method], **options
        ),
        "torchode": torchode_solver(func, y0, t, method, per_sample=False),
        "torchdyn": torchdyn_solver(func, y0, t, method),
    }
    if per_sample:
        solvers["torchode_per_sample"] = torchode_solver(func, y0, t, method, per_sample=True)
    return solvers


def count_and_check(method: str, base, y0, t, per_sample: bool) -> tuple[dict, dict]:
    """NFE of one solve per library (a counting ``func``) and each solution's largest absolute
    difference from nodelib's."""
    counting = Counting(base)
    nfe, solutions = {}, {}
    for name, solve in solvers_for(method, counting, y0, t, per_sample).items():
        counting.calls = 0
        with torch.no_grad():
            solutions[name] = solve()
        nfe[name] = counting.calls
    diff = {
        name: float((solution - solutions["nodelib"]).abs().max())
        for name, solution in solutions.items()
        if name != "nodelib"
    }
    return nfe, diff


def time_rounds(solvers: dict, repeats: int, budget_s: float, clock=time.process_time) -> dict:
    """Median seconds per solve of each solver (by ``clock``), run in turn in a rotating order."""
    names = list(solvers)
    for name in names:  # warm-up
        solvers[name]()
    seconds = {name: [] for name in names}
    rounds = 0
    # At least `repeats` rounds, more (up to 5x) while the case has run for under `budget_s`:
    # cheap cases get many rounds, so their medians are steady on a busy machine.
    while rounds < repeats or (rounds < 5 * repeats and sum(map(sum, seconds.values())) < budget_s):
        shift = rounds % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            solvers[name]()
            seconds[name].append(clock() - start)
        rounds += 1
    return {name: statistics.median(s) for name, s in seconds.items()}


def case_notes(method: str, per_sample: bool) -> list[str]:
    notes = []
    if method in ("midpoint", "rk4_38"):
        notes.append(
            f"torchode ships no {method}: our tableau runs through its ExplicitRungeKutta step"
        )
    if method == "rk4_38":
        notes.append("torchdyn's rk4 is the classic method: its step ran with the 3/8 weights")
    if method == "dopri5":
        notes.append(
            "one step size per batch in every library (torchode: batch flattened into one "
            "sample); dense output at the output times (torchdyn: interpolator='4th')"
        )
    if per_sample:
        notes.append(
            "torchode_per_sample_s: torchode's default per-sample step control (each sample "
            "its own step size; each evaluation still runs the whole batch). No other library "
            "offers it"
        )
    return notes


def time_case(
    method: str,
    batch: int,
    steps: int | None,
    repeats: int,
    budget_s: float = 0.0,
    clock=time.process_time,
) -> dict:
    """Median wall time of every library on one case, with NFE and agreement of solutions."""
    torch.manual_seed(0)
    func = MLPDynamics()
    y0 = torch.randn(batch, 2)
    if method == "dopri5":
        t = torch.linspace(0.0, 10.0, 11)
        _, stats = nodelib.odeint(func, y0, t, method=method, rtol=RTOL, atol=ATOL,
                                  return_stats=True)  # fmt: skip
        steps = stats.accepted
    else:
        t = torch.linspace(0.0, 1.0, steps + 1)
    per_sample = method == "dopri5" and batch > 1
    nfe, diff = count_and_check(method, func, y0, t, per_sample)
    if method != "dopri5" and len({nfe[name] for name in LIBRARIES}) != 1:
        sys.exit(f"{method}, batch {batch}: the NFE differ between libraries: {nfe}")
    seconds = time_rounds(solvers_for(method, func, y0, t, per_sample), repeats, budget_s, clock)
    fastest = min(PEERS, key=seconds.get)
    case = {
        "method": method,
        "batch": batch,
        "steps": steps,
        "nodelib_s": seconds["nodelib"],
        "torchdiffeq_s": seconds["torchdiffeq"],
        "ratio": seconds["nodelib"] / seconds["torchdiffeq"],
        "torchode_s": seconds["torchode"],
        "torchdyn_s": seconds["torchdyn"],
        "fastest_peer": fastest,
        "ratio_to_fastest_peer": seconds["nodelib"] / seconds[fastest],
        "ratio_to_fastest_peer_per_nfe": (seconds["nodelib"] / nfe["nodelib"])
        / (seconds[fastest] / nfe[fastest]),
        "nfe": nfe,
        "max_abs_diff": diff,
        "notes": case_notes(method, per_sample),
    }
    if per_sample:
        case["torchode_per_sample_s"] = seconds["torchode_per_sample"]
    return case


def run(quick: bool, clock=time.process_time) -> dict:
    batches = [1, 8] if quick else [1, 1024]
    step_counts = [5] if quick else [100, 1000]
    repeats = 1 if quick else 5
    budget_s = 0.0 if quick else 8.0
    cases = []
    for method in ["euler", "midpoint", "rk4_38"]:
        for batch in batches:
            for steps in step_counts:
                cases.append(time_case(method, batch, steps, repeats, budget_s, clock))
                print(cases[-1], flush=True)
    for batch in batches:
        cases.append(time_case("dopri5", batch, None, repeats, budget_s, clock))
        print(cases[-1], flush=True)
    return {"cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        default="cpu",
        help="cpu: CPU seconds of this process per solve (default); wall: wall-clock seconds",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}", flush=True)
    result = run(args.quick, CLOCKS[args.clock])
    # The peers' versions and the clock, beside the common stamp of the machine.
    result["machine"] = {"clock": args.clock} | {
        name: importlib.metadata.version(name) for name in PEERS
    }
    reproducibility.write_result(result, args.out, [__file__, *sys.argv[1:]])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
