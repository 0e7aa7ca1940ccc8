"""A training run that never loses work: atomic checkpoints, Ctrl-C, and --resume (chapter 8)."""

import json
import random
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from nodelib import atomic_files
from nodelib.experiments import checkpoints, classify
from tests.test_data import write_fake_dataset

#: Results that must not depend on whether the run was interrupted (not: seconds, dates).
SAME_NUMBERS = ("test_accuracy", "nfe_forward", "nfe_backward", "params")


@pytest.fixture
def tiny_run(tmp_path):
    """Options of a 2-epoch run of 4 batches of 8 random images, with a checkpoint."""
    write_fake_dataset(tmp_path / "data", train=32, test=16)

    def options(name: str) -> list[str]:
        return [
            "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "data"),
            "--epochs", "2", "--batch-size", "8", "--no-progress",
            "--checkpoint", str(tmp_path / f"{name}.pt"), "--out", str(tmp_path / f"{name}.json"),
        ]  # fmt: skip

    return options


def interrupt_at_call(monkeypatch, call: int) -> None:
    """Make the ``call``-th training step raise KeyboardInterrupt, as Ctrl-C would."""
    real_step, calls = classify.train_step, []

    def step(*args):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(classify, "train_step", step)


def assert_same_run(resumed: dict, straight: dict, resumed_weights: dict, straight_weights: dict):
    for key in SAME_NUMBERS:
        assert resumed[key] == straight[key], key
    for a, b in zip(resumed["history"], straight["history"], strict=True):
        # the clock and the machine's load differ between two runs; nothing else may
        measured = ("seconds", "load_average")
        assert {k: v for k, v in a.items() if k not in measured} == {
            k: v for k, v in b.items() if k not in measured
        }
    for name, tensor in straight_weights.items():
        torch.testing.assert_close(resumed_weights[name], tensor, rtol=0, atol=0)


def checkpoint_of(options: list[str]) -> str:
    return options[options.index("--checkpoint") + 1]


def weights(options: list[str]) -> dict:
    """The model weights in the checkpoint of the run with these options."""
    return checkpoints.model_weights(torch.load(checkpoint_of(options), weights_only=True))


# --------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------


