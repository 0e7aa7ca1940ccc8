"""Chapter 10's widget: pick a target density, train a continuous normalizing flow, scrub time.

:func:`flow_lab` returns a :class:`FlowLab`, an ``ipywidgets.VBox`` with

- a target density (:data:`nodelib.toy_densities.DENSITIES`) and the number of iterations per
  press of **Train** (continue training the current flow) or **Reset** (a fresh flow, the
  identity map, for the chosen target);
- a time slider ``t`` from 0 to 1: the density ``p_t`` of the flow at that time, from the
  Gaussian at ``t = 0`` to the model density at ``t = 1``;
- a readout (iterations, the last training loss, the function evaluations of the last solve,
  the integral of the density on the grid) and a plotly figure: samples of the target beside
  the heatmap of ``p_t`` with base samples carried to ``t``.

Training runs in the button's handler and redraws every ``redraw_every`` iterations (dopri5 at
a loose tolerance, a few seconds per dozen iterations on a laptop core). Every control is a
core ipywidget with a visible label and a tooltip, so it works with the keyboard (Tab, arrows,
Enter). The static stand-ins are :func:`nodelib.cnf.morph_figure` (time) and the chapter's
slider over training snapshots.
"""

from __future__ import annotations

import html
import numbers

import ipywidgets as widgets
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from nodelib import cnf, toy_densities
from nodelib.viz import show_in

__all__ = ["FlowLab", "flow_lab"]


