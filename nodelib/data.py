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
import zlib
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

#: The four files of a data set, as they are named on disk.
FILE_NAMES = (*_FILES["train"], *_FILES["test"])

#: Seconds allowed for the reachability check before a download.
CONNECT_TIMEOUT_S = 5.0


#: Height and width of every image, in pixels.
IMAGE_SIZE = (28, 28)

#: Third byte of an IDX magic number for unsigned bytes (the only type MNIST uses).
IDX_UNSIGNED_BYTE = 0x08


class DatasetUnavailableError(RuntimeError):
    """The data set is neither on disk nor downloadable; the message says what to do.

    ``dataset`` and ``folder`` (where the files were expected) let a caller such as
    the command line reword the advice in its own terms.
    """

    def __init__(self, message: str, *, dataset: str | None = None, folder: Path | None = None):
        super().__init__(message)
        self.dataset = dataset
        self.folder = folder


class DataFileError(ValueError):
    """A data file is there but unreadable or wrong; the message names the file and the fault."""


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

    The header is a magic number ``0x00 0x00 0x08 ndim`` (0x08: unsigned bytes),
    then one big-endian int32 size per dimension; the pixels or labels follow.
    Raises :class:`DataFileError` naming ``path`` when the file is not gzip, is cut
    short, has a wrong magic number or more or fewer values than its header says.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except EOFError:
        raise DataFileError(
            f"{path} is truncated: its gzip stream ends early (an interrupted download?). "
            "Delete it and fetch the data set again."
        ) from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataFileError(
            f"{path} is not a valid gzip file ({error}); expected a gzipped IDX file "
            "such as MNIST's train-images-idx3-ubyte.gz. Delete it and fetch the data set again."
        ) from None
    except OSError as error:
        raise DataFileError(f"{path} cannot be read: {error.strerror or error}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UNSIGNED_BYTE or raw[3] == 0:
        magic = raw[:4].hex() if raw else "(empty file)"
        raise DataFileError(
            f"{path} is not an IDX file of unsigned bytes: its magic number is {magic}, "
            "expected 00000801 (labels) or 00000803 (images)"
        )
    ndim = raw[3]
    header_bytes = 4 + 4 * ndim
    if len(raw) < header_bytes:
        raise DataFileError(
            f"{path} is truncated: it ends inside its header ({len(raw)} of {header_bytes} bytes)"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_bytes)
    expected = int(np.prod(shape))
    if data.size < expected:
        raise DataFileError(
            f"{path} is truncated: header says {shape}, found {data.size} of {expected} values"
        )
    if data.size > expected:
        raise DataFileError(
            f"{path} is corrupt: header says {shape} ({expected} values) but "
            f"{data.size - expected} more bytes follow"
        )
    return data.reshape(shape)


def check_pair(
    images: np.ndarray, labels: np.ndarray, files: tuple[Path, Path], classes: int
) -> None:
    """Check that ``images`` (N, 28, 28) and ``labels`` (N,) in 0..classes-1 belong together.

    files: the (images, labels) paths they were read from, named in the error.
    Raises :class:`DataFileError` before any training can stumble over a bad file.
    """
    images_file, labels_file = files
    if images.ndim != 3 or images.shape[1:] != IMAGE_SIZE:
        raise DataFileError(
            f"{images_file} holds an array of shape {images.shape}; expected images of "
            f"shape (N, {IMAGE_SIZE[0]}, {IMAGE_SIZE[1]})"
        )
    if labels.ndim != 1:
        raise DataFileError(
            f"{labels_file} holds an array of shape {labels.shape}; expected labels of shape (N,)"
        )
    if len(images) != len(labels):
        raise DataFileError(
            f"{images_file} holds {len(images)} images but {labels_file} holds "
            f"{len(labels)} labels; the two files must come from the same data set and split"
        )
    if len(labels) and labels.max() >= classes:
        bad = int((labels >= classes).sum())
        raise DataFileError(
            f"{labels_file} has {bad} labels outside 0..{classes - 1} (largest: "
            f"{int(labels.max())}); it is not a {classes}-class labels file"
        )


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
        folder = config.DATA_DIR / DATASETS[name]["folder"] / "raw"
        raise DatasetUnavailableError(
            f"{name} is not on this machine and its download server cannot be reached "
            f"(no network?). Put the four files {_FILES['train'] + _FILES['test']} in "
            f"{folder}"
            + (
                ", or install Debian's package dataset-fashion-mnist"
                if name == "fashion-mnist"
                else ", or run on Fashion-MNIST instead with NODELIB_DATASET=fashion-mnist"
            )
            + ".",
            dataset=name,
            folder=folder,
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
    check_pair(images, labels, files, classes=len(DATASETS[name]["classes"]))
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return ImageData(
        images=torch.from_numpy(images.copy()).float().div_(255.0).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        name=name,
        split=split,
        classes=list(DATASETS[name]["classes"]),
    )
