"""Chapter 11's widget: add or drop observations of a spiral and watch the latent ODE answer.

:func:`latent_lab` returns a :class:`LatentLab`, an ``ipywidgets.VBox`` around a trained
:class:`~nodelib.latent_ode.LatentODE` (inference only, no training) and held-out series:

- one toggle button per grid time of the observed part: pressed means *observed*. Pressing
  one adds that observation or drops it, and the figure redraws at once: the encoder reads
  the new set of observations, and the posterior samples of ``z0`` are decoded over the whole
  grid (reconstruction, then extrapolation);
- a series slider (which held-out spiral), a posterior-samples slider, and **Random** with a
  fraction (start from a fresh random set of observations) and **Clear**;
- a readout: how many observations, the error of the posterior-mean path against the
  noise-free truth on each part, and the spread of the posterior samples at the end of the
  extrapolation (the model's own uncertainty).

Why buttons and not clicks on the plot: a click on a plotly figure reaches the Python kernel
only through plotly's ``FigureWidget``, which needs the ``anywidget`` package; the course's
widgets use ipywidgets' core controls only, and each button names its time for a screen
reader. The static stand-in is :func:`nodelib.latent_ode_figures.observations_slider_figure`.
"""

from __future__ import annotations

import html
import numbers

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from nodelib.irregular_series import SpiralSeries, batch_from_mask, observations_per_series
from nodelib.latent_ode import LatentODE
from nodelib.latent_ode_figures import prediction_traces
from nodelib.viz import show_in

__all__ = ["LatentLab", "latent_lab"]

FRACTIONS = {"10 %": 0.1, "30 %": 0.3, "50 %": 0.5}


