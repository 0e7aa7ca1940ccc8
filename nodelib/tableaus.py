"""Explicit Runge–Kutta methods as *data*: one Butcher tableau per method.

Home chapter: the solvers chapter. A Butcher tableau lists the numbers that define an explicit
Runge–Kutta method with ``s`` stages. One step of size ``h`` from ``(t, y)`` computes the stage
derivatives

.. math::

    k_i = f\\Big(t + c_i h,\\; y + h \\sum_{j < i} a_{ij} k_j\\Big), \\qquad i = 1, \\dots, s,

and combines them into ``y_next = y + h Σ b_i k_i``. An *embedded* method reuses the same ``k_i``
with other weights; the difference ``h Σ (b_i - b̂_i) k_i`` estimates the local error, which is
what adaptive solvers use to choose their step (see :mod:`nodelib.step_size`).

Every method in :data:`TABLEAUS` is stepped by the single routine
:func:`nodelib.runge_kutta.rk_step`; adding a method means adding a tableau, not code.

A naming trap: torchdiffeq's ``"rk4"`` is the **3/8 rule** (our ``"rk4_38"``); our ``"rk4"`` is
the classic fourth-order method of Kutta (1901). Both have order four; they give slightly
different numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction as F
from functools import cached_property

__all__ = ["ButcherTableau", "TABLEAUS", "METHODS"]


def _format_number(x: F) -> str:
    """Fractions print as ``a/b``; zero prints as a blank so the structure stands out."""
    if x == 0:
        return ""
    return str(x)


@dataclass(frozen=True)
class ButcherTableau:
    """The coefficients of one explicit Runge–Kutta method (exact fractions).

    Attributes:
        name: the method's name in :func:`nodelib.odeint` (``method=name``).
        order: order of the solution weights ``b`` (global error ∝ h**order).
        c: ``(s,)`` stage times as fractions of the step.
        a: ``s`` rows; row ``i`` holds ``a_i0 … a_i(i-1)`` (strictly lower triangular: explicit).
        b: ``(s,)`` weights of the solution.
        b_error: ``(s,)`` weights of the error estimate ``b - b̂`` (``None``: no embedded method,
            so the method can only take fixed steps).
        error_order: order of the embedded method (the lower of the pair), ``None`` if none.
        dense: for each stage, coefficients ``[p1, p2, ...]`` of the polynomial
            ``b_i(θ) = p1 θ + p2 θ² + …`` so that ``y(t + θh) ≈ y + h Σ b_i(θ) k_i`` for θ in
            [0, 1] (dense output); ``None`` if the method has none.
        lesson: a short paragraph saying what the method is and when to use it.
    """

    name: str
    order: int
    c: tuple[F, ...]
    a: tuple[tuple[F, ...], ...]
    b: tuple[F, ...]
    b_error: tuple[F, ...] | None = None
    error_order: int | None = None
    dense: tuple[tuple[F, ...], ...] | None = None
    lesson: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        s = len(self.c)
        if len(self.a) != s or len(self.b) != s:
            raise ValueError(f"tableau {self.name!r}: c, a and b must all have {s} stages")
        for i, row in enumerate(self.a):
            if len(row) != i:
                raise ValueError(f"tableau {self.name!r}: row {i} of a must have {i} entries")
        if self.b_error is not None and len(self.b_error) != s:
            raise ValueError(f"tableau {self.name!r}: b_error must have {s} entries")

    # ----------------------------------------------------------------- properties
    @property
    def stages(self) -> int:
        """Number of function evaluations per step (before first-same-as-last reuse)."""
        return len(self.c)

    @property
    def adaptive(self) -> bool:
        """True when the tableau carries an embedded error estimate."""
        return self.b_error is not None

    @property
    def fsal(self) -> bool:
        """First Same As Last: the last stage is evaluated at ``(t + h, y_next)``.

        Then the last ``k`` of an accepted step is the first ``k`` of the next one, and each
        step after the first costs one evaluation less.
        """
        return self.c[-1] == 1 and self.stages > 1 and tuple(self.a[-1]) == tuple(self.b[:-1])

    # Floats for the hot loop, computed once per tableau. Zero coefficients are dropped so
    # that the step routine does no useless multiply-adds.
    @cached_property
    def c_float(self) -> tuple[float, ...]:
        return tuple(float(x) for x in self.c)

    @cached_property
    def a_sparse(self) -> tuple[tuple[tuple[int, float], ...], ...]:
        """Row ``i``: the pairs ``(j, a_ij)`` with ``a_ij != 0``."""
        return tuple(tuple((j, float(x)) for j, x in enumerate(row) if x != 0) for row in self.a)

    @cached_property
    def b_sparse(self) -> tuple[tuple[int, float], ...]:
        return tuple((i, float(x)) for i, x in enumerate(self.b) if x != 0)

    @cached_property
    def b_error_sparse(self) -> tuple[tuple[int, float], ...] | None:
        if self.b_error is None:
            return None
        return tuple((i, float(x)) for i, x in enumerate(self.b_error) if x != 0)

    # ----------------------------------------------------------------- checks
    def row_sums_match_c(self) -> bool:
        """Consistency condition ``Σ_j a_ij = c_i`` (each stage is a first-order estimate)."""
        return all(sum(row, F(0)) == ci for row, ci in zip(self.a, self.c, strict=True))

    def dense_weights(self, theta: float) -> list[float]:
        """The weights ``b_i(θ)`` of dense output at fraction ``θ`` of the step (floats)."""
        if self.dense is None:
            raise ValueError(f"method {self.name!r} has no dense output")
        return [
            sum(float(p) * theta ** (power + 1) for power, p in enumerate(poly))
            for poly in self.dense
        ]

    # ----------------------------------------------------------------- display
    def as_table(self) -> list[list[str]]:
        """The tableau as rows of strings, the usual picture::

        c_1 |
        c_2 | a_21
        c_3 | a_31  a_32
        ----+-----------------
            | b_1   b_2   b_3
        """
        s = self.stages
        rows = []
        for i in range(s):
            cells = [_format_number(x) for x in self.a[i]] + [""] * (s - i)
            rows.append([str(self.c[i]) if i else "0"] + cells)
        rows.append(["b"] + [str(x) for x in self.b])
        if self.b_error is not None:
            rows.append(["b − b̂"] + [str(x) for x in self.b_error])
        return rows

    def to_markdown(self) -> str:
        """A Markdown table (renders in Jupyter and in the book)."""
        rows = self.as_table()
        header = "| c | " + " | ".join(f"k{j + 1}" for j in range(self.stages)) + " |"
        rule = "|" + "---|" * (self.stages + 1)
        body = ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
        title = f"**{self.name}** (order {self.order}, {self.stages} stages"
        title += ", adaptive" if self.adaptive else ", fixed step"
        title += ", FSAL)" if self.fsal else ")"
        return "\n".join([title, "", header, rule, *body])

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        rows = self.as_table()
        widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
        lines = []
        for i, row in enumerate(rows):
            if i == self.stages:
                lines.append(
                    "-" * (widths[0] + 1) + "+" + "-" * (sum(widths[1:]) + 2 * self.stages)
                )
            left = row[0].rjust(widths[0])
            right = "  ".join(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))
            lines.append(f"{left} | {right}")
        return f"{self.name} (order {self.order})\n" + "\n".join(lines)


# --------------------------------------------------------------------- the methods

EULER = ButcherTableau(
    name="euler",
    order=1,
    c=(F(0),),
    a=((),),
    b=(F(1),),
    lesson=(
        "Forward Euler follows the tangent for a whole step: y_next = y + h f(t, y). "
        "One evaluation per step, first order (halving h halves the error). The method behind "
        "'a ResNet block is an Euler step'; use it to teach, not to get accurate answers."
    ),
)

MIDPOINT = ButcherTableau(
    name="midpoint",
    order=2,
    c=(F(0), F(1, 2)),
    a=((), (F(1, 2),)),
    b=(F(0), F(1)),
    lesson=(
        "Explicit midpoint: take half an Euler step, evaluate the slope there and use that slope "
        "for the full step. Two evaluations, second order."
    ),
)

RK4 = ButcherTableau(
    name="rk4",
    order=4,
    c=(F(0), F(1, 2), F(1, 2), F(1)),
    a=((), (F(1, 2),), (F(0), F(1, 2)), (F(0), F(0), F(1))),
    b=(F(1, 6), F(1, 3), F(1, 3), F(1, 6)),
    lesson=(
        "The classic fourth-order Runge–Kutta method (Kutta 1901): four slopes, at the start, "
        "twice at the middle and at the end, averaged with Simpson-like weights 1/6, 1/3, 1/3, "
        "1/6. Fourth order: halving h divides the error by 16. NOTE: torchdiffeq's 'rk4' is the "
        "3/8 rule, our 'rk4_38'."
    ),
)

RK4_38 = ButcherTableau(
    name="rk4_38",
    order=4,
    c=(F(0), F(1, 3), F(2, 3), F(1)),
    a=((), (F(1, 3),), (F(-1, 3), F(1)), (F(1), F(-1), F(1))),
    b=(F(1, 8), F(3, 8), F(3, 8), F(1, 8)),
    lesson=(
        "Kutta's 3/8 rule: fourth order like classic rk4 but with stages at thirds of the step "
        "and weights 1/8, 3/8, 3/8, 1/8. This is what torchdiffeq calls 'rk4'."
    ),
)

DOPRI5 = ButcherTableau(
    name="dopri5",
    order=5,
    c=(F(0), F(1, 5), F(3, 10), F(4, 5), F(8, 9), F(1), F(1)),
    a=(
        (),
        (F(1, 5),),
        (F(3, 40), F(9, 40)),
        (F(44, 45), F(-56, 15), F(32, 9)),
        (F(19372, 6561), F(-25360, 2187), F(64448, 6561), F(-212, 729)),
        (F(9017, 3168), F(-355, 33), F(46732, 5247), F(49, 176), F(-5103, 18656)),
        (F(35, 384), F(0), F(500, 1113), F(125, 192), F(-2187, 6784), F(11, 84)),
    ),
    b=(F(35, 384), F(0), F(500, 1113), F(125, 192), F(-2187, 6784), F(11, 84), F(0)),
    # b - b̂ with b̂ the embedded fourth-order weights
    # (5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40).
    b_error=(
        F(71, 57600),
        F(0),
        F(-71, 16695),
        F(71, 1920),
        F(-17253, 339200),
        F(22, 525),
        F(-1, 40),
    ),
    error_order=4,
    # Dense output of Dormand & Prince (Hairer, Nørsett & Wanner, Solving ODEs I, II.6): a
    # fourth-order polynomial through the step; at θ = 1 it reproduces b.
    dense=(
        (F(1), F(-8048581381, 2820520608), F(8663915743, 2820520608), F(-12715105075, 11282082432)),
        (F(0), F(0), F(0), F(0)),
        (
            F(0),
            F(131558114200, 32700410799),
            F(-68118460800, 10900136933),
            F(87487479700, 32700410799),
        ),
        (
            F(0),
            F(-1754552775, 470086768),
            F(14199869525, 1410260304),
            F(-10690763975, 1880347072),
        ),
        (
            F(0),
            F(127303824393, 49829197408),
            F(-318862633887, 49829197408),
            F(701980252875, 199316789632),
        ),
        (F(0), F(-282668133, 205662961), F(2019193451, 616988883), F(-1453857185, 822651844)),
        (F(0), F(40617522, 29380423), F(-110615467, 29380423), F(69997945, 29380423)),
    ),
    lesson=(
        "Dormand–Prince 5(4): seven stages give a fifth-order solution and an embedded "
        "fourth-order one; their difference estimates the local error, so the step size adapts "
        "to meet rtol/atol. The last stage is evaluated at the new point (FSAL), so an accepted "
        "step costs six evaluations. The default of torchdiffeq, SciPy (RK45) and MATLAB (ode45): "
        "use it unless you have a reason not to."
    ),
)

#: Method name -> tableau, the one registry :func:`nodelib.odeint` looks methods up in.
TABLEAUS: dict[str, ButcherTableau] = {t.name: t for t in (EULER, MIDPOINT, RK4, RK4_38, DOPRI5)}

#: The valid values of ``method=``.
METHODS: tuple[str, ...] = tuple(TABLEAUS)
