"""Diagonally implicit Runge–Kutta (DIRK) methods as *data*, for stiff problems.

Home chapter: ``book/12_price_of_training.ipynb`` (stiffness). An explicit method computes
each stage from the stages before it; a *diagonally implicit* one lets stage ``i`` depend on
itself too:

.. math::

    k_i = f\\Big(t + c_i h,\\; y + h \\sum_{j < i} a_{ij} k_j + h\\, a_{ii} k_i\\Big),
    \\qquad i = 1, \\dots, s,

and ``y_next = y + h Σ b_i k_i``. Each stage is now an equation for ``k_i`` (solved by Newton's
method in :func:`nodelib.implicit_solvers.dirk_step`, the one routine that steps every tableau
here), but only one stage at a time: the matrix ``A`` is lower triangular *with* its diagonal.

Why pay for equations? On ``y' = λy`` one step multiplies ``y`` by the rational function
``R(z) = 1 + z bᵀ (I - zA)⁻¹ 𝟙`` of ``z = hλ``; for the methods here ``|R(z)| ≤ 1`` on the whole
left half-plane (A-stable) and ``R(z) → 0`` as ``z → -∞`` (L-stable): a fast, decaying mode is
damped however large the step. An explicit method's ``R`` is a polynomial, which blows up for
large ``|z|``, so on a stiff problem its steps are capped by stability, not accuracy.

Both methods are *stiffly accurate*: the last row of ``A`` equals ``b``, so ``y_next`` is the
last stage value and ``f(t + h, y_next) = k_s`` comes for free. The coefficients of SDIRK2
involve ``√2``; they are stored as floats (the explicit tableaus of :mod:`nodelib.tableaus` use
exact fractions because theirs are rational).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction as F
from numbers import Real

__all__ = ["ImplicitTableau", "IMPLICIT_TABLEAUS", "IMPLICIT_METHODS", "SDIRK2_GAMMA"]


@dataclass(frozen=True)
class ImplicitTableau:
    """The coefficients of one diagonally implicit Runge–Kutta method.

    Attributes:
        name: the method's name in :func:`nodelib.implicit_solvers.odeint_implicit`.
        order: order of the solution weights ``b`` (global error ∝ h**order).
        c: ``(s,)`` stage times as fractions of the step.
        a: ``s`` rows; row ``i`` holds ``a_i0 … a_ii`` (lower triangular, diagonal included).
        b: ``(s,)`` weights of the solution.
        b_error: ``(s,)`` weights of the error estimate ``b - b̂`` (``None``: fixed steps only).
        error_order: order of the embedded method ``b̂``, ``None`` if none.
        lesson: a short paragraph saying what the method is and when to use it.
    """

    name: str
    order: int
    c: tuple[Real, ...]
    a: tuple[tuple[Real, ...], ...]
    b: tuple[Real, ...]
    b_error: tuple[Real, ...] | None = None
    error_order: int | None = None
    lesson: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        s = len(self.c)
        if len(self.a) != s or len(self.b) != s:
            raise ValueError(f"tableau {self.name!r}: c, a and b must all have {s} stages")
        for i, row in enumerate(self.a):
            if len(row) != i + 1:
                raise ValueError(
                    f"tableau {self.name!r}: row {i} of a must have {i + 1} entries "
                    "(diagonal included)"
                )
        if self.b_error is not None and len(self.b_error) != s:
            raise ValueError(f"tableau {self.name!r}: b_error must have {s} entries")

    @property
    def stages(self) -> int:
        """Number of stages (each implicit one is a small Newton solve)."""
        return len(self.c)

    @property
    def adaptive(self) -> bool:
        """True when the tableau carries an embedded error estimate."""
        return self.b_error is not None

    @property
    def stiffly_accurate(self) -> bool:
        """The last row of ``A`` is ``b``: ``y_next`` is the last stage value (so ``R(-∞) = 0``
        follows from A-stability and an invertible ``A``)."""
        pairs = zip(self.a[-1], self.b, strict=True)
        return all(math.isclose(x, y, abs_tol=1e-15) for x, y in pairs)

    def diagonal(self) -> tuple[float, ...]:
        """``(a_00, …, a_(s-1)(s-1))`` as floats; a zero entry is an explicit stage."""
        return tuple(float(row[i]) for i, row in enumerate(self.a))

    def matrix(self) -> list[list[float]]:
        """The full ``s × s`` matrix ``A`` as floats (zeros above the diagonal)."""
        s = self.stages
        return [[float(x) for x in row] + [0.0] * (s - len(row)) for row in self.a]

    def row_sums_match_c(self) -> bool:
        """Consistency ``Σ_j a_ij = c_i`` (each stage value is a first-order estimate)."""
        return all(
            math.isclose(float(sum(row)), float(ci), abs_tol=1e-15)
            for row, ci in zip(self.a, self.c, strict=True)
        )

    def to_markdown(self) -> str:
        """The tableau as a Markdown table (numbers to 6 significant digits)."""
        s = self.stages
        header = "| c | " + " | ".join(f"k{j + 1}" for j in range(s)) + " |"
        rule = "|" + "---|" * (s + 1)
        body = []
        for i, row in enumerate(self.matrix()):
            cells = [f"{x:.6g}" if j <= i else " " for j, x in enumerate(row)]
            body.append(f"| {float(self.c[i]):.6g} | " + " | ".join(cells) + " |")
        body.append("| b | " + " | ".join(f"{float(x):.6g}" for x in self.b) + " |")
        if self.b_error is not None:
            body.append("| b − b̂ | " + " | ".join(f"{float(x):.6g}" for x in self.b_error) + " |")
        kind = "adaptive" if self.adaptive else "fixed step"
        title = f"**{self.name}** (order {self.order}, {s} implicit stages, {kind})"
        return "\n".join([title, "", header, rule, *body])

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


# --------------------------------------------------------------------------- the methods

BACKWARD_EULER = ImplicitTableau(
    name="backward_euler",
    order=1,
    c=(F(1),),
    a=((F(1),),),
    b=(F(1),),
    lesson=(
        "Backward (implicit) Euler uses the slope at the *end* of the step: "
        "y_next = y + h f(t + h, y_next), an equation for y_next. First order like forward "
        "Euler, but R(z) = 1/(1 - z): stable for every step on every decaying mode, and fast "
        "modes are damped to zero (L-stable). The simplest stiff solver."
    ),
)

#: ``γ = 1 - 1/√2``: the diagonal entry that makes the two-stage SDIRK second order *and*
#: L-stable (Alexander 1977; Hairer & Wanner, Solving ODEs II, §IV.6).
SDIRK2_GAMMA = 1.0 - 1.0 / math.sqrt(2.0)

SDIRK2 = ImplicitTableau(
    name="sdirk2",
    order=2,
    c=(SDIRK2_GAMMA, 1.0),
    a=((SDIRK2_GAMMA,), (1.0 - SDIRK2_GAMMA, SDIRK2_GAMMA)),
    b=(1.0 - SDIRK2_GAMMA, SDIRK2_GAMMA),
    # b̂ = (1, 0): the first-order method that uses the first stage's slope for the whole step.
    b_error=(-SDIRK2_GAMMA, SDIRK2_GAMMA),
    error_order=1,
    lesson=(
        "Alexander's two-stage singly diagonally implicit method: both stages have the same "
        "diagonal γ = 1 - 1/√2, so one Jacobian and one matrix I - hγJ serve the whole step. "
        "Second order, L-stable, stiffly accurate; an embedded first-order estimate adapts the "
        "step. A good cheap choice for stiff problems at moderate accuracy."
    ),
)

#: Method name -> tableau for :func:`nodelib.implicit_solvers.odeint_implicit`.
IMPLICIT_TABLEAUS: dict[str, ImplicitTableau] = {t.name: t for t in (BACKWARD_EULER, SDIRK2)}

#: The valid values of ``method=`` for implicit solves.
IMPLICIT_METHODS: tuple[str, ...] = tuple(IMPLICIT_TABLEAUS)
