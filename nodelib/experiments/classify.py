"""Train an image classifier (ODE-Net, ResNet or plain CNN) and write its results as JSON.

    python -m nodelib.experiments.classify --dataset fashion-mnist --model odenet \\
        --epochs 5 --seed 0 --out results/fashion-mnist/odenet.json

Home chapter: 8. The chapter calls :func:`fit` and :func:`evaluate` directly;
the command line wraps them for the long runs whose results files the chapter reads.
Every option is explained by ``--help``.

A full run takes hours, so nothing may lose it:

- every option is checked before training starts, output files included;
- with ``--checkpoint FILE`` the run saves everything it needs to go on (see
  :mod:`nodelib.experiments.checkpoints`) after every epoch and every
  ``--checkpoint-minutes``, atomically (:mod:`nodelib.atomic_files`);
- Ctrl-C prints the command that continues the run - the same options plus
  ``--resume`` - and the continued run ends with the same numbers as one that
  never stopped;
- a loss, weight or ODE solve that stops being finite ends the run with the option
  that would help (``--lr``, ``--step-size``, ``--rtol``/``--atol``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from nodelib import config, odenet, reproducibility
from nodelib import data as image_data
from nodelib.atomic_files import OutputPathError, check_writable, save_torch
from nodelib.errors import MaxStepsExceededError, SolverError, StepSizeUnderflowError
from nodelib.experiments import checkpoints
from nodelib.experiments.results import write_results
from nodelib.seeding import seed_everything

#: Data sets the command accepts (``auto``: MNIST if it can be had, else Fashion-MNIST).
DATASETS = ("mnist", "fashion-mnist", "auto")
#: Learning-rate schedules of :func:`fit`.
SCHEDULES = ("cosine", "constant")


@dataclass
class BatchRecord:
    """What one training step measured: loss and function evaluations of the ODE block(s)."""

    step: int
    loss: float
    nfe_forward: int
    nfe_backward: int


@dataclass
class EpochRecord:
    """One line of the results' ``history``."""

    epoch: int
    train_loss: float
    test_accuracy: float
    nfe_forward: float
    nfe_backward: float
    seconds: float
    #: forward NFE averaged over consecutive chunks of :data:`NFE_CURVE_CHUNK` batches,
    #: so the growth of an adaptive solver's cost within the epoch can be plotted
    nfe_forward_curve: list[float] = field(default_factory=list)
    #: the same for the backward NFE
    nfe_backward_curve: list[float] = field(default_factory=list)
    #: the machine's 1-minute load average when the epoch ended: how many processes
    #: competed for the CPUs while ``seconds`` was measured
    load_average: float | None = None


#: Batches per point of the NFE curves of :class:`EpochRecord`.
NFE_CURVE_CHUNK = 100


def chunk_means(values: list[float], chunk: int = NFE_CURVE_CHUNK) -> list[float]:
    """Means of ``values`` over consecutive chunks of ``chunk`` items (the last may be shorter)."""
    return [
        sum(part) / len(part)
        for part in (values[i : i + chunk] for i in range(0, len(values), chunk))
    ]


