"""nodelib.viz: figures that survive into the HTML book."""

import re
import sys

import numpy as np
import plotly.graph_objects as go
import pytest

from nodelib import viz


def a_figure():
    return go.Figure(go.Scatter(x=[0, 1], y=[1, 0]))


def test_show_sends_plotly_json_and_html_without_plotly_js(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw: shown.append(obj))
    viz.show(a_figure())
    (bundle,) = shown
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html"}
    assert "Plotly.newPlot" in bundle["text/html"]
    # the book serves plotly.js once per page; a copy per figure would add megabytes
    assert len(bundle["text/html"]) < 20_000


def test_show_uses_the_colab_renderer_on_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    renderers = []
    monkeypatch.setattr(go.Figure, "show", lambda self, renderer: renderers.append(renderer))
    viz.show(a_figure())
    assert renderers == ["colab"]


def test_show_refuses_what_is_not_a_figure():
    with pytest.raises(TypeError, match="plotly"):
        viz.show({"data": []})


def test_slider_figure_has_one_step_per_frame():
    frames = [[go.Scatter(x=[0, 1], y=[k, k])] for k in range(4)]
    fig = viz.slider_figure(frames, ["a", "b", "c", "d"], slider_label="level", play_button=True)
    assert len(fig.frames) == 4
    assert [s["label"] for s in fig.layout.sliders[0].steps] == ["a", "b", "c", "d"]
    assert fig.layout.updatemenus[0].buttons[0].label == "Play"
    assert list(fig.frames[2].data[0].y) == [2, 2]


def test_slider_figure_refuses_frames_of_different_sizes():
    frames = [[go.Scatter()], [go.Scatter(), go.Scatter()]]
    with pytest.raises(ValueError, match="same number of traces"):
        viz.slider_figure(frames, ["a", "b"], slider_label="x")


def test_slider_figure_needs_one_label_per_frame():
    with pytest.raises(ValueError, match="one label per frame"):
        viz.slider_figure([[go.Scatter()]], ["a", "b"], slider_label="x")


def test_figure_html_is_labelled_by_the_figure_title_without_its_markup():
    fig = go.Figure(layout={"title": {"text": "Error <b>vs</b> depth<br>of a ResNet"}})
    html = viz.figure_html(fig)
    assert html.startswith('<div role="figure" aria-label="Error vs depth of a ResNet" ')


def test_figure_label_escapes_what_would_break_the_attribute():
    fig = go.Figure(layout={"title": {"text": 'h &lt; 1 "stable"'}})
    assert viz.figure_label(fig) == "h &lt; 1 &quot;stable&quot;"


def test_figure_html_is_described_by_a_hidden_paragraph_saying_what_it_shows():
    fig = go.Figure(
        [go.Scatter(y=[1, 2], name="rk4"), go.Scatter(y=[2, 1], mode="markers", name="euler")],
        layout={"xaxis": {"title": {"text": "step h"}}, "yaxis": {"title": {"text": "error"}}},
    )
    html = viz.figure_html(fig)
    described_by = re.search(r'aria-describedby="([^"]+)"', html).group(1)
    paragraph = re.search(rf'<p id="{described_by}" hidden>([^<]*)</p>', html).group(1)
    assert paragraph == ("2 traces: line rk4, points euler. Axes: step h (x axis); error (y axis).")


def test_slider_figure_description_names_the_slider_its_range_and_buttons():
    frames = [[go.Scatter(y=[k])] for k in range(3)]
    fig = viz.slider_figure(frames, ["0.1", "0.2", "0.4"], slider_label="h", play_button=True)
    description = viz.figure_description(fig)
    assert "A slider sets h to one of 3 values, from 0.1 to 0.4." in description
    assert description.endswith("Buttons: Play, Pause.")


def test_long_descriptions_are_cut_at_a_word():
    fig = go.Figure([go.Scatter(y=[0], name=f"trace number {k}") for k in range(100)])
    description = viz.figure_description(fig)
    assert len(description) <= viz.DESCRIPTION_LENGTH
    assert description.endswith("…")


def test_untitled_image_panels_are_labelled_by_their_panel_titles():
    fig = go.Figure(
        layout={
            "annotations": [
                {"text": "input", "xref": "paper", "yref": "paper", "x": 0.2, "y": 1},
                {"text": "pooled", "xref": "paper", "yref": "paper", "x": 0.8, "y": 1},
            ]
        }
    )
    assert viz.figure_label(fig) == "interactive figure: input; pooled"


