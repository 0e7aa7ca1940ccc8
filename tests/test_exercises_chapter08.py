"""Chapter 8's exercise checks: the right answer passes, typical mistakes are named."""

import pytest
import torch

from nodelib import odenet
from nodelib.exercises import chapter08 as checks

C = odenet.DEFAULTS["channels"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return odenet.build_model("odenet")


def test_dynamics_parameters_accepts_two_convolutions_with_biases(model, capsys):
    assert checks.dynamics_parameters(2 * (9 * C * C + C), model)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (2 * 9 * C * C, "biases are missing"),
        (9 * C * C + C, "two convolutions"),
        (2 * (C * C + C), "3×3 kernel"),
        (2 * (9 * C + C), "every input channel"),
    ],
)
def test_dynamics_parameters_names_the_mistake(model, capsys, wrong, message):
    assert not checks.dynamics_parameters(wrong, model)
    assert message in capsys.readouterr().out


def test_nfe_reveal_counts_four_steps_of_four_stages(capsys):
    quarter = odenet.build_model("odenet", solver="rk4", step_size=0.25)
    quarter.reset_nfe()
    images, labels = torch.rand(2, 1, 28, 28), torch.tensor([0, 1])
    torch.nn.functional.cross_entropy(quarter(images), labels).backward()
    assert checks.reveal_nfe("b", quarter)
    assert "✅" in capsys.readouterr().out


def test_nfe_reveal_without_a_pass_says_what_to_run():
    quarter = odenet.build_model("odenet", solver="rk4", step_size=0.25)
    quarter.reset_nfe()
    with pytest.raises(ValueError, match="run exactly one forward and one backward pass"):
        checks.reveal_nfe("b", quarter)


@pytest.fixture(scope="module")
def stages(model):
    f, T, t = model.middle.dynamics.func, model.middle.end_time, torch.zeros(())
    with torch.no_grad():
        h0 = model.downsample(torch.rand(2, 1, 28, 28))
        k1 = f(t, h0)
        k2 = f(t, h0 + T / 2 * k1)
        k3 = f(t, h0 + T / 2 * k2)
        k4 = f(t, h0 + T * k3)
    return h0, T, (k1, k2, k3, k4)


def test_rk4_block_accepts_one_classical_step(model, stages, capsys):
    h0, T, (k1, k2, k3, k4) = stages
    assert checks.rk4_block(h0 + T / 6 * (k1 + 2 * k2 + 2 * k3 + k4), model, h0)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda h0, T, k: h0 + T * k[0], "one Euler step"),
        (lambda h0, T, k: h0 + T / 4 * sum(k), "1/6, 1/3, 1/3, 1/6"),
        (lambda h0, T, k: T / 6 * (k[0] + 2 * k[1] + 2 * k[2] + k[3]), "only the increment"),
    ],
)
def test_rk4_block_names_the_mistake(model, stages, capsys, wrong, message):
    h0, T, k = stages
    assert not checks.rk4_block(wrong(h0, T, k), model, h0)
    assert message in capsys.readouterr().out
