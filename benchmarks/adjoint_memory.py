"""Peak memory of one forward + backward pass: adjoint method vs backprop through the solver.

Run from the repository root::

    python benchmarks/adjoint_memory.py --out benchmarks/results/adjoint_memory.json
    python benchmarks/adjoint_memory.py --quick --out /tmp/adjoint_memory.json

Problem: a convolutional dynamics function of realistic size, ``f(t, z) = conv(tanh(conv(z)))``
with 64 channels, 3×3 kernels, on a state of shape ``(32, 64, 7, 7)`` (batch 32 of 7×7 feature
maps, the size of an ODE block in an MNIST ODE-Net), integrated with Euler over ``t ∈ [0, 1]``
with 10, 100 and 1000 steps; loss = mean of ``z(1)²``; gradients w.r.t. ``z(0)`` and the weights.

How memory is measured (CPU, no CUDA allocator statistics to read): every (method, steps) case
runs in a **fresh subprocess**, so nothing cached by an earlier case inflates a later one. The
subprocess builds the model and data, runs one tiny warm-up pass (so one-off allocations of the
libraries are made), then resets the kernel's peak resident set size counter (writing ``5`` to
``/proc/self/clear_refs`` resets ``VmHWM``; Linux ≥ 4.0) and records the current resident size
``VmRSS`` as the baseline. After forward + backward it reads ``VmHWM``; the reported peak is
``VmHWM − baseline`` in MiB: the extra memory the pass needed at its worst moment. Resident
memory includes everything torch's CPU allocator got from the system, which a Python-level tool
such as ``tracemalloc`` does not see. (If ``clear_refs`` cannot be written, the peak falls back to
``ru_maxrss`` from ``resource.getrusage``, which then also includes the warm-up.)

The gradients of both methods are saved by the subprocesses and compared:
``max_grad_rel_diff`` is the largest ``‖g_adjoint − g_backprop‖ / ‖g_backprop‖`` over all cases
and tensors. With Euler the adjoint's backward solve is a different discretisation than the
exact gradient of the forward Euler steps, so the difference shrinks like the step size: it is
largest for 10 steps.

Output: ``{"steps": [...], "adjoint_peak_mb": [...], "backprop_peak_mb": [...],
"max_grad_rel_diff": x}``. Target: the adjoint's peak grows ≤ 10 % from 10 to 1000 steps while
backprop's grows about linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

from nodelib import reproducibility

REPO = Path(__file__).resolve().parents[1]


class ConvDynamics(nn.Module):
    """``f(t, z) = conv2(tanh(conv1(z)))``, channels preserved, 3×3 kernels with padding 1."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.tanh(self.conv1(z)))


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB -> MiB
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_one(method: str, steps: int, channels: int, batch: int, grads_file: str) -> float:
    """Run one forward + backward in *this* process; return its peak extra memory in MiB."""
    import nodelib

    torch.manual_seed(0)
    func = ConvDynamics(channels)
    z0 = torch.randn(batch, channels, 7, 7, requires_grad=True)
    t = torch.tensor([0.0, 1.0])
    solve = nodelib.odeint_adjoint if method == "adjoint" else nodelib.odeint

    def forward_backward(n_steps: int):
        z = solve(func, z0, t, method="euler", step_size=1.0 / n_steps)
        loss = z[-1].square().mean()
        return torch.autograd.grad(loss, (z0, *func.parameters()))

    forward_backward(1)  # warm-up
    reset = _reset_peak()
    baseline = _status_mib("VmRSS")
    grads = forward_backward(steps)
    if reset:
        peak = _status_mib("VmHWM")
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    torch.save([g.detach() for g in grads], grads_file)
    return peak - baseline


def _run_subprocess(method: str, steps: int, channels: int, batch: int, grads_file: str) -> float:
    command = [
        sys.executable,
        __file__,
        "--one",
        method,
        str(steps),
        str(channels),
        str(batch),
        grads_file,
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return float(done.stdout.strip().splitlines()[-1])


def run(quick: bool) -> dict:
    steps_list = [2, 20] if quick else [10, 100, 1000]
    channels, batch = (4, 2) if quick else (64, 32)
    result = {"steps": steps_list, "adjoint_peak_mb": [], "backprop_peak_mb": []}
    max_rel = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for steps in steps_list:
            files = {}
            for method in ["adjoint", "backprop"]:
                files[method] = f"{tmp}/{method}_{steps}.pt"
                peak = _run_subprocess(method, steps, channels, batch, files[method])
                result[f"{method}_peak_mb"].append(peak)
                print(f"{method:8s} {steps:5d} steps: peak {peak:8.1f} MiB", flush=True)
            adjoint, backprop = torch.load(files["adjoint"]), torch.load(files["backprop"])
            for a, b in zip(adjoint, backprop, strict=True):
                max_rel = max(max_rel, ((a - b).norm() / b.norm()).item())
    result["max_grad_rel_diff"] = max_rel
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":  # the child process of one case
        method, steps, channels, batch, grads_file = sys.argv[2:7]
        print(measure_one(method, int(steps), int(channels), int(batch), grads_file))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    args = parser.parse_args()
    result = run(args.quick)
    result = reproducibility.write_result(result, args.out)
    print(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
