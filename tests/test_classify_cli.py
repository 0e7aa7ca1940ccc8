"""Tests of the command line ``python -m nodelib.experiments.classify`` (chapter 8)."""

import json

import pytest
import torch

from nodelib import config, odenet
from nodelib import data as image_data
from nodelib.experiments import classify

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
    state = torch.load(checkpoint, weights_only=True)
    fresh = classify.load_checkpoint(odenet.build_model("odenet"), checkpoint)
    for name, tensor in fresh.state_dict().items():
        torch.testing.assert_close(tensor, state[name])


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


def test_help_explains_every_option_of_the_issue():
    help_text = classify.build_parser().format_help()
    for option in (
        "--dataset", "--model", "--solver", "--step-size", "--rtol", "--atol", "--gradient",
        "--epochs", "--batch-size", "--max-batches", "--seed", "--out", "--checkpoint",
    ):  # fmt: skip
        assert option in help_text


def test_results_file_is_found_from_a_notebook_folder(tmp_path, monkeypatch):
    from nodelib.experiments import results

    (tmp_path / "results" / "x").mkdir(parents=True)
    (tmp_path / "results" / "x" / "r.json").write_text('{"model": "odenet"}')
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    assert results.load_results("results/x/r.json") == {"model": "odenet"}


def test_missing_results_file_names_the_folders_searched(tmp_path, monkeypatch):
    from nodelib.experiments import results

    monkeypatch.chdir(tmp_path)
    assert results.load_results("results/none.json", missing_ok=True) is None
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        results.load_results("results/none.json")