def load_average() -> float | None:
    """The 1-minute load average (None where the system does not report one)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


# --------------------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------------------


class TrainingDiverged(RuntimeError):
    """Training cannot go on: the loss, the weights or an ODE solve stopped being finite.

    ``epoch`` and ``step`` say where; ``__cause__`` is the solver's error when the
    ODE solve failed (:class:`nodelib.errors.SolverError`), else None.
    """

    def __init__(self, message: str, *, epoch: int, step: int):
        super().__init__(message)
        self.epoch = epoch
        self.step = step


@dataclass
class Progress:
    """Where a run of :func:`fit` stands; saved in every checkpoint.

    epoch: the epoch being trained (1-based; ``epochs + 1`` once all are done);
    batch: batches of it done; step: optimiser steps done in the whole run;
    order_state: the shuffling generator's state at the start of ``epoch`` (its
    order is drawn again from it on resuming); losses, nfe_forward, nfe_backward,
    seconds: what the unfinished epoch has measured so far.
    """

    epoch: int = 1
    batch: int = 0
    step: int = 0
    order_state: torch.Tensor | None = None
    losses: list[float] = field(default_factory=list)
    nfe_forward: list[int] = field(default_factory=list)
    nfe_backward: list[int] = field(default_factory=list)
    seconds: float = 0.0


def train_step(model: odenet.ImageClassifier, images, labels, optimizer) -> tuple[float, int, int]:
    """One Adam step on a batch; returns (loss, forward NFE, backward NFE).

    images: (B, 1, 28, 28); labels: (B,). The forward NFE is read between the
    forward and the backward pass, so evaluations the adjoint makes while solving
    backwards are not counted twice.
    """
    model.train()
    model.reset_nfe()
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(images), labels)
    nfe_forward, _ = model.nfe()
    loss.backward()
    optimizer.step()
    _, nfe_backward = model.nfe()
    return loss.item(), nfe_forward, nfe_backward


@torch.no_grad()
def evaluate(model: nn.Module, dataset: image_data.ImageData, batch_size: int = 500) -> float:
    """Fraction of ``dataset`` classified correctly (0..1), in evaluation mode."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(dataset), batch_size):
        images = dataset.images[start : start + batch_size].to(device)
        labels = dataset.labels[start : start + batch_size].to(device)
        correct += (model(images).argmax(dim=1) == labels).sum().item()
    return correct / len(dataset)


def learning_rate_factor(schedule: str, total_steps: int):
    """The factor ``step -> lr(step) / lr`` of a schedule over ``total_steps`` steps.

    cosine: ½(1 + cos(π·step/total)), from 1 down to 0 - big steps first, fine ones
    at the end; constant: always 1.
    """
    if schedule == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    return lambda step: 1.0


def _check_finite(model: nn.Module, loss: float, progress: Progress, lr: float) -> None:
    """Raise :class:`TrainingDiverged` if the last step left a non-finite loss or weight."""
    where = f"epoch {progress.epoch}, step {progress.step + 1}"
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"the training loss became {loss} at {where} (learning rate {lr:.3g})",
            epoch=progress.epoch, step=progress.step + 1,
        )  # fmt: skip
    for name, parameter in model.named_parameters():
        if not bool(torch.isfinite(parameter).all()):
            raise TrainingDiverged(
                f"the weights {name} became NaN or infinite at {where} (learning rate {lr:.3g})",
                epoch=progress.epoch, step=progress.step + 1,
            )  # fmt: skip


