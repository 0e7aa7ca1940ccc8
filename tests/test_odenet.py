"""Tests of nodelib.odenet: the ODE-Net, its baselines and the NFE counter (chapter 8)."""

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from nodelib import odenet

IMAGES = torch.rand(4, 1, 28, 28)
LABELS = torch.tensor([0, 1, 2, 3])


@pytest.mark.parametrize("name", odenet.MODELS)
def test_every_model_maps_images_to_ten_logits(name):
    assert odenet.build_model(name)(IMAGES).shape == (4, 10)


def test_downsampling_shrinks_28_by_28_images_to_7_by_7():
    assert odenet.downsampling(16)(IMAGES).shape == (4, 16, 7, 7)


def test_course_odenet_has_at_most_0_22_million_parameters():
    assert odenet.count_parameters(odenet.build_model("odenet")) <= 220_000


def test_odenet_has_fewer_parameters_than_the_resnet_built_from_the_same_parts():
    ode = odenet.count_parameters(odenet.build_model("odenet"))
    res = odenet.count_parameters(odenet.build_model("resnet"))
    assert ode < res


def test_cnn_is_the_odenet_without_its_middle_block():
    ode = odenet.count_parameters(odenet.build_model("odenet"))
    cnn = odenet.count_parameters(odenet.build_model("cnn"))
    dynamics = odenet.count_parameters(odenet.ConvDynamics(odenet.DEFAULTS["channels"]))
    assert ode - cnn == dynamics


def test_rk4_with_one_step_evaluates_the_dynamics_four_times_forward_and_backward():
    model = odenet.build_model("odenet", solver="rk4", step_size=1.0, gradient="backprop")
    model.reset_nfe()
    loss = nn.functional.cross_entropy(model(IMAGES), LABELS)
    assert model.nfe() == (4, 0)
    loss.backward()
    assert model.nfe() == (4, 4)


def test_adjoint_differentiates_by_evaluating_the_dynamics_again_backwards():
    model = odenet.build_model("odenet", solver="euler", step_size=0.25, gradient="adjoint")
    model.reset_nfe()
    loss = nn.functional.cross_entropy(model(IMAGES), LABELS)
    forward = model.nfe()[0]
    loss.backward()
    assert forward == 4
    assert model.nfe()[1] >= 4


def test_adjoint_and_backprop_agree_on_the_gradient_with_an_accurate_solver():
    # The adjoint solves its own ODE backwards, so the two gradients agree only up to
    # the solver's error: rk4 with small steps makes that error negligible here.
    torch.manual_seed(0)
    model = odenet.build_model("odenet", channels=8, solver="rk4", step_size=0.25)
    grads = []
    for gradient in ("backprop", "adjoint"):
        model.middle.gradient = gradient
        model.zero_grad()
        nn.functional.cross_entropy(model(IMAGES), LABELS).backward()
        grads.append(model.middle.dynamics.func.conv1.weight.grad.clone())
    relative_difference = (grads[0] - grads[1]).norm() / grads[0].norm()
    assert relative_difference < 0.02


def test_resnet_counts_one_evaluation_per_residual_block():
    model = odenet.build_model("resnet", residual_blocks=3)
    model.reset_nfe()
    model(IMAGES)
    assert model.nfe()[0] == 3


@pytest.mark.parametrize("norm", ["none", "group"])
def test_dynamics_of_one_image_do_not_depend_on_the_rest_of_the_batch(norm):
    dynamics = odenet.ConvDynamics(8, norm=norm)
    h = torch.randn(3, 8, 7, 7)
    t = torch.tensor(0.0)
    torch.testing.assert_close(dynamics(t, h)[:1], dynamics(t, h[:1]))


def test_source_network_uses_twenty_euler_steps_and_the_adjoint():
    model = odenet.build_model("source_odenet")
    model.reset_nfe()
    model(IMAGES)
    assert model.nfe()[0] == 20
    assert model.middle.gradient == "adjoint"


def test_adjoint_keeps_fewer_activations_than_backprop_through_many_steps():
    memory = {}
    for gradient in ("backprop", "adjoint"):
        model = odenet.build_model("odenet", solver="euler", step_size=0.1, gradient=gradient)
        memory[gradient] = odenet.saved_activation_bytes(model, IMAGES, LABELS)
    assert memory["adjoint"] < memory["backprop"] / 3


def test_unknown_model_name_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="model must be one of"):
        odenet.build_model("transformer")


def test_fixed_step_solver_without_step_size_is_refused():
    with pytest.raises(ValueError, match="step_size"):
        odenet.build_model("odenet", solver="rk4", step_size=None)


