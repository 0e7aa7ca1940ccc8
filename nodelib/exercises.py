"""Inline checks for the exercises: a learner's answer gets a ✅ or a ❌ at once."""

from __future__ import annotations

import numpy as np
import torch


def _as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def check(
    answer, expected, *, rtol: float = 1e-5, atol: float = 1e-8, name: str = "answer"
) -> bool:
    """Compare a learner's ``answer`` with ``expected``, print ✅ or ❌, return the verdict.

    Numbers, arrays and tensors are compared with a tolerance (shapes must
    match); anything else with ``==``. ``None`` or ``...`` means "not attempted".
    """
    if answer is None or answer is Ellipsis:
        print(f"✍️  {name}: not attempted yet - replace the ... with your code")
        return False
    try:
        got, want = _as_array(answer), _as_array(expected)
        numeric = got.dtype.kind in "biufc" and want.dtype.kind in "biufc"
    except (TypeError, ValueError):
        numeric = False
    if numeric:
        if got.shape != want.shape:
            print(f"❌ {name}: shape {got.shape}, expected {want.shape}")
            return False
        ok = bool(np.allclose(got, want, rtol=rtol, atol=atol))
    else:
        ok = bool(answer == expected)
    if ok:
        print(f"✅ {name}: correct")
    else:
        print(f"❌ {name}: not yet - got {answer!r}, try again")
    return ok
