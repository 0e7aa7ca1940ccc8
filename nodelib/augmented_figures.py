"""The figures of chapter 9: trajectories that cannot cross, and augmented ones that go around.

Every function returns a plotly figure (showing it is the caller's choice):

- :func:`crossing_figure`: the crossing map's trajectories ``h_1(t)`` over time, one panel per
  model (a ResNet's hidden states are drawn at the block times ``k / depth``);
- :func:`crossing_phase_figure`: an augmented model's crossing-map trajectories in the plane
  ``(h_1, a_1)``, where they pass around each other;
- :func:`untangling_figure`: the same for two models, with a slider over training iterations
  (the static stand-in of :func:`nodelib.widgets.augmented_lab.augmented_lab`);
- :func:`decision_boundary_figure`: each model's output over the input plane, with the annuli;
- :func:`trajectories_3d_figure`: an augmented model's trajectories in its 3-D state space,
  with the plane where its linear read-out changes sign;
- :func:`training_figure`: loss and evaluations of the dynamics (NFE) against iteration.
"""

from __future__ import annotations

import numbers

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from nodelib.augmented import NeuralODE, ResNet, TrainingRecord, states_over_time
from nodelib.crossing_problems import ProblemData
from nodelib.viz import OKABE_ITO, slider_figure

__all__ = [
    "crossing_traces",
    "crossing_figure",
    "untangling_figure",
    "crossing_phase_figure",
    "decision_boundary_figure",
    "trajectories_3d_figure",
    "training_figure",
    "TARGET_COLOURS",
]

#: Colour by target: +1 blue, -1 vermillion, from Okabe and Ito's palette, which stays
#: readable with every common colour-vision deficiency (the marker symbols differ too).
TARGET_COLOURS = {1.0: OKABE_ITO["blue"], -1.0: OKABE_ITO["vermillion"]}
TARGET_SYMBOLS = {1.0: "circle", -1.0: "diamond"}


#: Legends go below the panels: beside them they squeeze the panels on a narrow page.
_LEGEND_BELOW = {"orientation": "h", "y": -0.22, "yanchor": "top", "x": 0.0}


def _times_of(states: torch.Tensor) -> np.ndarray:
    """The times of ``states`` (n_times, batch, dim): equally spaced on [0, 1]."""
    return np.linspace(0.0, 1.0, states.shape[0])


def crossing_traces(
    states: torch.Tensor,
    problem: ProblemData,
    *,
    axis: str = "",
    show_legend: bool = True,
    discrete: bool = False,
) -> list[go.Scatter]:
    """Traces of one model on the crossing map: for each input, the first coordinate
    ``h_1(t)`` of its trajectory (a line; with ``discrete`` lines and markers, for a
    ResNet's hidden states), then the targets ``g(x)`` at ``t = 1`` (crosses).

    ``states``: (n_times, batch, state_dim) on equally spaced times from 0 to 1;
    ``axis``: ``""`` for the first subplot, ``"2"`` for the second, ...
    """
    times = _times_of(states)
    traces = []
    for i, (x, target) in enumerate(
        zip(problem.inputs[:, 0].tolist(), problem.targets[:, 0].tolist(), strict=True)
    ):
        traces.append(
            go.Scatter(
                x=times,
                y=states[:, i, 0].tolist(),
                mode="lines+markers" if discrete else "lines",
                line={"color": TARGET_COLOURS[target], "width": 3},
                marker={"symbol": TARGET_SYMBOLS[target], "size": 7},
                name=f"h₁(t) from x = {x:g}",
                legendgroup=f"x{i}",
                showlegend=show_legend,
                xaxis=f"x{axis}",
                yaxis=f"y{axis}",
            )
        )
    traces.append(
        go.Scatter(
            x=[1.0] * len(problem),
            y=problem.targets[:, 0].tolist(),
            mode="markers",
            marker={"symbol": "x", "size": 12, "color": "black"},
            name="target g(x) at t = 1",
            legendgroup="target",
            showlegend=show_legend,
            xaxis=f"x{axis}",
            yaxis=f"y{axis}",
        )
    )
    return traces


def _panel_layout(fig: go.Figure, n: int, y_title: str) -> None:
    for k in range(1, n + 1):
        fig.update_xaxes(title_text="t (depth)", range=[-0.02, 1.02], row=1, col=k)
    fig.update_yaxes(title_text=y_title, row=1, col=1)


