"""Figures of chapter 8 (ODE-Net vs ResNet vs CNN) and chapter 9 (conclusion).

Every function returns a plotly figure; the notebook shows it with
:func:`nodelib.viz.show`.
"""

from __future__ import annotations

import html
import statistics

import plotly.graph_objects as go
import torch

from nodelib.viz import OKABE_ITO, slider_figure

#: One colour per model, used by every figure of the chapter.
COLOURS = {
    "odenet": OKABE_ITO["blue"],
    "resnet": OKABE_ITO["vermillion"],
    "cnn": OKABE_ITO["bluish green"],
    "source_odenet": "#7f7f7f",
    "chen_odenet": OKABE_ITO["reddish purple"],
    "resnet_shared": OKABE_ITO["orange"],
}

#: One marker per model, so the lines stay apart without colour too.
MARKERS = {
    "odenet": "circle", "chen_odenet": "diamond", "resnet": "square",
    "resnet_shared": "triangle-up", "cnn": "x", "source_odenet": "star",
}  # fmt: skip


def architecture_figure(channels: int = 64, residual_blocks: int = 4, pooled: int = 3) -> go.Figure:
    """A flow chart of the three models: one row per model, one box per block."""
    shared_in = [
        ("image<br>1×28×28", "#eeeeee"),
        (
            f"downsampling<br>2 strided 4×4 convs<br>+ GroupNorm + ReLU<br>→ {channels}×7×7",
            "#fde0c5",
        ),
    ]
    shared_out = [
        (f"average pool<br>→ {channels}×{pooled}×{pooled}<br>+ linear", "#fde0c5"),
        ("10 logits<br>softmax in the loss", "#eeeeee"),
    ]
    middles = {
        "odenet": ("ODE block<br>dh/dt = f(h)<br>solved t = 0 → 1<br>(f: conv-ReLU-conv)",
                   "#c6dbef"),
        "resnet": (f"{residual_blocks} residual blocks<br>h ← h + f<sub>k</sub>(h)<br>"
                   "(each f<sub>k</sub>: its own weights)", "#fcbba1"),
        "cnn": ("(no middle block)", "#ffffff"),
    }  # fmt: skip
    fig = go.Figure()
    width, gap = 1.15, 0.3
    for row, (name, middle) in enumerate(middles.items()):
        y = -row * 1.4
        boxes = [*shared_in, middle, *shared_out]
        for col, (text, colour) in enumerate(boxes):
            x0 = col * (width + gap)
            fig.add_shape(
                type="rect", x0=x0, x1=x0 + width, y0=y - 0.5, y1=y + 0.5,
                fillcolor=colour, line={"color": COLOURS[name] if col == 2 else "#555"},
            )  # fmt: skip
            fig.add_annotation(x=x0 + width / 2, y=y, text=text, showarrow=False, font={"size": 9})
            if col > 0:
                fig.add_annotation(
                    x=x0, y=y, ax=x0 - gap, ay=y, xref="x", yref="y", axref="x", ayref="y",
                    text="", showarrow=True, arrowhead=2, arrowwidth=1.5,
                )  # fmt: skip
        fig.add_annotation(
            x=-0.15, y=y, text=f"<b>{name}</b>", showarrow=False, xanchor="right",
            font={"color": COLOURS[name]},
        )  # fmt: skip
    fig.update_xaxes(visible=False, range=[-1.0, 5 * (width + gap)])
    fig.update_yaxes(visible=False, range=[-3.4, 0.7])
    fig.update_layout(
        title="Three models from the same parts: only the middle block differs",
        height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10}, plot_bgcolor="white",
    )  # fmt: skip
    return fig


def nfe_figure(steps, forward, backward, *, title: str) -> go.Figure:
    """Function evaluations per training step (forward and backward) against the step."""
    fig = go.Figure()
    fig.add_scatter(x=steps, y=forward, mode="lines+markers", name="forward NFE")
    fig.add_scatter(
        x=steps, y=backward, mode="lines+markers", name="backward NFE", line={"dash": "dash"}
    )
    fig.update_layout(
        title=title, xaxis_title="training step", yaxis_title="function evaluations", height=380
    )
    return fig


def loss_figure(steps, losses) -> go.Figure:
    """Training loss per step."""
    fig = go.Figure(go.Scatter(x=steps, y=losses, mode="lines", name="training loss"))
    fig.update_layout(
        title="Training loss of the ODE-Net", xaxis_title="training step",
        yaxis_title="cross-entropy", height=340,
    )  # fmt: skip
    return fig


