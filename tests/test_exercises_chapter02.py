"""Chapter 2's named checks: the right answer passes, typical wrong ones are named."""

import pytest
import torch

import nodelib
from nodelib import networks
from nodelib.exercises import chapter02 as checks


def test_the_largest_sigmoid_slope_is_a_quarter():
    assert checks.largest_sigmoid_slope() == pytest.approx(0.25, rel=1e-6)


def test_the_sigmoid_chain_bound_passes(capsys):
    model = networks.deep_sigmoid_mlp(depth=10, width=4)
    assert checks.sigmoid_chain_bound(0.25**10, model)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (0.5**10, "1/2 is σ(0)"),
        (0.25, "that bounds one layer"),
        (2.5, "does not add them"),
        (0.25**11, "one factor too many"),
        (0.25**9, "one factor too few"),
    ],
)
def test_sigmoid_chain_mistakes_are_named(capsys, wrong, message):
    model = networks.deep_sigmoid_mlp(depth=10, width=4)
    assert not checks.sigmoid_chain_bound(wrong, model)
    assert message in capsys.readouterr().out


def maps():
    nodelib.seed_everything(0)
    return torch.relu(torch.randn(2, 3, 6, 6))


def test_max_pooling_by_reshape_passes(capsys):
    m = maps()
    assert checks.max_pooling(m.reshape(2, 3, 3, 2, 3, 2).amax(dim=(3, 5)), m)
    assert "✅" in capsys.readouterr().out


def test_average_pooling_is_named(capsys):
    m = maps()
    assert not checks.max_pooling(m.reshape(2, 3, 3, 2, 3, 2).mean(dim=(3, 5)), m)
    assert "that is average-pooling" in capsys.readouterr().out


def test_pooling_over_distant_pixels_is_named(capsys):
    m = maps()
    assert not checks.max_pooling(m.reshape(2, 3, 2, 3, 2, 3).amax(dim=(2, 4)), m)
    assert "not over a window of 2x2 neighbours" in capsys.readouterr().out


def test_pooling_with_stride_one_gets_a_shape_message(capsys):
    m = maps()
    assert not checks.max_pooling(torch.nn.functional.max_pool2d(m, 2, stride=1), m)
    assert "shape (2, 3, 5, 5), expected (2, 3, 3, 3)" in capsys.readouterr().out


def test_relu_gradients_reveal_uses_the_measured_ratio(capsys):
    assert checks.gradient_ratio_outcome(1.0, 2.0) == "comparable"
    assert checks.gradient_ratio_outcome(1e-9, 1.0) == "smaller"
    assert checks.gradient_ratio_outcome(1e3, 1.0) == "larger"
    assert checks.reveal_relu_gradients("comparable", [0.5, 1.0, 2.0])
    assert "✅" in capsys.readouterr().out
    assert not checks.reveal_relu_gradients("smaller", [0.5, 1.0, 2.0])
    assert "❌ you predicted 'smaller'" in capsys.readouterr().out


def test_a_relu_network_with_he_init_keeps_its_gradients():
    nodelib.seed_everything(0)
    model = networks.deep_relu_mlp(depth=10, width=32)
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    norms = networks.gradient_norms_per_layer(model, x, y)
    assert checks.gradient_ratio_outcome(norms[0], norms[-1]) == "comparable"


def test_a_deep_sigmoid_cnn_is_smaller_but_its_gradients_still_vanish():
    nodelib.seed_everything(0)
    cnn = networks.deep_sigmoid_cnn(depth=10, channels=8)
    mlp = networks.deep_sigmoid_mlp(depth=10, width=32)
    assert networks.count_parameters(cnn) * 4 < networks.count_parameters(mlp)
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    norms = networks.gradient_norms_per_layer(cnn, x, y)
    assert len(norms) == 11  # ten convolutions and the linear read-out
    assert checks.gradient_ratio_outcome(norms[0], norms[-1]) == "smaller"


def test_deep_sigmoid_cnn_and_relu_mlp_reject_zero_depth():
    with pytest.raises(ValueError, match="depth must be >= 1"):
        networks.deep_sigmoid_cnn(depth=0)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        networks.deep_relu_mlp(depth=0)