class FlowLab(widgets.VBox):
    """The lab's widget. Its parts are attributes so that tests can drive it:

    controls ``density``, ``iterations``, ``time``; buttons ``train_button``,
    ``reset_button``; outputs ``readout`` (``HTML``) and ``output`` (an ``Output`` showing
    ``figure``); state ``model`` (a :class:`~nodelib.cnf.CNF`), ``result`` (the
    :class:`~nodelib.cnf.TrainResult` since the last reset), ``grid`` (the
    :class:`~nodelib.cnf.DensityGrid` drawn) and ``error``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        redraw_every: int = 10,
        batch_size: int = 256,
        lr: float = 1e-2,
        grid_points: int = 40,
        n_samples: int = 600,
    ):
        if not (isinstance(redraw_every, numbers.Integral) and redraw_every >= 1):
            raise ValueError(f"redraw_every must be a positive integer, got {redraw_every!r}")
        self.seed, self.redraw_every = seed, int(redraw_every)
        self.batch_size, self.lr = batch_size, lr
        self.grid_points, self.n_samples = grid_points, n_samples
        self.error: str | None = None
        style = {"description_width": "110px"}
        self.density = widgets.Dropdown(
            options=list(toy_densities.DENSITIES),
            value="two moons",
            description="target density",
            tooltip="the density the flow learns from samples (changing it resets the flow)",
            style=style,
        )
        self.iterations = widgets.IntSlider(
            value=50,
            min=10,
            max=500,
            step=10,
            description="iterations",
            tooltip="Adam updates per press of Train",
            style=style,
        )
        self.time = widgets.FloatSlider(
            value=1.0,
            min=0.0,
            max=1.0,
            step=0.05,
            description="time t",
            tooltip="show the density p_t: t = 0 is the Gaussian, t = 1 the model",
            continuous_update=False,
            style=style,
        )
        self.train_button = widgets.Button(
            description="Train", button_style="success", tooltip="continue training the flow"
        )
        self.reset_button = widgets.Button(
            description="Reset", tooltip="a fresh flow (the identity) for the chosen target"
        )
        self.readout = widgets.HTML()
        self.output = widgets.Output()
        self.train_button.on_click(lambda _: self.train())
        self.reset_button.on_click(lambda _: self.reset())
        self.density.observe(lambda _: self.reset(), names="value")
        self.time.observe(lambda _: self.redraw(), names="value")
        controls = widgets.VBox(
            [
                widgets.HBox([self.density, self.iterations]),
                widgets.HBox([self.train_button, self.reset_button]),
                self.time,
                self.readout,
            ]
        )
        super().__init__([controls, self.output])
        self.reset()

    # ------------------------------------------------------------------ state

    def _sample_target(self, n: int) -> torch.Tensor:
        return toy_densities.sample(self.density.value, n, self._generator)

    def reset(self) -> None:
        """A fresh, seeded flow for the chosen target: the identity map, density N(0, I)."""
        torch.manual_seed(self.seed)
        self._generator = torch.Generator().manual_seed(self.seed)
        self.model = cnf.CNF(
            cnf.TimeMLP(hidden=32, layers=3), solver=cnf.Solver(rtol=1e-3, atol=1e-3)
        )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self.result = cnf.TrainResult()
        self.target = self._sample_target(self.n_samples)
        self.error = None
        self.redraw()

    def train(self, iterations: int | None = None) -> None:
        """Train ``iterations`` (default: the slider's value) more Adam updates, redrawing as
        it goes. A failure (e.g. a solver that gives up) is shown in the readout."""
        iterations = self.iterations.value if iterations is None else iterations
        buttons = (self.train_button, self.reset_button, self.density)
        for control in buttons:
            control.disabled = True
        try:
            cnf.train(
                self.model,
                self._sample_target,
                iterations=iterations,
                batch_size=self.batch_size,
                optimizer=self.optimizer,
                result=self.result,
                callback=self._after_update,
            )
        except Exception as error:  # shown in the readout, never raised at the reader
            self.error = f"{type(error).__name__}: {error}"
        finally:
            for control in buttons:
                control.disabled = False
            self.redraw()

    def _after_update(self, iteration: int, result: cnf.TrainResult) -> None:
        if (iteration + 1) % self.redraw_every == 0:
            self.redraw(in_progress=True)

    # ------------------------------------------------------------------ drawing

    def redraw(self, in_progress: bool = False) -> None:
        """Draw the target, ``p_t`` at the slider's time and the readout."""
        t = float(self.time.value)
        try:
            with torch.no_grad():
                self.grid = cnf.density_grid(self.model, points=self.grid_points, t=t)
                self.figure = self._figure(t)
        except Exception as error:  # e.g. a flow trained into a solver failure
            self.error = f"{type(error).__name__}: {error}"
            self.figure = go.Figure(layout={"title": "the flow could not be evaluated"})
        show_in(self.output, self.figure)
        self.readout.value = self._readout_text(in_progress)

    def _figure(self, t: float) -> go.Figure:
        name = self.density.value
        fig = make_subplots(
            rows=1, cols=2, subplot_titles=[f"target: {name}", f"flow density p_t at t = {t:.2f}"]
        )
        target = self.target.numpy()
        fig.add_trace(
            go.Scatter(
                x=target[:, 0],
                y=target[:, 1],
                mode="markers",
                name="target samples",
                marker={"size": 3, "opacity": 0.5},
            ),  # fmt: skip
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Heatmap(
                x=self.grid.xs,
                y=self.grid.xs,
                z=self.grid.density,
                colorscale="Viridis",
                zmin=0,
                colorbar={"title": "p_t"},
                name="density",
            ),  # fmt: skip
            row=1,
            col=2,
        )
        generator = torch.Generator().manual_seed(self.seed + 1)
        base = torch.randn(300, 2, generator=generator)
        carried = base if t == 0 else self.model.flow(base, [0.0, t])[0][-1]
        fig.add_trace(
            go.Scatter(
                x=carried[:, 0].numpy(),
                y=carried[:, 1].numpy(),
                mode="markers",
                name="samples z(t)",
                marker={"size": 2, "color": "white", "opacity": 0.7},
            ),  # fmt: skip
            row=1,
            col=2,
        )
        extent = toy_densities.EXTENT
        fig.update_xaxes(range=[-extent, extent], title_text="z₁", constrain="domain")
        fig.update_yaxes(range=[-extent, extent], title_text="z₂", constrain="domain")
        fig.update_yaxes(scaleanchor="x", row=1, col=1)
        fig.update_yaxes(scaleanchor="x2", row=1, col=2)
        fig.update_layout(
            title=f"Flow lab: a Gaussian flowing into {name}",
            height=420,
            showlegend=False,
            margin={"t": 90},
        )
        return fig

    def _readout_text(self, in_progress: bool) -> str:
        done = len(self.result.losses)
        parts = [f"<b>iterations</b> {done}"]
        if done:
            parts.append(f"<b>loss (NLL)</b> {self.result.losses[-1]:.3f} nats")
            parts.append(f"<b>NFE</b> {self.result.nfe[-1]}")
        if getattr(self, "grid", None) is not None:
            parts.append(f"<b>∫ p_t on the grid</b> {self.grid.integral:.3f}")
        text = " &nbsp; ".join(parts)
        if in_progress:
            text += " &nbsp; <i>training…</i>"
        if self.error:
            text += f"<br><span style='color:#b00'>{html.escape(self.error)}</span>"
        return text


def flow_lab(*, seed: int = 0) -> FlowLab:
    """The live lab (an ``ipywidgets.VBox``): pick a target, press Train, drag the time."""
    return FlowLab(seed=seed)
