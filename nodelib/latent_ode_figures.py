"""The figures of chapter 11: spirals seen sparsely, and what three models make of them.

Every function returns a plotly figure (showing it is the caller's choice):

- :func:`data_figure`: a few spirals, clockwise and anticlockwise, with their observations;
- :func:`predictions_figure`: one panel per series: the truth, the observations, the latent
  ODE's posterior samples and mean (reconstruction, then extrapolation), and optionally the
  baselines' predictions;
- :func:`error_figure`: interpolation and extrapolation error against the observed fraction,
  one line per model;
- :func:`latent_figure`: the latent trajectories ``z(t)`` of many series, projected on their
  two principal directions, coloured by the direction of rotation;
- :func:`observations_slider_figure`: one series as observations are added one by one (the
  static stand-in of :func:`nodelib.widgets.latent_lab.latent_lab`);
- :func:`loss_figure`: training losses.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from nodelib.irregular_series import SpiralSeries, batch_from_mask
from nodelib.irregular_training import MODEL_LABELS
from nodelib.viz import OKABE_ITO, slider_figure

__all__ = [
    "MODEL_COLOURS",
    "data_figure",
    "prediction_traces",
    "predictions_figure",
    "error_figure",
    "latent_figure",
    "observations_slider_figure",
    "loss_figure",
]

MODEL_COLOURS = {
    "latent_ode": OKABE_ITO["blue"],
    "ode_rnn": OKABE_ITO["bluish green"],
    "gru_dt": OKABE_ITO["vermillion"],
}
_TRUTH = "#999999"
_OBSERVED = OKABE_ITO["black"]
_LEGEND_BELOW = {"orientation": "h", "y": -0.15, "yanchor": "top", "x": 0.0}


def _square_axes(fig: go.Figure, lim: float = 2.2) -> None:
    fig.update_xaxes(range=[-lim, lim], title_text="x₁", constrain="domain")
    fig.update_yaxes(range=[-lim, lim], title_text="x₂", scaleanchor="x", constrain="domain")


def data_figure(series: SpiralSeries, mask: torch.Tensor, title: str, n_show: int = 4):
    """The first ``n_show`` series: dense noise-free path (grey; dotted after the observed
    part) and the noisy observations (markers)."""
    fig = go.Figure()
    split = series.split
    for b in range(min(n_show, len(series))):
        direction = "clockwise" if bool(series.clockwise[b]) else "anticlockwise"
        colour = OKABE_ITO["vermillion"] if bool(series.clockwise[b]) else OKABE_ITO["blue"]
        truth = series.truth[b].numpy()
        for part, dash in ((slice(0, split + 1), "solid"), (slice(split, None), "dot")):
            fig.add_trace(
                go.Scatter(
                    x=truth[part, 0],
                    y=truth[part, 1],
                    mode="lines",
                    line={"color": colour, "width": 1, "dash": dash},
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        seen = series.values[b][mask[b]].numpy()
        fig.add_trace(
            go.Scatter(
                x=seen[:, 0],
                y=seen[:, 1],
                mode="markers",
                marker={"color": colour, "size": 6, "symbol": "circle"},
                name=f"series {b} ({direction}): {len(seen)} observations",
            )
        )
    _square_axes(fig)
    fig.update_layout(title=title, height=480, legend=_LEGEND_BELOW)
    return fig


def prediction_traces(
    series: SpiralSeries,
    b: int,
    mask_row: torch.Tensor,
    samples: torch.Tensor | None = None,
    predictions: dict[str, torch.Tensor] | None = None,
    showlegend: bool = True,
) -> list[go.Scatter]:
    """The traces of one panel: truth, observations, the unobserved grid points, posterior
    sample paths (``samples: (n_samples, n_times, 2)``) and model predictions
    (``{model: (n_times, 2)}``), reconstruction solid and extrapolation dotted."""
    split = series.split
    truth = series.truth[b].numpy()
    traces = [
        go.Scatter(
            x=truth[:, 0],
            y=truth[:, 1],
            mode="lines",
            line={"color": _TRUTH, "width": 6},
            opacity=0.35,
            name="truth (no noise)",
            showlegend=showlegend,
            hoverinfo="skip",
        )
    ]
    if samples is not None:
        xs, ys = [], []
        for path in samples.numpy():
            xs += [*path[:, 0], None]
            ys += [*path[:, 1], None]
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": OKABE_ITO["sky blue"], "width": 1},
                opacity=0.5,
                name="latent ODE: posterior samples",
                showlegend=showlegend,
                hoverinfo="skip",
            )
        )
    for name, path in (predictions or {}).items():
        path = path.numpy()
        for part, dash, suffix in (
            (slice(0, split), "solid", "reconstruction"),
            (slice(split - 1, None), "dot", "extrapolation"),
        ):
            traces.append(
                go.Scatter(
                    x=path[part, 0],
                    y=path[part, 1],
                    mode="lines",
                    line={"color": MODEL_COLOURS[name], "width": 2.5, "dash": dash},
                    name=f"{MODEL_LABELS[name]}: {suffix}",
                    showlegend=showlegend,
                )
            )
    seen = series.values[b][mask_row].numpy()
    traces.append(
        go.Scatter(
            x=seen[:, 0],
            y=seen[:, 1],
            mode="markers",
            marker={"color": _OBSERVED, "size": 8},
            name="observations",
            showlegend=showlegend,
        )
    )
    return traces


def _predict_all(models: dict, series: SpiralSeries, mask: torch.Tensor) -> dict:
    batch = batch_from_mask(series, mask)
    with torch.no_grad():
        return {name: model.predict(batch, series.times) for name, model in models.items()}


def predictions_figure(
    models: dict,
    series: SpiralSeries,
    mask: torch.Tensor,
    indices: list[int],
    title: str,
    n_samples: int = 20,
    seed: int = 0,
) -> go.Figure:
    """One panel per series of ``indices``: truth, observations, each model's prediction on
    the whole grid and, when ``models`` holds ``"latent_ode"``, its posterior samples."""
    chosen = series.subset(indices)
    chosen_mask = mask[indices]
    predictions = _predict_all(models, chosen, chosen_mask)
    samples = None
    if "latent_ode" in models:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            samples = models["latent_ode"].sample_paths(
                batch_from_mask(chosen, chosen_mask), chosen.times, n_samples, generator
            )
    fig = make_subplots(
        rows=1,
        cols=len(indices),
        subplot_titles=[f"series {b}: {int(mask[b].sum())} observations" for b in indices],
    )
    for k in range(len(indices)):
        traces = prediction_traces(
            chosen,
            k,
            chosen_mask[k],
            None if samples is None else samples[:, k],
            {name: p[k] for name, p in predictions.items()},
            showlegend=k == 0,
        )
        for trace in traces:
            fig.add_trace(trace, row=1, col=k + 1)
    lim = 2.2
    fig.update_xaxes(range=[-lim, lim], title_text="x₁", constrain="domain")
    fig.update_yaxes(range=[-lim, lim], constrain="domain")
    for k in range(len(indices)):
        fig.update_yaxes(scaleanchor="x" if k == 0 else f"x{k + 1}", row=1, col=k + 1)
    fig.update_yaxes(title_text="x₂", row=1, col=1)
    fig.update_layout(title=title, height=470, legend=_LEGEND_BELOW, margin={"t": 90})
    return fig


def error_figure(errors: dict, title: str) -> go.Figure:
    """``errors[model][fraction] = {"interp_mse", "extrap_mse"}`` -> two panels, error (log
    scale) against the observed fraction, one line per model."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["interpolation (observed part)", "extrapolation (after it)"],
    )
    for name, by_fraction in errors.items():
        fractions = sorted(by_fraction)
        for col, key in ((1, "interp_mse"), (2, "extrap_mse")):
            fig.add_trace(
                go.Scatter(
                    x=[100 * f for f in fractions],
                    y=[by_fraction[f][key] for f in fractions],
                    mode="lines+markers",
                    line={"color": MODEL_COLOURS[name]},
                    name=MODEL_LABELS[name],
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="observed points (% of the observed part's grid)")
    fig.update_yaxes(type="log", title_text="mean squared error", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(title=title, height=420, legend=_LEGEND_BELOW)
    return fig


def latent_figure(model, series: SpiralSeries, mask: torch.Tensor, title: str) -> go.Figure:
    """The posterior-mean latent paths ``z(t)`` on the whole grid, projected on their first
    two principal components; blue anticlockwise, vermillion clockwise; a dot marks ``z0``."""
    with torch.no_grad():
        mean, _ = model.posterior(batch_from_mask(series, mask))
        paths = model.latent_path(mean, series.times)  # (n_series, n_times, latent)
    flat = paths.reshape(-1, paths.shape[-1])
    centre = flat.mean(dim=0)
    _, _, directions = torch.linalg.svd(flat - centre, full_matrices=False)
    projected = ((paths - centre) @ directions[:2].T).numpy()
    fig = go.Figure()
    for clockwise, colour, label in (
        (False, OKABE_ITO["blue"], "anticlockwise spirals"),
        (True, OKABE_ITO["vermillion"], "clockwise spirals"),
    ):
        rows = np.flatnonzero(series.clockwise.numpy() == clockwise)
        xs, ys = [], []
        for b in rows:
            xs += [*projected[b, :, 0], None]
            ys += [*projected[b, :, 1], None]
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line={"color": colour, "width": 1}, name=label)
        )
        fig.add_trace(
            go.Scatter(
                x=projected[rows, 0, 0],
                y=projected[rows, 0, 1],
                mode="markers",
                marker={"color": colour, "size": 5},
                name=f"{label}: z0",
            )
        )
    fig.update_xaxes(title_text="first principal component of z")
    fig.update_yaxes(title_text="second principal component of z")
    fig.update_layout(title=title, height=480, legend=_LEGEND_BELOW)
    return fig


