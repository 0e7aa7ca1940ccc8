"""Widgets of chapters 1 and 2: sliding a convolution, picking a kernel, pooling an image.

Each widget is a thin layer of ipywidgets controls over *pure figure functions*
that return plotly figures. The notebooks call the same figure functions to
build the static stand-ins (slider figures computed when the notebook runs),
and the tests call the widgets' callbacks and read the figure they leave in
``widget.figure``.

- :func:`convolution_explorer` / :func:`convolution_slider_figure`:
  ``(f*g)(t) = ∫ f(τ) g(t-τ) dτ`` as ``g`` flipped and slid over ``f``;
- :func:`kernel_picker` / :func:`kernel_picker_figure`: a 3x3 kernel applied to an image;
- :func:`pooling_explorer` / :func:`pooling_slider_figure`: max- or average-pooling an image.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch

from nodelib import conv
from nodelib.viz import DIVERGING_COLORSCALE, OKABE_ITO, show_in, slider_figure

# --- continuous convolution ------------------------------------------------------------------

#: Functions of one real variable to convolve, each zero far from the origin.
SIGNALS = {
    "box": lambda x: ((x >= 0) & (x <= 1)).astype(float),
    "triangle": lambda x: np.clip(1 - np.abs(x - 0.5) * 2, 0, None),
    "decaying exponential": lambda x: np.where(x >= 0, np.exp(-2 * np.clip(x, 0, None)), 0.0),
    "gaussian": lambda x: np.exp(-0.5 * ((x - 0.5) / 0.25) ** 2),
}

#: The τ axis on which functions are drawn and the integral is computed.
TAU = np.linspace(-3.0, 4.0, 701)


def _signal(name: str):
    if name not in SIGNALS:
        raise ValueError(f"unknown signal {name!r}; choose one of {list(SIGNALS)}")
    return SIGNALS[name]


def continuous_convolution(f: str, g: str, t_values) -> np.ndarray:
    """``(f*g)(t) = ∫ f(τ) g(t-τ) dτ`` for each ``t`` in ``t_values``, by the trapezoid rule on TAU.

    f, g: names from :data:`SIGNALS`. Returns an array shaped like ``t_values``.
    """
    f_values = _signal(f)(TAU)
    g_fn = _signal(g)
    t_values = np.asarray(t_values, dtype=float)
    return np.array(
        [np.trapezoid(f_values * g_fn(t - TAU), TAU) for t in t_values.ravel()]
    ).reshape(t_values.shape)


def _convolution_traces(f: str, g: str, t: float, t_grid: np.ndarray, conv_values: np.ndarray):
    """The five traces of one moment ``t``: f, the slid g, their product, (f*g) so far, a marker."""
    f_values = _signal(f)(TAU)
    g_slid = _signal(g)(t - TAU)
    so_far = t_grid <= t + 1e-12
    value_at_t = float(np.interp(t, t_grid, conv_values))
    return [
        go.Scatter(x=TAU, y=f_values, name="f(τ)", line={"color": OKABE_ITO["blue"]}),
        go.Scatter(x=TAU, y=g_slid, name="g(t−τ)", line={"color": OKABE_ITO["vermillion"]}),
        go.Scatter(
            x=TAU,
            y=f_values * g_slid,
            name="f(τ) g(t−τ)",
            fill="tozeroy",
            line={"color": OKABE_ITO["reddish purple"], "width": 1},
        ),
        go.Scatter(
            x=t_grid[so_far],
            y=conv_values[so_far],
            name="(f*g)(t)",
            line={"color": "black"},
            xaxis="x2",
            yaxis="y2",
        ),
        go.Scatter(
            x=[t],
            y=[value_at_t],
            name=f"(f*g)({t:.2f}) = {value_at_t:.3f}",
            mode="markers",
            marker={"color": "black", "size": 9},
            xaxis="x2",
            yaxis="y2",
        ),
    ]


def _convolution_layout(f: str, g: str, conv_values: np.ndarray) -> dict:
    top = max(SIGNALS[f](TAU).max(), SIGNALS[g](TAU).max()) * 1.15
    return {
        "title": f"Convolution of {f} (f) with {g} (g): the shaded area is (f*g)(t)",
        "xaxis": {"domain": [0, 1], "range": [TAU[0], TAU[-1]], "anchor": "y", "title": "τ"},
        "yaxis": {"domain": [0.45, 1], "range": [-0.05, top]},
        "xaxis2": {"domain": [0, 1], "range": [TAU[0], TAU[-1]], "anchor": "y2", "title": "t"},
        "yaxis2": {"domain": [0, 0.3], "range": [-0.05, max(conv_values.max() * 1.15, 0.1)]},
        "height": 520,
        "legend": {"orientation": "h", "y": 1.12},
    }


def convolution_figure(f: str = "box", g: str = "box", t: float = 0.5) -> go.Figure:
    """One moment of the sliding picture: f(τ), g(t−τ), their product and (f*g) up to ``t``."""
    t_grid = np.linspace(TAU[0], TAU[-1], 141)
    conv_values = continuous_convolution(f, g, t_grid)
    return go.Figure(
        _convolution_traces(f, g, t, t_grid, conv_values), _convolution_layout(f, g, conv_values)
    )


def convolution_slider_figure(f: str = "box", g: str = "box", t_values=None) -> go.Figure:
    """Static stand-in of :func:`convolution_explorer`: one slider frame per ``t`` (with Play)."""
    t_values = np.round(np.linspace(-1.5, 2.5, 33) if t_values is None else t_values, 3)
    t_grid = np.linspace(TAU[0], TAU[-1], 141)
    conv_values = continuous_convolution(f, g, t_grid)
    frames = [_convolution_traces(f, g, t, t_grid, conv_values) for t in t_values]
    return slider_figure(
        frames,
        [f"{t:.2f}" for t in t_values],
        slider_label="t",
        layout=_convolution_layout(f, g, conv_values),
        play_button=True,
    )


def convolution_explorer(f: str = "box", g: str = "box") -> widgets.VBox:
    """Choose f and g, slide t: the live version of :func:`convolution_slider_figure`.

    Returns a VBox; ``.controls`` holds the widgets (``f``, ``g``, ``t``),
    ``.figure`` the figure currently shown, ``.update()`` redraws it.
    """
    controls = {
        "f": widgets.Dropdown(
            options=list(SIGNALS), value=f, description="f", tooltip="the function f(τ)"
        ),
        "g": widgets.Dropdown(
            options=list(SIGNALS), value=g, description="g", tooltip="the function g, slid"
        ),
        "t": widgets.FloatSlider(
            value=0.5,
            min=-1.5,
            max=2.5,
            step=0.05,
            description="t",
            tooltip="the shift t of g(t−τ); arrow keys move it",
        ),
    }
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox([controls["f"], controls["g"]]), controls["t"], output])

    def update(_change=None):
        box.figure = convolution_figure(
            controls["f"].value, controls["g"].value, controls["t"].value
        )
        show_in(output, box.figure)

    for control in controls.values():
        control.observe(update, names="value")
    box.controls, box.update = controls, update
    update()
    return box


# --- kernels on an image ---------------------------------------------------------------------

#: 3x3 kernels, each a classic image filter.
KERNELS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "edge (Laplacian)": np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=float),
    "vertical edge (Sobel)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "horizontal edge (Sobel)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    "blur (box)": np.full((3, 3), 1 / 9),
    "blur (Gaussian)": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
}


def as_image(image) -> np.ndarray:
    """A grey image as a 2-D float array: accepts (h, w), (1, h, w) or (1, 1, h, w)."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    array = np.asarray(image, dtype=float)
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(
            f"image must be one grey image of shape (h, w), (1, h, w) or (1, 1, h, w), "
            f"got shape {np.shape(image)}"
        )
    return array


