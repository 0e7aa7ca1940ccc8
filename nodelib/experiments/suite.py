"""Train every model of chapter 8's comparison and write one results file per run.

    python -m nodelib.experiments.suite --dataset fashion-mnist --jobs 2

Home chapter: 8. The comparison is only fair if every model is trained the same way:
same data, same epochs, same batch size, same learning-rate schedule, one CPU thread
each. This command runs :mod:`nodelib.experiments.classify` once per (model, seed) of
:data:`SUITE` and writes ``results/<dataset>/<model>-<seed>.json``.

It takes hours, so it is built to be stopped and started again:

- a run whose results file exists is skipped;
- every run saves a checkpoint (``results/<dataset>/checkpoints/<model>-<seed>.pt``,
  ignored by git) every few minutes, and a run that finds its checkpoint continues it
  (``--resume``) and ends with the numbers it would have had without the stop;
- each run's output goes to ``results/<dataset>/logs/<model>-<seed>.log``.

So after Ctrl-C, a crash or a reboot, the same command carries on where it stopped.
With ``--jobs 2`` two runs train at once, one thread each; the results record the
machine's load average, so a reader can see how busy the CPUs were.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from nodelib import data as image_data
from nodelib import odenet


@dataclass(frozen=True)
class SuiteEntry:
    """One model of the comparison and the seeds it is trained with."""

    model: str
    seeds: tuple[int, ...]


#: The comparison of chapter 8, slowest first so that they start at once. The two
#: ODE-Nets with many evaluations per batch (dopri5 + adjoint; 20 Euler steps + adjoint)
#: take about ten times as long as the others and get one seed; the rest get three.
SUITE = (
    SuiteEntry("chen_odenet", (0,)),
    SuiteEntry("source_odenet", (0,)),
    SuiteEntry("odenet", (0, 1, 2)),
    SuiteEntry("resnet", (0, 1, 2)),
    SuiteEntry("resnet_shared", (0, 1, 2)),
    SuiteEntry("cnn", (0, 1, 2)),
)

#: Epochs of every run: the source's five.
EPOCHS = 5

#: Options that shrink every run to a few batches (``--quick``: tests and fast mode).
QUICK_OPTIONS = ("--max-batches", "3", "--train-limit", "96", "--test-limit", "64")


@dataclass(frozen=True)
class Run:
    """One training run of the suite: a model and a seed, and where its files go."""

    model: str
    seed: int
    folder: Path  # results/<dataset>

    @property
    def name(self) -> str:
        return f"{self.model}-{self.seed}"

    @property
    def out(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoints" / f"{self.name}.pt"

    @property
    def log(self) -> Path:
        return self.folder / "logs" / f"{self.name}.log"


def suite_runs(folder: Path, models: list[str] | None = None) -> list[Run]:
    """The runs of :data:`SUITE` (only ``models`` if given), in the order they start."""
    wanted = [entry for entry in SUITE if models is None or entry.model in models]
    return [Run(entry.model, seed, Path(folder)) for entry in wanted for seed in entry.seeds]


def classify_arguments(run: Run, dataset: str, *, epochs: int, quick: bool) -> list[str]:
    """The options of ``python -m nodelib.experiments.classify`` for ``run``."""
    argv = [
        "--dataset", dataset, "--model", run.model, "--epochs", str(epochs),
        "--seed", str(run.seed), "--threads", "1", "--out", str(run.out),
        "--checkpoint", str(run.checkpoint), "--checkpoint-minutes", "5", "--no-progress",
    ]  # fmt: skip
    if quick:
        argv += QUICK_OPTIONS
    if run.checkpoint.exists():
        argv.append("--resume")
    return argv


def finished(run: Run, *, epochs: int) -> bool:
    """True when ``run`` has its results file, written for the same model, seed and epochs.

    A results file that does not match (another number of epochs, say) raises
    ``ValueError``: the suite must not silently keep or overwrite it.
    """
    if not run.out.exists():
        return False
    try:
        results = json.loads(run.out.read_text())
        same = (
            results["model"] == run.model
            and results["settings"]["seed"] == run.seed
            and results["epochs"] == epochs
        )
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{run.out} is not a results file of the suite ({error})") from error
    if not same:
        raise ValueError(
            f"{run.out} holds another run (model {results['model']}, seed "
            f"{results['settings']['seed']}, {results['epochs']} epochs); delete it or move "
            "it away to train this one"
        )
    return True


def train(run: Run, dataset: str, *, epochs: int, quick: bool) -> tuple[Run, int, float]:
    """Train one run in a child process; return (run, exit status, seconds)."""
    for folder in (run.checkpoint.parent, run.log.parent):
        folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "nodelib.experiments.classify"]
    command += classify_arguments(run, dataset, epochs=epochs, quick=quick)
    started = time.perf_counter()
    with open(run.log, "a") as log:
        log.write(f"$ {shlex.join(command[1:])}\n")
        log.flush()
        status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
    if status == 0 and run.checkpoint.exists():
        run.checkpoint.unlink()  # the results file now holds everything of the run
    return run, status, time.perf_counter() - started


def run_suite(
    dataset: str,
    *,
    root: Path = Path("results"),
    models: list[str] | None = None,
    jobs: int = 1,
    epochs: int = EPOCHS,
    quick: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Train every unfinished run of :data:`SUITE`; return the results files of all runs.

    dataset: ``mnist``, ``fashion-mnist`` or ``auto`` (resolved first, so the files go to
    ``root/<dataset>/``). jobs: runs trained at once. Raises RuntimeError naming the
    failed runs and their logs if any run fails (the others still finish).
    """
    dataset = image_data.resolve_name(dataset)
    runs = suite_runs(Path(root) / dataset, models)
    todo = [run for run in runs if not finished(run, epochs=epochs)]
    failed = []
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc="suite", unit="run",
               disable=not progress)  # fmt: skip
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(train, run, dataset, epochs=epochs, quick=quick) for run in todo]
        for future in as_completed(futures):
            run, status, seconds = future.result()
            bar.update(1)
            outcome = "done" if status == 0 else f"FAILED (exit status {status})"
            tqdm.write(f"{run.name}: {outcome} after {seconds / 60:.1f} min; log: {run.log}")
            if status != 0:
                failed.append(run)
    bar.close()
    if failed:
        names = ", ".join(f"{run.name} (see {run.log})" for run in failed)
        raise RuntimeError(
            f"{len(failed)} run(s) failed: {names}. Fix the cause and run the same command "
            "again: finished runs are skipped, interrupted ones resume from their checkpoint."
        )
    return [run.out for run in runs]


