"""Chapter 9's widget: give a Neural ODE extra dimensions, train it, watch trajectories untangle.

:func:`augmented_lab` returns an :class:`AugmentedLab`, an ``ipywidgets.VBox`` with

- a problem (the crossing map or the annuli), the number of extra dimensions (0 = the plain
  Neural ODE, up to 5), the solver it trains with, and the number of iterations;
- **Train** (continue training the current model) and **Reset** (a fresh model with the
  chosen settings) buttons;
- a readout (iteration, loss, accuracy on the annuli, the NFE of the last forward solve and
  of dopri5 on the learned dynamics) and a plotly figure: the crossing map's trajectories
  ``h_1(t)`` over time, or the annuli model's decision boundary in the input plane.

Training runs in the button's handler and redraws every ``redraw_every`` iterations (the
models are tiny: a few seconds per hundred iterations). Every control is a core ipywidget
with a visible label and a tooltip, so it works with the keyboard (Tab, arrows, Enter). The
static stand-in is :func:`nodelib.augmented_figures.untangling_figure`.
"""

from __future__ import annotations

import html
import numbers

import ipywidgets as widgets

from nodelib import augmented, augmented_figures, crossing_problems
from nodelib.seeding import seed_everything
from nodelib.viz import show_in

__all__ = ["AugmentedLab", "augmented_lab"]

#: Solvers offered for training (dopri5 adapts its steps; the others take steps of 0.1).
SOLVER_CHOICES = (
    ("dopri5 (adaptive)", "dopri5"),
    ("rk4, step 0.1", "rk4"),
    ("euler, step 0.1", "euler"),
)
PROBLEM_CHOICES = (("crossing map g(±1) = ∓1", "crossing"), ("annuli (2-D)", "annuli"))
MAX_EXTRA_DIMENSIONS = 5