def apply_kernel(image, kernel) -> np.ndarray:
    """The feature map of one kernel: a ``nodelib.conv.conv2d`` with padding 1 (same size).

    image: grey image (see :func:`as_image`); kernel: (3, 3). Returns (h, w).
    """
    kernel = np.asarray(kernel, dtype=float)
    if kernel.shape != (3, 3):
        raise ValueError(f"kernel must have shape (3, 3), got {kernel.shape}")
    x = torch.tensor(as_image(image)).view(1, 1, *as_image(image).shape)
    weight = torch.tensor(kernel).view(1, 1, 3, 3)
    return conv.conv2d(x, weight, padding=1)[0, 0].numpy()


def _panels_layout(titles: list[str], title: str, height: int = 360) -> dict:
    """Side-by-side square image panels under ``title``, row 0 on top, one (xaxis k, yaxis k)
    pair each, named by ``titles``."""
    n, gap = len(titles), 0.06
    width = (1 - gap * (n - 1)) / n
    layout = {
        "title": {"text": title},
        "height": height,
        "margin": {"t": 90, "b": 20},
        "annotations": [],
    }
    for k, title in enumerate(titles):
        suffix = "" if k == 0 else str(k + 1)
        left = k * (width + gap)
        layout[f"xaxis{suffix}"] = {
            "domain": [left, left + width],
            "anchor": f"y{suffix}",
            "showticklabels": False,
            "constrain": "domain",
        }
        layout[f"yaxis{suffix}"] = {
            "autorange": "reversed",
            "anchor": f"x{suffix}",
            "scaleanchor": f"x{suffix}",
            "showticklabels": False,
            "constrain": "domain",
        }
        layout["annotations"].append(
            {
                "text": title,
                "x": left + width / 2,
                "y": 1.08,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
            }
        )
    return layout