def feature_flow_figure(times, features: torch.Tensor, channels: int = 8) -> go.Figure:
    """A slider over t showing the first ``channels`` feature maps h(t) of one image.

    features: (len(times), C, H, W) for one image; the maps are laid side by side
    (two rows) into one heat map per time, on one colour scale for all times.
    """
    maps = features[:, :channels].detach()
    frames_count, c, h, w = maps.shape
    rows = 2
    per_row = -(-c // rows)
    mosaic = torch.full((frames_count, rows * (h + 1) - 1, per_row * (w + 1) - 1), float("nan"))
    for k in range(c):
        r, q = divmod(k, per_row)
        mosaic[:, r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[:, k]
    low, high = float(maps.min()), float(maps.max())

    def rows_with_gaps(image: torch.Tensor) -> list[list[float | None]]:
        # NaN marks the gaps between maps; plotly wants None there (NaN is not valid JSON).
        return [[None if v != v else v for v in row] for row in image.flip(0).tolist()]

    frames = [
        [go.Heatmap(z=rows_with_gaps(m), zmin=low, zmax=high, colorscale="RdBu_r")] for m in mosaic
    ]
    labels = [f"{float(t):.2f}" for t in times]
    fig = slider_figure(
        frames, labels, slider_label="t", play_button=True,
        layout={
            "title": f"h(t) inside the ODE block: {c} of the feature maps of one test image",
            "height": 420, "xaxis": {"visible": False}, "yaxis": {"visible": False},
        },
    )  # fmt: skip
    return fig


def memory_figure(depths, rows: dict[str, list[float]], batch_size: int) -> go.Figure:
    """Bytes autograd keeps per batch against depth (steps or blocks), one line per method."""
    fig = go.Figure()
    for name, values in rows.items():
        fig.add_scatter(x=depths, y=[v / 2**20 for v in values], mode="lines+markers", name=name)
    fig.update_layout(
        title=f"Memory kept for the backward pass, batch of {batch_size}",
        xaxis_title="depth: solver steps (ODE-Net) or residual blocks (ResNet)",
        yaxis_title="MiB", xaxis_type="log", height=380,
    )  # fmt: skip
    return fig


def accuracy_figure(results: list[dict]) -> go.Figure:
    """Test accuracy after every epoch, one line per results file."""
    fig = go.Figure()
    for r in results:
        history = r["history"]
        fig.add_scatter(
            x=[h["epoch"] for h in history], y=[100 * h["test_accuracy"] for h in history],
            mode="lines+markers", name=f"{r['model']} ({r['dataset']})",
            line={"color": COLOURS.get(r["model"])},
        )  # fmt: skip
    fig.update_layout(
        title="Test accuracy per epoch (committed results files)",
        xaxis_title="epoch", yaxis_title="test accuracy (%)", height=380,
    )  # fmt: skip
    return fig


def accuracy_time_figure(found: dict[str, list[dict]]) -> go.Figure:
    """Test accuracy against training time, one line per model (mean over its seeds).

    found: ``{model: [result, ...]}`` (:func:`nodelib.experiments.suite.load_suite`). Each
    point is the end of an epoch; error bars show the standard deviation over seeds.
    """
    from nodelib.experiments.comparison import accuracy_curve
    from nodelib.odenet import MODEL_LABELS

    fig = go.Figure()
    for model, runs in found.items():
        curves = [accuracy_curve(run) for run in runs]
        epochs = min(len(c[0]) for c in curves)
        minutes = [sum(c[0][e] for c in curves) / len(curves) / 60 for e in range(epochs)]
        accuracy = [[100 * c[1][e] for c in curves] for e in range(epochs)]
        mean = [statistics.fmean(a) for a in accuracy]
        spread = [statistics.stdev(a) if len(a) > 1 else 0.0 for a in accuracy]
        fig.add_scatter(
            x=minutes, y=mean, mode="lines+markers",
            name=f"{MODEL_LABELS.get(model, model)} ({len(runs)} seed{'s' * (len(runs) > 1)})",
            line={"color": COLOURS.get(model)},
            marker={"symbol": MARKERS.get(model, "circle"), "size": 9},
            error_y={"type": "data", "array": spread, "visible": len(runs) > 1},
        )  # fmt: skip
    fig.update_layout(
        title="Test accuracy against training time (end of each epoch)",
        xaxis_title="training time (minutes, one CPU thread)", xaxis_type="log",
        yaxis_title="test accuracy (%)", height=440, legend={"font": {"size": 11}},
    )  # fmt: skip
    return fig


def nfe_curve_figure(result: dict, chunk: int) -> go.Figure:
    """Evaluations of the dynamics per training batch over a whole run, forward and backward.

    result: one results file whose epochs carry ``nfe_forward_curve`` and
    ``nfe_backward_curve`` (means over ``chunk`` batches).
    """
    forward = [x for h in result["history"] for x in h.get("nfe_forward_curve", [])]
    backward = [x for h in result["history"] for x in h.get("nfe_backward_curve", [])]
    batches_per_epoch = len(result["history"][0].get("nfe_forward_curve", [])) or 1
    epochs = [(i + 0.5) / batches_per_epoch for i in range(len(forward))]
    fig = go.Figure()
    fig.add_scatter(
        x=epochs, y=forward, mode="lines", name="forward (solve)",
        line={"color": OKABE_ITO["blue"], "width": 3},
    )  # fmt: skip
    fig.add_scatter(
        x=epochs, y=backward, mode="lines", name="backward (adjoint solve)",
        line={"color": OKABE_ITO["vermillion"], "width": 2, "dash": "dash"},
    )  # fmt: skip
    fig.update_layout(
        title=f"Evaluations of f per batch while training ({result['model']}, "
        f"mean over {chunk} batches)",
        xaxis_title="epoch", yaxis_title="evaluations of f per batch", height=380,
    )  # fmt: skip
    return fig


def html_table(header: list[str], rows: list[list]) -> str:
    """An HTML table (display it with ``IPython.display.HTML``); cell text is escaped.

    HTML rather than Markdown: it renders the same in JupyterLab, Colab and the book.
    """

    def cells(values, tag: str) -> str:
        return "".join(f"<{tag}>{html.escape(str(v))}</{tag}>" for v in values)

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table><thead><tr>{cells(header, 'th')}</tr></thead><tbody>{body}</tbody></table>"
