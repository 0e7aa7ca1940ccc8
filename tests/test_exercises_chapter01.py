"""Chapter 1's named checks: the right answer passes, typical wrong ones are named."""

import numpy as np
import pytest
import torch

from nodelib import conv
from nodelib.exercises import chapter01 as checks
from nodelib.widgets import convolution as conv_widgets

X = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0])
W = np.array([2.0, 7.0, 1.0])


def sobel_maps():
    image = torch.rand(1, 1, 12, 12, dtype=torch.float64)
    kernel = torch.tensor(conv_widgets.KERNELS["vertical edge (Sobel)"], dtype=torch.float64)
    correlation = conv.conv2d(image, kernel.view(1, 1, 3, 3))[0, 0].numpy()
    convolution = conv.conv2d(image, kernel.flip(0, 1).view(1, 1, 3, 3))[0, 0].numpy()
    return correlation, convolution


def test_the_sobel_convolution_is_the_negated_correlation(capsys):
    assert checks.sobel_outcome(*sobel_maps()) == "negated"
    assert checks.reveal_sobel_convolution("negated", *sobel_maps())
    assert "✅" in capsys.readouterr().out


def test_a_wrong_sobel_prediction_is_told_the_answer(capsys):
    assert checks.predict_sobel_convolution("same")
    assert not checks.reveal_sobel_convolution("same", *sobel_maps())
    out = capsys.readouterr().out
    assert "❌ you predicted 'same'" in out and "opposite sign" in out


def test_a_symmetric_kernel_gives_the_same_numbers():
    maps = np.arange(6.0).reshape(2, 3)
    assert checks.sobel_outcome(maps, maps) == "same"
    assert checks.sobel_outcome(maps, maps**2) == "different"


def test_the_box_exponential_convolution_passes(capsys):
    assert checks.box_exponential_convolution((1 - np.exp(-1.0)) / 2, 0.5)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (1 - np.exp(-1.0), "keep the 1/2"),
        (1 - np.exp(-0.5), "integrates e^(-s)"),
        (np.exp(-1.0) / 2, "only one end"),
        ((1 - np.exp(-2.0)) / 2, "that is (f*g)(1)"),
    ],
)
def test_box_exponential_mistakes_are_named(capsys, wrong, message):
    assert not checks.box_exponential_convolution(wrong, 0.5)
    assert message in capsys.readouterr().out


def test_box_exponential_rejects_t_outside_the_box():
    with pytest.raises(ValueError, match="t must lie in"):
        checks.box_exponential_convolution(0.1, 2.0)


def test_the_mirrored_kernel_passes(capsys):
    assert checks.mirrored_kernel(W[::-1], X, W)
    assert "✅" in capsys.readouterr().out


def test_an_unmirrored_kernel_is_named(capsys):
    assert not checks.mirrored_kernel(W, X, W)
    assert "without mirroring" in capsys.readouterr().out


def test_a_negated_mirror_is_named(capsys):
    assert not checks.mirrored_kernel(-W[::-1], X, W)
    assert "sign is flipped" in capsys.readouterr().out


def test_a_kernel_of_the_wrong_length_is_named(capsys):
    assert not checks.mirrored_kernel([1.0, 2.0], X, W)
    assert "shape (2,), expected (3,)" in capsys.readouterr().out


def test_an_untouched_kernel_is_not_attempted(capsys):
    assert not checks.mirrored_kernel(..., X, W)
    assert "not attempted" in capsys.readouterr().out
