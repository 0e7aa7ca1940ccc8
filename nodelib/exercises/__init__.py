"""Checks for the exercises: a learner's answer gets ✅, or ❌ with what is off.

Every chapter has its own module of *named* checks (``nodelib.exercises.chapter05`` and so
on). A named check receives the learner's answer and the chapter's own objects, computes
the expected value itself - out of the learner's sight, so the exercise cell never shows
it - and hands both to :func:`check`, which says *what* is off when they differ: the shape,
the sign, a factor, the order of magnitude, or a mistake the chapter anticipated.

Prediction exercises ("predict, then run") use :func:`predict` to record the learner's
choice before the cell that answers the question runs, and :func:`reveal` to compare.

A check prints its verdict and returns a :class:`Verdict`, which is truthy when the answer
is right and displays nothing as a cell's last value (no stray ``True``/``False``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

#: How close a ratio must be to a round factor (2, 1/2, 10, ...) to be named as such.
_FACTOR_TOLERANCE = 0.02


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``correct`` and the ``message`` that was printed."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def _ipython_display_(self) -> None:
        # The message was printed already; as a cell's last value, show nothing more.
        pass


def _say(correct: bool, message: str) -> Verdict:
    print(message)
    return Verdict(correct, message)


def _as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _not_attempted(answer) -> bool:
    return answer is None or answer is Ellipsis


def _factor_name(ratio: float) -> str | None:
    """'2', '1/2', '10', ... when ``ratio`` is close to such a round factor, else None."""
    for factor, name in [(2.0, "2"), (4.0, "4"), (np.pi, "π"), (2 * np.pi, "2π"), (np.e, "e")]:
        for value, label in [(factor, name), (1 / factor, f"1/{name}")]:
            if abs(ratio / value - 1) < _FACTOR_TOLERANCE:
                return label
    return None


def diagnose(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str:
    """Say in words how the numeric answer ``got`` differs from ``want`` (same shape)."""
    if not np.all(np.isfinite(got)):
        return "it contains NaN or infinity"
    if np.allclose(got, -want, rtol=rtol, atol=atol):
        return "the sign is flipped"
    if got.ndim == 2 and got.shape == want.shape[::-1] and np.allclose(got.T, want, rtol, atol):
        return "it is the transpose of what is expected"
    nonzero = np.abs(want) > atol
    if nonzero.any():
        ratios = got[nonzero] / want[nonzero]
        ratio = float(np.median(ratios))
        if ratio != 0 and np.allclose(ratios, ratio, rtol=_FACTOR_TOLERANCE):
            sign = "and the sign is flipped, " if ratio < 0 else ""
            magnitude = abs(ratio)
            factor = _factor_name(magnitude)
            if factor is not None:
                return f"{sign}it is {factor} times the expected value"
            exponent = int(np.round(np.log10(magnitude)))
            if exponent != 0:
                return (
                    f"{sign}the order of magnitude is off: about 10^{exponent} "
                    "times the expected value"
                )
            return f"{sign}it is {magnitude:.3g} times the expected value"
    error = np.abs(got - want)
    where = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    place = f" at index {tuple(int(i) for i in where)}" if where else ""
    return f"the largest difference is {float(error.max()):.3g}{place}"


def check(
    answer,
    expected,
    *,
    name: str = "answer",
    rtol: float = 1e-5,
    atol: float = 1e-8,
    mistakes: Sequence[tuple[object, str]] = (),
) -> Verdict:
    """Compare a learner's ``answer`` with ``expected``; print ✅ or ❌ with what is off.

    Numbers, arrays and tensors are compared with a tolerance and must have the expected
    shape; anything else with ``==``. ``None`` or ``...`` means "not attempted yet".
    ``mistakes`` lists anticipated wrong values with the message that explains each one
    (for example the result of using ``np.log`` where ``np.log2`` was meant).
    """
    if _not_attempted(answer):
        return _say(False, f"✍️  {name}: not attempted yet - replace the ... with your code")
    try:
        got, want = _as_array(answer), _as_array(expected)
        numeric = got.dtype.kind in "biufc" and want.dtype.kind in "biufc"
    except (TypeError, ValueError):
        numeric = False
    if not numeric:
        if answer == expected:
            return _say(True, f"✅ {name}: correct")
        return _say(False, f"❌ {name}: {answer!r} is not it - try again")
    got, want = got.astype(np.float64), want.astype(np.float64)
    if got.shape != want.shape:
        return _say(False, f"❌ {name}: shape {got.shape}, expected {want.shape}")
    if np.allclose(got, want, rtol=rtol, atol=atol):
        return _say(True, f"✅ {name}: correct")
    for wrong, explanation in mistakes:
        wrong = _as_array(wrong).astype(np.float64)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
            return _say(False, f"❌ {name}: {explanation}")
    return _say(False, f"❌ {name}: not yet - {diagnose(got, want, rtol, atol)}")


def predict(prediction, options: Mapping[str, str], *, name: str = "prediction") -> Verdict:
    """Record a prediction: ``prediction`` must be one of the keys of ``options``.

    Nothing is revealed here; the cell that follows runs the experiment and calls
    :func:`reveal`.
    """
    if _not_attempted(prediction):
        listed = ", ".join(repr(key) for key in options)
        return _say(False, f"✍️  {name}: not made yet - replace the ... with one of {listed}")
    if prediction not in options:
        listed = ", ".join(repr(key) for key in options)
        return _say(False, f"❌ {name}: {prediction!r} is not one of the options {listed}")
    return _say(True, f"📝 {name} recorded: {prediction!r} ({options[prediction]})")


def reveal(prediction, outcome: str, options: Mapping[str, str], why: str) -> Verdict:
    """After the experiment: compare the recorded ``prediction`` with the ``outcome`` key."""
    answer = f"The answer is {outcome!r} ({options[outcome]}). {why}"
    if _not_attempted(prediction) or prediction not in options:
        return _say(False, f"(no prediction was made) {answer}")
    if prediction == outcome:
        return _say(True, f"✅ your prediction was right. {answer}")
    return _say(False, f"❌ you predicted {prediction!r}. {answer}")
