"""The spiral lab: train a neural ODE on the spiral and watch the fit, live.

Home chapter: ``book/07_spiral_lab.ipynb``. ``spiral_lab()`` returns a
:class:`SpiralLab`, an ``ipywidgets.VBox``.

How the pictures reach the browser. Each of the four panels is a small
matplotlib figure whose fixed parts (axes, samples, the true field) are drawn
once and kept as a background; an update pastes the background back, draws only
the moving lines on top ("blitting") and sends the result as a PNG ``<img>``
with a text alternative, in an ``ipywidgets.HTML`` (ipywidgets 8's ``Image``
cannot carry one). ``benchmarks/spiral_lab_updates.py`` measures the choice:
re-rendering the whole figure as SVG (the lab's first version) took longer than
the prediction itself and gave about one update a second; blitting costs a few
tens of milliseconds. plotly's ``FigureWidget`` costs less in the kernel, but
since plotly 6 it needs the ``anywidget`` front-end, which the offline HTML book
cannot load and Colab's widget manager does not reliably draw; the lab uses
only ipywidgets' core widgets, which every front-end that shows widgets draws.

Most of an update is the prediction: the model integrated from ``(2, 0)`` over
all 500 sample times (about 2,000 evaluations with RK4). Training runs in a
background thread, which updates the panels at most ``UPDATES_PER_SECOND``
times a second and spends at most ``DRAWING_SHARE`` of its time drawing, so
training keeps at least 60 % of its speed. Where an update costs at most 0.1 s,
that is four updates a second or more.

Settings apply between two iterations whatever changes them: the reader
(the controls are disabled during a run) or code (``lab.lr.value = 0.01``).
"""

from __future__ import annotations

import base64
import html
import io
import threading
import time

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from nodelib import spiral

#: Upper bound on panel updates per second while training.
UPDATES_PER_SECOND = 6
#: Largest fraction of the training thread's time spent on updates.
DRAWING_SHARE = 0.4
#: With decay on, the learning rate at iteration ``k`` is ``lr / (1 + k / LR_DECAY_ITERATIONS)``.
LR_DECAY_ITERATIONS = 200
#: The loss panel's vertical range: from a model that barely moves to a close fit.
LOSS_RANGE = (1e-5, 10.0)

_STEP_CHOICES = [("sample spacing (0.05)", 0.0), ("0.025", 0.025), ("0.01", 0.01), ("0.005", 0.005)]
_RTOL_CHOICES = [("1e-3", 1e-3), ("1e-5", 1e-5), ("1e-7", 1e-7)]
_LR_CHOICES = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.05, 0.1, 0.3]
_ITERATION_CHOICES = [10, 50, 100, 200, 300, 400, 600, 1000, 2000, 3000]
_WINDOW_CHOICES = [2, 3, 5, 10, 20, 50, 100]
_BATCH_CHOICES = [("all windows", 0), ("16 random windows", 16)]

_SAMPLES, _SAMPLES_2, _FIT, _FIT_2 = "#9ecae1", "#c6dbef", "#d62728", "#ff9896"
_LOSS, _MSE = "#2ca02c", "#ff7f0e"

WHY_BATCH_NOTE = (
    "<b>Why can more training make the fit worse?</b> With <i>16 random windows</i>, every "
    "step follows a different sample of the trajectory, so the steps pull different ways; "
    "with a constant learning rate, Adam's steps stay about as large as the learning rate "
    "however good the fit, and the whole trajectory keeps jumping: its MSE (the orange dots "
    "in the loss panel) can rise several-fold between two updates. The lab's defaults train "
    "on <i>all windows</i> at every step (the same loss every time, no noise) and decay the "
    f"learning rate (lr / (1 + iteration / {LR_DECAY_ITERATIONS})): the steps shrink and the "
    "fit settles. Pick 16 random windows and untick <i>decay the learning rate</i> to see "
    "the jumps."
)


