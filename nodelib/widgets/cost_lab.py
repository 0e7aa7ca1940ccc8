"""Chapter 12's widget: tolerance and penalty weight against NFE and loss, while a model trains.

Home chapter: ``book/12_price_of_training.ipynb``. :func:`cost_lab` returns a :class:`CostLab`,
an ``ipywidgets.VBox`` with

- two settings that may change *while* the model trains, applied between two iterations:
  dopri5's relative tolerance (``atol`` is a tenth of it) and the penalty weight of
  :mod:`nodelib.regularisation` (0: plain training);
- **Start** (train in the background until Stop or :data:`MAX_ITERATIONS`), **Stop** and
  **Reset** (a fresh, seeded model);
- a readout and a plotly figure: forward NFE and training loss per iteration, with a dotted
  line wherever a setting changed.

The model is :class:`nodelib.training_cost.Trainer` on 128 points of the annuli, small enough
that an iteration takes a few tens of milliseconds on one core. Training runs in a thread with
one torch thread (tiny tensors: more threads only wait), and the figure is redrawn at most
once a second and at most :data:`DRAWING_SHARE` of the time, so the kernel stays responsive on
two cores. Every control is a core ipywidget with a label and a tooltip.

The static stand-in, :func:`stand_in_figure`, is a plotly figure with a slider over settings
computed beforehand by :func:`precompute_runs` (the HTML book has no kernel).
"""

from __future__ import annotations

import html
import math
import threading
import time

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nodelib import config
from nodelib.spiral import single_thread
from nodelib.training_cost import RunRecord, Trainer, train_run
from nodelib.viz import OKABE_ITO, show_in, slider_figure

__all__ = ["CostLab", "cost_lab", "precompute_runs", "stand_in_figure", "run_label"]

#: A run stops by itself after this many iterations (a forgotten lab does not spin forever).
MAX_ITERATIONS = 2000
#: Largest fraction of the training thread's time spent redrawing.
DRAWING_SHARE = 0.3
#: Seconds between two redraws, at least.
REDRAW_INTERVAL = 1.0

RTOL_CHOICES = [("1e-2", 1e-2), ("1e-3", 1e-3), ("1e-4", 1e-4), ("1e-5", 1e-5)]
WEIGHT_CHOICES = [("0 (plain)", 0.0), ("0.001", 1e-3), ("0.01", 1e-2), ("0.1", 0.1)]

_NFE, _LOSS = OKABE_ITO["blue"], OKABE_ITO["vermillion"]


