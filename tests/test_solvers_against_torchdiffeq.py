"""Property-based: nodelib.odeint agrees with torchdiffeq.odeint on randomly drawn problems.

Hypothesis draws the state's shape (a scalar up to three dimensions), its dtype (float32 or
float64), the direction of time, the output grid (2 to 6 unevenly spaced times) and the
coefficients of a small nonlinear dynamics, for every method the two libraries share:
``euler``, ``midpoint``, ``rk4_38`` (torchdiffeq's ``"rk4"``) and ``dopri5``.

Fixed-step methods with the default step size take one step per interval of ``t`` in both
libraries, so they must agree to rounding error. dopri5 chooses its own steps (the two step
controllers differ in details), so both must agree with each other to about the tolerance.
Examples are derandomized (the same draws on every run) and no example database is written.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nodelib

torchdiffeq = pytest.importorskip("torchdiffeq")

#: nodelib's method -> torchdiffeq's name for the same method.
SHARED_METHODS = {"euler": "euler", "midpoint": "midpoint", "rk4_38": "rk4", "dopri5": "dopri5"}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: dopri5 tolerances per dtype (float32 cannot resolve much tighter ones).
TOLERANCES = {
    torch.float32: {"rtol": 1e-5, "atol": 1e-7},
    torch.float64: {"rtol": 1e-9, "atol": 1e-11},
}
#: Largest allowed difference, relative to max(1, |y|): rounding for fixed steps, tolerance-level
#: for dopri5.
AGREEMENT = {
    ("fixed", torch.float32): 2e-6,
    ("fixed", torch.float64): 1e-13,
    ("dopri5", torch.float32): 5e-4,
    ("dopri5", torch.float64): 1e-7,
}


def coupled_dynamics(rate, coupling, forcing):
    """``f(t, y) = -rate·y + coupling·tanh(roll(y)) + forcing·cos(t)``, for ``y`` of any shape.

    ``roll`` shifts the flattened entries by one, so each entry is driven by another one (a
    problem that is nonlinear, coupled across the whole state and time-dependent).
    """

    def func(t, y):
        neighbour = y.reshape(-1).roll(1).reshape(y.shape)
        return -rate * y + coupling * torch.tanh(neighbour) + forcing * torch.cos(t)

    return func


@st.composite
def problems(draw):
    """``(func, y0, t)`` with a random shape, dtype, direction and output grid."""
    dtype = DTYPES[draw(st.sampled_from(sorted(DTYPES)))]
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    seed = draw(st.integers(0, 2**31 - 1))
    y0 = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    start = draw(st.floats(-2.0, 2.0))
    gaps = draw(st.lists(st.floats(0.05, 0.7), min_size=1, max_size=5))
    direction = draw(st.sampled_from([1.0, -1.0]))
    times = [start]
    for gap in gaps:
        times.append(times[-1] + direction * gap)
    func = coupled_dynamics(
        rate=draw(st.floats(0.0, 2.0)),
        coupling=draw(st.floats(-2.0, 2.0)),
        forcing=draw(st.floats(-1.0, 1.0)),
    )
    return func, y0.to(dtype), torch.tensor(times, dtype=dtype)


@pytest.mark.parametrize("method", SHARED_METHODS)
@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(problem=problems())
def test_odeint_agrees_with_torchdiffeq(method, problem):
    func, y0, t = problem
    options = TOLERANCES[y0.dtype] if method == "dopri5" else {}
    ours = nodelib.odeint(func, y0, t, method=method, **options)
    theirs = torchdiffeq.odeint(func, y0, t, method=SHARED_METHODS[method], **options)
    assert ours.shape == theirs.shape == (len(t), *y0.shape)
    assert ours.dtype == theirs.dtype == y0.dtype
    kind = "dopri5" if method == "dopri5" else "fixed"
    scale = max(1.0, theirs.abs().max().item())
    difference = (ours - theirs).abs().max().item()
    assert math.isfinite(difference)
    assert difference <= AGREEMENT[kind, y0.dtype] * scale, (
        f"{method}, {y0.dtype}, shape {tuple(y0.shape)}, t={t.tolist()}: "
        f"max difference {difference:.3g} (scale {scale:.3g})"
    )
