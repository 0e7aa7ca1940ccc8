"""Make every random draw in a notebook repeatable."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's random generators (CPU and CUDA).

    Run twice with the same ``seed``, a notebook draws the same numbers and so
    prints the same results (up to non-deterministic GPU kernels).

    Returns a :class:`torch.Generator` seeded with ``seed`` as well, for code
    that prefers an explicit generator to the global one.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)