class LatentLab(widgets.VBox):
    """The lab's widget. Its parts are attributes so that tests can drive it:

    controls ``series``, ``samples``, ``fraction``, ``time_buttons`` (one ``ToggleButton`` per
    grid time of the observed part); buttons ``random_button``, ``clear_button``; outputs
    ``readout`` (``HTML``) and ``output`` (an ``Output`` showing ``figure``); state
    ``observed`` (``(n_times,)`` bool for the current series), ``errors`` (``interp_mse``,
    ``extrap_mse`` of the current drawing), ``spread`` and ``error``.
    """

    def __init__(
        self,
        model: LatentODE,
        series: SpiralSeries,
        *,
        fraction: float = 0.3,
        n_samples: int = 20,
        seed: int = 0,
    ):
        if not isinstance(model, LatentODE):
            raise TypeError(f"model must be a nodelib.latent_ode.LatentODE, got {type(model)}")
        if not isinstance(series, SpiralSeries):
            raise TypeError(f"series must be a SpiralSeries, got {type(series).__name__}")
        if not (isinstance(n_samples, numbers.Integral) and 1 <= n_samples <= 100):
            raise ValueError(f"n_samples must be an integer from 1 to 100, got {n_samples!r}")
        self.model, self.data, self.seed = model, series, seed
        self.error: str | None = None
        self._drawing = False
        style = {"description_width": "130px"}
        self.series = widgets.IntSlider(
            value=0,
            min=0,
            max=len(series) - 1,
            description="held-out series",
            tooltip="which held-out spiral to observe (it gets fresh random observations)",
            continuous_update=False,
            style=style,
        )
        self.samples = widgets.IntSlider(
            value=n_samples,
            min=1,
            max=50,
            description="posterior samples",
            tooltip="how many samples of z0 ~ q(z0 | observations) to decode and draw",
            continuous_update=False,
            style=style,
        )
        self.fraction = widgets.Dropdown(
            options=list(FRACTIONS),
            value=next((k for k, v in FRACTIONS.items() if v == fraction), "30 %"),
            description="random share",
            tooltip="the share of the observed part's grid times that Random observes",
            style=style,
        )
        self.random_button = widgets.Button(
            description="Random", tooltip="observe a fresh random set of times at that share"
        )
        self.clear_button = widgets.Button(
            description="Clear", tooltip="drop every observation (then add them one by one)"
        )
        times = series.times[: series.split].tolist()
        self.time_buttons = [
            widgets.ToggleButton(
                value=False,
                description=f"{t:.2f}",
                tooltip=f"observe the spiral at t = {t:.2f} (press again to drop it)",
                layout=widgets.Layout(width="52px", padding="0px"),
            )
            for t in times
        ]
        for k, button in enumerate(self.time_buttons):
            button.observe(lambda change, k=k: self._on_toggle(k, change["new"]), names="value")
        self.readout = widgets.HTML()
        self.output = widgets.Output()
        self.series.observe(lambda _: self.randomise(), names="value")
        self.samples.observe(lambda _: self.redraw(), names="value")
        self.random_button.on_click(lambda _: self.randomise())
        self.clear_button.on_click(lambda _: self.set_observed([]))
        grid = widgets.GridBox(
            self.time_buttons,
            layout=widgets.Layout(grid_template_columns="repeat(10, 56px)", grid_gap="2px"),
        )
        controls = widgets.VBox(
            [
                widgets.HBox([self.series, self.samples]),
                widgets.HBox([self.fraction, self.random_button, self.clear_button]),
                widgets.HTML("<b>observation times</b> (pressed = observed):"),
                grid,
                self.readout,
            ]
        )
        super().__init__([controls, self.output])
        self.randomise()

    # ------------------------------------------------------------------ state

    @property
    def observed(self) -> torch.Tensor:
        """``(n_times,)`` bool: which grid times of the current series are observed."""
        mask = torch.zeros(len(self.data.times), dtype=torch.bool)
        mask[: self.data.split] = torch.tensor([b.value for b in self.time_buttons])
        return mask

    def set_observed(self, indices) -> None:
        """Observe exactly the grid indices ``indices`` (of the observed part) and redraw."""
        indices = {int(k) for k in indices}
        bad = [k for k in indices if not 0 <= k < self.data.split]
        if bad:
            raise ValueError(
                f"indices must lie in the observed part, 0 to {self.data.split - 1}; got {bad}"
            )
        self._drawing = True  # one redraw at the end, not one per button
        try:
            for k, button in enumerate(self.time_buttons):
                button.value = k in indices
        finally:
            self._drawing = False
        self.redraw()

    def toggle(self, k: int) -> None:
        """Add the observation at grid index ``k`` if it is missing, drop it if it is there
        (what pressing its button does)."""
        if not (isinstance(k, numbers.Integral) and 0 <= k < self.data.split):
            raise ValueError(f"k must be a grid index from 0 to {self.data.split - 1}, got {k!r}")
        self.time_buttons[k].value = not self.time_buttons[k].value

    def randomise(self) -> None:
        """A random set of observation times at the chosen share (seeded by the series)."""
        generator = torch.Generator().manual_seed(self.seed * 1000 + self.series.value)
        count = observations_per_series(FRACTIONS[self.fraction.value], self.data.split)
        chosen = torch.randperm(self.data.split, generator=generator)[:count]
        self.set_observed(chosen.tolist())

    def _on_toggle(self, k: int, value: bool) -> None:
        if not self._drawing:
            self.redraw()

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> None:
        """Encode the current observations, decode posterior samples, draw and report."""
        b = self.series.value
        one = self.data.subset([b])
        mask = self.observed[None]
        try:
            batch = batch_from_mask(one, mask)
            generator = torch.Generator().manual_seed(self.seed)
            with torch.no_grad():
                mean = self.model.predict(batch, one.times)[0]
                paths = self.model.sample_paths(batch, one.times, self.samples.value, generator)
            paths = paths[:, 0]
            squared = (mean - one.truth[0]) ** 2
            split = self.data.split
            self.errors = {
                "interp_mse": float(squared[:split].mean()),
                "extrap_mse": float(squared[split:].mean()),
            }
            self.spread = float(paths[:, -1].std(dim=0).norm()) if len(paths) > 1 else 0.0
            self.figure = self._figure(one, mask[0], paths, mean)
            self.error = None
        except Exception as error:  # shown in the readout, never raised at the reader
            self.error = f"{type(error).__name__}: {error}"
            self.figure = go.Figure(layout={"title": "the model could not be evaluated"})
        show_in(self.output, self.figure)
        self.readout.value = self._readout_text()

    def _figure(self, one, mask_row, paths, mean) -> go.Figure:
        traces = prediction_traces(one, 0, mask_row, paths, {"latent_ode": mean})
        direction = "clockwise" if bool(one.clockwise[0]) else "anticlockwise"
        fig = go.Figure(traces)
        lim = 2.2
        fig.update_xaxes(range=[-lim, lim], title_text="x₁", constrain="domain")
        fig.update_yaxes(range=[-lim, lim], title_text="x₂", scaleanchor="x", constrain="domain")
        fig.update_layout(
            title=(
                f"Latent lab: series {self.series.value} ({direction}), "
                f"{int(mask_row.sum())} observations"
            ),
            height=520,
            legend={"orientation": "h", "y": -0.15, "yanchor": "top", "x": 0.0},
        )
        return fig

    def _readout_text(self) -> str:
        count = int(self.observed.sum())
        parts = [f"<b>observations</b> {count} of {self.data.split}"]
        if self.error is None:
            parts.append(f"<b>reconstruction MSE</b> {self.errors['interp_mse']:.4f}")
            parts.append(f"<b>extrapolation MSE</b> {self.errors['extrap_mse']:.4f}")
            parts.append(f"<b>spread of the samples at the end</b> {self.spread:.3f}")
        text = " &nbsp; ".join(parts)
        if count == 0:
            text += "<br><i>no observations: the encoder has nothing to read</i>"
        if self.error:
            text += f"<br><span style='color:#b00'>{html.escape(self.error)}</span>"
        return text


def latent_lab(model: LatentODE, series: SpiralSeries, *, seed: int = 0) -> LatentLab:
    """The live lab (an ``ipywidgets.VBox``) for a trained latent ODE and held-out series."""
    return LatentLab(model, series, seed=seed)