class AugmentedLab(widgets.VBox):
    """The lab's widget. Its parts are attributes so that tests can drive it:

    controls ``problem``, ``extra_dims``, ``solver``, ``iterations``; buttons
    ``train_button``, ``reset_button``; outputs ``readout`` (``HTML``), ``output`` (an
    ``Output`` showing ``figure``); state ``model``, ``record`` (the
    :class:`~nodelib.augmented.TrainingRecord` since the last reset), ``data`` and ``error``.
    """

    def __init__(
        self, *, n_points: int = 128, seed: int = 0, redraw_every: int = 20, lr: float = 1e-2
    ):
        if not (isinstance(redraw_every, numbers.Integral) and redraw_every >= 1):
            raise ValueError(f"redraw_every must be a positive integer, got {redraw_every!r}")
        self.n_points, self.seed, self.lr = n_points, seed, lr
        self.redraw_every = int(redraw_every)
        self.error: str | None = None
        style = {"description_width": "130px"}
        self.problem = widgets.Dropdown(
            options=PROBLEM_CHOICES,
            value="crossing",
            description="problem",
            tooltip="the map to learn",
            style=style,
        )
        self.extra_dims = widgets.IntSlider(
            value=1,
            min=0,
            max=MAX_EXTRA_DIMENSIONS,
            description="extra dimensions p",
            tooltip="zero-initialised extra coordinates of the state (0: plain Neural ODE)",
            style=style,
        )
        self.solver = widgets.Dropdown(
            options=SOLVER_CHOICES,
            value="dopri5",
            description="training solver",
            tooltip="the ODE solver of the forward pass",
            style=style,
        )
        self.iterations = widgets.IntSlider(
            value=100,
            min=10,
            max=1000,
            step=10,
            description="iterations",
            tooltip="Adam updates per press of Train",
            style=style,
        )
        self.train_button = widgets.Button(
            description="Train", button_style="success", tooltip="continue training the model"
        )
        self.reset_button = widgets.Button(
            description="Reset", tooltip="a fresh model with the chosen settings"
        )
        self.readout = widgets.HTML()
        self.output = widgets.Output()
        self.train_button.on_click(lambda _: self.train())
        self.reset_button.on_click(lambda _: self.reset())
        for control in (self.problem, self.extra_dims, self.solver):
            control.observe(lambda _: self.reset(), names="value")
        controls = widgets.VBox(
            [
                widgets.HBox([self.problem, self.solver]),
                widgets.HBox([self.extra_dims, self.iterations]),
                widgets.HBox([self.train_button, self.reset_button]),
                self.readout,
            ]
        )
        super().__init__([controls, self.output])
        self.reset()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """A fresh, seeded model for the chosen problem, extra dimensions and solver."""
        seed_everything(self.seed)
        if self.problem.value == "crossing":
            self.data = crossing_problems.crossing_map()
            readout = "project"
        else:
            self.data = crossing_problems.annuli(self.n_points, seed=self.seed)
            readout = "linear"
        self.model = augmented.NeuralODE(
            self.data.data_dim,
            augment_dim=self.extra_dims.value,
            readout=readout,
            method=self.solver.value,
        )
        self.record = augmented.TrainingRecord()
        self.error = None
        self.redraw()

    def train(self, iterations: int | None = None) -> None:
        """Train ``iterations`` (default: the slider's value) more Adam updates, redrawing as
        it goes. A failure (e.g. a solver that gives up) is shown in the readout."""
        iterations = self.iterations.value if iterations is None else iterations
        self.train_button.disabled = self.reset_button.disabled = True
        try:
            run = augmented.fit(
                self.model,
                self.data,
                iterations=iterations,
                lr=self.lr,
                progress=False,
                callback=self._after_update,
            )
            self.record.losses += run.losses
            self.record.nfe += run.nfe
        except Exception as error:  # shown in the readout, never raised at the reader
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.train_button.disabled = self.reset_button.disabled = False
            self.redraw()

    def _after_update(self, iteration: int, loss: float) -> None:
        if (iteration + 1) % self.redraw_every == 0:
            self.redraw(in_progress=iteration + 1)

    # ------------------------------------------------------------------ drawing

    def redraw(self, in_progress: int | None = None) -> None:
        """Draw the figure and the readout for the current model."""
        name = f"p = {self.extra_dims.value}, {self.solver.value}"
        if self.data.name == "crossing":
            self.figure = augmented_figures.crossing_figure({name: self.model}, self.data)
        else:
            self.figure = augmented_figures.decision_boundary_figure(
                {name: self.model}, self.data, n_grid=41
            )
        show_in(self.output, self.figure)
        self.readout.value = self._readout_text(in_progress)

    def _readout_text(self, in_progress: int | None) -> str:
        done = len(self.record.losses) + (in_progress or 0)
        parts = [f"<b>iterations</b> {done}"]
        self.mse = augmented.mse(self.model, self.data)
        parts.append(f"<b>MSE</b> {self.mse:.3g}")
        if self.data.task == "classification":
            self.accuracy = augmented.accuracy(self.model, self.data)
            parts.append(f"<b>accuracy</b> {100 * self.accuracy:.1f} %")
        try:
            self.nfe = augmented.adaptive_nfe(self.model, self.data.inputs)
            parts.append(f"<b>NFE of dopri5</b> {self.nfe}")
        except Exception as error:
            self.nfe = None
            parts.append(f"<b>NFE of dopri5</b> - ({html.escape(type(error).__name__)})")
        text = " &nbsp; ".join(parts)
        if in_progress is not None:
            text += " &nbsp; <i>training…</i>"
        if self.error:
            text += f"<br><span style='color:#b00'>{html.escape(self.error)}</span>"
        return text


def augmented_lab(*, n_points: int = 128, seed: int = 0) -> AugmentedLab:
    """The live lab (an ``ipywidgets.VBox``): pick extra dimensions and a solver, press Train."""
    return AugmentedLab(n_points=n_points, seed=seed)