def fit(
    model: odenet.ImageClassifier,
    train: image_data.ImageData,
    test: image_data.ImageData,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    max_batches: int | None = None,
    lr: float = 1e-3,
    schedule: str = "cosine",
    seed: int = 0,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    checkpoint_seconds: float | None = None,
    settings: dict | None = None,
    on_batch=None,
    progress: bool = True,
) -> list[EpochRecord]:
    """Train ``model`` with Adam and cross-entropy; evaluate on ``test`` after every epoch.

    batch_size: images per step; max_batches: stop each epoch after this many steps
    (None: the whole training set); schedule: ``cosine`` lowers the learning rate from
    ``lr`` to 0 along half a cosine over all steps (big steps first, fine ones at the
    end), ``constant`` keeps it; on_batch(record: BatchRecord): called after every
    step (the chapter uses it to plot NFE live).

    checkpoint: file of a training checkpoint (:mod:`nodelib.experiments.checkpoints`),
    written atomically after every epoch and, with ``checkpoint_seconds``, also
    within an epoch once that many seconds have passed since the last one (0: after
    every batch). resume: continue from ``checkpoint`` - weights, optimiser, schedule,
    random generators, history - so the run ends as if it had never stopped;
    ``settings`` (plus this function's own arguments) must equal the checkpoint's.

    Returns one :class:`EpochRecord` per epoch (those of the checkpoint included).
    Raises :class:`TrainingDiverged` when the loss, the weights or an ODE solve
    stop being finite, and :class:`~nodelib.experiments.checkpoints.CheckpointError`
    when the checkpoint to resume from is missing, broken or from another run.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<the file to resume from>")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    device = next(model.parameters()).device
    batches = -(-len(train) // batch_size)
    if max_batches is not None:
        batches = min(batches, max_batches)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, learning_rate_factor(schedule, epochs * batches)
    )
    settings = {
        **(settings or {}), "epochs": epochs, "batch_size": batch_size, "max_batches": max_batches,
        "lr": lr, "schedule": schedule, "seed": seed, "train_images": len(train),
        "test_images": len(test),
    }  # fmt: skip
    position, history = Progress(), []
    if resume:
        position, history = _resume(checkpoint, settings, model, optimizer, scheduler, generator)

    def save() -> None:
        state = _training_state(model, optimizer, scheduler, generator, position, history)
        checkpoints.save(checkpoint, {**state, "settings": settings})

    clock = RunClock(
        batches_left=(epochs - position.epoch + 1) * batches - position.batch,
        evaluations_left=epochs - position.epoch + 1,
    )
    last_save = time.monotonic()
    for epoch in range(position.epoch, epochs + 1):
        position.epoch = epoch
        if position.batch == 0:
            position.order_state = generator.get_state()
        generator.set_state(position.order_state)  # the same order again after a resume
        order = torch.randperm(len(train), generator=generator)
        started, seconds_before = time.perf_counter(), position.seconds
        bar = tqdm(
            total=batches, initial=position.batch, desc=f"{model.name} epoch {epoch}/{epochs}",
            unit="batch", disable=not progress,
        )  # fmt: skip
        try:
            for b in range(position.batch, batches):
                batch_started = time.perf_counter()
                idx = order[b * batch_size : (b + 1) * batch_size]
                images, labels = train.images[idx].to(device), train.labels[idx].to(device)
                try:
                    loss, forward, backward = train_step(model, images, labels, optimizer)
                except SolverError as error:
                    raise TrainingDiverged(
                        f"the ODE solve failed at epoch {epoch}, step {position.step + 1}: {error}",
                        epoch=epoch, step=position.step + 1,
                    ) from error  # fmt: skip
                _check_finite(model, loss, position, scheduler.get_last_lr()[0])
                scheduler.step()
                position.step, position.batch = position.step + 1, b + 1
                position.losses.append(loss)
                position.nfe_forward.append(forward)
                position.nfe_backward.append(backward)
                position.seconds = seconds_before + time.perf_counter() - started
                clock.batch_done(time.perf_counter() - batch_started)
                bar.update(1)
                bar.set_postfix(
                    loss=f"{loss:.3f}", nfe=f"{forward}/{backward}", run_left=clock.left(),
                    refresh=False,
                )  # fmt: skip
                if on_batch is not None:
                    on_batch(BatchRecord(position.step, loss, forward, backward))
                if (
                    checkpoint is not None and checkpoint_seconds is not None
                    and time.monotonic() - last_save >= checkpoint_seconds
                ):  # fmt: skip
                    save()
                    last_save = time.monotonic()
        finally:
            bar.close()
        evaluation_started = time.perf_counter()
        accuracy = evaluate(model, test)
        clock.evaluation_done(time.perf_counter() - evaluation_started, epochs - epoch)
        record = EpochRecord(
            epoch=epoch,
            train_loss=sum(position.losses) / len(position.losses),
            test_accuracy=accuracy,
            nfe_forward=sum(position.nfe_forward) / len(position.nfe_forward),
            nfe_backward=sum(position.nfe_backward) / len(position.nfe_backward),
            seconds=position.seconds,
            nfe_forward_curve=chunk_means(position.nfe_forward),
            nfe_backward_curve=chunk_means(position.nfe_backward),
            load_average=load_average(),
        )
        history.append(record)
        position = Progress(epoch=epoch + 1, step=position.step)
        if progress:
            tqdm.write(
                f"{model.name} epoch {epoch}: train loss {record.train_loss:.4f}, "
                f"test accuracy {accuracy:.2%}, NFE {record.nfe_forward:.1f}/"
                f"{record.nfe_backward:.1f}, {record.seconds:.0f} s; run left {clock.left()}"
            )
        if checkpoint is not None:
            save()
            last_save = time.monotonic()
    return history


def _training_state(model, optimizer, scheduler, generator, position, history) -> dict:
    """Everything the next training step depends on, as a checkpoint stores it."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "random": checkpoints.random_state(generator),
        "progress": asdict(position),
        "history": [asdict(record) for record in history],
    }


