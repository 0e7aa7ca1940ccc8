"""Where a measurement came from: machine stamps for benchmarks, and reading them back.

A speed or memory figure means little without the machine that produced it. Every
benchmark script stores, next to its numbers,

- ``"command"``: the command line that produced the file (:func:`command_line`);
- ``"machine"``: :func:`stamp` - CPU model, cores, torch and Python versions, the
  git commit of the code, and when it ran.

The reproducibility appendix reads the files back with :func:`load_result` and
draws each one with the ``*_figure`` functions below, under a caption from
:func:`provenance`.

    result = {...numbers...}
    result["command"] = reproducibility.command_line()
    result["machine"] = reproducibility.stamp()
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import plotly.graph_objects as go
import torch

from nodelib.atomic_files import write_json

#: The repository root when nodelib is used from a clone (editable install or tests).
REPO_ROOT = Path(__file__).resolve().parents[1]

#: The committed benchmark results: file stem -> the command that regenerates it.
BENCHMARKS = {
    "solvers": "python benchmarks/solvers.py --out benchmarks/results/solvers.json",
    "adjoint_memory": (
        "python benchmarks/adjoint_memory.py --out benchmarks/results/adjoint_memory.json"
    ),
    "spiral": "python benchmarks/spiral.py --out benchmarks/results/spiral.json",
    "odenet": "python benchmarks/odenet.py --out benchmarks/results/odenet.json",
    "limits": "python benchmarks/limits.py --out benchmarks/results/limits.json",
    "cnf": "python benchmarks/cnf.py --out benchmarks/results/cnf.json",
    "latent_ode": "python benchmarks/latent_ode.py --out benchmarks/results/latent_ode.json",
    "training_practice": (
        "python benchmarks/training_practice.py --out benchmarks/results/training_practice.json"
    ),
}


# ------------------------------------------------------------------ the stamp
def cpu_model() -> str:
    """The processor's marketing name, e.g. ``'AMD EPYC 7763 64-Core Processor'``.

    Linux lists it in /proc/cpuinfo, macOS answers ``sysctl``; elsewhere we fall
    back to what :mod:`platform` knows (often just ``'x86_64'``).
    """
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            # x86 says "model name"; some ARM kernels say "Model" or "Hardware"
            if key.strip() in {"model name", "Model", "Hardware"} and value.strip():
                return value.strip()
    if sys.platform == "darwin":
        try:
            name = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True, text=True, timeout=5, check=True,
            ).stdout.strip()  # fmt: skip
            if name:
                return name
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def git_commit(repo: Path = REPO_ROOT) -> tuple[str | None, bool | None]:
    """(full commit hash, whether the working tree has uncommitted changes) of ``repo``.

    (None, None) when ``repo`` is not a git checkout or git is not installed - for
    example nodelib installed from a wheel on Colab.
    """
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        # only tracked files count: untracked scratch files do not change the code that ran
        changes = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(changes)


def stamp() -> dict:
    """The machine and code that are running now, as a JSON-ready dict.

    Keys: ``cpu`` (model name), ``cores`` (logical CPUs), ``torch_threads``
    (threads torch computes with), ``gpu`` (CUDA device name or None), ``torch``,
    ``python``, ``platform``, ``commit`` (git hash or None), ``dirty`` (uncommitted
    changes to tracked files), ``date`` (UTC, ISO 8601, seconds).
    """
    commit, dirty = git_commit()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "commit": commit,
        "dirty": dirty,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def benchmark_parser(description: str, *, quick_help: str) -> argparse.ArgumentParser:
    """The options every benchmark script shares: ``--out``, ``--quick``, ``--seed``, ``--threads``.

    A script adds its own options to the parser it gets back.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (small tensors: 1 is fastest)"
    )
    return parser


def finish_benchmark(results: dict, out: Path, script: str, argv: list[str] | None) -> int:
    """Stamp and write a benchmark's results to ``out`` (atomically), print them, return 0.

    script: the benchmark's ``__file__``; argv: its arguments (None: the command line's).
    """
    results = write_result(results, out, [script, *(argv or sys.argv[1:])])
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