class CostLab(widgets.VBox):
    """The lab's widget. Its parts are attributes so that tests can drive it:

    settings ``rtol``, ``weight``; buttons ``start_button``, ``stop_button``,
    ``reset_button``; outputs ``readout`` (``HTML``) and ``output`` (an ``Output`` showing
    ``figure``); state ``trainer`` (a :class:`~nodelib.training_cost.Trainer`), ``changes``
    (``(iteration, rtol, weight)`` at the start and at every change of a setting), ``running``
    and ``error``.
    """

    def __init__(self, *, n_points: int = 128, seed: int = 0):
        self.n_points, self.seed = n_points, seed
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the trainer and the figure: one thread at a time
        style = {"description_width": "130px"}
        self.rtol = widgets.Dropdown(
            options=RTOL_CHOICES,
            value=1e-3,
            description="rtol (dopri5)",
            tooltip="dopri5's relative tolerance (atol is a tenth of it); applies from the "
            "next iteration",
            style=style,
        )
        self.weight = widgets.Dropdown(
            options=WEIGHT_CHOICES,
            value=0.0,
            description="penalty weight",
            tooltip="weight of the kinetic-energy and Jacobian penalties added to the loss "
            "(0: plain training); applies from the next iteration",
            style=style,
        )
        self.start_button = widgets.Button(
            description="Start", button_style="success", tooltip="train in the background"
        )
        self.stop_button = widgets.Button(
            description="Stop", button_style="warning", tooltip="stop after this iteration"
        )
        self.reset_button = widgets.Button(
            description="Reset", tooltip="stop, and start again from a fresh model"
        )
        self.readout = widgets.HTML()
        self.output = widgets.Output()
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.reset_button.on_click(lambda _: self.reset())
        for control in (self.rtol, self.weight):
            control.observe(lambda _: self._apply_settings(), names="value")
        super().__init__(
            [
                widgets.HBox([self.rtol, self.weight]),
                widgets.HBox([self.start_button, self.stop_button, self.reset_button]),
                self.readout,
                self.output,
            ]
        )
        self.reset()

    # ------------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        """Whether the training thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _apply_settings(self) -> None:
        with self._lock:
            record = self.trainer.record
            record.rtol, record.weight = self.rtol.value, self.weight.value
            iteration = len(record.nfe)
            if self.changes and self.changes[-1][0] == iteration:
                self.changes[-1] = (iteration, record.rtol, record.weight)
            else:
                self.changes.append((iteration, record.rtol, record.weight))
        if not self.running:
            self.redraw()

    def reset(self) -> None:
        """Stop, then a fresh seeded model with the current settings."""
        self.stop()
        with self._lock:
            self.trainer = Trainer(
                self.n_points, weight=self.weight.value, rtol=self.rtol.value, seed=self.seed
            )
            self.changes = [(0, self.rtol.value, self.weight.value)]
            self.error = None
        self.redraw()

    def step(self, iterations: int = 1) -> None:
        """Train ``iterations`` updates in the calling thread, then redraw (tests use this)."""
        with single_thread():
            for _ in range(iterations):
                with self._lock:
                    self.trainer.step()
        self.redraw()

    def start(self) -> None:
        """Train in a background thread until :meth:`stop` or :data:`MAX_ITERATIONS`."""
        if self.running:
            return
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._set_buttons(running=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current iteration and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set_buttons(running=self.running)

    def _set_buttons(self, running: bool) -> None:
        self.start_button.disabled = running
        self.reset_button.disabled = running
        self.stop_button.disabled = not running

    def _run(self) -> None:
        next_redraw = time.perf_counter() + REDRAW_INTERVAL
        try:
            with single_thread():
                while not self._stop.is_set() and len(self.trainer.record.nfe) < MAX_ITERATIONS:
                    with self._lock:
                        self.trainer.step()
                    now = time.perf_counter()
                    if now >= next_redraw:
                        self.redraw(in_progress=True)
                        cost = time.perf_counter() - now
                        next_redraw = now + max(REDRAW_INTERVAL, cost / DRAWING_SHARE)
        except Exception as error:  # shown in the readout, never raised at the reader
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self._set_buttons(running=False)
            self.redraw()

    # ------------------------------------------------------------------ drawing

    def redraw(self, in_progress: bool = False) -> None:
        """Rebuild the figure and the readout from the trainer's record."""
        with self._lock:
            record = self.trainer.record
            nfe, mse = list(record.nfe), list(record.mse)
            changes = list(self.changes)
        self.figure = _history_figure(nfe, mse, changes)
        show_in(self.output, self.figure)
        self.readout.value = self._readout_text(nfe, mse, in_progress)

    def _readout_text(self, nfe, mse, in_progress: bool) -> str:
        parts = [f"<b>iterations</b> {len(nfe)}"]
        if nfe:
            parts.append(f"<b>NFE (last solve)</b> {nfe[-1]}")
            parts.append(f"<b>loss (MSE)</b> {mse[-1]:.3g}")
        parts.append(f"<b>rtol</b> {self.rtol.value:g}")
        parts.append(f"<b>penalty weight</b> {self.weight.value:g}")
        text = " &nbsp; ".join(parts)
        if in_progress:
            text += " &nbsp; <i>training…</i>"
        if self.error:
            text += f"<br><span style='color:#b00'>{html.escape(self.error)}</span>"
        return text


def _two_panels(title: str) -> go.Figure:
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=["NFE per forward solve", "training loss (MSE)"]
    )
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text="NFE", row=1, col=1)
    fig.update_yaxes(title_text="MSE", type="log", row=1, col=2)
    fig.update_layout(title=title, height=380, showlegend=False, margin={"t": 90})
    return fig