def _resume(checkpoint, settings, model, optimizer, scheduler, generator):
    """Load a :func:`_training_state` back; return its (Progress, history).

    Raises :class:`~nodelib.experiments.checkpoints.CheckpointError` if the checkpoint
    was written with other ``settings``: continuing it would mix two runs.
    """
    state = checkpoints.load(checkpoint)
    differences = checkpoints.settings_differences(state["settings"], settings)
    if differences:
        listed = ", ".join(
            f"{k}: {old!r} there, {new!r} here" for k, (old, new) in differences.items()
        )
        raise checkpoints.CheckpointError(
            f"checkpoint {checkpoint} belongs to another run ({listed})"
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    checkpoints.restore_random_state(state["random"], generator)
    return Progress(**state["progress"]), [EpochRecord(**h) for h in state["history"]]


class RunClock:
    """The time left of a run, from the pace of the batches and evaluations measured so far.

    batches_left, evaluations_left: training steps and test-set evaluations still to
    do when the clock starts.
    """

    def __init__(self, batches_left: int, evaluations_left: int):
        self.batches_left = batches_left
        self.evaluations_left = evaluations_left
        self.batches_done = 0
        self.training_seconds = 0.0
        self.evaluation_seconds = 0.0  # of the latest evaluation of the test set

    def batch_done(self, seconds: float) -> None:
        self.batches_done += 1
        self.batches_left -= 1
        self.training_seconds += seconds

    def evaluation_done(self, seconds: float, evaluations_left: int) -> None:
        self.evaluation_seconds, self.evaluations_left = seconds, evaluations_left

    def seconds_left(self) -> float | None:
        """Estimated seconds until the run ends (None before the first batch)."""
        if self.batches_done == 0:
            return None
        per_batch = self.training_seconds / self.batches_done
        return per_batch * self.batches_left + self.evaluation_seconds * self.evaluations_left

    def left(self) -> str:
        """:meth:`seconds_left` as ``H:MM:SS`` or ``MM:SS`` (``?`` while unknown)."""
        seconds = self.seconds_left()
        return "?" if seconds is None else tqdm.format_interval(seconds)


def save_checkpoint(model: nn.Module, path: str | Path) -> None:
    """Write ``model.state_dict()`` (weights only) with ``torch.save``, atomically.

    For a checkpoint that can resume training, give :func:`fit` a ``checkpoint``.
    """
    save_torch(path, model.state_dict())


def load_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load the weights of a checkpoint into ``model``: a training checkpoint of
    :func:`fit` (``--checkpoint``) or a weights file of :func:`save_checkpoint`.

    ``weights_only=True`` makes ``torch.load`` refuse anything but tensors and plain
    containers, so a checkpoint from elsewhere cannot run code when it is opened.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    model.load_state_dict(checkpoints.model_weights(checkpoints.read_torch_file(path)))
    return model


# --------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------

#: Most steps a fixed-step solver may take over the ODE block (more is a typo, not a plan).
MAX_FIXED_STEPS = 10_000

#: Options whose values a resumed run must share with the run that wrote the checkpoint.
TRAINING_OPTIONS = (
    "dataset", "model", "solver", "step_size", "rtol", "atol", "end_time", "gradient", "channels",
    "residual_blocks", "epochs", "batch_size", "max_batches", "lr", "schedule", "seed",
    "train_limit", "test_limit",
)  # fmt: skip

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _number(kind, *, minimum=None, maximum=None, above=None, even=False, why_maximum=""):
    """An argparse type: a finite ``kind`` (int or float) within bounds, with a clear message.

    minimum/maximum: inclusive bounds; above: exclusive lower bound; even: only even
    ints; why_maximum: said after the upper bound. argparse prefixes the message with
    the option's name (``argument --lr: ...``).
    """
    if above == 0 and minimum is None:
        wanted = f"a positive {'int' if kind is int else 'finite number'}"
    else:
        wanted = "an int" if kind is int else "a finite number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"must be > {above}, got {text!r}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum}{why_maximum}, got {text!r}")
        if even and value % 2:
            raise argparse.ArgumentTypeError(f"must be even, got {text!r}")
        return value

    parse.__name__ = wanted  # argparse names the type by this in some messages
    return parse


