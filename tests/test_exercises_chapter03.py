"""Chapter 3's named checks: the right answer passes, typical wrong ones are named."""

import pytest
import torch

import nodelib
from nodelib import networks
from nodelib.exercises import chapter03 as checks


def test_the_block_ratio_leaves_out_stem_and_head():
    assert checks.block_gradient_ratio([100.0, 8.0, 4.0, 2.0, 0.1]) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="at least one block"):
        checks.block_gradient_ratio([1.0, 2.0, 3.0])


def test_the_plain_gradients_reveal_uses_the_measured_ratio(capsys):
    growing = [1.0, 500.0, 50.0, 1.0, 1.0]
    assert checks.gradient_outcome(checks.block_gradient_ratio(growing)) == "grow"
    assert checks.reveal_plain_gradients("grow", growing)
    assert "✅" in capsys.readouterr().out
    assert not checks.reveal_plain_gradients("vanish", growing)
    out = capsys.readouterr().out
    assert "❌ you predicted 'vanish'" in out and "500 times" in out


def test_the_residual_chain_derivative_passes(capsys):
    assert checks.residual_chain_derivative(1.1**20, 20, 0.1)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (0.1**20, "that is the plain chain"),
        (3.0, "first-order terms"),
        (22.0, "does not add them"),
        (1.1, "that is one block"),
    ],
)
def test_residual_chain_mistakes_are_named(capsys, wrong, message):
    assert not checks.residual_chain_derivative(wrong, 20, 0.1)
    assert message in capsys.readouterr().out


def block_and_input():
    nodelib.seed_everything(1)
    block = networks.ResidualBlock(4, 4)
    return block, torch.randn(1, 4, 5, 5)


def test_the_residual_block_output_passes(capsys):
    block, x = block_and_input()
    assert checks.residual_block_output(torch.relu(block.residual_branch(x) + x), block, x)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "make_wrong, message",
    [
        (lambda F, x: F + x, "the ReLU after the sum is missing"),
        (lambda F, x: torch.relu(F) + x, "not before it"),
        (lambda F, x: torch.relu(F), "the shortcut is missing"),
        (lambda F, x: F, "both the shortcut and the ReLU"),
    ],
)
def test_residual_block_mistakes_are_named(capsys, make_wrong, message):
    block, x = block_and_input()
    assert not checks.residual_block_output(make_wrong(block.residual_branch(x), x), block, x)
    assert message in capsys.readouterr().out


def test_the_projection_parameter_count_passes(capsys):
    assert checks.projection_parameters(32 * (16 + 1), networks.ResidualBlock(16, 32, stride=2))
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (512, "the biases are missing"),
        (32 * (16 * 9 + 1), "1x1 convolution"),
        (16 * 33, "not per input channel"),
        (513, "not a single bias"),
    ],
)
def test_projection_parameter_mistakes_are_named(capsys, wrong, message):
    assert not checks.projection_parameters(wrong, networks.ResidualBlock(16, 32, stride=2))
    assert message in capsys.readouterr().out


def test_an_identity_shortcut_has_no_projection_to_count():
    with pytest.raises(ValueError, match="projection shortcut"):
        checks.projection_parameters(0, networks.ResidualBlock(8, 8))
