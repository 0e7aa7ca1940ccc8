"""Train an image classifier (ODE-Net, ResNet or plain CNN) and write its results as JSON.

    python -m nodelib.experiments.classify --dataset fashion-mnist --model odenet \\
        --epochs 5 --seed 0 --out results/fashion-mnist/odenet.json

Home chapter: 8. The chapter calls :func:`fit` and :func:`evaluate` directly;
the command line wraps them for the long runs whose results files the chapter reads.
Every option is explained by ``--help``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from nodelib import data as image_data
from nodelib import odenet
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


# --------------------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------------------


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
    on_batch=None,
    progress: bool = True,
) -> list[EpochRecord]:
    """Train ``model`` with Adam and cross-entropy; evaluate on ``test`` after every epoch.

    batch_size: images per step; max_batches: stop each epoch after this many steps
    (None: the whole training set); schedule: ``cosine`` lowers the learning rate from
    ``lr`` to 0 along half a cosine over all steps (big steps first, fine ones at the
    end), ``constant`` keeps it; on_batch(record: BatchRecord): called after every
    step (the chapter uses it to plot NFE live); checkpoint: the model's ``state_dict``
    is written there after every epoch. Returns one :class:`EpochRecord` per epoch.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    device = next(model.parameters()).device
    batches = -(-len(train) // batch_size)
    if max_batches is not None:
        batches = min(batches, max_batches)
    total_steps = epochs * batches
    if schedule == "cosine":
        factor = lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total_steps))  # noqa: E731
    else:
        factor = lambda step: 1.0  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    history, step = [], 0
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train), generator=generator)
        losses, nfe_f, nfe_b = [], [], []
        started = time.perf_counter()
        bar = tqdm(
            range(batches), desc=f"{model.name} epoch {epoch}/{epochs}", disable=not progress
        )
        for b in bar:
            idx = order[b * batch_size : (b + 1) * batch_size]
            images, labels = train.images[idx].to(device), train.labels[idx].to(device)
            loss, forward, backward = train_step(model, images, labels, optimizer)
            scheduler.step()
            step += 1
            losses.append(loss)
            nfe_f.append(forward)
            nfe_b.append(backward)
            bar.set_postfix(loss=f"{loss:.3f}", nfe=f"{forward}/{backward}", refresh=False)
            if on_batch is not None:
                on_batch(BatchRecord(step, loss, forward, backward))
        seconds = time.perf_counter() - started
        accuracy = evaluate(model, test)
        record = EpochRecord(
            epoch=epoch,
            train_loss=sum(losses) / len(losses),
            test_accuracy=accuracy,
            nfe_forward=sum(nfe_f) / len(nfe_f),
            nfe_backward=sum(nfe_b) / len(nfe_b),
            seconds=seconds,
        )
        history.append(record)
        if progress:
            tqdm.write(
                f"{model.name} epoch {epoch}: train loss {record.train_loss:.4f}, "
                f"test accuracy {accuracy:.2%}, NFE {record.nfe_forward:.1f}/"
                f"{record.nfe_backward:.1f}, {seconds:.0f} s"
            )
        if checkpoint is not None:
            save_checkpoint(model, checkpoint)
    return history


