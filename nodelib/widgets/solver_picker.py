"""The solver picker: choose a method, a step size or tolerance and a start; see what it costs.

Home chapter: ``book/05_ode_solvers.ipynb``. ``solver_picker()`` returns a
:class:`SolverPicker`, an ``ipywidgets.VBox``, that solves the Van der Pol oscillator with
nodelib's Euler, midpoint, RK4 or Dopri5 every time a control changes, and shows

- the trajectory in the phase plane ``(x, v)`` against a reference solution, with a dot where
  each accepted step ends;
- the size of every accepted step against ``t`` (and, for Dopri5, the rejected attempts);
- a readout: steps taken, rejected attempts, function evaluations (NFE) and the error at the
  final time.

Like the spiral lab, the figure is drawn by matplotlib in the kernel and sent as an SVG string in
an ``HTML`` widget, so only ipywidgets' core widgets are needed (plotly's ``FigureWidget`` would
need the ``anywidget`` package). The static book shows
:func:`nodelib.solver_study.picker_frames_figure` instead.
"""

from __future__ import annotations

import html
import io
import re

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.figure import Figure

from nodelib import solver_study
from nodelib.errors import SolverError
from nodelib.viz import OKABE_ITO

__all__ = ["SolverPicker", "solver_picker"]

STEP_CHOICES = (0.4, 0.2, 0.1, 0.05, 0.02, 0.01)
TOLERANCE_CHOICES = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


