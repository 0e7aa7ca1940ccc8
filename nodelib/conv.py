"""Convolutions and pooling from scratch (home chapter: 1. Convolutions, 2. CNNs).

Everything here is written for reading, not for speed: each function is a
loop over output positions that does exactly what the formula in the chapter
says. The tests check every function against ``numpy.convolve`` and
``torch.nn.functional`` on random inputs.

Two words that deep learning uses loosely:

- the *convolution* of signal processing flips the kernel,
  ``(f*g)[n] = sum_m f[m] g[n-m]`` (:func:`conv1d_full`);
- the "convolution" of a CNN layer does **not** flip it, it is a
  *cross-correlation*, ``y[i] = sum_m w[m] x[i+m]`` (:func:`cross_correlation1d`,
  :func:`conv2d`). The two agree when the kernel is symmetric.

Image tensors follow PyTorch's layout: ``(batch, channels, height, width)``.
"""

from __future__ import annotations

import numpy as np
import torch


def _as_1d_array(name: str, value) -> np.ndarray:
    """``value`` as a float 1-D NumPy array, or a ValueError naming ``name``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {array.shape}")
    return array


def conv1d_full(f, g) -> np.ndarray:
    """The discrete convolution ``(f*g)[n] = sum_m f[m] g[n-m]``, for every overlap.

    f: (len_f,), g: (len_g,) sequences (lists, arrays or tensors).
    Returns a (len_f + len_g - 1,) float array: one value for each shift ``n``
    at which the flipped ``g`` still overlaps ``f`` - the same as
    ``numpy.convolve(f, g)`` (its default ``mode="full"``).
    """
    f = _as_1d_array("f", f)
    g = _as_1d_array("g", g)
    out = np.zeros(len(f) + len(g) - 1)
    for n in range(len(out)):
        # only the m with 0 <= m < len(f) and 0 <= n - m < len(g) contribute
        for m in range(max(0, n - len(g) + 1), min(n, len(f) - 1) + 1):
            out[n] += f[m] * g[n - m]
    return out


def cross_correlation1d(x, w) -> np.ndarray:
    """The cross-correlation ``y[i] = sum_m w[m] x[i+m]``: slide ``w`` over ``x`` without flipping.

    x: (len_x,), w: (len_w,) with len_w <= len_x. Returns (len_x - len_w + 1,):
    only the positions where ``w`` lies entirely inside ``x`` ("valid"), as a
    CNN layer with stride 1 and no padding computes them.
    """
    x = _as_1d_array("x", x)
    w = _as_1d_array("w", w)
    if len(w) > len(x):
        raise ValueError(
            f"the kernel w (length {len(w)}) must not be longer than the signal x (length {len(x)})"
        )
    out = np.zeros(len(x) - len(w) + 1)
    for i in range(len(out)):
        out[i] = np.dot(w, x[i : i + len(w)])
    return out


def _pair(name: str, value, *, minimum: int) -> tuple[int, int]:
    """Turn an int or a pair of ints into a (height, width) pair, checking the values."""
    pair = (value, value) if isinstance(value, int) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
    ):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Length of one output side: ``floor((size + 2*padding - kernel_size) / stride) + 1``.

    The kernel fits at positions 0, stride, 2*stride, ... as long as it stays
    inside the padded input of length ``size + 2*padding``.
    """
    if size + 2 * padding < kernel_size:
        raise ValueError(
            f"kernel_size={kernel_size} is larger than the padded input "
            f"(size {size} + 2*padding {padding} = {size + 2 * padding})"
        )
    return (size + 2 * padding - kernel_size) // stride + 1


def _check_images(name: str, x) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim != 4:
        raise ValueError(
            f"{name} must have shape (batch, channels, height, width), got shape {tuple(x.shape)}"
        )
    return x


