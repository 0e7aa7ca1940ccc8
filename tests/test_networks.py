"""The networks of chapters 2 and 3: shapes, parameter counts, and the behaviours the book shows."""

import pytest
import torch

import nodelib
from nodelib import networks


def test_deep_sigmoid_mlp_gradients_vanish_towards_the_input():
    nodelib.seed_everything(0)
    model = networks.deep_sigmoid_mlp(depth=10, width=32)
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    norms = networks.gradient_norms_per_layer(model, x, y)
    assert len(norms) == 11
    assert norms[0] < norms[-1] / 100


def test_deep_sigmoid_mlp_rejects_zero_depth():
    with pytest.raises(ValueError, match="depth must be >= 1"):
        networks.deep_sigmoid_mlp(depth=0)


def test_small_cnn_feature_map_shapes():
    maps = networks.SmallCNN(channels=(6, 12), hidden=32).feature_maps(torch.rand(2, 1, 28, 28))
    assert maps["conv1"].shape == (2, 6, 24, 24)
    assert maps["pool1"].shape == (2, 6, 12, 12)
    assert maps["conv2"].shape == (2, 12, 8, 8)
    assert maps["pool2"].shape == (2, 12, 4, 4)
    assert maps["logits"].shape == (2, 10)


def test_small_cnn_parameter_count_matches_the_formula():
    model = networks.SmallCNN(channels=(8, 16), hidden=64)
    conv1 = 8 * (1 * 5 * 5 + 1)
    conv2 = 16 * (8 * 5 * 5 + 1)
    fc = 64 * (16 * 4 * 4 + 1)
    out = 10 * (64 + 1)
    assert networks.count_parameters(model) == conv1 + conv2 + fc + out


def test_residual_block_with_equal_shapes_uses_an_identity_shortcut():
    block = networks.ResidualBlock(8, 8)
    assert isinstance(block.shortcut, torch.nn.Identity)
    assert block(torch.rand(2, 8, 10, 10)).shape == (2, 8, 10, 10)


def test_residual_block_projects_when_channels_or_stride_change():
    block = networks.ResidualBlock(8, 16, stride=2)
    assert isinstance(block.shortcut, torch.nn.Conv2d)
    assert block(torch.rand(2, 8, 10, 10)).shape == (2, 16, 5, 5)


def test_identity_shortcut_adds_no_parameters():
    residual = networks.ResidualBlock(8, 8)
    plain = networks.ResidualBlock(8, 8, residual=False)
    assert networks.count_parameters(residual) == networks.count_parameters(plain)


def test_residual_block_with_zero_branch_passes_nonnegative_input_through():
    block = networks.ResidualBlock(4, 4)
    torch.nn.init.zeros_(block.conv2.weight)
    torch.nn.init.zeros_(block.conv2.bias)
    x = torch.rand(1, 4, 6, 6)  # non-negative, so the final ReLU changes nothing
    torch.testing.assert_close(block(x), x)


def test_plain_and_residual_deep_nets_have_the_same_parameters():
    plain = networks.DeepNet(5, residual=False)
    residual = networks.DeepNet(5, residual=True)
    assert networks.count_parameters(plain) == networks.count_parameters(residual)
    assert plain.depth == 12


def test_deep_net_outputs_logits_for_images():
    assert networks.DeepNet(2, residual=True)(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_one_hidden_layer_net_maps_points_to_values():
    assert networks.one_hidden_layer_net(7)(torch.rand(5, 1)).shape == (5, 1)


def test_one_hidden_layer_net_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        networks.one_hidden_layer_net(3, activation="swish")


def test_count_multiply_adds_of_one_convolution():
    layer = torch.nn.Conv2d(3, 4, kernel_size=3, padding=1)
    assert networks.count_multiply_adds(layer, (1, 3, 8, 8)) == 4 * 8 * 8 * 3 * 3 * 3


def test_identity_shortcut_adds_no_multiply_adds():
    plain = networks.ResidualBlock(8, 8, residual=False)
    residual = networks.ResidualBlock(8, 8)
    shape = (1, 8, 6, 6)
    assert networks.count_multiply_adds(plain, shape) == networks.count_multiply_adds(
        residual, shape
    )