def _wrapping_row(children, **layout) -> widgets.Box:
    """A row that wraps onto more lines when the notebook is narrow (phones, side panels)."""
    return widgets.Box(
        children, layout=widgets.Layout(display="flex", flex_flow="row wrap", **layout)
    )


class _Panel:
    """One plot: a matplotlib figure sent to the browser as a PNG ``<img>`` with a text alternative.

    The fixed artists are drawn once into a background image; :meth:`update`
    pastes it back and draws only the *moving* artists over it (blitting), which
    costs a fraction of a full draw. Call :meth:`draw_background` after changing
    a fixed artist or an axis range. ``png`` holds the last image sent.
    """

    def __init__(self, title: str, label: str, size=(4.4, 3.3)):
        self.figure = Figure(figsize=size, dpi=100)
        # fixed margins: an automatic layout would cost a second full draw
        self.figure.subplots_adjust(left=0.17, right=0.96, bottom=0.15, top=0.9)
        self.canvas = FigureCanvasAgg(self.figure)
        self.axes = self.figure.add_subplot()
        self.axes.set_title(title, fontsize=10)
        self.label = label
        self.moving: list = []
        self.png = b""
        self._background = None
        width, _ = self.canvas.get_width_height()  # pixels
        # an HTML widget, not ipywidgets.Image: an <img> needs an alt text for screen readers
        self.widget = widgets.HTML(layout=widgets.Layout(width=f"{width}px", max_width="100%"))

    def add_moving(self, artist):
        artist.set_animated(True)  # left out of the background
        self.moving.append(artist)
        return artist

    def draw_background(self) -> None:
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def update(self) -> None:
        if self._background is None:
            self.draw_background()
        self.canvas.restore_region(self._background)
        for artist in self.moving:
            self.figure.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba())
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="png", compress_level=1)  # fast over small
        self.png = buffer.getvalue()
        source = base64.b64encode(self.png).decode("ascii")
        self.widget.value = (
            f'<img src="data:image/png;base64,{source}" alt="{html.escape(self.label)}" '
            f'width="{width}" height="{height}" style="display:block;max-width:100%;height:auto">'
        )