def save_checkpoint(model: nn.Module, path: str | Path) -> None:
    """Write ``model.state_dict()`` (tensors only) with ``torch.save``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)


def load_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a :func:`save_checkpoint` file into ``model``.

    ``weights_only=True`` makes ``torch.load`` refuse anything but tensors and plain
    containers, so a checkpoint from elsewhere cannot run code when it is opened.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    model.load_state_dict(torch.load(path, weights_only=True))
    return model


# --------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------


def _positive(kind):
    """An argparse type: ``kind`` (int or float) that must be > 0, with a clear message."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive {kind.__name__}, got {text!r}"
            ) from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def build_parser() -> argparse.ArgumentParser:
    defaults = odenet.DEFAULTS
    parser = argparse.ArgumentParser(
        prog="python -m nodelib.experiments.classify",
        description=(
            "Train an ODE-Net, a ResNet or a plain CNN on handwritten images (chapter 8 of "
            "the course) and write test accuracy, seconds per epoch and function "
            "evaluations (NFE) as JSON."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--dataset", choices=DATASETS, default="auto",
        help="image data set; 'auto' uses MNIST if it is available, else Fashion-MNIST",
    )  # fmt: skip
    parser.add_argument(
        "--model", choices=("odenet", "resnet", "cnn"), default="odenet",
        help="odenet: downsampling, one ODE block, pooling + linear; resnet: the same with "
        "--residual-blocks residual blocks instead of the ODE block; cnn: no middle block",
    )  # fmt: skip
    parser.add_argument(
        "--solver", choices=odenet.SOLVERS, default=defaults["solver"],
        help="ODE solver of the ODE block (odenet only); fixed-step solvers use "
        "--step-size, dopri5 uses --rtol/--atol",
    )  # fmt: skip
    parser.add_argument(
        "--step-size", type=_positive(float), default=defaults["step_size"],
        help="step of a fixed-step solver, in units of the ODE's time (end time --end-time)",
    )  # fmt: skip
    parser.add_argument(
        "--rtol", type=_positive(float), default=defaults["rtol"],
        help="relative error tolerance of an adaptive solver (dopri5)",
    )  # fmt: skip
    parser.add_argument(
        "--atol", type=_positive(float), default=defaults["atol"],
        help="absolute error tolerance of an adaptive solver (dopri5)",
    )  # fmt: skip
    parser.add_argument(
        "--end-time", type=_positive(float), default=defaults["end_time"],
        help="the ODE block integrates from t = 0 to this time T",
    )  # fmt: skip
    parser.add_argument(
        "--gradient", choices=odenet.GRADIENTS, default=defaults["gradient"],
        help="backprop: differentiate through the solver's steps (faster for few steps, "
        "memory grows with steps); adjoint: solve the adjoint ODE backwards (constant memory)",
    )  # fmt: skip
    parser.add_argument(
        "--channels", type=_positive(int), default=defaults["channels"],
        help="feature channels after downsampling (even number)",
    )  # fmt: skip
    parser.add_argument(
        "--residual-blocks", type=_positive(int), default=defaults["residual_blocks"],
        help="number of residual blocks N (resnet only)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=_positive(int), default=5, help="passes over the training set"
    )
    parser.add_argument(
        "--batch-size", type=_positive(int), default=32, help="images per training step"
    )
    parser.add_argument(
        "--max-batches", type=_positive(int), default=None,
        help="stop every epoch after this many batches (quick runs); None: the whole set",
    )  # fmt: skip
    parser.add_argument(
        "--lr", type=_positive(float), default=1e-3, help="Adam's (initial) learning rate"
    )
    parser.add_argument(
        "--schedule", choices=SCHEDULES, default="cosine",
        help="learning rate over the run: cosine decays it from --lr to 0, constant keeps it",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (>= 0)")
    parser.add_argument(
        "--train-limit", type=_positive(int), default=None,
        help="use only the first N training images (tests, quick runs)",
    )  # fmt: skip
    parser.add_argument(
        "--test-limit", type=_positive(int), default=None,
        help="evaluate on only the first N test images",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=_positive(int), default=None,
        help="CPU threads torch may use; None: torch's choice",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=None,
        help="write the results as JSON to this file (folders are created)",
    )  # fmt: skip
    parser.add_argument(
        "--checkpoint", type=Path, default=None,
        help="save the model's state_dict here after every epoch (torch.save; load with "
        "nodelib.experiments.classify.load_checkpoint, which uses weights_only=True)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> dict:
    """Train as ``args`` says and return the results dictionary."""
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
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
        checkpoint=args.checkpoint, progress=not args.no_progress,
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
            "solver": args.solver if args.model == "odenet" else None,
            "step_size": args.step_size if args.model == "odenet" else None,
            "rtol": args.rtol if args.model == "odenet" else None,
            "atol": args.atol if args.model == "odenet" else None,
            "gradient": args.gradient if args.model == "odenet" else None,
            "end_time": args.end_time if args.model == "odenet" else None,
            "residual_blocks": args.residual_blocks if args.model == "resnet" else None,
            "solver_backend": odenet.solver_backend() if args.model == "odenet" else None,
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
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(),
            "device": str(next(model.parameters()).device),
        },
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> dict:
    """Parse ``argv`` (default: the command line), train, write ``--out``; return the results."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        results = run(args, argv)
    except image_data.DatasetUnavailableError as error:
        parser.exit(2, f"{parser.prog}: error: dataset {args.dataset!r} unavailable: {error}\n")
    except ValueError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    print(
        f"{results['model']} on {results['dataset']}: test accuracy "
        f"{results['test_accuracy']:.2%}, {results['params']} parameters, "
        f"{results['seconds_per_epoch']:.1f} s per epoch"
    )
    return results


if __name__ == "__main__":
    main()