def _history_traces(nfe, mse) -> list[go.Scatter]:
    iterations = list(range(1, len(nfe) + 1))
    return [
        go.Scatter(x=iterations, y=nfe, mode="lines", name="NFE", line={"color": _NFE}),
        go.Scatter(
            x=iterations, y=mse, mode="lines", name="MSE", line={"color": _LOSS},
            xaxis="x2", yaxis="y2",
        ),
    ]  # fmt: skip


def _history_figure(nfe, mse, changes) -> go.Figure:
    fig = _two_panels("Cost lab: what training costs, live")
    for trace in _history_traces(nfe, mse):
        fig.add_trace(trace)
    for iteration, rtol, weight in changes[1:]:
        for col in (1, 2):
            fig.add_vline(x=iteration + 0.5, line_dash="dot", line_color="grey", row=1, col=col)
        fig.add_annotation(
            x=iteration + 0.5,
            y=1.0,
            yref="y domain",
            text=f"rtol {rtol:g}, weight {weight:g}",
            showarrow=False,
            textangle=-90,
            xanchor="right",
            yanchor="top",
            font={"size": 9},
        )
    return fig


def cost_lab(*, seed: int = 0) -> CostLab:
    """The live lab (an ``ipywidgets.VBox``): choose rtol and the weight, press Start."""
    return CostLab(seed=seed)


# --------------------------------------------------------------------------- static stand-in


def run_label(rtol: float, weight: float) -> str:
    """The slider label of one setting, e.g. ``"rtol 1e-3, weight 0.01"``."""
    return f"rtol {rtol:g}, weight {weight:g}"


def precompute_runs(
    rtols=(1e-2, 1e-3, 1e-4),
    weights=(0.0, 0.01),
    *,
    iterations: int | None = None,
    n_points: int | None = None,
    progress: bool = True,
) -> dict[str, RunRecord]:
    """One training run per (rtol, weight) pair, by :func:`run_label`: the stand-in's data.

    Defaults: 300 iterations on 128 points, or 20 on 64 in fast mode
    (:func:`nodelib.config.fast_or_full`).
    """
    iterations = iterations or config.fast_or_full(20, 300)
    n_points = n_points or config.fast_or_full(64, 128)
    pairs = [(rtol, weight) for rtol in rtols for weight in weights]
    if not pairs:
        raise ValueError(f"need at least one rtol and one weight, got {rtols!r}, {weights!r}")
    from tqdm.auto import tqdm

    runs = {}
    with single_thread():
        for rtol, weight in tqdm(pairs, desc="settings", disable=not progress):
            runs[run_label(rtol, weight)] = train_run(
                weight, rtol=rtol, iterations=iterations, n_points=n_points
            )
    return runs


def stand_in_figure(runs: dict[str, RunRecord], title: str | None = None) -> go.Figure:
    """The lab without a kernel: a slider over ``runs`` (label -> record, see
    :func:`precompute_runs`), each showing NFE and loss per iteration, on fixed axes."""
    if not runs:
        raise ValueError("stand_in_figure needs at least one run, got none")
    layout = _two_panels(title or "Cost lab (precomputed): NFE and loss for each setting").layout
    frames = [_history_traces(r.nfe, r.mse) for r in runs.values()]
    fig = slider_figure(frames, list(runs), slider_label="setting", layout=layout)
    all_nfe = [n for r in runs.values() for n in r.nfe]
    all_mse = [m for r in runs.values() for m in r.mse if m > 0]
    longest = max(len(r.nfe) for r in runs.values())
    # slider_figure keeps the layout but not make_subplots' grid: set the axes by name
    fig.update_layout(
        xaxis={"range": [0, longest + 1]},
        xaxis2={"range": [0, longest + 1]},
        yaxis={"range": [0, 1.1 * max(all_nfe)]},
    )
    if all_mse:
        low, high = math.log10(min(all_mse)), math.log10(max(all_mse))
        fig.update_layout(yaxis2={"range": [low - 0.1, high + 0.1]})
    return fig
