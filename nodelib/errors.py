"""Errors raised *during* a solve (bad arguments raise :class:`ValueError` before it starts).

Home chapter: the solvers chapter. Every class derives from :class:`SolverError`, which derives
from :class:`RuntimeError`, so ``except RuntimeError`` still catches them.
"""

from __future__ import annotations


class SolverError(RuntimeError):
    """A solve that started with valid arguments could not finish."""


class NonFiniteError(SolverError):
    """The dynamics returned NaN or infinity (the message says at which time ``t``)."""


class StepSizeUnderflowError(SolverError):
    """The adaptive step size shrank below what the floating point time can resolve."""


class MaxStepsExceededError(SolverError):
    """The solver needed more than ``max_steps`` steps (often a sign of a stiff problem)."""
