"""Chapter 9's models: a Neural ODE preserves order, augmentation pads zeros, a ResNet can
fit the crossing map, and training records loss and NFE."""

import pytest
import torch

from nodelib import augmented, crossing_problems
from nodelib.seeding import seed_everything


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def crossing():
    return crossing_problems.crossing_map()


@pytest.fixture(scope="module")
def trained_crossing(crossing):
    torch.set_num_threads(1)
    models = augmented.contenders(crossing, augment_dim=1, depth=4, seed=0)
    records = {
        k: augmented.fit(m, crossing, iterations=60, progress=False) for k, m in models.items()
    }
    return models, records


def _outputs_on_a_line(model):
    grid = torch.linspace(-2.0, 2.0, 101)[:, None]
    with torch.no_grad():
        return model(grid)[:, 0]


def test_an_untrained_neural_ode_preserves_order_on_the_line():
    seed_everything(1)
    model = augmented.NeuralODE(1)
    outputs = _outputs_on_a_line(model)
    assert bool((outputs[1:] > outputs[:-1]).all())


def test_a_trained_neural_ode_still_preserves_order_and_cannot_beat_mse_one(
    trained_crossing, crossing
):
    models, records = trained_crossing
    outputs = _outputs_on_a_line(models["node"])
    assert bool((outputs[1:] > outputs[:-1]).all())
    # any order-preserving map has MSE >= 1 on g(-1) = 1, g(1) = -1 (the solver's error aside)
    assert augmented.mse(models["node"], crossing) >= 0.99
    assert records["node"].losses[-1] >= 0.99


def test_an_augmented_neural_ode_learns_the_crossing_map(trained_crossing, crossing):
    models, _ = trained_crossing
    assert augmented.mse(models["anode"], crossing) < 1e-2


def test_a_resnet_with_finite_steps_learns_the_crossing_map(trained_crossing, crossing):
    models, _ = trained_crossing
    assert augmented.mse(models["resnet"], crossing) < 1e-2


def test_the_augmented_models_first_coordinates_cross_but_its_states_never_meet(
    trained_crossing, crossing
):
    model = trained_crossing[0]["anode"]
    states, _ = model.trajectory(crossing.inputs, n_times=201)
    states = states.detach()
    first = states[:, 1, 0] - states[:, 0, 0]  # h1 from x = 1 minus h1 from x = -1
    assert float(first[0]) > 0 and float(first[-1]) < 0  # the projections cross...
    distance = (states[:, 1] - states[:, 0]).norm(dim=1)
    assert float(distance.min()) > 1e-2  # ...the trajectories in the plane do not


def test_lift_appends_zeros_after_the_data():
    model = augmented.NeuralODE(2, augment_dim=3)
    x = torch.randn(5, 2)
    h0 = model.lift(x)
    assert h0.shape == (5, 5) and model.state_dim == 5
    assert torch.equal(h0[:, :2], x) and torch.equal(h0[:, 2:], torch.zeros(5, 3))


def test_a_plain_neural_ode_lifts_to_its_input():
    x = torch.randn(4, 1)
    assert torch.equal(augmented.NeuralODE(1).lift(x), x)


def test_trajectory_shapes_and_start(crossing):
    model = augmented.NeuralODE(1, augment_dim=2)
    states, stats = model.trajectory(crossing.inputs, n_times=11)
    assert states.shape == (11, 2, 3)
    assert torch.equal(states[0], model.lift(crossing.inputs))
    assert stats.nfe > 0


def test_linear_readout_gives_one_output_per_point():
    model = augmented.NeuralODE(2, augment_dim=1, readout="linear")
    assert model(torch.randn(7, 2)).shape == (7, 1)


def test_resnet_path_has_one_state_per_block_and_its_output_is_the_last():
    model = augmented.ResNet(2, depth=3, readout="linear")
    x = torch.randn(4, 2)
    path = model.path(x)
    assert path.shape == (4, 4, 2) and torch.equal(path[0], x)
    assert torch.allclose(model(x), model.readout(path[-1]))


def test_a_shared_weight_resnet_is_euler_steps_of_its_field():
    from nodelib.solvers import odeint

    seed_everything(0)
    model = augmented.ResNet(1, depth=8, shared_weights=True)
    x = torch.tensor([[-1.0], [0.5]])
    euler = odeint(model.fields[0], x, torch.linspace(0, 1, 9), method="euler")
    assert torch.allclose(model.path(x), euler, atol=1e-6)