def _kernel_traces(image: np.ndarray, kernel: np.ndarray) -> list:
    feature_map = apply_kernel(image, kernel)
    limit = float(np.abs(feature_map).max()) or 1.0
    return [
        go.Heatmap(z=image, colorscale="gray", showscale=False, name="image"),
        go.Heatmap(
            z=kernel,
            colorscale=DIVERGING_COLORSCALE,
            zmid=0,
            showscale=False,
            texttemplate="%{z:.2f}",
            name="kernel",
            xaxis="x2",
            yaxis="y2",
        ),
        go.Heatmap(
            z=feature_map,
            colorscale=DIVERGING_COLORSCALE,
            zmin=-limit,
            zmax=limit,
            name="feature map",
            xaxis="x3",
            yaxis="y3",
            colorbar={"len": 0.8},
        ),
    ]


_KERNEL_TITLES = ["input image", "3×3 kernel", "feature map (red < 0 < blue)"]
_KERNEL_TITLE = "A 3×3 kernel slid over an image gives a feature map"


def kernel_figure(image, kernel) -> go.Figure:
    """Image, kernel (with its entries) and the feature map they produce, side by side."""
    kernel = np.asarray(kernel, dtype=float)
    return go.Figure(
        _kernel_traces(as_image(image), kernel), _panels_layout(_KERNEL_TITLES, _KERNEL_TITLE)
    )


def kernel_picker_figure(image, names=None) -> go.Figure:
    """Static stand-in of :func:`kernel_picker`: one slider frame per kernel in ``names``."""
    names = list(KERNELS) if names is None else list(names)
    image = as_image(image)
    frames = [_kernel_traces(image, KERNELS[name]) for name in names]
    return slider_figure(
        frames, names, slider_label="kernel", layout=_panels_layout(_KERNEL_TITLES, _KERNEL_TITLE)
    )


def kernel_picker(image) -> widgets.VBox:
    """Pick a named kernel, or type your own 3x3 entries and press the button.

    Returns a VBox; ``.controls`` holds ``kernel`` (Dropdown), ``entries`` (3x3
    list of FloatText) and ``apply`` (Button); ``.figure`` is the figure shown;
    ``.kernel`` the 3x3 array applied last.
    """
    image = as_image(image)
    dropdown = widgets.Dropdown(
        options=list(KERNELS), value="edge (Laplacian)", description="kernel"
    )
    # Every entry box is labelled with its place, which a screen reader announces.
    entries = [
        [
            widgets.FloatText(
                value=0.0,
                description=f"row {i + 1}, col {j + 1}",
                style={"description_width": "initial"},
                layout={"width": "150px"},
            )
            for j in range(3)
        ]
        for i in range(3)
    ]
    apply = widgets.Button(
        description="Apply custom kernel",
        button_style="primary",
        tooltip="apply the 3×3 kernel typed in the boxes",
    )
    output = widgets.Output()
    grid = widgets.VBox([widgets.HBox(row) for row in entries])
    box = widgets.VBox([dropdown, widgets.HBox([grid, apply]), output])

    def draw(kernel):
        box.kernel = np.asarray(kernel, dtype=float)
        box.figure = kernel_figure(image, box.kernel)
        show_in(output, box.figure)

    def on_pick(_change=None):
        kernel = KERNELS[dropdown.value]
        for i in range(3):  # copy the named kernel into the boxes as a starting point to edit
            for j in range(3):
                entries[i][j].value = float(kernel[i, j])
        draw(kernel)

    def on_apply(_button=None):
        draw([[entries[i][j].value for j in range(3)] for i in range(3)])

    dropdown.observe(on_pick, names="value")
    apply.on_click(on_apply)
    box.controls = {"kernel": dropdown, "entries": entries, "apply": apply}
    on_pick()
    return box