class SolverPicker(widgets.VBox):
    """The picker's widget. Its parts are attributes so that tests can drive it:

    controls ``method``, ``step_size`` (fixed-step methods), ``tolerance`` (dopri5, used for
    rtol and atol), ``x0`` and ``v0`` (the initial condition); outputs ``figure`` (an ``HTML``
    widget holding an SVG) and ``readout`` (``HTML``); state ``run`` (the arrays of the last
    solve, see :func:`nodelib.solver_study.picker_run`; ``None`` after a failed solve), ``nfe``,
    ``steps``, ``rejected``, ``final_error`` and ``error`` (the message of a failed solve).
    """

    def __init__(self, mu: float = 1.0, t1: float = 10.0):
        self.mu, self.t1 = mu, t1
        self.run: dict | None = None
        self.error: str | None = None
        self.nfe = self.steps = self.rejected = 0
        self.final_error = float("nan")
        narrow = widgets.Layout(width="225px")
        self.method = widgets.Dropdown(
            options=list(solver_study.SOLVER_METHODS),
            value="rk4",
            description="method",
            layout=narrow,
        )
        self.step_size = widgets.Dropdown(
            options=list(STEP_CHOICES), value=0.2, description="step h", layout=narrow
        )
        self.tolerance = widgets.Dropdown(
            options=[(f"{tol:.0e}", tol) for tol in TOLERANCE_CHOICES],
            value=1e-4,
            description="tolerance",
            layout=narrow,
        )
        self.x0 = widgets.FloatSlider(
            value=2.0, min=-3.0, max=3.0, step=0.1, description="x(0)", tooltip="start position"
        )
        self.v0 = widgets.FloatSlider(
            value=0.0, min=-3.0, max=3.0, step=0.1, description="v(0)", tooltip="start velocity"
        )
        self.readout = widgets.HTML()
        self.figure = widgets.HTML(layout=widgets.Layout(min_height="360px"))
        self._build_figure()
        for control in (self.method, self.step_size, self.tolerance, self.x0, self.v0):
            control.observe(lambda _: self.update(), names="value")
        self.update()
        controls = widgets.VBox(
            [
                widgets.HBox([self.method, self.step_size, self.tolerance]),
                widgets.HBox([self.x0, self.v0]),
                self.readout,
            ]
        )
        super().__init__([controls, self.figure])
        self.add_class("nodelib-solver-picker")

    @property
    def setting(self) -> float:
        """The step size for fixed-step methods, the tolerance for dopri5."""
        return self.tolerance.value if self.method.value == "dopri5" else self.step_size.value

    def update(self) -> None:
        """Solve with the current controls and redraw; a failed solve is shown, not raised."""
        adaptive = self.method.value == "dopri5"
        self.step_size.disabled, self.tolerance.disabled = adaptive, not adaptive
        problem = solver_study.van_der_pol_problem(self.mu, (self.x0.value, self.v0.value), self.t1)
        try:
            run = solver_study.picker_run(problem, self.method.value, self.setting)
            if not np.isfinite(run["y"]).all():
                raise SolverError("the solution overflowed")
            self.run, self.error = run, None
            self.nfe, self.steps, self.rejected = run["nfe"], run["accepted"], run["rejected"]
            self.final_error = run["error"]
        except SolverError as failure:
            self.run, self.error = None, f"{type(failure).__name__}: {failure}"
            self.nfe = self.steps = self.rejected = 0
            self.final_error = float("nan")
        self._redraw(problem)

    # ------------------------------------------------------------------ drawing

    def _build_figure(self) -> None:
        self._fig = Figure(figsize=(9, 3.8))
        self._fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.9, wspace=0.28)
        phase, steps = self._fig.subplots(1, 2)
        # the reference: a wide grey band under the solver's thin line (3:1 on white, WCAG 1.4.11)
        (self._reference,) = phase.plot([], [], color="#949494", lw=4, label="reference")
        (self._line,) = phase.plot([], [], color=OKABE_ITO["blue"], lw=1.5, label="solver")
        (self._dots,) = phase.plot([], [], "o", color=OKABE_ITO["blue"], ms=3, label="step ends")
        phase.set(xlim=(-3.2, 3.2), ylim=(-4.5, 4.5), xlabel="x", ylabel="v")
        phase.set_title("phase portrait", fontsize=10)
        (self._sizes,) = steps.semilogy([], [], "o-", color=OKABE_ITO["blue"], ms=3, lw=0.8)
        (self._rejected,) = steps.semilogy(
            [], [], "x", color=OKABE_ITO["vermillion"], ms=7, label="rejected"
        )
        steps.set(xlim=(0, self.t1), ylim=(1e-3, 2.0), xlabel="t", ylabel="step size h")
        steps.set_title("accepted steps (dots), rejected attempts (crosses)", fontsize=10)
        self._phase_axes = phase

    def _redraw(self, problem) -> None:
        ref = problem.exact(np.linspace(0, self.t1, 800))
        self._reference.set_data(ref[:, 0], ref[:, 1])
        color = solver_study.METHOD_COLORS[self.method.value]
        run = self.run
        empty = np.array([])
        if run is None:
            for artist in (self._line, self._dots, self._sizes, self._rejected):
                artist.set_data(empty, empty)
        else:
            self._line.set_data(run["y"][:, 0], run["y"][:, 1])
            self._dots.set_data(run["step_y"][:, 0], run["step_y"][:, 1])
            self._sizes.set_data(run["starts"], run["sizes"])
            self._rejected.set_data(run["rejected_starts"], run["rejected_sizes"])
        for artist in (self._line, self._dots, self._sizes):
            artist.set_color(color)
        self._phase_axes.legend(loc="upper right", fontsize=8)  # anew: the colour may change
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "nodelib"}):
            self._fig.savefig(buffer, format="svg")
        svg = buffer.getvalue()
        svg = svg[svg.index("<svg") :]
        # scale with the page: drop the fixed size, keep the viewBox; and name the drawing for
        # screen readers, which otherwise read out every tick label of an unnamed SVG
        svg = re.sub(
            r'width="[^"]*" height="[^"]*"',
            f'width="100%" role="img" aria-label="{html.escape(self.figure_label(), quote=True)}"',
            svg,
            count=1,
        )
        self.figure.value = svg
        self._update_readout()

    def figure_label(self) -> str:
        """What the figure shows, in words: its name for screen readers."""
        if self.run is None:
            return f"{self.method.value} failed: {self.error}"
        return (
            f"Phase portrait (x, v) of the {self.method.value} solution against the reference, "
            f"and the size of each of its {self.steps} accepted steps against t"
            + (f", with {self.rejected} rejected attempts" if self.rejected else "")
        )

    def _update_readout(self) -> None:
        if self.method.value == "dopri5":
            head = f"<b>dopri5</b>, rtol = atol = {self.setting:.0e}: &nbsp; "
        else:
            head = f"<b>{self.method.value}</b>, h = {self.setting:g}: &nbsp; "
        if self.error:
            self.readout.value = head + f"<span style='color:#b00'>{html.escape(self.error)}</span>"
            return
        self.readout.value = head + (
            f"<b>steps</b> {self.steps} &nbsp; <b>rejected</b> {self.rejected} &nbsp; "
            f"<b>NFE</b> {self.nfe} &nbsp; "
            f"<b>error at t = {self.t1:g}</b> {self.final_error:.2e}"
        )


def solver_picker(mu: float = 1.0, t1: float = 10.0) -> SolverPicker:
    """The live solver picker (an ``ipywidgets.VBox``) on Van der Pol with parameter ``mu``."""
    return SolverPicker(mu=mu, t1=t1)
