"""nodelib.conv agrees with numpy and torch, and refuses bad shapes clearly."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nodelib import conv

TOL = 1e-6


@pytest.mark.parametrize("len_f,len_g", [(1, 1), (5, 3), (3, 5), (10, 1), (7, 7)])
def test_conv1d_full_equals_numpy_convolve(len_f, len_g):
    rng = np.random.default_rng(len_f * 10 + len_g)
    f, g = rng.normal(size=len_f), rng.normal(size=len_g)
    np.testing.assert_allclose(conv.conv1d_full(f, g), np.convolve(f, g), atol=TOL)


def test_conv1d_full_accepts_tensors_and_lists():
    assert conv.conv1d_full(torch.tensor([1.0, 2.0]), [1, 1]).tolist() == [1.0, 3.0, 2.0]


def test_conv1d_full_is_commutative():
    f, g = [1.0, -2.0, 0.5, 3.0], [0.2, 0.7, -1.0]
    np.testing.assert_allclose(conv.conv1d_full(f, g), conv.conv1d_full(g, f), atol=TOL)


def test_cross_correlation1d_equals_numpy_correlate_valid():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=12), rng.normal(size=4)
    np.testing.assert_allclose(
        conv.cross_correlation1d(x, w), np.correlate(x, w, mode="valid"), atol=TOL
    )


def test_cross_correlation_equals_convolution_for_symmetric_kernel():
    x, w = np.arange(8.0) ** 2, np.array([1.0, 2.0, 1.0])
    valid = np.convolve(x, w, mode="valid")
    np.testing.assert_allclose(conv.cross_correlation1d(x, w), valid, atol=TOL)


def test_cross_correlation_differs_from_convolution_for_asymmetric_kernel():
    x, w = np.arange(8.0) ** 2, np.array([1.0, 0.0, -1.0])
    assert not np.allclose(conv.cross_correlation1d(x, w), np.convolve(x, w, mode="valid"))


@pytest.mark.parametrize("bad", [[], [[1.0, 2.0]], 3.0])
def test_conv1d_full_rejects_non_1d_input(bad):
    with pytest.raises(ValueError, match="f must be a non-empty 1-D"):
        conv.conv1d_full(bad, [1.0])


@pytest.mark.parametrize(
    "size,kernel,stride,padding,expected",
    [(28, 5, 1, 0, 24), (28, 3, 1, 1, 28), (28, 3, 2, 1, 14), (7, 3, 2, 0, 3), (5, 5, 1, 0, 1)],
)
def test_conv_output_size_formula(size, kernel, stride, padding, expected):
    assert conv.conv_output_size(size, kernel, stride, padding) == expected


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("in_channels,out_channels", [(1, 1), (3, 2)])
@pytest.mark.parametrize("stride", [1, 2, (1, 3)])
@pytest.mark.parametrize("padding", [0, 1, (2, 0)])
def test_conv2d_equals_torch(batch, in_channels, out_channels, stride, padding):
    gen = torch.Generator().manual_seed(batch + 10 * in_channels)
    x = torch.randn(batch, in_channels, 9, 8, generator=gen, dtype=torch.float64)
    weight = torch.randn(out_channels, in_channels, 3, 2, generator=gen, dtype=torch.float64)
    bias = torch.randn(out_channels, generator=gen, dtype=torch.float64)
    ours = conv.conv2d(x, weight, bias, stride=stride, padding=padding)
    theirs = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=TOL, rtol=0)


def test_conv2d_without_bias_equals_torch_in_float32():
    gen = torch.Generator().manual_seed(0)
    x, weight = torch.randn(2, 1, 28, 28, generator=gen), torch.randn(4, 1, 5, 5, generator=gen)
    torch.testing.assert_close(conv.conv2d(x, weight), F.conv2d(x, weight), atol=1e-5, rtol=1e-5)


def test_conv2d_is_differentiable_like_torch():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 6, 6, generator=gen, dtype=torch.float64)
    w1 = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_(True)
    conv.conv2d(x, w1, padding=1).square().sum().backward()
    F.conv2d(x, w2, padding=1).square().sum().backward()
    torch.testing.assert_close(w1.grad, w2.grad, atol=TOL, rtol=0)


def test_conv2d_with_flipped_kernel_is_a_true_convolution():
    scipy_signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(2)
    image, kernel = rng.normal(size=(6, 7)), rng.normal(size=(3, 3))
    flipped = torch.tensor(kernel[::-1, ::-1].copy()).view(1, 1, 3, 3)
    ours = conv.conv2d(torch.tensor(image).view(1, 1, 6, 7), flipped)[0, 0].numpy()
    np.testing.assert_allclose(ours, scipy_signal.convolve2d(image, kernel, "valid"), atol=TOL)


def test_conv2d_rejects_3d_input():
    with pytest.raises(ValueError, match=r"x must have shape \(batch, channels"):
        conv.conv2d(torch.zeros(1, 5, 5), torch.zeros(1, 1, 3, 3))


def test_conv2d_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="weight expects 2 input channels but x has 3"):
        conv.conv2d(torch.zeros(1, 3, 5, 5), torch.zeros(4, 2, 3, 3))


def test_conv2d_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match="kernel_size=7 is larger than the padded input"):
        conv.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 7, 7), padding=0)


def test_conv2d_rejects_wrong_bias_shape():
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        conv.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(4, 1, 3, 3), bias=torch.zeros(3))


@pytest.mark.parametrize("stride", [0, -1, 1.5])
def test_conv2d_rejects_invalid_stride(stride):
    with pytest.raises(ValueError, match="stride must be"):
        conv.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=stride)


def test_conv2d_rejects_negative_padding():
    with pytest.raises(ValueError, match="padding must be >= 0"):
        conv.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), padding=-1)


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("batch,channels", [(1, 1), (2, 3)])
@pytest.mark.parametrize(
    "kernel_size,stride", [(2, None), (3, None), (3, 1), (2, (1, 2)), ((2, 3), 2)]
)
def test_pooling_equals_torch(pool, batch, channels, kernel_size, stride):
    gen = torch.Generator().manual_seed(channels)
    x = torch.randn(batch, channels, 9, 10, generator=gen, dtype=torch.float64)
    ours = getattr(conv, f"{pool}_pool2d")(x, kernel_size, stride)
    theirs = getattr(F, f"{pool}_pool2d")(x, kernel_size, stride)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=TOL, rtol=0)


def test_max_pool2d_picks_the_largest_value_of_each_window():
    x = torch.tensor([[1.0, 2.0, 5.0, 0.0], [3.0, 4.0, 1.0, 1.0]]).view(1, 1, 2, 4)
    assert conv.max_pool2d(x, 2).flatten().tolist() == [4.0, 5.0]


def test_pooling_rejects_window_larger_than_input():
    with pytest.raises(ValueError, match="does not fit in the input of height 4"):
        conv.max_pool2d(torch.zeros(1, 1, 4, 4), 5)


def test_pooling_rejects_2d_input():
    with pytest.raises(ValueError, match=r"x must have shape \(batch, channels"):
        conv.avg_pool2d(torch.zeros(4, 4), 2)