def _positive(kind, maximum=None, **bounds):
    """``_number`` for values that must be > 0 (and at most ``maximum``)."""
    return _number(kind, above=0, maximum=maximum, **bounds)


def option_name(setting: str) -> str:
    """The command-line option of a setting, e.g. ``"step_size"`` -> ``"--step-size"``."""
    return "--" + setting.replace("_", "-")


def training_settings(args: argparse.Namespace) -> dict:
    """The values of :data:`TRAINING_OPTIONS` in ``args``, as stored in a checkpoint."""
    return {name: getattr(args, name) for name in TRAINING_OPTIONS}


def build_parser() -> argparse.ArgumentParser:
    defaults = odenet.DEFAULTS
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        prog="python -m nodelib.experiments.classify",
        description=(
            "Train an ODE-Net, a ResNet or a plain CNN on handwritten images (chapter 8 of "
            "the course) and write test accuracy, seconds per epoch and function "
            "evaluations (NFE) as JSON. With --checkpoint a run can be stopped (Ctrl-C) "
            "and continued with --resume, ending with the same numbers."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--dataset", choices=DATASETS, default="auto",
        help="image data set; 'auto' uses MNIST if it is available, else Fashion-MNIST",
    )  # fmt: skip
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="folder holding the data sets in torchvision's layout (MNIST/raw/, "
        "FashionMNIST/raw/) and where they are downloaded to; None: nodelib's default "
        f"({config.DATA_DIR})",
    )  # fmt: skip
    parser.add_argument(
        "--model", choices=odenet.MODELS, default="odenet",
        help="odenet: downsampling, one ODE block (--solver, --gradient), pooling + linear; "
        "chen_odenet: the same solved by dopri5 with the adjoint at tolerance 1e-3 (Chen et "
        "al. 2018); resnet: --residual-blocks residual blocks instead of the ODE block; "
        "resnet_shared: one residual block applied --residual-blocks times; cnn: no middle "
        "block; source_odenet: the source review's network (BatchNorm, 20 Euler steps, adjoint)",
    )  # fmt: skip
    parser.add_argument(
        "--solver", choices=odenet.SOLVERS, default=defaults["solver"],
        help="ODE solver of the ODE block (odenet only); fixed-step solvers use "
        "--step-size, dopri5 uses --rtol/--atol",
    )  # fmt: skip
    parser.add_argument(
        "--step-size", type=_positive(float, 100.0), default=defaults["step_size"],
        help="step of a fixed-step solver, in units of the ODE's time (end time --end-time); "
        f"at most {MAX_FIXED_STEPS} steps per solve",
    )  # fmt: skip
    parser.add_argument(
        "--rtol", type=_positive(float, 1.0), default=defaults["rtol"],
        help="relative error tolerance of an adaptive solver (dopri5), in (0, 1]",
    )  # fmt: skip
    parser.add_argument(
        "--atol", type=_positive(float, 1.0), default=defaults["atol"],
        help="absolute error tolerance of an adaptive solver (dopri5), in (0, 1]",
    )  # fmt: skip
    parser.add_argument(
        "--end-time", type=_positive(float, 100.0), default=defaults["end_time"],
        help="the ODE block integrates from t = 0 to this time T, in (0, 100]",
    )  # fmt: skip
    parser.add_argument(
        "--gradient", choices=odenet.GRADIENTS, default=defaults["gradient"],
        help="backprop: differentiate through the solver's steps (faster for few steps, "
        "memory grows with steps); adjoint: solve the adjoint ODE backwards (constant memory)",
    )  # fmt: skip
    parser.add_argument(
        "--channels", type=_positive(int, 1024, even=True), default=defaults["channels"],
        help="feature channels after downsampling (an even number, 2..1024)",
    )  # fmt: skip
    parser.add_argument(
        "--residual-blocks", type=_positive(int, 1000), default=defaults["residual_blocks"],
        help="number of residual blocks N (resnet only)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=_positive(int, 10_000), default=5, help="passes over the training set"
    )
    parser.add_argument(
        "--batch-size", type=_positive(int, 65_536), default=32, help="images per training step"
    )
    parser.add_argument(
        "--max-batches", type=_positive(int), default=None,
        help="stop every epoch after this many batches (quick runs); None: the whole set",
    )  # fmt: skip
    parser.add_argument(
        "--lr", type=_positive(float, 1.0), default=1e-3,
        help="Adam's (initial) learning rate, in (0, 1]",
    )  # fmt: skip
    parser.add_argument(
        "--schedule", choices=SCHEDULES, default="cosine",
        help="learning rate over the run: cosine decays it from --lr to 0, constant keeps it",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=_number(int, minimum=0, maximum=2**32 - 1), default=0,
        help="seed of every random draw, 0..2**32-1",
    )  # fmt: skip
    parser.add_argument(
        "--train-limit", type=_positive(int), default=None,
        help="use only the first N training images (tests, quick runs)",
    )  # fmt: skip
    parser.add_argument(
        "--test-limit", type=_positive(int), default=None,
        help="evaluate on only the first N test images",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=_positive(int, cores, why_maximum=", the CPUs of this machine"),
        default=None, help=f"CPU threads torch may use, 1..{cores} (this machine's CPUs); "
        "None: torch's choice",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=None,
        help="write the results as JSON to this file (missing folders are created; checked "
        "before training starts; written atomically)",
    )  # fmt: skip
    parser.add_argument(
        "--checkpoint", type=Path, default=None,
        help="save everything needed to continue the run here (weights, optimiser, schedule, "
        "random generators, history) after every epoch and every --checkpoint-minutes; "
        "written atomically, so an interrupted save keeps the previous one. Load the "
        "weights with nodelib.experiments.classify.load_checkpoint (weights_only=True)",
    )  # fmt: skip
    parser.add_argument(
        "--checkpoint-minutes", type=_number(float, minimum=0, maximum=24 * 60), default=5.0,
        help="within an epoch, also save the checkpoint once this many minutes have passed "
        "since the last save (0: after every batch)",
    )  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true",
        help="continue the interrupted run saved in --checkpoint; the other training options "
        "must be the same as the first time, so the run ends with the same numbers",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks that involve several options or the file system, all before any training.

    Exits through ``parser.error`` (status 2, a message naming the option) when the
    fixed-step solver would take too many steps, when --resume lacks a checkpoint or
    does not match it, when --checkpoint would overwrite another run, or when an
    output file cannot be written.
    """
    if args.model == "odenet" and args.solver in odenet.FIXED_STEP_SOLVERS:
        steps = math.ceil(args.end_time / args.step_size - 1e-9)
        if steps > MAX_FIXED_STEPS:
            parser.error(
                f"argument --step-size: {args.step_size:g} means {steps} solver steps over "
                f"--end-time {args.end_time:g}; the most is {MAX_FIXED_STEPS}, so use "
                f"--step-size >= {args.end_time / MAX_FIXED_STEPS:g}"
            )
    if args.data_dir is not None and args.data_dir.exists() and not args.data_dir.is_dir():
        parser.error(f"argument --data-dir: {args.data_dir} is a file, not a folder")
    if args.resume and args.checkpoint is None:
        parser.error("argument --resume: needs --checkpoint FILE, the checkpoint to continue")
    if args.out is not None and args.checkpoint is not None:
        if args.out.resolve() == args.checkpoint.resolve():
            parser.error("argument --checkpoint: must be another file than --out")
    for option, path in (("--out", args.out), ("--checkpoint", args.checkpoint)):
        if path is not None:
            try:
                check_writable(path)
            except OutputPathError as error:
                parser.error(f"argument {option}: {error}")
    if args.checkpoint is None:
        return
    if not args.resume:
        if args.checkpoint.exists():
            parser.error(
                f"argument --checkpoint: {args.checkpoint} exists already and may hold hours of "
                "training; add --resume to continue that run, or delete the file (or choose "
                "another --checkpoint) to start a new one"
            )
        return
    try:
        saved = checkpoints.load(args.checkpoint)["settings"]
    except checkpoints.CheckpointError as error:
        parser.error(f"argument --resume: {error}")
    differences = checkpoints.settings_differences(
        {k: saved.get(k) for k in TRAINING_OPTIONS}, training_settings(args)
    )
    if differences:
        then = " ".join(f"{option_name(k)} {old}" for k, (old, _) in differences.items())
        now = " ".join(f"{option_name(k)} {new}" for k, (_, new) in differences.items())
        parser.error(
            f"argument --resume: {args.checkpoint} was written with {then}, but this command "
            f"has {now}; repeat the first command's options to resume, or start a new run "
            "with another --checkpoint"
        )


def run(args: argparse.Namespace, argv: list[str]) -> dict:
    """Train as ``args`` says and return the results dictionary."""
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    # Reading the files checks them (nodelib.data.DataFileError) before any training.
    train = image_data.load_images(args.dataset, "train", limit=args.train_limit)
    test = image_data.load_images(args.dataset, "test", limit=args.test_limit)
    model = odenet.build_model(
        args.model, channels=args.channels, solver=args.solver, step_size=args.step_size,
        rtol=args.rtol, atol=args.atol, gradient=args.gradient, end_time=args.end_time,
        residual_blocks=args.residual_blocks,
    )  # fmt: skip
    probe = min(args.batch_size, len(train))
    memory = odenet.saved_activation_bytes(model, train.images[:probe], train.labels[:probe])
    block_memory = odenet.block_activation_bytes(model, train.images[:probe])
    history = fit(
        model, train, test, epochs=args.epochs, batch_size=args.batch_size,
        max_batches=args.max_batches, lr=args.lr, schedule=args.schedule, seed=args.seed,
        checkpoint=args.checkpoint, resume=args.resume,
        checkpoint_seconds=60.0 * args.checkpoint_minutes,
        settings={**training_settings(args), "data": train.name},
        progress=not args.no_progress,
    )  # fmt: skip
    last = history[-1]
    return {
        "dataset": train.name,
        "model": args.model,
        "params": odenet.count_parameters(model),
        "epochs": args.epochs,
        "test_accuracy": last.test_accuracy,
        "seconds_per_epoch": sum(h.seconds for h in history) / len(history),
        "nfe_forward": last.nfe_forward,
        "nfe_backward": last.nfe_backward,
        "activation_bytes_per_batch": memory,
        "middle_block_activation_bytes_per_batch": block_memory,
        "history": [asdict(h) for h in history],
        "command": shlex.join(["python", "-m", "nodelib.experiments.classify", *argv]),
        "settings": {
            **model_settings(args),
            "channels": args.channels,
            "batch_size": args.batch_size,
            "max_batches": args.max_batches,
            "lr": args.lr,
            "schedule": args.schedule,
            "seed": args.seed,
            "train_images": len(train),
            "test_images": len(test),
        },
        "machine": {
            **reproducibility.stamp(),
            "threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(),
            "device": str(next(model.parameters()).device),
        },
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def model_settings(args: argparse.Namespace) -> dict:
    """The settings of the middle block that ``args.model`` really uses (None: not used).

    ``chen_odenet`` and ``source_odenet`` have fixed solvers, whatever --solver says.
    """
    settings = dict.fromkeys(
        ("solver", "step_size", "rtol", "atol", "gradient", "end_time", "residual_blocks",
         "solver_backend")
    )  # fmt: skip
    if args.model == "odenet":
        settings.update(
            solver=args.solver, step_size=args.step_size, rtol=args.rtol, atol=args.atol,
            gradient=args.gradient, end_time=args.end_time,
        )  # fmt: skip
    elif args.model == "chen_odenet":
        settings.update(odenet.CHEN_SETTINGS, end_time=args.end_time)
    elif args.model == "source_odenet":
        settings.update(solver="euler", step_size=0.05, gradient="adjoint", end_time=1.0)
    elif args.model in ("resnet", "resnet_shared"):
        settings["residual_blocks"] = args.residual_blocks
    if settings["solver"] is not None:
        settings["solver_backend"] = odenet.solver_backend()
    return settings


def resume_command(argv: list[str]) -> str:
    """The command that continues the run of ``argv``: the same options plus ``--resume``."""
    resume = [] if "--resume" in argv else ["--resume"]
    return shlex.join(["python", "-m", "nodelib.experiments.classify", *argv, *resume])


def interrupted_message(args: argparse.Namespace, argv: list[str]) -> str:
    """The one line printed after Ctrl-C: what the checkpoint holds and how to go on."""
    if args.checkpoint is not None and args.checkpoint.is_file():
        try:
            position = checkpoints.load(args.checkpoint)["progress"]
        except checkpoints.CheckpointError as error:
            return f"interrupted; the checkpoint cannot be resumed: {error}"
        if position["batch"] == 0:
            held = f"{position['epoch'] - 1} of {args.epochs} epochs"
        else:
            held = f"epoch {position['epoch']} of {args.epochs} up to batch {position['batch']}"
        return f"interrupted; {args.checkpoint} holds {held}. Resume with: {resume_command(argv)}"
    rerun = shlex.join(["python", "-m", "nodelib.experiments.classify", *argv])
    if args.checkpoint is None:
        return (
            "interrupted; nothing was saved (add --checkpoint FILE to make a run "
            f"resumable): {rerun}"
        )
    return f"interrupted before the first checkpoint was saved; start again with: {rerun}"


def training_failed_message(error: TrainingDiverged, args: argparse.Namespace) -> str:
    """What went wrong during training and which option would fix it."""
    cause = error.__cause__
    if isinstance(cause, MaxStepsExceededError | StepSizeUnderflowError):
        remedy = (
            f"loosen --rtol/--atol (now {args.rtol:g}/{args.atol:g}) or choose a fixed-step "
            "--solver such as rk4"
        )
    else:
        remedy = f"lower --lr (now {args.lr:g})"
        if args.model == "odenet" and args.solver in odenet.FIXED_STEP_SOLVERS:
            remedy += f" or --step-size (now {args.step_size:g})"
    return f"training failed: {error}. Try again with a smaller step: {remedy}"


def dataset_unavailable_message(error: image_data.DatasetUnavailableError) -> str:
    """:class:`~nodelib.data.DatasetUnavailableError` in terms of this command's options."""
    if error.folder is None:
        return str(error)
    other = (
        "or use --dataset fashion-mnist"
        if error.dataset == "mnist"
        else "or install Debian's package dataset-fashion-mnist"
    )
    return (
        f"it is not on this machine and its download server cannot be reached (no network?). "
        f"Put the four files {', '.join(image_data.FILE_NAMES)} in {error.folder} (with "
        f"--data-dir DIR: in DIR/{error.folder.parent.name}/raw), {other}."
    )