class SpiralLab(widgets.VBox):
    """The lab's widget. Its parts are attributes so that tests can drive it:

    settings ``solver``, ``step``, ``rtol``, ``gradient``, ``optimiser``, ``lr``,
    ``decay``, ``batch``, ``iterations``, ``window``; buttons ``train_button``,
    ``stop_button``, ``reset_button``; outputs ``panels`` (four PNG images:
    phase portrait, x(t) and y(t), vector field, loss) and ``readout``; state
    ``trainer`` (a :class:`nodelib.spiral.SpiralTrainer`), ``prediction`` (the
    last plotted trajectory, ``(n, 2)``), ``mse`` and ``mse_history``
    (``(iteration, whole-trajectory MSE)`` at every update), ``running``.
    """

    def __init__(self, data: spiral.SpiralData | None = None, seed: int = 0, backend="nodelib"):
        self.data = data or spiral.make_data()
        self.seed = seed
        self.backend = backend
        self.error: str | None = None
        self.mse_history: list[tuple[int, float]] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._active = False  # from Train until the run's last update
        self._lock = threading.Lock()  # the trainer and the panels: one thread at a time
        self._ui_lock = threading.Lock()  # Train, Stop and Reset do not interleave
        self._state_lock = threading.RLock()  # ``_active`` and the controls change together
        self._run_first = 0  # the iteration the current (or last) run started from
        self._run_started = time.perf_counter()
        self._update_times: list[float] = []

        self._build_controls()
        self._build_panels()
        self._new_trainer()
        with spiral.single_thread():
            self._redraw()
        self._refresh_controls()
        for control in self.settings:
            control.observe(self._on_setting_change, names="value")

        settings = _wrapping_row(
            [
                self.solver,
                self.step,
                self.rtol,
                self.gradient,
                self.optimiser,
                self.lr,
                self.decay,
                self.batch,
                self.iterations,
                self.window,
            ]
        )
        buttons = _wrapping_row([self.train_button, self.stop_button, self.reset_button])
        figure = _wrapping_row([panel.widget for panel in self.panels])
        note = widgets.HTML(
            f"<p style='font-size:0.9em;max-width:60em'>{WHY_BATCH_NOTE}</p>",
            layout=widgets.Layout(max_width="100%"),
        )
        super().__init__(
            [settings, buttons, self.readout, figure, note],
            layout=widgets.Layout(width="100%", max_width="900px"),
        )
        self.add_class("nodelib-spiral-lab")

    # ------------------------------------------------------------------ building

    def _build_controls(self) -> None:
        style = {"description_width": "100px"}

        def layout():
            return widgets.Layout(width="290px", max_width="100%")

        self.solver = widgets.Dropdown(
            options=list(spiral.SOLVERS),
            value="rk4",
            description="solver",
            tooltip="the ODE solver, for training and for the plotted prediction",
            style=style,
            layout=layout(),
        )
        self.step = widgets.Dropdown(
            options=_STEP_CHOICES,
            value=0.0,
            description="step size",
            tooltip="fixed step of Euler, midpoint and RK4 in time units (samples are 0.05 apart)",
            style=style,
            layout=layout(),
        )
        self.rtol = widgets.Dropdown(
            options=_RTOL_CHOICES,
            value=1e-5,
            description="rtol (dopri5)",
            tooltip="Dopri5's relative tolerance; the absolute one is 1/100 of it",
            style=style,
            layout=layout(),
        )
        self.gradient = widgets.Dropdown(
            options=list(spiral.GRADIENTS),
            value="backprop",
            description="gradient",
            tooltip="backprop: through the solver's operations; adjoint: a second ODE solved "
            "backwards in time",
            style=style,
            layout=layout(),
        )
        self.optimiser = widgets.Dropdown(
            options=list(spiral.OPTIMISERS),
            value="adam",
            description="optimiser",
            tooltip="the optimiser that updates the network's weights",
            style=style,
            layout=layout(),
        )
        self.lr = widgets.Dropdown(
            options=[(f"{rate:g}", rate) for rate in _LR_CHOICES],
            value=0.05,
            description="learning rate",
            tooltip="the optimiser's (initial) learning rate",
            style=style,
            layout=layout(),
        )
        self.decay = widgets.Checkbox(
            value=True,
            description="decay the learning rate",
            tooltip=f"learning rate / (1 + iteration / {LR_DECAY_ITERATIONS}): smaller steps "
            "as training goes on",
            indent=False,
            layout=layout(),
        )
        self.batch = widgets.Dropdown(
            options=_BATCH_CHOICES,
            value=0,
            description="batch",
            tooltip="windows per training step: all of them, or 16 drawn at random",
            style=style,
            layout=layout(),
        )
        self.iterations = widgets.Dropdown(
            options=_ITERATION_CHOICES,
            value=400,
            description="iterations",
            tooltip="training iterations per press of Train",
            style=style,
            layout=layout(),
        )
        self.window = widgets.Dropdown(
            options=_WINDOW_CHOICES,
            value=10,
            description="window",
            tooltip="samples per training window (consecutive sample times)",
            style=style,
            layout=layout(),
        )
        self.settings = [
            self.solver,
            self.step,
            self.rtol,
            self.gradient,
            self.optimiser,
            self.lr,
            self.decay,
            self.batch,
            self.iterations,
            self.window,
        ]
        self.train_button = widgets.Button(
            layout=widgets.Layout(max_width="100%"),
            description="Train",
            button_style="success",
            tooltip="train for the chosen number of iterations, from the current model",
        )
        self.stop_button = widgets.Button(
            layout=widgets.Layout(max_width="100%"),
            description="Stop",
            button_style="warning",
            tooltip="stop after the current iteration",
        )
        self.reset_button = widgets.Button(
            layout=widgets.Layout(max_width="100%"),
            description="Reset",
            tooltip="restore the initial model and clear the loss curve",
        )
        self.readout = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        self.train_button.on_click(self._on_train_click)
        self.stop_button.on_click(self._on_stop_click)
        self.reset_button.on_click(lambda _: self.reset())

    def _build_panels(self) -> None:
        data, t = self.data, self.data.t.numpy()
        phase = _Panel(
            "phase portrait",
            "Phase portrait: the samples (light blue) and the model's predicted trajectory "
            "from (2, 0) (red)",
            size=(3.6, 3.3),
        )
        ax = phase.axes
        ax.plot(data.y[:, 0], data.y[:, 1], color=_SAMPLES, lw=3, label="samples")
        (self._phase_line,) = ax.plot([], [], color=_FIT, label="prediction")
        self._phase_line = phase.add_moving(self._phase_line)
        ax.set(xlim=(-2.4, 2.4), ylim=(-2.4, 2.4), aspect="equal", xlabel="x", ylabel="y")
        ax.legend(loc="upper right", fontsize=7)

        series = _Panel(
            "x(t) and y(t)",
            "x(t) and y(t) against time: the samples (light blue) and the prediction (red: x, "
            "pink: y)",
        )
        ax = series.axes
        ax.plot(t, data.y[:, 0], color=_SAMPLES, lw=3)
        ax.plot(t, data.y[:, 1], color=_SAMPLES_2, lw=3)
        self._x_line = series.add_moving(ax.plot([], [], color=_FIT, label="x(t)")[0])
        self._y_line = series.add_moving(ax.plot([], [], color=_FIT_2, label="y(t)")[0])
        ax.set(xlim=(0, float(t[-1])), ylim=(-2.4, 2.4), xlabel="t")
        ax.legend(loc="upper right", fontsize=7)

        field = _Panel(
            "vector field (directions)",
            "Vector field: directions of the true field (grey) and of the learned field (red) "
            "on an 11 by 11 grid",
            size=(3.6, 3.3),
        )
        ax = field.axes
        gx, gy, u, v = spiral.vector_field(spiral.true_field(data.kind), 2.2, 11)
        norm = np.sqrt(u**2 + v**2) + 1e-12
        ax.quiver(gx, gy, u / norm, v / norm, color="#999", scale=16, width=0.005, label="true")
        self._quiver = field.add_moving(
            ax.quiver(gx, gy, 0 * u, 0 * v, color=_FIT, scale=16, width=0.005, label="fit")
        )
        ax.set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), aspect="equal")
        ax.legend(loc="upper right", fontsize=7)

        loss = _Panel(
            "loss (log scale)",
            "Loss per iteration, log scale: the training loss on the windows (green line) and "
            "the whole-trajectory MSE (orange dots)",
        )
        ax = loss.axes
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        self._loss_line = loss.add_moving(ax.plot([], [], color=_LOSS, label="window loss")[0])
        self._mse_dots = loss.add_moving(
            ax.plot([], [], "o", ms=3, color=_MSE, label="trajectory MSE")[0]
        )
        self._loss_hint = loss.add_moving(
            ax.text(
                0.5,
                0.5,
                "press Train: the loss appears here",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="#555",
            )
        )
        ax.legend(loc="upper right", fontsize=7)
        self._loss_panel = loss
        self.panels = [phase, series, field, loss]

    # ------------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        """Whether a run is going (from Train until its last update)."""
        return self._active

    def _new_trainer(self) -> None:
        self.trainer = spiral.SpiralTrainer(self.data, seed=self.seed, backend=self.backend)
        self._apply_settings()

    def _apply_settings(self) -> None:
        """Copy the controls into the trainer (hold ``_lock``, or run before any thread)."""
        trainer = self.trainer
        trainer.solver = self.solver.value
        trainer.step_size = self.step.value or None
        trainer.rtol = self.rtol.value
        trainer.atol = self.rtol.value * 1e-2
        trainer.gradient = self.gradient.value
        trainer.window = self.window.value
        trainer.n_windows = self.batch.value or None
        if (self.optimiser.value, self.lr.value) != (trainer.optimiser_name, trainer.lr):
            trainer.set_optimiser(self.optimiser.value, self.lr.value)

    def learning_rate(self, iteration: int) -> float:
        """The learning rate of update number ``iteration`` (counted from 0 since Reset)."""
        if self.decay.value:
            return self.lr.value / (1 + iteration / LR_DECAY_ITERATIONS)
        return self.lr.value

    def _on_setting_change(self, change) -> None:
        """A setting changed (from the page or from code): apply it between two iterations."""
        with self._lock:
            self._apply_settings()
            if not self.running and change["owner"] is self.iterations:
                self._update_loss_panel()  # its axis spans the coming run
        self._refresh_controls()

    def _refresh_controls(self) -> None:
        """Enable what can be used now: settings and Train when idle, Stop while running."""
        with self._state_lock:
            running = self._active
            for control in self.settings:
                control.disabled = running
            if not running:  # a fixed step or a tolerance, depending on the solver
                fixed = self.solver.value in spiral.FIXED_STEP_SOLVERS
                self.step.disabled = not fixed
                self.rtol.disabled = fixed
            self.train_button.disabled = running
            self.stop_button.disabled = not running

    # ------------------------------------------------------------------ buttons

    def _on_train_click(self, _button) -> None:
        self.train()
        if self.running:  # Train is now disabled: keep the keyboard's focus in the lab
            self.stop_button.focus()

    def _on_stop_click(self, _button) -> None:
        self.stop()
        if not self.running:
            self.train_button.focus()

    def train(self) -> None:
        """Train for ``iterations`` more updates in the background (from the current model)."""
        with self._ui_lock:
            with self._state_lock:
                if self._active:
                    return
                self._active = True
                self._refresh_controls()
            self.error = None
            with self._lock:
                self._apply_settings()
                self._run_first = self.trainer.iteration
                self._update_times = []
                self._run_started = time.perf_counter()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop after its current iteration and wait for it."""
        with self._ui_lock:
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout)

    def reset(self) -> None:
        """Stop, then restore the initial model, an empty loss panel and its initial ranges."""
        self.stop()
        with self._ui_lock:
            if self.running:  # still finishing a long iteration: leave it alone
                return
            with self._lock, spiral.single_thread():
                self.error = None
                self.mse_history = []
                self._run_first = 0
                self._update_times = []
                self._new_trainer()
                self._redraw()
            self._refresh_controls()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the current run ends (tests use this); returns whether it ended."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        with spiral.single_thread():  # tiny tensors: threads only add waiting
            self._train()

    def _train(self) -> None:
        trainer = self.trainer
        next_update = time.perf_counter() + 1.0 / UPDATES_PER_SECOND
        try:
            while trainer.iteration - self._run_first < self.iterations.value:
                if self._stop.is_set():
                    break
                with self._lock:
                    for group in trainer.optimiser.param_groups:
                        group["lr"] = self.learning_rate(trainer.iteration)
                    loss = trainer.step()
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"the loss became {loss}; lower the learning rate and press Reset"
                    )
                now = time.perf_counter()
                if now >= next_update:
                    with self._lock:
                        self._redraw()
                    cost = time.perf_counter() - now
                    # at most UPDATES_PER_SECOND, and at most DRAWING_SHARE of the time
                    next_update = now + max(1.0 / UPDATES_PER_SECOND, cost / DRAWING_SHARE)
        except Exception as error:  # shown in the readout, never raised at the reader
            self.error = f"{type(error).__name__}: {error}"
        finally:
            with self._lock:
                try:
                    self._redraw()
                except Exception as error:
                    self.error = f"{type(error).__name__}: {error}"
            with self._state_lock:
                self._active = False
                self._refresh_controls()
            self._update_readout()  # the rates of the finished run

    # ------------------------------------------------------------------ drawing

    def _redraw(self) -> None:
        """Predict the whole trajectory and update every panel and the readout."""
        trainer = self.trainer
        prediction = trainer.predict().numpy()
        self.prediction = prediction
        self.mse = float(np.mean((prediction - self.data.y.numpy()) ** 2))
        if not self.mse_history or self.mse_history[-1][0] != trainer.iteration:
            self.mse_history.append((trainer.iteration, self.mse))
        self._phase_line.set_data(prediction[:, 0], prediction[:, 1])
        t = self.data.t.numpy()
        self._x_line.set_data(t, prediction[:, 0])
        self._y_line.set_data(t, prediction[:, 1])
        _, _, u, v = spiral.vector_field(spiral.learned_field(trainer.model), 2.2, 11)
        norm = np.sqrt(u**2 + v**2) + 1e-12
        self._quiver.set_UVC(u / norm, v / norm)
        for panel in self.panels[:3]:
            panel.update()
        self._update_loss_panel()
        if self.running:
            self._update_times.append(time.perf_counter())
        self._update_readout()

    def loss_axis_limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``(xlim, ylim)`` of the loss panel: the current run's iterations, ``LOSS_RANGE``.

        Both stay fixed during a run: a change of range costs a full draw of the panel.
        """
        end = max(self._run_first + self.iterations.value, self.trainer.iteration)
        return (0.0, float(end)), LOSS_RANGE

    def _update_loss_panel(self) -> None:
        panel, losses = self._loss_panel, self.trainer.losses
        xlim, ylim = self.loss_axis_limits()
        if (xlim, ylim) != (panel.axes.get_xlim(), panel.axes.get_ylim()):
            panel.axes.set(xlim=xlim, ylim=ylim)
            panel.draw_background()  # new tick labels: a full draw, a few times a run
        self._loss_line.set_data(np.arange(1, len(losses) + 1), losses)
        iterations, mses = zip(*self.mse_history, strict=True) if self.mse_history else ((), ())
        self._mse_dots.set_data(iterations, mses)
        self._loss_hint.set_visible(not losses)
        panel.update()

    def update_rates(self) -> tuple[float, float]:
        """``(iterations per second, panel updates per second)`` of the current or last run."""
        times = self._update_times
        end = time.perf_counter() if self.running or not times else times[-1]
        elapsed = max(end - self._run_started, 1e-9)
        iterations = self.trainer.iteration - self._run_first
        return iterations / elapsed, len(times) / elapsed

    def _update_readout(self) -> None:
        trainer = self.trainer
        iterations_per_second, updates_per_second = self.update_rates()
        loss = f"{trainer.losses[-1]:.3g}" if trainer.losses else "-"
        best_iteration, best = min(self.mse_history, key=lambda item: item[1])
        text = (
            f"<b>iteration</b> {trainer.iteration} &nbsp; <b>window loss</b> {loss} &nbsp; "
            f"<b>trajectory MSE</b> {self.mse:.3g} (best {best:.3g} at {best_iteration}) "
            f"&nbsp; <b>learning rate</b> {self.learning_rate(trainer.iteration):.2g} "
            f"&nbsp; <b>NFE in training</b> {trainer.training_nfe:,} &nbsp; "
            f"<b>it/s</b> {iterations_per_second:.0f} &nbsp; "
            f"<b>updates/s</b> {updates_per_second:.1f}"
        )
        if self.error:
            text += f"<br><span style='color:#b00'>{html.escape(self.error)}</span>"
        self.readout.value = text


def spiral_lab(seed: int = 0, backend: str = "nodelib") -> SpiralLab:
    """The live spiral lab (an ``ipywidgets.VBox``): pick a solver, press **Train**."""
    torch.manual_seed(seed)
    return SpiralLab(seed=seed, backend=backend)
