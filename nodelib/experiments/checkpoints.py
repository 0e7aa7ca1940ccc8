"""Training checkpoints that let a run stop at any moment and go on later, exactly.

To continue a run so that it ends with the *same numbers* as a run that was never
stopped, a checkpoint must hold everything the next training step depends on:

- ``"model"``, ``"optimizer"``, ``"scheduler"``: their ``state_dict``\\ s (weights,
  Adam's moment estimates, the learning-rate schedule's position);
- ``"random"``: the state of every random number generator - Python's, NumPy's,
  torch's (CPU and CUDA) and the generator that shuffles the training data
  (see :func:`random_state`);
- ``"progress"``: where the run stands (epoch, batch within the epoch, step), what the
  unfinished epoch has measured so far, and the shuffling generator's state at the
  start of that epoch, so its order can be drawn again;
- ``"history"``: one dict per finished epoch;
- ``"settings"``: what a resumed run must share with the original (learning rate,
  batch size, ...), checked by :func:`settings_differences`.

The file is written with :func:`nodelib.atomic_files.save_torch` (an
interrupted save keeps the previous checkpoint) and read with
``torch.load(weights_only=True)``: only tensors and plain containers, so opening a
checkpoint from elsewhere cannot run code.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import torch

from nodelib.atomic_files import save_torch

#: Written into every checkpoint; a file without it is a bare ``state_dict``.
FORMAT = "nodelib-training-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or from another run; the message says which."""


# --------------------------------------------------------------------------------------
# Random number generators
# --------------------------------------------------------------------------------------


def random_state(generator: torch.Generator | None = None) -> dict:
    """The state of every random number generator, in types ``weights_only`` loading accepts.

    generator: a private generator (e.g. the one shuffling the data) saved as ``"generator"``.
    NumPy's state is a tuple ``(name, keys (624,) uint32, pos, has_gauss, cached_gaussian)``;
    the keys are stored as an int64 tensor.
    """
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state = {
        "python": random.getstate(),
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def restore_random_state(state: dict, generator: torch.Generator | None = None) -> None:
    """Put every generator back where :func:`random_state` found it."""
    random.setstate(state["python"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None:
        generator.set_state(state["generator"])


# --------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------


def save(path: str | Path, state: dict) -> Path:
    """Write a training ``state`` (the keys of the module docstring) to ``path``, atomically."""
    return save_torch(path, {"format": FORMAT, **state})


def load(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`save`.

    Raises :class:`CheckpointError` naming ``path`` when it is missing, is not a
    torch file, or is a bare ``state_dict`` rather than a training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"there is no checkpoint file {path}")
    state = read_torch_file(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a training checkpoint of this course (no {FORMAT!r} marker); "
            "it may hold weights only, which are not enough to resume training"
        )
    return state


def read_torch_file(path: Path):
    """``torch.load(path, weights_only=True)`` with an error naming ``path`` if it is broken."""
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError) as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise CheckpointError(
            f"{path} cannot be read as a torch checkpoint ({first_line}); it may be cut "
            "short or not a checkpoint at all"
        ) from None


def model_weights(state) -> dict:
    """The model's ``state_dict`` in a training checkpoint, or ``state`` itself if it is one."""
    if isinstance(state, dict) and state.get("format") == FORMAT:
        return state["model"]
    return state


def settings_differences(saved: dict, current: dict) -> dict[str, tuple]:
    """``{name: (saved value, current value)}`` for every setting that differs.

    A setting present in only one of the two counts as different (its other value is None).
    """
    names = list(dict.fromkeys([*saved, *current]))
    return {n: (saved.get(n), current.get(n)) for n in names if saved.get(n) != current.get(n)}
