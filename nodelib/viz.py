"""Figures: one way to show a plotly figure everywhere the course is read.

Jupyter Book 1 cannot render plotly's own output type, so :func:`show` sends
each figure twice in one output: as plotly's JSON (drawn by JupyterLab, VS Code
and Binder) and as an HTML ``<div>`` that calls the ``Plotly`` library the book
serves itself (drawn in the static book, with no network). On Google Colab it
uses plotly's Colab renderer instead.

Every figure is announced to screen readers by name (:func:`figure_label`) and
described in words (:func:`figure_description`), and drawn with one colour
palette that stays distinguishable under the common colour-vision deficiencies
(:data:`PALETTE`).
"""

from __future__ import annotations

import html
import re
import sys
import uuid

import plotly.graph_objects as go

#: Plotly settings shared by every figure of the course.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

#: The course's colours: Okabe & Ito's palette ("Color Universal Design", 2008), eight
#: colours that stay apart under protanopia, deuteranopia and tritanopia, unlike plotly's
#: default red/green pairs. Figure modules take their colours from here, by name.
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}

#: The order in which traces without a colour of their own take the palette's colours
#: (plotly's ``layout.colorway``); yellow, faint on white, comes last.
PALETTE = list(OKABE_ITO.values())

#: The colour scale for signed values (red < 0 < blue): ColorBrewer's RdBu, whose two ends stay
#: apart for red-green deficiencies, unlike red-green scales. (For unsigned values, plotly's
#: perceptually uniform "Viridis" serves every reader.)
DIVERGING_COLORSCALE = "RdBu"

#: Longest figure description read out by a screen reader (characters).
DESCRIPTION_LENGTH = 600


def _on_colab() -> bool:
    return "google.colab" in sys.modules


def plain_text(text) -> str:
    """``text`` without plotly's HTML tags (``<br>``, ``<b>``, ``<sub>`` ...), on one line."""
    text = re.sub(r"<br\s*/?>", " ", str(text), flags=re.IGNORECASE)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def _axis_titles(fig: go.Figure) -> list[tuple[str, str]]:
    """(axis name, title) of every titled axis, x axes first: e.g. ``[("x", "t"), ("y", "h")]``."""
    titled = []
    layout = fig.layout.to_plotly_json()
    for key in sorted(layout, key=lambda k: (k[0], len(k), k)):
        if re.fullmatch(r"[xy]axis\d*", key):
            title = (layout[key].get("title") or {}).get("text")
            if title:
                titled.append((key[0] + key[5:], plain_text(title)))
    return titled


def _panel_titles(fig: go.Figure) -> list[str]:
    """The texts placed on the figure as a whole (``xref = yref = 'paper'``): panel titles."""
    return [
        plain_text(a.text)
        for a in fig.layout.annotations or ()
        if a.text and a.xref == "paper" and a.yref == "paper"
    ]


def figure_label(fig: go.Figure) -> str:
    """A short name of ``fig`` for screen readers: its title, else its panels' or axes' titles.

    Plain text with HTML special characters escaped, ready for an attribute.
    """
    title = fig.layout.title.text
    if title:
        return html.escape(plain_text(title), quote=True)
    panels = _panel_titles(fig)
    if panels:
        return html.escape("interactive figure: " + "; ".join(panels), quote=True)
    titles = _axis_titles(fig)
    first_x = [title for axis, title in titles if axis.startswith("x")][:1]
    first_y = [title for axis, title in titles if axis.startswith("y")][:1]
    if first_x or first_y:
        axes = " against ".join(first_y + first_x)  # "error against step size"
        return html.escape("interactive figure: " + axes, quote=True)
    return "interactive figure"


def _trace_kind(trace) -> str:
    """A reader's word for one trace: 'line', 'points', 'heatmap', 'bar chart' ..."""
    if trace.type in ("scatter", "scattergl"):
        mode = trace.mode or "lines"
        return "line" if "lines" in mode else "points" if "markers" in mode else "text"
    return {"bar": "bar chart", "histogram": "histogram", "contour": "contour map"}.get(
        trace.type, trace.type
    )


def figure_description(fig: go.Figure) -> str:
    """What ``fig`` shows, in words, for screen readers: its panels, traces, axes and controls.

    Built from the figure itself, so it always matches what is drawn; plain text (not
    escaped), at most :data:`DESCRIPTION_LENGTH` characters.
    """
    parts = []
    traces = list(fig.data)
    if traces:
        shown = []
        for trace in traces:
            name = plain_text(trace.name) if trace.name else ""
            shown.append(f"{_trace_kind(trace)} {name}".strip())
        parts.append(f"{len(traces)} trace{'s' * (len(traces) != 1)}: " + ", ".join(shown) + ".")
    panels = _panel_titles(fig)
    if panels:
        parts.append("Panels: " + "; ".join(panels) + ".")
    axes = _axis_titles(fig)
    if axes:
        parts.append("Axes: " + "; ".join(f"{title} ({axis} axis)" for axis, title in axes) + ".")
    for slider in fig.layout.sliders or ():
        labels = [step.label for step in slider.steps or ()]
        name = plain_text((slider.currentvalue.prefix or "").rstrip(": ")) or "frame"
        if labels:
            parts.append(
                f"A slider sets {name} to one of {len(labels)} values, "
                f"from {plain_text(labels[0])} to {plain_text(labels[-1])}."
            )
    buttons = [b.label for menu in fig.layout.updatemenus or () for b in menu.buttons or ()]
    if buttons:
        parts.append("Buttons: " + ", ".join(plain_text(b) for b in buttons if b) + ".")
    text = " ".join(parts) or "An empty figure."
    if len(text) > DESCRIPTION_LENGTH:
        text = text[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0] + "…"
    return text


def with_course_style(fig: go.Figure) -> go.Figure:
    """``fig`` with traces that have no colour of their own taking :data:`PALETTE`'s colours.

    A copy when something changes (``fig`` itself is never modified), else ``fig``.
    """
    if fig.layout.colorway is not None:
        return fig
    return go.Figure(fig).update_layout(colorway=PALETTE)


def figure_html(fig: go.Figure) -> str:
    """The ``<div>`` that draws ``fig`` on a page that has already loaded plotly.js.

    The figure sits in a ``role="figure"`` element named by :func:`figure_label` and
    described by :func:`figure_description` (a ``hidden`` paragraph that screen readers
    read through ``aria-describedby``), so they announce what it shows rather than
    skipping an unnamed drawing.
    """
    div_id = f"nodelib-{uuid.uuid4().hex[:12]}"
    plot = with_course_style(fig).to_html(
        full_html=False,
        include_plotlyjs=False,
        auto_play=False,  # a slider figure starts on its first frame, as the reader expects
        div_id=div_id,
        config=PLOTLY_CONFIG,
    )
    description = html.escape(figure_description(fig), quote=False)
    return (
        f'<div role="figure" aria-label="{figure_label(fig)}" '
        f'aria-describedby="{div_id}-description">'
        f'<p id="{div_id}-description" hidden>{description}</p>{plot}</div>'
    )


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
    styled = with_course_style(fig)  # copied once, not once per format
    return {
        "application/vnd.plotly.v1+json": styled.to_plotly_json() | {"config": PLOTLY_CONFIG},
        "text/html": figure_html(styled),
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