def _write_out(parser: argparse.ArgumentParser, path: Path, results: dict) -> None:
    """Write the results to ``--out``; if the disk refuses, print them rather than lose them."""
    try:
        write_results(path, results)
    except OSError as error:
        print(json.dumps(results, indent=2))
        parser.exit(
            1, f"{parser.prog}: error: argument --out: cannot write {path} "
            f"({error.strerror or error}); the results are printed above\n",
        )  # fmt: skip
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> dict:
    """Parse ``argv`` (default: the command line), train, write ``--out``; return the results.

    Exits with status 2 and a message naming the option for bad options, paths or data
    files (all checked before training), 1 when training diverges, 130 after Ctrl-C
    (printing the command that resumes the run).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    data_dir = config.DATA_DIR
    if args.data_dir is not None:
        config.DATA_DIR = args.data_dir
    try:
        results = run(args, argv)
        if args.out is not None:
            _write_out(parser, args.out, results)
    except KeyboardInterrupt:
        parser.exit(EXIT_INTERRUPTED, interrupted_message(args, argv) + "\n")
    except image_data.DatasetUnavailableError as error:
        message = dataset_unavailable_message(error)
        parser.exit(2, f"{parser.prog}: error: dataset {args.dataset!r} unavailable: {message}\n")
    except TrainingDiverged as error:
        parser.exit(1, f"{parser.prog}: error: {training_failed_message(error, args)}\n")
    except ValueError as error:  # a bad data file (DataFileError) or checkpoint, or a bug
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    finally:
        config.DATA_DIR = data_dir
    print(
        f"{results['model']} on {results['dataset']}: test accuracy "
        f"{results['test_accuracy']:.2%}, {results['params']} parameters, "
        f"{results['seconds_per_epoch']:.1f} s per epoch"
    )
    return results


if __name__ == "__main__":
    main()
