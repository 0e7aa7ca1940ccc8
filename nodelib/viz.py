"""Figures: one way to show a plotly figure everywhere the course is read.

Jupyter Book 1 cannot render plotly's own output type, so :func:`show` sends
each figure twice in one output: as plotly's JSON (drawn by JupyterLab, VS Code
and Binder) and as an HTML ``<div>`` that calls the ``Plotly`` library the book
serves itself (drawn in the static book, with no network). On Google Colab it
uses plotly's Colab renderer instead.
"""

from __future__ import annotations

import html
import sys
import uuid

import plotly.graph_objects as go

#: Plotly settings shared by every figure of the course.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def _on_colab() -> bool:
    return "google.colab" in sys.modules


def figure_label(fig: go.Figure) -> str:
    """A short name of ``fig`` for screen readers: its title, else its axis titles."""
    title = fig.layout.title.text
    if title:
        return html.escape(str(title), quote=True)
    axes = [fig.layout.xaxis.title.text, fig.layout.yaxis.title.text]
    axes = [str(a) for a in axes if a]
    if axes:
        return html.escape("interactive figure: " + " against ".join(reversed(axes)), quote=True)
    return "interactive figure"


def figure_html(fig: go.Figure) -> str:
    """The ``<div>`` that draws ``fig`` on a page that has already loaded plotly.js.

    The figure sits in a ``role="figure"`` element labelled by :func:`figure_label`,
    so screen readers announce it rather than skipping an unnamed drawing.
    """
    plot = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        auto_play=False,  # a slider figure starts on its first frame, as the reader expects
        div_id=f"nodelib-{uuid.uuid4().hex[:12]}",
        config=PLOTLY_CONFIG,
    )
    return f'<div role="figure" aria-label="{figure_label(fig)}">{plot}</div>'


def show(fig: go.Figure) -> None:
    """Display ``fig`` so it survives into the HTML book, JupyterLab and Colab."""
    if not isinstance(fig, go.Figure):
        raise TypeError(
            f"show expects a plotly.graph_objects.Figure, got {type(fig).__name__}; "
            "build one with plotly.graph_objects or plotly.express"
        )
    from IPython.display import display

    if _on_colab():
        fig.show(renderer="colab")
        return
    display(figure_bundle(fig), raw=True)


def figure_bundle(fig: go.Figure) -> dict:
    """The output :func:`show` sends: plotly's JSON and the HTML ``<div>``, by mimetype."""
    return {
        "application/vnd.plotly.v1+json": fig.to_plotly_json() | {"config": PLOTLY_CONFIG},
        "text/html": figure_html(fig),
    }


def show_in(output, fig: go.Figure) -> None:
    """Replace what the ipywidgets ``Output`` widget ``output`` shows by ``fig``.

    Widgets call this on every change of a control. Setting ``output.outputs``
    directly needs no capture of display messages by the front-end; capturing
    (``with output: show(fig)``) sometimes left headless notebook runs (nbclient,
    nbmake) waiting until their timeout. On Colab, whose front-end draws plotly
    only through its own renderer, the capture is used.
    """
    if not isinstance(fig, go.Figure):
        raise TypeError(f"show_in expects a plotly Figure, got {type(fig).__name__}")
    if _on_colab():
        output.clear_output(wait=True)
        with output:
            show(fig)
        return
    output.outputs = ({"output_type": "display_data", "data": figure_bundle(fig), "metadata": {}},)


def slider_figure(
    frames: list[list[go.BaseTraceType]],
    labels: list[str],
    *,
    slider_label: str,
    layout: dict | None = None,
    play_button: bool = False,
    frame_duration_ms: int = 300,
) -> go.Figure:
    """A figure whose traces change with a slider: the static stand-in of a widget.

    ``frames[k]`` holds the traces drawn when the slider stands at ``labels[k]``;
    every frame has the same number of traces, in the same order, so plotly can
    swap them in place. With ``play_button`` the figure also gets Play/Pause
    buttons that run through the frames (an animation computed when the
    notebook runs, so the HTML book needs no kernel).
    """
    if not frames:
        raise ValueError("slider_figure needs at least one frame, got none")
    if len(frames) != len(labels):
        raise ValueError(
            f"slider_figure got {len(frames)} frames but {len(labels)} labels; give one label "
            "per frame"
        )
    counts = {len(traces) for traces in frames}
    if len(counts) != 1:
        raise ValueError(
            f"every frame must hold the same number of traces, got counts {sorted(counts)}"
        )

    fig = go.Figure(data=frames[0], layout=layout or {})
    fig.frames = [
        go.Frame(data=traces, name=str(label)) for traces, label in zip(frames, labels, strict=True)
    ]
    step_args = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}
    steps = [
        {"method": "animate", "label": str(label), "args": [[str(label)], step_args]}
        for label in labels
    ]
    fig.update_layout(
        sliders=[
            {
                "active": 0,
                "currentvalue": {"prefix": f"{slider_label}: "},
                "pad": {"t": 50},
                "steps": steps,
            }
        ]
    )
    if play_button:
        play = {
            "frame": {"duration": frame_duration_ms, "redraw": True},
            "fromcurrent": True,
            "transition": {"duration": 0},
        }
        pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}
        fig.update_layout(
            updatemenus=[
                {
                    "type": "buttons",
                    "direction": "left",
                    "x": 0.0,
                    "y": -0.05,
                    "xanchor": "right",
                    "yanchor": "top",
                    "buttons": [
                        {"label": "Play", "method": "animate", "args": [None, play]},
                        {"label": "Pause", "method": "animate", "args": [[None], pause]},
                    ],
                }
            ]
        )
    return fig
