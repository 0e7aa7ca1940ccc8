"""Tests of the command line ``python -m nodelib.experiments.classify`` (chapter 8)."""

import json
import os

import pytest
import torch

from nodelib import config, odenet
from nodelib import data as image_data
from nodelib.errors import MaxStepsExceededError, NonFiniteError
from nodelib.experiments import checkpoints, classify
from tests.test_data import write_fake_dataset

REQUIRED_KEYS = {
    "dataset", "model", "params", "epochs", "test_accuracy", "seconds_per_epoch",
    "nfe_forward", "nfe_backward", "history", "command",
}  # fmt: skip

TINY_RUN = [
    "--dataset", "fashion-mnist", "--epochs", "1", "--max-batches", "2", "--batch-size", "8",
    "--train-limit", "64", "--test-limit", "32", "--no-progress",
]  # fmt: skip

needs_fashion_mnist = pytest.mark.skipif(
    not image_data.available("fashion-mnist"), reason="Fashion-MNIST is not on this machine"
)


@pytest.fixture
def fake_data(tmp_path):
    """Command-line options for a run of 4 batches of 8 on a tiny random data set."""
    write_fake_dataset(tmp_path / "data", train=32, test=16)
    return [
        "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "data"), "--epochs", "1",
        "--batch-size", "8", "--no-progress",
    ]  # fmt: skip


def _fail_if_called(*args, **kwargs):
    raise AssertionError("training started although an option was wrong")


@needs_fashion_mnist
@pytest.mark.parametrize("model", ["odenet", "resnet", "cnn"])
def test_two_batch_run_on_a_tiny_subset_writes_a_valid_results_file(tmp_path, model):
    out = tmp_path / "results" / f"{model}.json"
    classify.main([*TINY_RUN, "--model", model, "--out", str(out)])
    results = json.loads(out.read_text())
    assert REQUIRED_KEYS <= set(results)
    assert results["model"] == model and results["dataset"] == "fashion-mnist"
    assert 0.0 <= results["test_accuracy"] <= 1.0
    assert len(results["history"]) == 1
    assert results["command"].startswith("python -m nodelib.experiments.classify")
    assert f"--model {model}" in results["command"]


@needs_fashion_mnist
def test_odenet_results_count_four_evaluations_of_the_default_rk4_step(tmp_path):
    out = tmp_path / "odenet.json"
    classify.main([*TINY_RUN, "--model", "odenet", "--out", str(out)])
    results = json.loads(out.read_text())
    assert results["nfe_forward"] == 4 and results["nfe_backward"] == 4


@needs_fashion_mnist
def test_checkpoint_round_trip_restores_the_weights_with_weights_only(tmp_path):
    checkpoint = tmp_path / "odenet.pt"
    classify.main([*TINY_RUN, "--model", "odenet", "--checkpoint", str(checkpoint)])
    state = checkpoints.model_weights(torch.load(checkpoint, weights_only=True))
    fresh = classify.load_checkpoint(odenet.build_model("odenet"), checkpoint)
    for name, tensor in fresh.state_dict().items():
        torch.testing.assert_close(tensor, state[name])


def test_load_checkpoint_also_reads_a_weights_only_file(tmp_path):
    model = odenet.build_model("cnn")
    classify.save_checkpoint(model, tmp_path / "weights.pt")
    fresh = classify.load_checkpoint(odenet.build_model("cnn"), tmp_path / "weights.pt")
    for name, tensor in fresh.state_dict().items():
        torch.testing.assert_close(tensor, model.state_dict()[name])


