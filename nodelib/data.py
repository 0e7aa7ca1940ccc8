"""Handwritten images: MNIST digits, or Fashion-MNIST clothes when MNIST can't be had.

Both data sets share one format (28×28 grey images, 10 classes, 60 000 training
and 10 000 test images, stored as gzipped IDX files), so the image chapters
run on either. Where the files are looked for, in order:

1. ``NODELIB_DATA_DIR/<Name>/raw/`` (torchvision's layout, e.g. ``MNIST/raw/``);
2. for Fashion-MNIST, Debian's package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist``);
3. a download through torchvision into ``NODELIB_DATA_DIR`` - tried only after a
   quick check that the download server can be reached, so a machine without
   network gets a clear error within seconds instead of a hang.
"""

from __future__ import annotations

import gzip
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from nodelib import config

#: The data sets nodelib knows, with torchvision's folder name and class names.
DATASETS = {
    "mnist": {
        "folder": "MNIST",
        "classes": [str(d) for d in range(10)],
        "system_dirs": [],
    },
    "fashion-mnist": {
        "folder": "FashionMNIST",
        "classes": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],  # fmt: skip
        "system_dirs": [Path("/usr/share/datasets/fashion-mnist")],
    },
}

#: ``auto`` means MNIST if it can be had, else Fashion-MNIST.
CHOICES = [*DATASETS, "auto"]

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: Seconds allowed for the reachability check before a download.
CONNECT_TIMEOUT_S = 5.0


class DatasetUnavailableError(RuntimeError):
    """The data set is neither on disk nor downloadable; the message says what to do."""


@dataclass
class ImageData:
    """A labelled image set.

    images: (N, 1, 28, 28) float32 in [0, 1]; labels: (N,) int64 in 0..9.
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    split: str
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def tensor_dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(self.images, self.labels)


def read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the format of MNIST) into a uint8 array.

    The header is a magic number whose last byte is the number of dimensions,
    then one big-endian int32 per dimension; the pixels or labels follow.
    """
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {data.size} values")
    return data.reshape(shape)


def _candidate_dirs(name: str) -> list[Path]:
    info = DATASETS[name]
    return [config.DATA_DIR / info["folder"] / "raw", *info["system_dirs"]]


def find_files(name: str, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of ``name``/``split`` on disk, or None."""
    for folder in _candidate_dirs(name):
        images, labels = (folder / f for f in _FILES[split])
        if images.exists() and labels.exists():
            return images, labels
    return None


def _can_reach(url: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout`` seconds.

    Runs in a thread because a name lookup is not bound by socket timeouts.
    """
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    reached = []

    def attempt():
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
            reached.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    return bool(reached)


def _download(name: str) -> None:
    import torchvision

    cls = {"mnist": torchvision.datasets.MNIST, "fashion-mnist": torchvision.datasets.FashionMNIST}
    dataset_cls = cls[name]
    mirrors = getattr(dataset_cls, "mirrors", None) or [""]
    if not any(_can_reach(m) for m in mirrors if m):
        raise DatasetUnavailableError(
            f"{name} is not on this machine and its download server cannot be reached "
            f"(no network?). Put the four files {_FILES['train'] + _FILES['test']} in "
            f"{config.DATA_DIR / DATASETS[name]['folder'] / 'raw'}"
            + (
                ", or install Debian's package dataset-fashion-mnist"
                if name == "fashion-mnist"
                else ", or run on Fashion-MNIST instead with NODELIB_DATASET=fashion-mnist"
            )
            + "."
        )
    for train in (True, False):
        dataset_cls(str(config.DATA_DIR), train=train, download=True)


def available(name: str) -> bool:
    """Whether ``name`` is on disk already (no download attempted)."""
    return all(find_files(name, split) for split in _FILES)


def resolve_name(name: str | None = None) -> str:
    """Turn ``None`` (use :data:`nodelib.config.DATASET`) or ``auto`` into a data set name."""
    name = (name or config.DATASET).strip().lower()
    if name not in CHOICES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {CHOICES}")
    if name != "auto":
        return name
    if available("mnist"):
        return "mnist"
    try:
        _download("mnist")
        return "mnist"
    except DatasetUnavailableError:
        return "fashion-mnist"


def load_images(
    name: str | None = None, split: str = "train", limit: int | None = None
) -> ImageData:
    """Load a split of MNIST or Fashion-MNIST as tensors.

    name:  ``mnist``, ``fashion-mnist``, ``auto`` or None for :data:`nodelib.config.DATASET`.
    split: ``train`` (60 000 images) or ``test`` (10 000 images).
    limit: keep only the first ``limit`` images (fast mode uses this).
    """
    if split not in _FILES:
        raise ValueError(f"split must be one of {list(_FILES)}, got {split!r}")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    name = resolve_name(name)
    files = find_files(name, split)
    if files is None:
        _download(name)
        files = find_files(name, split)
    if files is None:
        raise DatasetUnavailableError(f"{name} was downloaded but its {split} files are missing")
    images, labels = (read_idx(p) for p in files)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return ImageData(
        images=torch.from_numpy(images.copy()).float().div_(255.0).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        name=name,
        split=split,
        classes=list(DATASETS[name]["classes"]),
    )
