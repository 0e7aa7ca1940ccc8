"""Chapter 9's figures: titled, with the traces and frames they promise, bad input named."""

import pytest
import torch

from nodelib import augmented, augmented_figures, crossing_problems
from nodelib.seeding import seed_everything


@pytest.fixture(scope="module")
def crossing():
    return crossing_problems.crossing_map()


@pytest.fixture(scope="module")
def annuli():
    return crossing_problems.annuli(60, seed=0)


def test_crossing_figure_has_one_panel_per_model_and_a_title(crossing):
    seed_everything(0)
    models = {"NODE": augmented.NeuralODE(1), "ResNet": augmented.ResNet(1, depth=3)}
    fig = augmented_figures.crossing_figure(models, crossing)
    assert fig.layout.title.text
    assert len(fig.data) == 2 * 3  # two trajectories and the targets, per panel
    resnet_trace = fig.data[3]
    assert resnet_trace.mode == "lines+markers" and len(resnet_trace.x) == 4  # 3 blocks + input


def test_untangling_figure_has_a_frame_per_snapshot(crossing):
    seed_everything(0)
    records = {
        name: augmented.fit(
            augmented.NeuralODE(1, augment_dim=p),
            crossing,
            iterations=4,
            snapshot_every=2,
            n_times=5,
            progress=False,
        )  # fmt: skip
        for name, p in [("plain", 0), ("augmented", 1)]
    }
    fig = augmented_figures.untangling_figure(
        {name: r.snapshots for name, r in records.items()}, crossing
    )
    assert [frame.name for frame in fig.frames] == ["0", "2", "4"]
    assert fig.layout.sliders[0].currentvalue.prefix == "iteration: "
    assert fig.layout.title.text


def test_untangling_figure_refuses_snapshots_at_different_iterations(crossing):
    states = torch.zeros(3, 2, 1)
    with pytest.raises(ValueError, match="same iterations"):
        augmented_figures.untangling_figure(
            {"a": [(0, states)], "b": [(0, states), (5, states)]}, crossing
        )


def test_phase_figure_needs_an_augmented_model(crossing):
    fig = augmented_figures.crossing_phase_figure(augmented.NeuralODE(1, augment_dim=1), crossing)
    assert fig.layout.title.text and fig.layout.yaxis.title.text.startswith("a₁")
    with pytest.raises(ValueError, match="augment_dim >= 1"):
        augmented_figures.crossing_phase_figure(augmented.NeuralODE(1), crossing)


def test_decision_boundary_figure_draws_the_output_and_both_classes(annuli):
    model = augmented.NeuralODE(2, readout="linear")
    fig = augmented_figures.decision_boundary_figure({"NODE": model}, annuli, n_grid=11)
    kinds = [trace.type for trace in fig.data]
    assert kinds == ["contour", "contour", "scatter", "scatter"]
    assert fig.data[0].z.shape == (11, 11)
    with pytest.raises(ValueError, match="drawn in 2-D"):
        augmented_figures.decision_boundary_figure({"m": model}, crossing_problems.crossing_map())


def test_3d_figure_draws_both_classes_and_the_readout_plane(annuli):
    seed_everything(0)
    model = augmented.NeuralODE(2, augment_dim=1, readout="linear")
    fig = augmented_figures.trajectories_3d_figure(model, annuli, n_show=20, n_times=5)
    assert [t.type for t in fig.data] == ["scatter3d"] * 4 + ["surface"]
    assert fig.layout.scene.zaxis.title.text.startswith("a₁")
    with pytest.raises(ValueError, match="at least one extra dimension"):
        augmented_figures.trajectories_3d_figure(augmented.NeuralODE(2), annuli)


def test_training_figure_puts_resnets_only_in_the_loss_panel(crossing):
    node = augmented.fit(augmented.NeuralODE(1), crossing, iterations=2, progress=False)
    resnet = augmented.fit(augmented.ResNet(1), crossing, iterations=2, progress=False)
    fig = augmented_figures.training_figure({"NODE": node, "ResNet": resnet})
    assert [(trace.name, trace.xaxis) for trace in fig.data] == [
        ("NODE", "x"),  # loss
        ("NODE", "x2"),  # NFE
        ("ResNet", "x"),  # loss only
    ]
    assert fig.layout.yaxis.type == "log"