def crossing_figure(models: dict[str, NeuralODE | ResNet], problem: ProblemData) -> go.Figure:
    """One panel per model: trajectories ``h_1(t)`` of the crossing map's two inputs."""
    if not models:
        raise ValueError("crossing_figure needs at least one model, got none")
    fig = make_subplots(
        rows=1, cols=len(models), subplot_titles=list(models), shared_yaxes=True,
        horizontal_spacing=0.04,
    )  # fmt: skip
    for k, model in enumerate(models.values()):
        states = states_over_time(model, problem.inputs)
        axis = "" if k == 0 else str(k + 1)
        fig.add_traces(
            crossing_traces(
                states,
                problem,
                axis=axis,
                show_legend=k == 0,
                discrete=isinstance(model, ResNet),
            )  # fmt: skip
        )
    _panel_layout(fig, len(models), "first coordinate h₁")
    fig.update_layout(
        title="The crossing map g(−1) = 1, g(1) = −1: trajectories over time",
        height=460,
        legend=_LEGEND_BELOW,
    )
    return fig


def untangling_figure(
    snapshots: dict[str, list[tuple[int, torch.Tensor]]], problem: ProblemData
) -> go.Figure:
    """A slider over training iterations: each model's crossing-map trajectories then.

    ``snapshots``: model name -> :attr:`TrainingRecord.snapshots` (the same iterations for
    every model, e.g. from :func:`nodelib.augmented.fit` with one ``snapshot_every``).
    """
    if not snapshots:
        raise ValueError("untangling_figure needs the snapshots of at least one model")
    names = list(snapshots)
    iterations = [[it for it, _ in snapshots[name]] for name in names]
    if any(its != iterations[0] for its in iterations):
        raise ValueError(
            "every model needs snapshots at the same iterations, got "
            f"{dict(zip(names, iterations, strict=True))}"
        )
    frames = []
    for s, _iteration in enumerate(iterations[0]):
        traces = []
        for k, name in enumerate(names):
            states = snapshots[name][s][1]
            traces += crossing_traces(
                states, problem, axis="" if k == 0 else str(k + 1), show_legend=k == 0
            )
        frames.append(traces)
    base = make_subplots(
        rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True, horizontal_spacing=0.04
    )
    _panel_layout(base, len(names), "first coordinate h₁")
    every = np.concatenate(
        [snap[1][..., 0].numpy().ravel() for n in names for snap in snapshots[n]]
    )
    low, high = min(float(every.min()), -1.0), max(float(every.max()), 1.0)
    base.update_yaxes(range=[low - 0.1, high + 0.1])
    base.update_layout(
        title="Training untangles the augmented trajectories (slider: iteration)",
        height=560,
        legend={"orientation": "h", "y": -0.55, "yanchor": "top", "x": 0.0},  # below the slider
        margin={"b": 170},
    )
    return slider_figure(
        frames,
        [str(it) for it in iterations[0]],
        slider_label="iteration",
        layout=base.layout,
        play_button=True,
        frame_duration_ms=500,
    )


def crossing_phase_figure(model: NeuralODE, problem: ProblemData) -> go.Figure:
    """The crossing map's trajectories in the plane of the first two state coordinates
    ``(h_1, a_1)`` of an augmented Neural ODE (1-D inputs, ``augment_dim >= 1``): start
    ``(x, 0)`` (circles), end at ``t = 1`` (diamonds), targets on the line ``a_1 = 0``."""
    if not isinstance(model, NeuralODE) or model.data_dim != 1 or model.augment_dim < 1:
        raise ValueError(
            "crossing_phase_figure needs a NeuralODE with 1-D inputs and augment_dim >= 1, "
            f"got {type(model).__name__} with augment_dim={getattr(model, 'augment_dim', None)}"
        )
    states = states_over_time(model, problem.inputs)
    traces = []
    for i, (x, target) in enumerate(
        zip(problem.inputs[:, 0].tolist(), problem.targets[:, 0].tolist(), strict=True)
    ):
        colour = TARGET_COLOURS[target]
        traces.append(
            go.Scatter(
                x=states[:, i, 0].tolist(),
                y=states[:, i, 1].tolist(),
                mode="lines",
                line={"color": colour, "width": 3},
                name=f"trajectory from x = {x:g}",
            )  # fmt: skip
        )
        traces.append(
            go.Scatter(
                x=[states[0, i, 0].item(), states[-1, i, 0].item()],
                y=[states[0, i, 1].item(), states[-1, i, 1].item()],
                mode="markers",
                marker={"color": colour, "symbol": ["circle", "diamond"], "size": 11},
                name=f"start and end from x = {x:g}",
                showlegend=False,
            )  # fmt: skip
        )
    low, high = float(states[..., 1].min()) - 0.3, float(states[..., 1].max()) + 0.3
    target_x, target_y = [], []
    for target in problem.targets[:, 0].tolist():  # only h_1 is read out: a_1 may end anywhere
        target_x += [target, target, None]
        target_y += [low, high, None]
    traces.append(
        go.Scatter(
            x=target_x,
            y=target_y,
            mode="lines",
            line={"color": "black", "dash": "dot"},
            name="targets: h₁(1) = g(x), any a₁",
        )  # fmt: skip
    )
    fig = go.Figure(traces)
    fig.update_layout(
        title="Augmented Neural ODE on the crossing map: the paths go around each other",
        xaxis_title="h₁ (the data coordinate, read out at t = 1)",
        yaxis_title="a₁ (the extra coordinate, 0 at t = 0)",
        yaxis_scaleanchor="x",
        height=460,
        legend=_LEGEND_BELOW,
    )
    return fig


