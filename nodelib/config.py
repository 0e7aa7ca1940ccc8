"""The course's settings: the one place that holds global state.

Every setting is read once, from an environment variable, when nodelib is
imported. Tests and notebooks may overwrite the attributes afterwards
(``nodelib.config.FAST = True``); nothing else in nodelib keeps state.

========================  =============================  ==========================
variable                  attribute                      default
========================  =============================  ==========================
``NODELIB_FAST=1``        :data:`FAST`                   off: run the real experiments
``NODELIB_DATA_DIR``      :data:`DATA_DIR`               ``~/.cache/nodelib``
``NODELIB_DATASET``       :data:`DATASET`                ``mnist``
``NODELIB_DEVICE``        :data:`DEVICE`                 CUDA when available, else CPU
========================  =============================  ==========================
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"", "0", "false", "no", "off"}


def _env_flag(name: str) -> bool:
    """Read an on/off environment variable, refusing anything ambiguous."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    raise ValueError(
        f"environment variable {name}={os.environ[name]!r} is not understood; "
        f"use one of {sorted(_TRUE_WORDS)} to switch it on or unset it to switch it off"
    )


def _default_data_dir() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "nodelib"


def _default_device() -> torch.device:
    requested = os.environ.get("NODELIB_DEVICE", "").strip()
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


#: Fast mode shrinks data sets, epochs and solver steps everywhere, so that every
#: notebook runs in well under a minute (CI sets ``NODELIB_FAST=1``).
FAST: bool = _env_flag("NODELIB_FAST")

#: Where data sets are downloaded to and looked for.
DATA_DIR: Path = Path(os.environ.get("NODELIB_DATA_DIR") or _default_data_dir()).expanduser()

#: Which handwritten-image data set the image chapters use: ``mnist`` or ``fashion-mnist``.
DATASET: str = os.environ.get("NODELIB_DATASET", "mnist").strip().lower() or "mnist"

#: Where models and tensors are placed by default.
DEVICE: torch.device = _default_device()


def fast_or_full(fast, full):
    """Return ``fast`` in fast mode and ``full`` otherwise.

    The single idiom notebooks use to size an experiment, for example
    ``epochs = fast_or_full(1, 20)``.
    """
    return fast if FAST else full


def describe() -> str:
    """One line a notebook prints so a reader knows how it was run."""
    mode = "fast mode (NODELIB_FAST=1): small data, few steps" if FAST else "full mode"
    return f"nodelib: {mode}; device {DEVICE}; data in {DATA_DIR}"