def conv2d(x, weight, bias=None, stride=1, padding=0) -> torch.Tensor:
    """A 2-D convolutional layer (a cross-correlation), like ``torch.nn.functional.conv2d``.

    x:      (batch, in_channels, height, width) input images.
    weight: (out_channels, in_channels, kernel_h, kernel_w): one kernel per
            (output feature map, input channel) pair, shared over all positions.
    bias:   (out_channels,) or None: one shared bias per feature map.
    stride, padding: int or (h, w) pair; zeros are added on every side.

    Returns (batch, out_channels, out_h, out_w) with
    ``out_h = conv_output_size(height, kernel_h, stride_h, padding_h)`` (same for w).
    Output pixel (i, j) of map ``o`` is
    ``bias[o] + sum_c sum_d sum_m weight[o, c, d, m] * x[c, i*s_h + d, j*s_w + m]``.
    """
    x = _check_images("x", x)
    weight = torch.as_tensor(weight, dtype=x.dtype)
    if weight.ndim != 4:
        raise ValueError(
            "weight must have shape (out_channels, in_channels, kernel_h, kernel_w), "
            f"got shape {tuple(weight.shape)}"
        )
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight expects {weight.shape[1]} input channels but x has {x.shape[1]} "
            f"(x shape {tuple(x.shape)}, weight shape {tuple(weight.shape)})"
        )
    out_channels, _, kernel_h, kernel_w = weight.shape
    if bias is not None:
        bias = torch.as_tensor(bias, dtype=x.dtype)
        if bias.shape != (out_channels,):
            raise ValueError(
                f"bias must have shape ({out_channels},) (one per output channel), "
                f"got shape {tuple(bias.shape)}"
            )
    stride_h, stride_w = _pair("stride", stride, minimum=1)
    pad_h, pad_w = _pair("padding", padding, minimum=0)
    out_h = conv_output_size(x.shape[2], kernel_h, stride_h, pad_h)
    out_w = conv_output_size(x.shape[3], kernel_w, stride_w, pad_w)

    # zero padding: pad the last dim by (pad_w, pad_w) and the one before by (pad_h, pad_h)
    padded = torch.nn.functional.pad(x, (pad_w, pad_w, pad_h, pad_h))
    out = x.new_zeros(x.shape[0], out_channels, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride_h, j * stride_w
            patch = padded[:, :, top : top + kernel_h, left : left + kernel_w]  # (B, C, kh, kw)
            # sum over input channel c and kernel offsets (d, m), for every output map o
            out[:, :, i, j] = torch.einsum("bcdm,ocdm->bo", patch, weight)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def _pool2d(x, kernel_size, stride, reduce, name: str) -> torch.Tensor:
    """Slide a (kh, kw) window over every channel and reduce each window to one number."""
    x = _check_images("x", x)
    kernel_h, kernel_w = _pair("kernel_size", kernel_size, minimum=1)
    # like torch: the default stride is the window size, so windows do not overlap
    stride_h, stride_w = _pair("stride", kernel_size if stride is None else stride, minimum=1)
    if kernel_h > x.shape[2] or kernel_w > x.shape[3]:
        raise ValueError(
            f"{name}: kernel_size {kernel_size!r} does not fit in the input of "
            f"height {x.shape[2]} and width {x.shape[3]}"
        )
    out_h = conv_output_size(x.shape[2], kernel_h, stride_h)
    out_w = conv_output_size(x.shape[3], kernel_w, stride_w)
    out = x.new_zeros(x.shape[0], x.shape[1], out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride_h, j * stride_w
            window = x[:, :, top : top + kernel_h, left : left + kernel_w]  # (B, C, kh, kw)
            out[:, :, i, j] = reduce(window.flatten(start_dim=2))
    return out


def max_pool2d(x, kernel_size, stride=None) -> torch.Tensor:
    """Max-pooling ``P(alpha, beta, max)``, like ``torch.nn.functional.max_pool2d``.

    x: (batch, channels, height, width); kernel_size, stride: int or (h, w)
    pair, stride defaults to kernel_size (non-overlapping windows).
    Returns (batch, channels, out_h, out_w), each value the largest input in its window.
    """
    return _pool2d(x, kernel_size, stride, lambda w: w.max(dim=-1).values, "max_pool2d")


def avg_pool2d(x, kernel_size, stride=None) -> torch.Tensor:
    """Average-pooling ``P(alpha, beta, mean)``, like ``torch.nn.functional.avg_pool2d``.

    Same shapes as :func:`max_pool2d`; each value is the mean of its window.
    """
    return _pool2d(x, kernel_size, stride, lambda w: w.mean(dim=-1), "avg_pool2d")