def test_the_palette_is_okabe_ito_and_figures_without_colours_use_it(monkeypatch):
    assert viz.PALETTE[:3] == ["#0072B2", "#D55E00", "#009E73"]
    assert len(set(viz.PALETTE)) == 8
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw: shown.append(obj))
    viz.show(a_figure())
    assert shown[0]["application/vnd.plotly.v1+json"]["layout"]["colorway"] == viz.PALETTE
    assert '"colorway":["#0072B2"' in shown[0]["text/html"]


def test_a_figure_keeps_its_own_colorway_and_show_leaves_it_unchanged():
    fig = go.Figure(layout={"colorway": ["#000000"]})
    assert viz.with_course_style(fig).layout.colorway == ("#000000",)
    plain = a_figure()
    viz.figure_bundle(plain)
    assert plain.layout.colorway is None


def test_untitled_figure_is_labelled_by_its_axes():
    fig = go.Figure(layout={"xaxis": {"title": {"text": "t"}}, "yaxis": {"title": {"text": "h"}}})
    assert viz.figure_label(fig) == "interactive figure: h against t"


def test_a_two_panel_figure_is_labelled_by_its_first_y_against_its_first_x_axis():
    fig = go.Figure(
        layout={
            "xaxis": {"title": {"text": "τ"}},
            "xaxis2": {"title": {"text": "t"}},
            "yaxis": {"title": {"text": "f"}},
        }
    )
    assert viz.figure_label(fig) == "interactive figure: f against τ"


def test_show_in_replaces_the_output_widgets_content_with_both_formats():
    import ipywidgets

    output = ipywidgets.Output()
    viz.show_in(output, go.Figure(go.Scatter(y=[1, 2])))
    viz.show_in(output, go.Figure(go.Scatter(y=[3, 4])))
    assert len(output.outputs) == 1
    data = output.outputs[0]["data"]
    assert set(data) == {"application/vnd.plotly.v1+json", "text/html"}
    assert data["application/vnd.plotly.v1+json"]["data"][0]["y"] == [3, 4]


def test_slider_figures_do_not_play_on_page_load():
    fig = viz.slider_figure(
        [[go.Scatter(y=[0])], [go.Scatter(y=[1])]], ["a", "b"], slider_label="k"
    )
    assert "Plotly.animate" not in viz.figure_html(fig)


def test_show_in_refuses_what_is_not_a_figure():
    import ipywidgets

    with pytest.raises(TypeError, match="plotly Figure"):
        viz.show_in(ipywidgets.Output(), {"data": []})


# --- colour vision ---------------------------------------------------------------------------

#: Machado, Oliveira & Fernandes (2009): full dichromacy as a 3x3 map on linear RGB.
DICHROMACY = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}
#: Smallest CIELAB distance (ΔE*76) two palette colours may have as one of these readers sees
#: them; about 2.3 is just noticeable, plotly's default colours fall to 4.6 (orange/green).
MIN_DELTA_E = 15.0


def seen_as_lab(hex_colour: str, matrix) -> np.ndarray:
    """CIELAB (D65) of ``hex_colour`` as seen through the dichromacy ``matrix``."""
    srgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(np.asarray(matrix) @ linear, 0, 1)
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(palette, matrix) -> tuple[float, str, str]:
    seen = {c: seen_as_lab(c, matrix) for c in palette}
    return min(
        (float(np.linalg.norm(seen[a] - seen[b])), a, b)
        for i, a in enumerate(palette)
        for b in palette[i + 1 :]
    )


@pytest.mark.parametrize("deficiency", DICHROMACY)
def test_the_palette_stays_distinguishable_under_colour_vision_deficiencies(deficiency):
    distance, a, b = closest_pair(viz.PALETTE, DICHROMACY[deficiency])
    assert distance >= MIN_DELTA_E, f"{a} and {b} look alike under {deficiency}: ΔE {distance:.1f}"


def test_plotlys_default_colours_would_fail_that_check():
    plotly_default = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    assert closest_pair(plotly_default, DICHROMACY["protanopia"])[0] < MIN_DELTA_E
