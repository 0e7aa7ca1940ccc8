"""The convolution widgets: callbacks update the figure, and the static stand-ins have frames."""

import numpy as np
import pytest

from nodelib import widgets
from nodelib.widgets import convolution


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.random((28, 28))


def test_widget_names_resolve_through_nodelib_widgets():
    assert widgets.kernel_picker is convolution.kernel_picker


def test_box_convolved_with_box_is_a_triangle_peaking_at_one():
    values = convolution.continuous_convolution("box", "box", [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0, 0.5, 0.0], atol=0.02)


def test_unknown_signal_is_rejected_with_its_name():
    with pytest.raises(ValueError, match="unknown signal 'sine'"):
        convolution.convolution_figure("sine", "box")


def test_convolution_explorer_moves_the_slid_kernel_with_t():
    explorer = convolution.convolution_explorer("box", "box")
    explorer.controls["t"].value = 1.5
    marker = explorer.figure.data[4]
    assert marker.x[0] == pytest.approx(1.5)
    assert marker.y[0] == pytest.approx(0.5, abs=0.02)
    # g(t - tau) is the box moved to [t - 1, t] = [0.5, 1.5]
    slid = explorer.figure.data[1]
    inside = np.asarray(slid.x)[np.asarray(slid.y) > 0]
    assert inside.min() == pytest.approx(0.5, abs=0.02)
    assert inside.max() == pytest.approx(1.5, abs=0.02)


def test_convolution_explorer_changes_g_when_the_dropdown_changes():
    explorer = convolution.convolution_explorer("box", "box")
    explorer.controls["g"].value = "triangle"
    assert "triangle" in explorer.figure.layout.title.text


def test_convolution_slider_figure_has_one_frame_per_t():
    fig = convolution.convolution_slider_figure("box", "gaussian", t_values=[0.0, 0.5, 1.0])
    assert [frame.name for frame in fig.frames] == ["0.00", "0.50", "1.00"]
    assert len(fig.layout.sliders[0].steps) == 3


def test_apply_kernel_with_identity_returns_the_image(image):
    identity = convolution.KERNELS["identity"]
    np.testing.assert_allclose(convolution.apply_kernel(image, identity), image, atol=1e-12)


def test_apply_kernel_rejects_non_3x3_kernel(image):
    with pytest.raises(ValueError, match=r"kernel must have shape \(3, 3\)"):
        convolution.apply_kernel(image, np.ones((2, 2)))


def test_kernel_picker_shows_the_picked_kernel_and_its_feature_map(image):
    picker = convolution.kernel_picker(image)
    picker.controls["kernel"].value = "blur (box)"
    np.testing.assert_allclose(picker.figure.data[1].z, np.full((3, 3), 1 / 9))
    expected = convolution.apply_kernel(image, np.full((3, 3), 1 / 9))
    np.testing.assert_allclose(picker.figure.data[2].z, expected)


def test_kernel_picker_copies_the_picked_kernel_into_the_entry_boxes(image):
    picker = convolution.kernel_picker(image)
    picker.controls["kernel"].value = "sharpen"
    assert picker.controls["entries"][1][1].value == 5.0


def test_kernel_picker_applies_custom_entries_on_click(image):
    picker = convolution.kernel_picker(image)
    entries = picker.controls["entries"]
    for i in range(3):
        for j in range(3):
            entries[i][j].value = 0.0
    entries[1][1].value = 2.0
    picker.controls["apply"].click()
    np.testing.assert_allclose(picker.kernel[1, 1], 2.0)
    np.testing.assert_allclose(picker.figure.data[2].z, 2.0 * image, atol=1e-12)


def test_kernel_picker_figure_has_one_frame_per_kernel(image):
    fig = convolution.kernel_picker_figure(image)
    assert [frame.name for frame in fig.frames] == list(convolution.KERNELS)


def test_pooling_explorer_shrinks_the_image_by_the_window(image):
    explorer = convolution.pooling_explorer(image)
    explorer.controls["kernel_size"].value = 4
    assert np.asarray(explorer.figure.data[1].z).shape == (7, 7)


def test_pooling_explorer_uses_the_stride_when_given(image):
    explorer = convolution.pooling_explorer(image)
    explorer.controls["kernel_size"].value = 3
    explorer.controls["stride"].value = 1
    assert np.asarray(explorer.figure.data[1].z).shape == (26, 26)


def test_pooling_explorer_average_mode_matches_pool_image(image):
    explorer = convolution.pooling_explorer(image)
    explorer.controls["mode"].value = "avg"
    expected = convolution.pool_image(image, 2, None, "avg")
    np.testing.assert_allclose(explorer.figure.data[1].z, expected)


def test_max_pooling_never_decreases_the_image_maximum(image):
    assert convolution.pool_image(image, 2).max() == pytest.approx(image.max())


def test_pool_image_rejects_unknown_mode(image):
    with pytest.raises(ValueError, match="mode must be one of"):
        convolution.pool_image(image, 2, mode="median")


def test_as_image_rejects_a_batch_of_images():
    with pytest.raises(ValueError, match="image must be one grey image"):
        convolution.as_image(np.zeros((2, 1, 28, 28)))


def test_pooling_slider_figure_has_a_frame_per_mode_and_window(image):
    fig = convolution.pooling_slider_figure(image, kernel_sizes=(2, 4), modes=("max", "avg"))
    assert [frame.name for frame in fig.frames] == ["max 2×2", "max 4×4", "avg 2×2", "avg 4×4"]