def load_suite(folder: Path) -> dict[str, list[dict]]:
    """The results files of the suite found in ``folder``, by model (seeds in order).

    Models without any finished run are left out, so a chapter can show a suite that is
    still training.
    """
    found = {}
    for run in suite_runs(Path(folder)):
        if run.out.exists():
            found.setdefault(run.model, []).append(json.loads(run.out.read_text()))
    return found


def results_folder(dataset: str) -> Path | None:
    """The committed ``results/<dataset>/`` folder as a notebook sees it, or None if absent.

    Looked for beside the notebook's folder first (see
    :func:`nodelib.experiments.results.candidate_roots`).
    """
    from nodelib.experiments.results import candidate_roots

    for root in candidate_roots():
        folder = root / "results" / dataset
        if folder.is_dir():
            return folder
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nodelib.experiments.suite",
        description=(
            "Train every model of chapter 8's comparison (" + ", ".join(odenet.MODELS) + ") "
            f"for {EPOCHS} epochs and write results/<dataset>/<model>-<seed>.json. Stop it "
            "any time; the same command continues where it stopped."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--dataset", choices=image_data.CHOICES, default="auto",
        help="image data set; 'auto' uses MNIST if it is available, else Fashion-MNIST",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", type=int, default=1,
        help=f"runs trained at once, one CPU thread each (this machine has {os.cpu_count()})",
    )  # fmt: skip
    parser.add_argument(
        "--models", nargs="+", choices=odenet.MODELS, default=None,
        help="train only these models (default: all of the suite)",
    )  # fmt: skip
    parser.add_argument(
        "--root", type=Path, default=Path("results"), help="folder of the results/<dataset>/"
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="a few batches per run (checks that every model trains; not for the book)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.jobs <= (os.cpu_count() or 1):
        parser.error(f"argument --jobs: must be 1..{os.cpu_count()} (the CPUs), got {args.jobs}")
    try:
        files = run_suite(
            args.dataset, root=args.root, models=args.models, jobs=args.jobs,
            epochs=1 if args.quick else EPOCHS, quick=args.quick,
        )  # fmt: skip
    except (RuntimeError, ValueError) as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted; run the same command again to continue\n")
    print(f"{len(files)} results files in {files[0].parent}")


if __name__ == "__main__":
    main()