def observations_slider_figure(
    model,
    series: SpiralSeries,
    b: int,
    order: torch.Tensor,
    counts: list[int],
    title: str,
    n_samples: int = 20,
    seed: int = 0,
) -> go.Figure:
    """Series ``b`` observed at the first ``k`` grid indices of ``order`` for each ``k`` in
    ``counts``: the latent ODE's posterior samples and mean, one slider step per ``k``."""
    frames, labels = [], []
    one = series.subset([b])
    for k in counts:
        mask = torch.zeros(1, len(series.times), dtype=torch.bool)
        mask[0, order[:k]] = True
        batch = batch_from_mask(one, mask)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            samples = model.sample_paths(batch, one.times, n_samples, generator)[:, 0]
            mean = model.predict(batch, one.times)[0]
        frames.append(prediction_traces(one, 0, mask[0], samples, {"latent_ode": mean}))
        labels.append(str(k))
    layout = {"title": title, "height": 560, "legend": _LEGEND_BELOW}
    fig = slider_figure(frames, labels, slider_label="observations", layout=layout)
    _square_axes(fig)
    return fig


def loss_figure(results: dict, title: str) -> go.Figure:
    """Training loss per iteration of each model (``{model: TrainResult}``), one panel each:
    the latent ODE's negative ELBO and the recurrent models' squared errors differ in units."""
    names = list(results)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[MODEL_LABELS[n] for n in names])
    for col, name in enumerate(names, start=1):
        losses = results[name].losses
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(losses) + 1)),
                y=losses,
                mode="lines",
                line={"color": MODEL_COLOURS[name]},
                name=MODEL_LABELS[name],
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="iteration", row=1, col=col)
    fig.update_yaxes(title_text="loss (negative ELBO per observation)", row=1, col=1)
    if len(names) > 1:
        fig.update_yaxes(title_text="mean squared prediction error", row=1, col=2)
    fig.update_layout(title=title, height=380, showlegend=False)
    return fig