def write_result(result: dict, out: str | Path, argv: list[str] | None = None) -> dict:
    """Stamp a benchmark's ``result`` with its command line and this machine; write it to ``out``.

    The JSON file is written atomically (:mod:`nodelib.atomic_files`): an interrupted run
    leaves the previous result whole. Facts the benchmark recorded itself under
    ``result["machine"]`` are kept beside the common stamp. ``argv`` is passed on to
    :func:`command_line`. Returns the stamped result.
    """
    stamped = result | {
        "command": command_line(argv),
        "machine": stamp() | result.get("machine", {}),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, stamped)
    return stamped


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running now, as a reader would type it from the repository root.

    ``argv`` defaults to ``sys.argv``; the script path is made relative to the
    repository when it lies inside it, e.g. ``'python benchmarks/odenet.py --out x.json'``.
    """
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return "python"
    script = Path(argv[0])
    try:
        script = script.resolve().relative_to(REPO_ROOT)
    except ValueError:
        pass  # a script outside the repository keeps its path as given
    return " ".join(["python", script.as_posix(), *argv[1:]])


# ------------------------------------------------------------------ reading results back
def results_dir() -> Path | None:
    """The folder holding the committed benchmark JSON files, or None if none is found.

    Looked for, in order: ``NODELIB_RESULTS_DIR``; ``benchmarks/results`` under the
    current folder or its parent (a notebook runs in ``book/``, the staged build in
    ``_stage/book/``); the repository nodelib was installed from.
    """
    candidates = []
    if os.environ.get("NODELIB_RESULTS_DIR"):
        candidates.append(Path(os.environ["NODELIB_RESULTS_DIR"]))
    here = Path.cwd()
    candidates += [here / "benchmarks" / "results", here.parent / "benchmarks" / "results"]
    candidates.append(REPO_ROOT / "benchmarks" / "results")
    for folder in candidates:
        if folder.is_dir():
            return folder
    return None


def load_result(name: str, folder: Path | None = None) -> dict | None:
    """The benchmark result ``<folder>/<name>.json`` as a dict, or None if it is missing.

    name:   one of :data:`BENCHMARKS` (``'solvers'``, ``'adjoint_memory'``, ...).
    folder: defaults to :func:`results_dir`.
    A file that exists but is not valid JSON raises ``ValueError`` naming it: a
    broken committed file must fail the build, not vanish from the appendix.
    """
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {list(BENCHMARKS)}")
    folder = folder if folder is not None else results_dir()
    if folder is None:
        return None
    path = Path(folder) / f"{name}.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def regenerate_command(name: str, result: dict | None = None) -> str:
    """The command that (re)produces benchmark ``name``: the recorded one, else the default."""
    if result and result.get("command"):
        return str(result["command"])
    return BENCHMARKS[name]


def missing_note(name: str) -> str:
    """What the appendix says where a result file is not there (yet)."""
    return (
        f"No result file {name}.json was found in benchmarks/results, so there is nothing "
        f"to plot here. Produce it from the repository root with:\n    {BENCHMARKS[name]}"
    )


def provenance(name: str, result: dict) -> str:
    """Several lines saying which command, commit and machine produced ``result``.

    Fields the file does not record are reported as 'not recorded', so an older
    file still renders and the gap is visible.
    """
    machine = result.get("machine") or {}

    def field(key, *fallbacks):
        for source in (machine, result):
            for k in (key, *fallbacks):
                if source.get(k) not in (None, ""):
                    return source[k]
        return "not recorded"

    commit = field("commit")
    if commit != "not recorded":
        commit = str(commit)[:12] + (" (with uncommitted changes)" if machine.get("dirty") else "")
    hardware = [str(field("cpu", "processor"))]
    if field("cores") != "not recorded":
        hardware.append(f"{field('cores')} cores")
    if field("torch_threads", "threads") != "not recorded":
        hardware.append(f"torch using {field('torch_threads', 'threads')} threads")
    if machine.get("gpu"):
        hardware.append(f"GPU {machine['gpu']}")
    return "\n".join(
        [
            f"command:  {regenerate_command(name, result)}",
            f"commit:   {commit}",
            f"machine:  {', '.join(hardware)}",
            f"software: torch {field('torch')}, Python {field('python')}",
            f"date:     {field('date', 'finished')}",
        ]
    )


# ------------------------------------------------------------------ the figures
def _bar_layout(title: str, yaxis_title: str, **extra) -> dict:
    return dict(title=title, yaxis_title=yaxis_title, barmode="group", height=420, **extra)


def solvers_figure(result: dict) -> go.Figure:
    """Seconds per solve, nodelib against each PyTorch peer the file records, one group of bars
    per case.

    result: ``{"cases": [{"method", "batch", "steps", "nodelib_s", "torchdiffeq_s", "ratio"}]}``;
    cases may also hold ``torchode_s`` and ``torchdyn_s`` (one more bar each).
    """
    cases = result["cases"]
    labels = [f"{c['method']}, batch {c['batch']}, {c['steps']} steps" for c in cases]
    libraries = ["nodelib", "torchdiffeq"] + [
        peer for peer in ("torchode", "torchdyn") if all(f"{peer}_s" in c for c in cases)
    ]
    title = "Solve time: nodelib vs " + ", ".join(libraries[1:])
    fig = go.Figure(layout=_bar_layout(title, "seconds (log)"))
    for name in libraries:
        fig.add_bar(x=labels, y=[c[f"{name}_s"] for c in cases], name=name)
    fig.update_yaxes(type="log")
    return fig


def adjoint_memory_figure(result: dict) -> go.Figure:
    """Peak memory of backpropagation through the solver against the adjoint method.

    result: ``{"steps", "adjoint_peak_mb", "backprop_peak_mb", "max_grad_rel_diff"}``,
    where the first three are numbers or equally long lists (one entry per step count).
    """
    steps = _as_list(result["steps"])
    adjoint = _as_list(result["adjoint_peak_mb"])
    backprop = _as_list(result["backprop_peak_mb"])
    title = "Peak memory of one gradient: backpropagation vs adjoint"
    if len(steps) == 1:
        fig = go.Figure(layout=_bar_layout(title, "peak memory (MB)"))
        fig.add_bar(x=["backpropagation", "adjoint"], y=[backprop[0], adjoint[0]])
        fig.update_xaxes(title=f"{steps[0]} solver steps")
        return fig
    fig = go.Figure(layout=dict(title=title, yaxis_title="peak memory (MB)", height=420))
    fig.add_scatter(x=steps, y=backprop, mode="lines+markers", name="backpropagation")
    fig.add_scatter(x=steps, y=adjoint, mode="lines+markers", name="adjoint")
    fig.update_xaxes(title="solver steps")
    return fig


def spiral_figure(result: dict) -> go.Figure:
    """Training time and final error of the spiral fit: the source's protocol (one bar per
    solver) against the course's.

    result: ``{"source_protocol": {solver: {"seconds", "mse"}}, "course_protocol":
    {"seconds", "mse", "iterations", "solver"}, "time_ratio"}``.
    """
    from plotly.subplots import make_subplots

    rows = {f"source, {s}": v for s, v in result["source_protocol"].items()}
    course = result["course_protocol"]
    rows[f"course, {course.get('solver', '?')}"] = course
    labels = list(rows)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["training time (s)", "final MSE (log)"])
    fig.add_bar(x=labels, y=[r["seconds"] for r in rows.values()], row=1, col=1, name="seconds")
    fig.add_bar(x=labels, y=[r["mse"] for r in rows.values()], row=1, col=2, name="MSE")
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(title="The spiral fit: source protocol vs course protocol", height=420)
    fig.update_layout(showlegend=False)
    return fig


def odenet_figure(result: dict) -> go.Figure:
    """Seconds per training iteration of each image model, with its parameter count.

    result: ``{"models": {name: {"seconds_per_iter", "params"}}, "speedup_vs_source"}``.
    """
    models = result["models"]
    names = list(models)
    fig = go.Figure(layout=_bar_layout("One training iteration (batch of images)", "seconds"))
    fig.add_bar(
        x=names,
        y=[models[n]["seconds_per_iter"] for n in names],
        text=[f"{models[n]['params']:,} parameters" for n in names],
        textposition="outside",
    )
    return fig


def _as_list(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


#: benchmark name -> the function that draws it.
FIGURES = {
    "solvers": solvers_figure,
    "adjoint_memory": adjoint_memory_figure,
    "spiral": spiral_figure,
    "odenet": odenet_figure,
}
