"""nodelib.viz: figures that survive into the HTML book."""

import sys

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


def test_figure_html_is_labelled_by_the_figure_title():
    fig = go.Figure(layout={"title": {"text": "Error <b>vs</b> depth"}})
    html = viz.figure_html(fig)
    assert html.startswith('<div role="figure" aria-label="Error &lt;b&gt;vs&lt;/b&gt; depth">')


def test_untitled_figure_is_labelled_by_its_axes():
    fig = go.Figure(layout={"xaxis": {"title": {"text": "t"}}, "yaxis": {"title": {"text": "h"}}})
    assert viz.figure_label(fig) == "interactive figure: h against t"


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