def test_an_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    checkpoints.save(path, {"model": {"w": torch.ones(3)}, "progress": {"epoch": 2}})
    real_save = torch.save

    def save_half_then_interrupt(obj, file, *args, **kwargs):
        real_save(obj, file, *args, **kwargs)
        file.truncate(file.tell() // 2)  # half of the bytes are on disk...
        raise KeyboardInterrupt  # ...when Ctrl-C arrives

    monkeypatch.setattr(torch, "save", save_half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save(path, {"model": {"w": torch.zeros(3)}, "progress": {"epoch": 3}})
    monkeypatch.undo()
    state = checkpoints.load(path)
    assert state["progress"]["epoch"] == 2
    torch.testing.assert_close(state["model"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary file left


def test_a_broken_checkpoint_is_reported_by_name(tmp_path):
    path = tmp_path / "cut.pt"
    checkpoints.save(path, {"model": {"w": torch.ones(1000)}})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(checkpoints.CheckpointError, match="cut.pt cannot be read"):
        checkpoints.load(path)


def test_atomic_json_has_the_permissions_of_an_ordinary_file(tmp_path):
    atomic_files.write_json(tmp_path / "a.json", {"x": 1})
    (tmp_path / "b.json").write_text("{}")
    assert (tmp_path / "a.json").stat().st_mode == (tmp_path / "b.json").stat().st_mode
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}


def test_random_state_round_trip_repeats_every_generator():
    generator = torch.Generator().manual_seed(5)
    state = checkpoints.random_state(generator)
    first = (
        random.random(),
        np.random.rand(),
        torch.rand(1).item(),
        torch.rand(1, generator=generator).item(),
    )
    checkpoints.restore_random_state(state, generator)
    again = (
        random.random(),
        np.random.rand(),
        torch.rand(1).item(),
        torch.rand(1, generator=generator).item(),
    )
    assert first == again


# --------------------------------------------------------------------------------------
# Ctrl-C and --resume
# --------------------------------------------------------------------------------------


def test_ctrl_c_prints_one_line_with_the_command_that_resumes(tiny_run, monkeypatch, capsys):
    options = tiny_run("run")
    interrupt_at_call(monkeypatch, 6)  # the second batch of epoch 2
    with pytest.raises(SystemExit) as exit_info:
        classify.main(options)
    assert exit_info.value.code == classify.EXIT_INTERRUPTED
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert len(error.strip().splitlines()) == 1
    expected = shlex.join(["python", "-m", "nodelib.experiments.classify", *options, "--resume"])
    assert error.strip().endswith(f"holds 1 of 2 epochs. Resume with: {expected}")


def test_resumed_run_ends_with_the_same_numbers_as_an_uninterrupted_one(
    tiny_run, monkeypatch, capsys
):
    straight = classify.main(tiny_run("straight"))
    interrupt_at_call(monkeypatch, 5)  # the first batch of epoch 2: epoch 1 is checkpointed
    with pytest.raises(SystemExit):
        classify.main(tiny_run("resumed"))
    command = capsys.readouterr().err.strip().split("Resume with: ")[1]
    monkeypatch.undo()
    resumed = classify.main(shlex.split(command)[3:])  # the printed command, after "python -m x"
    assert_same_run(resumed, straight, weights(tiny_run("resumed")), weights(tiny_run("straight")))


def test_a_run_resumed_within_an_epoch_ends_with_the_same_numbers(tiny_run, monkeypatch):
    straight = classify.main(tiny_run("straight"))
    options = [*tiny_run("resumed"), "--checkpoint-minutes", "0"]  # a checkpoint every batch
    interrupt_at_call(monkeypatch, 3)  # epoch 1 stops after 2 of its 4 batches
    with pytest.raises(SystemExit):
        classify.main(options)
    assert checkpoints.load(checkpoint_of(options))["progress"]["batch"] == 2
    monkeypatch.undo()
    resumed = classify.main([*options, "--resume"])
    assert_same_run(resumed, straight, weights(options), weights(tiny_run("straight")))


def test_resuming_a_finished_run_rewrites_its_results_without_training(tiny_run, monkeypatch):
    options = tiny_run("run")
    first = classify.main(options)
    monkeypatch.setattr(classify, "train_step", lambda *a: pytest.fail("trained again"))
    again = classify.main([*options, "--resume"])
    assert again["history"] == first["history"]


def test_ctrl_c_before_any_checkpoint_says_nothing_can_be_resumed(tiny_run, monkeypatch, capsys):
    interrupt_at_call(monkeypatch, 1)
    options = tiny_run("run")
    with pytest.raises(SystemExit):
        classify.main(options)
    error = capsys.readouterr().err
    assert "interrupted before the first checkpoint was saved; start again with:" in error
    assert "--resume" not in error


def test_an_existing_checkpoint_is_not_overwritten_without_resume(tiny_run, capsys):
    options = tiny_run("run")
    classify.main(options)
    saved = Path(checkpoint_of(options)).read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        classify.main(options)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert (
        "argument --checkpoint:" in error and "exists already" in error and "add --resume" in error
    )
    assert Path(checkpoint_of(options)).read_bytes() == saved


def test_resume_with_other_options_names_them(tiny_run, monkeypatch, capsys):
    options = tiny_run("run")
    interrupt_at_call(monkeypatch, 5)
    with pytest.raises(SystemExit):
        classify.main(options)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        classify.main([*options, "--resume", "--lr", "0.01"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "argument --resume:" in error
    assert "written with --lr 0.001, but this command has --lr 0.01" in error


def test_resume_needs_a_checkpoint_that_exists(tmp_path, capsys):
    with pytest.raises(SystemExit):
        classify.main(["--resume"])
    assert "argument --resume: needs --checkpoint FILE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        classify.main(["--resume", "--checkpoint", str(tmp_path / "none.pt")])
    assert "argument --resume: there is no checkpoint file" in capsys.readouterr().err