def test_euler_refinement_of_a_one_step_fit_climbs_towards_the_flows_floor(crossing):
    seed_everything(0)
    one_step = augmented.ResNet(1, depth=1, shared_weights=True)
    augmented.fit(one_step, crossing, iterations=150, progress=False)
    errors = augmented.euler_refinement(one_step, crossing, [1, 64])
    assert errors[0] < 1e-3
    assert errors[1] > 0.9


def test_fit_records_one_loss_and_one_nfe_per_iteration_and_snapshots(crossing):
    seed_everything(0)
    model = augmented.NeuralODE(1, augment_dim=1)
    seen = []
    record = augmented.fit(
        model, crossing, iterations=6, snapshot_every=3, n_times=5, progress=False,
        callback=lambda i, loss: seen.append(i),
    )  # fmt: skip
    assert len(record.losses) == len(record.nfe) == 6 and seen == list(range(6))
    assert [it for it, _ in record.snapshots] == [0, 3, 6]
    assert record.snapshots[0][1].shape == (5, 2, 2)


def test_resnet_training_records_no_nfe(crossing):
    record = augmented.fit(augmented.ResNet(1), crossing, iterations=3, progress=False)
    assert len(record.losses) == 3 and record.nfe == []


def test_adaptive_nfe_counts_dopri5_evaluations_for_any_training_solver(crossing):
    model = augmented.NeuralODE(1, method="rk4")
    assert model.forward_with_stats(crossing.inputs)[1].nfe == 40  # 10 steps of 4 stages
    nfe = augmented.adaptive_nfe(model, crossing.inputs)
    assert nfe >= 8 and (nfe - 2) % 6 == 0  # 2 setup evaluations, then 6 per attempted step


def test_accuracy_scores_the_sign_of_the_output():
    problem = crossing_problems.annuli(40, seed=0)
    model = augmented.NeuralODE(2, readout="linear")
    with torch.no_grad():
        model.readout.linear.weight.zero_()
        model.readout.linear.bias.fill_(1.0)  # always +1: right on the ring's half only
    assert augmented.accuracy(model, problem) == pytest.approx(0.5)


def test_contenders_are_seeded_and_labelled():
    problem = crossing_problems.annuli(20)
    a = augmented.contenders(problem, augment_dim=2, seed=0)
    b = augmented.contenders(problem, augment_dim=2, seed=0)
    assert list(a) == ["node", "anode", "resnet"]
    assert torch.equal(a["anode"].field.net[0].weight, b["anode"].field.net[0].weight)
    assert [augmented.label_of(m) for m in a.values()] == [
        "Neural ODE",
        "augmented, p = 2",
        "ResNet, 4 blocks",
    ]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: augmented.NeuralODE(0), "data_dim must be an integer >= 1"),
        (lambda: augmented.NeuralODE(1, augment_dim=-1), "augment_dim must be an integer >= 0"),
        (lambda: augmented.NeuralODE(1, augment_dim=1.5), "augment_dim must be an integer"),
        (lambda: augmented.NeuralODE(1, method="rk45"), "valid methods are"),
        (lambda: augmented.NeuralODE(1, readout="softmax"), "valid read-outs are"),
        (lambda: augmented.NeuralODE(1, out_dim=2), "readout='project' keeps out_dim=2"),
        (lambda: augmented.NeuralODE(1, step_size=0), "step_size must be a number in"),
        (lambda: augmented.ResNet(1, depth=0), "depth must be an integer >= 1"),
    ],
)
def test_bad_model_arguments_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_inputs_of_the_wrong_shape_are_refused_with_the_shape():
    model = augmented.NeuralODE(2, augment_dim=1)
    with pytest.raises(ValueError, match=r"shape \(batch, data_dim=2\), got shape \(3, 3\)"):
        model(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="floating-point tensor"):
        model(torch.zeros(3, 2, dtype=torch.long))


def test_fit_refuses_a_problem_of_another_dimension_and_bad_settings(crossing):
    with pytest.raises(ValueError, match="dimension 2 but problem 'crossing' has dimension 1"):
        augmented.fit(augmented.NeuralODE(2), crossing, iterations=1, progress=False)
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"):
        augmented.fit(augmented.NeuralODE(1), crossing, iterations=0, progress=False)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        augmented.fit(augmented.NeuralODE(1), crossing, iterations=1, lr=-1, progress=False)


def test_resnets_without_shared_weights_run_only_at_their_depth(crossing):
    with pytest.raises(ValueError, match="only a ResNet with shared_weights=True"):
        augmented.ResNet(1, depth=2).path(crossing.inputs, depth=3)
    with pytest.raises(ValueError, match="needs a ResNet with shared_weights=True"):
        augmented.euler_refinement(augmented.ResNet(1), crossing, [1, 2])