def test_benchmark_quick_run_reports_every_model_and_the_speedup():
    path = Path(__file__).parents[1] / "benchmarks" / "odenet.py"
    spec = importlib.util.spec_from_file_location("odenet_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    result = benchmark.benchmark(rounds=1, iters_per_round=1, batch_size=4)
    assert set(result["models"]) == {"course_odenet", "source_odenet", "resnet"}
    assert result["speedup_vs_source"] > 0
    for row in result["models"].values():
        assert row["seconds_per_iter"] > 0 and row["params"] > 0


def test_middle_block_memory_with_the_adjoint_does_not_grow_with_the_steps():
    memory = [
        odenet.block_activation_bytes(
            odenet.build_model("odenet", solver="euler", step_size=1 / steps, gradient="adjoint"),
            IMAGES,
        )
        for steps in (1, 8)
    ]
    assert memory[1] == memory[0]


def test_middle_block_memory_of_a_resnet_grows_in_proportion_to_its_blocks():
    one, eight = (
        odenet.block_activation_bytes(odenet.build_model("resnet", residual_blocks=n), IMAGES)
        for n in (1, 8)
    )
    assert eight == 8 * one


def test_saved_activation_bytes_counts_a_slice_of_a_big_tensor_as_the_slice():
    big = torch.rand(1000, 1, 28, 28)
    model = odenet.build_model("cnn")
    assert odenet.saved_activation_bytes(model, big[:4], LABELS) == odenet.saved_activation_bytes(
        model, big[:4].clone(), LABELS
    )


def test_adaptive_nfe_probe_restores_the_model_solver_settings():
    model = odenet.build_model("odenet")
    forward, backward = odenet.adaptive_nfe(model, IMAGES, LABELS)
    assert forward >= 6 and backward >= 6  # dopri5 takes at least one step of 6 stages
    assert (model.middle.solver, model.middle.gradient) == ("rk4", "backprop")
    assert all(p.grad is None for p in model.parameters())


def test_feature_trajectory_starts_at_the_downsampled_image():
    model = odenet.build_model("odenet")
    trajectory = odenet.feature_trajectory(model, IMAGES, torch.linspace(0, 1, 3))
    assert trajectory.shape == (3, 4, 64, 7, 7)
    with torch.no_grad():
        torch.testing.assert_close(trajectory[0], model.downsample(IMAGES))


def test_tighter_tolerance_costs_more_evaluations_and_reverses_more_accurately():
    from nodelib.experiments.tradeoffs import tolerance_sweep

    loose, tight = tolerance_sweep(rtols=(1e-2, 1e-6), points=5)
    assert tight.nfe_forward > loose.nfe_forward
    assert tight.reverse_error < loose.reverse_error


def test_weight_tied_resnet_has_the_parameters_of_one_block_and_the_odenet():
    tied = odenet.build_model("resnet_shared", residual_blocks=4)
    assert odenet.count_parameters(tied) == odenet.count_parameters(odenet.build_model("odenet"))
    assert odenet.count_parameters(tied) < odenet.count_parameters(odenet.build_model("resnet"))


def test_weight_tied_resnet_applies_its_one_block_as_often_as_asked():
    tied = odenet.build_model("resnet_shared", residual_blocks=3)
    tied.reset_nfe()
    tied(IMAGES)
    assert tied.nfe()[0] == 3


def test_weight_tied_resnet_is_euler_with_step_one_on_its_block():
    tied = odenet.build_model("resnet_shared", residual_blocks=4)
    euler = odenet.build_model("odenet", solver="euler", step_size=1.0, end_time=4.0)
    euler.load_state_dict(
        {
            k.replace("middle.block.residual.", "middle.dynamics."): v
            for k, v in tied.state_dict().items()
        }
    )
    with torch.no_grad():
        torch.testing.assert_close(tied(IMAGES), euler(IMAGES))


def test_chen_odenet_is_the_odenet_solved_adaptively_with_the_adjoint():
    chen = odenet.build_model("chen_odenet")
    assert (chen.middle.solver, chen.middle.gradient) == ("dopri5", "adjoint")
    assert (chen.middle.rtol, chen.middle.atol) == (1e-3, 1e-3)
    assert odenet.count_parameters(chen) == odenet.count_parameters(odenet.build_model("odenet"))
    chen.reset_nfe()
    torch.nn.functional.cross_entropy(chen(IMAGES), LABELS).backward()
    forward, backward = chen.nfe()
    assert forward > 4 and backward > 0


def test_every_model_has_a_label_for_the_chapter():
    assert set(odenet.MODEL_LABELS) == set(odenet.MODELS)