def test_loading_a_missing_checkpoint_says_which_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        classify.load_checkpoint(odenet.build_model("cnn"), tmp_path / "nothing.pt")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--model", "transformer", "invalid choice: 'transformer'"),
        ("--solver", "leapfrog", "invalid choice: 'leapfrog'"),
        ("--dataset", "cifar10", "invalid choice: 'cifar10'"),
        ("--gradient", "finite-differences", "invalid choice"),
        ("--epochs", "0", "must be > 0, got '0'"),
        ("--step-size", "-0.1", "must be > 0"),
        ("--batch-size", "many", "expected a positive int, got 'many'"),
        ("--batch-size", "0", "must be > 0, got '0'"),
        ("--threads", "100000", f"must be <= {os.cpu_count()}, the CPUs of this machine"),
        ("--threads", "0", "must be > 0"),
        ("--lr", "inf", "must be a finite number, got 'inf'"),
        ("--lr", "nan", "must be a finite number, got 'nan'"),
        ("--lr", "0", "must be > 0"),
        ("--lr", "5", "must be <= 1.0, got '5'"),
        ("--rtol", "-0.001", "must be > 0"),
        ("--end-time", "1e308", "must be <= 100.0"),
        ("--channels", "63", "must be even, got '63'"),
        ("--seed", "-1", "must be >= 0, got '-1'"),
        ("--seed", str(2**40), "must be <= 4294967295"),
        ("--epochs", "1e9", "expected a positive int, got '1e9'"),
        ("--checkpoint-minutes", "-5", "must be >= 0"),
    ],
)
def test_bad_option_value_exits_with_a_message_naming_it(capsys, option, value, message):
    with pytest.raises(SystemExit) as exit_info:
        classify.main([option, value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert option in error and message in error


def test_missing_dataset_exits_with_a_message_saying_what_to_download(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    monkeypatch.setattr(image_data, "_can_reach", lambda url, timeout=0: False)
    with pytest.raises(SystemExit) as exit_info:
        classify.main(["--dataset", "mnist", "--no-progress"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "'mnist' unavailable" in error and str(tmp_path) in error
    # the advice names this command's options, not the environment variables of the notebooks
    assert "--dataset fashion-mnist" in error and "--data-dir" in error
    assert "NODELIB_" not in error


def test_too_many_fixed_steps_are_refused_naming_both_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        classify.main(["--solver", "euler", "--step-size", "1e-7", "--end-time", "1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "argument --step-size: 1e-07 means 10000000 solver steps over --end-time 1" in error


@pytest.mark.parametrize("option", ["--out", "--checkpoint"])
def test_an_output_path_that_is_a_folder_is_refused_before_training(
    capsys, monkeypatch, tmp_path, option
):
    monkeypatch.setattr(image_data, "load_images", _fail_if_called)
    with pytest.raises(SystemExit) as exit_info:
        classify.main(["--no-progress", option, str(tmp_path)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: {tmp_path} is a folder" in error
    assert "Traceback" not in error


@pytest.mark.parametrize("option", ["--out", "--checkpoint"])
def test_an_output_path_under_a_file_is_refused_before_training(
    capsys, monkeypatch, tmp_path, option
):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    monkeypatch.setattr(image_data, "load_images", _fail_if_called)
    with pytest.raises(SystemExit) as exit_info:
        classify.main(["--no-progress", option, str(tmp_path / "notes.txt" / "run.json")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: cannot create" in error and "is a file, not a folder" in error


def test_an_output_folder_that_cannot_be_written_is_refused_before_training(
    capsys, monkeypatch, tmp_path
):
    # Permission bits do not stop root (the test may run as root), so make the write fail.
    from nodelib import atomic_files

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic_files.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(image_data, "load_images", _fail_if_called)
    with pytest.raises(SystemExit) as exit_info:
        classify.main(["--no-progress", "--out", str(tmp_path / "r.json")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --out: cannot write in {tmp_path}: Permission denied" in error


def test_out_and_checkpoint_must_be_different_files(capsys, tmp_path):
    with pytest.raises(SystemExit):
        classify.main(["--out", str(tmp_path / "a"), "--checkpoint", str(tmp_path / "a")])
    assert "argument --checkpoint: must be another file than --out" in capsys.readouterr().err


def test_corrupt_data_file_is_reported_by_name_before_training(capsys, monkeypatch, fake_data):
    data_dir_before = config.DATA_DIR
    raw = fake_data[fake_data.index("--data-dir") + 1] + "/FashionMNIST/raw"
    with open(f"{raw}/train-labels-idx1-ubyte.gz", "r+b") as f:
        f.truncate(30)
    monkeypatch.setattr(classify, "train_step", _fail_if_called)
    with pytest.raises(SystemExit) as exit_info:
        classify.main(fake_data)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "train-labels-idx1-ubyte.gz is truncated" in error and "Traceback" not in error
    assert config.DATA_DIR == data_dir_before  # --data-dir does not outlive the command


def test_a_non_finite_loss_is_reported_with_the_option_that_fixes_it(
    capsys, monkeypatch, fake_data
):
    monkeypatch.setattr(classify, "train_step", lambda *a: (float("nan"), 4, 4))
    with pytest.raises(SystemExit) as exit_info:
        classify.main([*fake_data, "--lr", "0.5"])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert "training loss became nan at epoch 1, step 1" in error
    assert "lower --lr (now 0.5) or --step-size (now 1)" in error


def test_weights_that_blow_up_are_caught_before_the_next_solve(capsys, monkeypatch, fake_data):
    def step_to_infinity(model, images, labels, optimizer):
        with torch.no_grad():
            next(model.parameters()).fill_(float("inf"))
        return 1.0, 4, 4

    monkeypatch.setattr(classify, "train_step", step_to_infinity)
    with pytest.raises(SystemExit) as exit_info:
        classify.main([*fake_data, "--model", "cnn"])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert "became NaN or infinite at epoch 1, step 1" in error and "lower --lr" in error
    assert "y0 contains NaN" not in error


@pytest.mark.parametrize(
    ("failure", "advice"),
    [
        (MaxStepsExceededError("dopri5 needed more than 10000 steps"), "loosen --rtol/--atol"),
        (NonFiniteError("func returned NaN or inf at t=0.5"), "lower --lr (now 0.001)"),
    ],
)
def test_a_failed_ode_solve_is_reported_with_the_option_that_fixes_it(
    capsys, monkeypatch, fake_data, failure, advice
):
    def fail(*args):
        raise failure

    monkeypatch.setattr(classify, "train_step", fail)
    with pytest.raises(SystemExit) as exit_info:
        classify.main(fake_data)
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert f"the ODE solve failed at epoch 1, step 1: {failure}" in error and advice in error
    assert "Traceback" not in error


def test_every_epoch_has_a_progress_bar_with_the_time_left(capsys, fake_data):
    argv = [a for a in fake_data if a != "--no-progress"]
    classify.main([*argv, "--epochs", "2"])
    captured = capsys.readouterr()
    for epoch in (1, 2):
        assert f"odenet epoch {epoch}/2" in captured.err and "4/4 [" in captured.err
    assert "run_left=" in captured.err  # the bar's estimate for the whole run
    assert "odenet epoch 1: train loss" in captured.out and "run left" in captured.out


def test_the_results_file_is_replaced_atomically(monkeypatch, tmp_path, fake_data):
    out = tmp_path / "r.json"
    out.write_text('{"old": true}\n')
    replaced = []

    def interrupted_replace(source, target):
        replaced.append(target)
        raise KeyboardInterrupt  # Ctrl-C at the last moment of writing the results

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(SystemExit) as exit_info:
        classify.main([*fake_data, "--out", str(out)])
    assert replaced == [out] and exit_info.value.code == classify.EXIT_INTERRUPTED
    assert json.loads(out.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "r.json"]