def _grid(extent: float, n: int) -> tuple[np.ndarray, torch.Tensor]:
    axis = np.linspace(-extent, extent, n)
    xx, yy = np.meshgrid(axis, axis)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], axis=1), dtype=torch.float32)
    return axis, points


def decision_boundary_figure(
    models: dict[str, NeuralODE | ResNet],
    problem: ProblemData,
    *,
    extent: float = 1.8,
    n_grid: int = 61,
) -> go.Figure:
    """One panel per model: its output over ``[-extent, extent]²`` (a heat map, clipped to
    [-1.5, 1.5]; the label is the sign, the boundary is the white contour of 0) and the
    training points. ``problem``: a 2-D classification problem such as the annuli."""
    if not models:
        raise ValueError("decision_boundary_figure needs at least one model, got none")
    if problem.data_dim != 2:
        raise ValueError(f"decision boundaries are drawn in 2-D, got data_dim={problem.data_dim}")
    if not (isinstance(n_grid, numbers.Integral) and n_grid >= 2):
        raise ValueError(f"n_grid must be an integer >= 2, got {n_grid!r}")
    axis, points = _grid(extent, int(n_grid))
    fig = make_subplots(rows=1, cols=len(models), subplot_titles=list(models))
    for k, model in enumerate(models.values()):
        with torch.no_grad():
            values = model(points.to(problem.inputs.dtype))[:, 0].reshape(len(axis), len(axis))
        fig.add_trace(
            go.Contour(
                x=axis,
                y=axis,
                z=values.clamp(-1.5, 1.5).numpy(),
                colorscale="RdBu",
                zmin=-1.5,
                zmax=1.5,
                contours={"start": -1.5, "end": 1.5, "size": 0.25},
                line={"width": 0},
                showscale=k == 0,
                colorbar={"title": "output"},
                name="model output",
                showlegend=False,
            ),
            row=1,
            col=k + 1,
        )
        fig.add_trace(
            go.Contour(
                x=axis,
                y=axis,
                z=values.numpy(),
                contours={"start": 0, "end": 0, "size": 1, "coloring": "none"},
                line={"color": "white", "width": 3},
                showscale=False,
                name="decision boundary (output 0)",
                showlegend=False,
            ),
            row=1,
            col=k + 1,
        )
        for target in (-1.0, 1.0):
            chosen = problem.targets[:, 0] == target
            fig.add_trace(
                go.Scatter(
                    x=problem.inputs[chosen, 0].tolist(),
                    y=problem.inputs[chosen, 1].tolist(),
                    mode="markers",
                    marker={
                        "color": TARGET_COLOURS[target],
                        "symbol": TARGET_SYMBOLS[target],
                        "size": 5,
                        "line": {"color": "white", "width": 0.5},
                    },
                    name=f"label {target:+g}",
                    legendgroup=f"label{target}",
                    showlegend=k == 0,
                ),
                row=1,
                col=k + 1,
            )
        fig.update_xaxes(title_text="x₁", range=[-extent, extent], row=1, col=k + 1)
        fig.update_yaxes(
            title_text="x₂" if k == 0 else None,
            range=[-extent, extent],
            scaleanchor=f"x{'' if k == 0 else k + 1}",
            row=1,
            col=k + 1,
        )
    fig.update_layout(
        title="Annuli: each model's output over the input plane (white: decision boundary)",
        height=460,
        legend=_LEGEND_BELOW,
    )
    return fig