# --- pooling ---------------------------------------------------------------------------------


def pool_image(image, kernel_size: int, stride: int | None = None, mode: str = "max") -> np.ndarray:
    """``mode``-pool one grey image with ``nodelib.conv``; returns the (out_h, out_w) array."""
    pools = {"max": conv.max_pool2d, "avg": conv.avg_pool2d}
    if mode not in pools:
        raise ValueError(f"mode must be one of {list(pools)}, got {mode!r}")
    image = as_image(image)
    x = torch.tensor(image).view(1, 1, *image.shape)
    return pools[mode](x, kernel_size, stride)[0, 0].numpy()


def _pooling_traces(image: np.ndarray, kernel_size: int, stride: int | None, mode: str):
    pooled = pool_image(image, kernel_size, stride, mode)
    return [
        go.Heatmap(z=image, colorscale="gray", showscale=False, name="input"),
        go.Heatmap(
            z=pooled, colorscale="gray", showscale=False, name="pooled", xaxis="x2", yaxis="y2"
        ),
    ]


def _pooling_titles(image, kernel_size, stride, mode) -> list[str]:
    pooled = pool_image(image, kernel_size, stride, mode)
    return [
        f"input {image.shape[0]}×{image.shape[1]}",
        f"{mode}-pooled {pooled.shape[0]}×{pooled.shape[1]}",
    ]


_POOLING_TITLE = "Pooling shrinks an image: each output pixel is the max or mean of one window"


def pooling_figure(image, kernel_size: int = 2, stride: int | None = None, mode: str = "max"):
    """An image and its pooled version, side by side."""
    image = as_image(image)
    titles = _pooling_titles(image, kernel_size, stride, mode)
    return go.Figure(
        _pooling_traces(image, kernel_size, stride, mode), _panels_layout(titles, _POOLING_TITLE)
    )


def pooling_slider_figure(image, kernel_sizes=(1, 2, 3, 4, 7), modes=("max", "avg")) -> go.Figure:
    """Static stand-in of :func:`pooling_explorer`: a frame per (mode, window), stride = window."""
    image = as_image(image)
    settings = [(mode, size) for mode in modes for size in kernel_sizes]
    frames = [_pooling_traces(image, size, None, mode) for mode, size in settings]
    labels = [f"{mode} {size}×{size}" for mode, size in settings]
    return slider_figure(
        frames,
        labels,
        slider_label="pooling",
        layout=_panels_layout(["input", "pooled"], _POOLING_TITLE),
    )


def pooling_explorer(image) -> widgets.VBox:
    """Choose max or average pooling, the window size and the stride.

    Returns a VBox; ``.controls`` holds ``mode``, ``kernel_size`` and ``stride``
    (stride 0 means "same as the window"); ``.figure`` is the figure shown.
    """
    image = as_image(image)
    controls = {
        "mode": widgets.ToggleButtons(
            options=["max", "avg"],
            value="max",
            description="pool",
            tooltips=["max-pooling", "average-pooling"],
        ),
        "kernel_size": widgets.IntSlider(value=2, min=1, max=7, description="window"),
        "stride": widgets.IntSlider(
            value=0,
            min=0,
            max=7,
            description="stride (0 = window)",
            style={"description_width": "initial"},
        ),
    }
    output = widgets.Output()
    box = widgets.VBox([*controls.values(), output])

    def update(_change=None):
        stride = controls["stride"].value or None
        box.figure = pooling_figure(
            image, controls["kernel_size"].value, stride, controls["mode"].value
        )
        show_in(output, box.figure)

    for control in controls.values():
        control.observe(update, names="value")
    box.controls, box.update = controls, update
    update()
    return box