def trajectories_3d_figure(
    model: NeuralODE, problem: ProblemData, *, n_show: int = 80, n_times: int = 31
) -> go.Figure:
    """The trajectories of ``n_show`` annuli points in the model's first three state
    coordinates ``(h_1, h_2, a_1)``, from the plane ``a_1 = 0`` (circles) to ``t = 1``
    (diamonds), and the plane where a linear read-out ``w·h + b`` is zero.

    ``model``: an augmented Neural ODE on 2-D inputs (state dimension 3 or more; with more,
    the remaining coordinates are not drawn, and the plane is drawn with them at 0).
    """
    if not isinstance(model, NeuralODE) or model.state_dim < 3 or model.data_dim != 2:
        raise ValueError(
            "trajectories_3d_figure needs a NeuralODE with 2-D inputs and at least one extra "
            f"dimension, got {type(model).__name__} with state_dim="
            f"{getattr(model, 'state_dim', None)}"
        )
    if not (isinstance(n_show, numbers.Integral) and n_show >= 1):
        raise ValueError(f"n_show must be a positive integer, got {n_show!r}")
    # every k-th point, so both classes (inner first, outer last) are drawn
    chosen = torch.arange(0, len(problem), max(1, len(problem) // int(n_show)))
    x, targets = problem.inputs[chosen], problem.targets[chosen, 0]
    states = states_over_time(model, x, n_times)[..., :3]  # (n_times, n, 3)
    traces = []
    for target in (-1.0, 1.0):
        xs, ys, zs = [], [], []
        for i in torch.nonzero(targets == target)[:, 0].tolist():
            path = states[:, i]
            xs += path[:, 0].tolist() + [None]
            ys += path[:, 1].tolist() + [None]
            zs += path[:, 2].tolist() + [None]
        name = "disk (label −1)" if target < 0 else "annulus (label +1)"
        traces.append(
            go.Scatter3d(
                x=xs,
                y=ys,
                z=zs,
                mode="lines",
                name=f"trajectories, {name}",
                line={"color": TARGET_COLOURS[target], "width": 3},
            )  # fmt: skip
        )
        end = states[-1, targets == target]
        traces.append(
            go.Scatter3d(
                x=end[:, 0].tolist(),
                y=end[:, 1].tolist(),
                z=end[:, 2].tolist(),
                mode="markers",
                name=f"h(1), {name}",
                marker={"color": TARGET_COLOURS[target], "symbol": "diamond", "size": 4},
            )  # fmt: skip
        )
    readout = model.readout.linear
    if readout is not None and abs(float(readout.weight[0, 2].detach())) > 1e-6:
        w = readout.weight[0].detach().numpy()
        b = float(readout.bias[0].detach())
        low = states[..., :2].reshape(-1, 2).min(dim=0).values.numpy()
        high = states[..., :2].reshape(-1, 2).max(dim=0).values.numpy()
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], 10), np.linspace(low[1], high[1], 10))
        gz = -(w[0] * gx + w[1] * gy + b) / w[2]
        z_low, z_high = float(states[..., 2].min()), float(states[..., 2].max())
        gz = np.where((gz >= z_low - 0.5) & (gz <= z_high + 0.5), gz, np.nan)
        traces.append(
            go.Surface(
                x=gx,
                y=gy,
                z=gz,
                opacity=0.35,
                showscale=False,
                name="read-out = 0",
                colorscale=[[0, "gray"], [1, "gray"]],
                showlegend=True,
            )  # fmt: skip
        )
    fig = go.Figure(traces)
    fig.update_layout(
        title="Augmented Neural ODE: trajectories in (h₁, h₂, a₁) lift the disk out of the ring",
        scene={"xaxis_title": "h₁", "yaxis_title": "h₂", "zaxis_title": "a₁ (extra)"},
        height=560,
        legend={"orientation": "h", "y": -0.05},
    )
    return fig


def training_figure(records: dict[str, TrainingRecord], *, title: str = "") -> go.Figure:
    """Two panels: the loss (log scale) and the NFE of each iteration's forward solve.

    ``records``: model name -> :class:`TrainingRecord`; ResNets (no NFE) appear only in the
    loss panel.
    """
    if not records:
        raise ValueError("training_figure needs at least one record, got none")
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["training loss (MSE)", "NFE of each forward solve"],
    )
    palette = [OKABE_ITO[name] for name in ("vermillion", "blue", "bluish green", "reddish purple")]
    for k, (name, record) in enumerate(records.items()):
        colour = palette[k % len(palette)]
        iterations = np.arange(1, len(record.losses) + 1)
        fig.add_trace(
            go.Scatter(
                x=iterations,
                y=record.losses,
                mode="lines",
                name=name,
                line={"color": colour},
                legendgroup=name,
            ),  # fmt: skip
            row=1,
            col=1,
        )
        if record.nfe:
            fig.add_trace(
                go.Scatter(
                    x=iterations,
                    y=record.nfe,
                    mode="lines",
                    name=name,
                    line={"color": colour},
                    legendgroup=name,
                    showlegend=False,
                ),  # fmt: skip
                row=1,
                col=2,
            )
    fig.update_yaxes(type="log", title_text="MSE", row=1, col=1)
    fig.update_yaxes(title_text="NFE", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title_text="iteration", row=1, col=1)
    fig.update_xaxes(title_text="iteration", row=1, col=2)
    fig.update_layout(
        title=title or "Training: loss and cost of the forward solve",
        height=440,
        legend=_LEGEND_BELOW,
    )
    return fig
