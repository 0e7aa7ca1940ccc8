"""Tests of ``python -m nodelib.experiments.suite``: chapter 8's comparison, resumable."""

import json

import pytest

from nodelib import data as image_data
from nodelib import odenet
from nodelib.experiments import suite

needs_fashion_mnist = pytest.mark.skipif(
    not image_data.available("fashion-mnist"), reason="Fashion-MNIST is not on this machine"
)


def test_suite_trains_every_model_with_three_seeds_except_the_slow_ones(tmp_path):
    runs = suite.suite_runs(tmp_path)
    seeds = {}
    for run in runs:
        seeds.setdefault(run.model, []).append(run.seed)
    assert set(seeds) == set(odenet.MODELS)
    assert all(len(s) == 3 for m, s in seeds.items() if m not in ("chen_odenet", "source_odenet"))
    assert seeds["chen_odenet"] == seeds["source_odenet"] == [0]


def test_runs_name_their_files_after_model_and_seed(tmp_path):
    run = suite.Run("resnet", 2, tmp_path / "fashion-mnist")
    assert run.out == tmp_path / "fashion-mnist" / "resnet-2.json"
    assert run.checkpoint.parent.name == "checkpoints" and run.log.parent.name == "logs"


def test_a_run_with_a_checkpoint_resumes_it(tmp_path):
    run = suite.Run("cnn", 0, tmp_path)
    assert "--resume" not in suite.classify_arguments(run, "fashion-mnist", epochs=5, quick=False)
    run.checkpoint.parent.mkdir()
    run.checkpoint.write_bytes(b"saved")
    argv = suite.classify_arguments(run, "fashion-mnist", epochs=5, quick=False)
    assert "--resume" in argv and argv[argv.index("--threads") + 1] == "1"


def test_every_run_is_trained_the_same_way(tmp_path):
    argvs = [
        suite.classify_arguments(run, "fashion-mnist", epochs=5, quick=False)
        for run in suite.suite_runs(tmp_path)
    ]
    for argv in argvs:
        assert argv[argv.index("--epochs") + 1] == "5"
        for option in ("--lr", "--batch-size", "--schedule", "--max-batches"):
            assert option not in argv  # the defaults, the same for every model


def write_result(run, *, model=None, seed=None, epochs=5):
    run.out.parent.mkdir(parents=True, exist_ok=True)
    run.out.write_text(
        json.dumps({"model": model or run.model, "epochs": epochs,
                    "settings": {"seed": run.seed if seed is None else seed}})
    )  # fmt: skip


def test_a_finished_run_is_recognised_and_another_runs_file_is_refused(tmp_path):
    run = suite.Run("cnn", 1, tmp_path)
    assert not suite.finished(run, epochs=5)
    write_result(run)
    assert suite.finished(run, epochs=5)
    with pytest.raises(ValueError, match="1 epochs|another run"):
        suite.finished(run, epochs=1)
    write_result(run, seed=7)
    with pytest.raises(ValueError, match="delete it"):
        suite.finished(run, epochs=5)


def test_finished_runs_are_skipped(tmp_path, monkeypatch):
    for run in suite.suite_runs(tmp_path / "fashion-mnist", ["cnn"]):
        write_result(run)

    def must_not_train(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(suite, "train", must_not_train)
    files = suite.run_suite("fashion-mnist", root=tmp_path, models=["cnn"], progress=False)
    assert [f.name for f in files] == ["cnn-0.json", "cnn-1.json", "cnn-2.json"]


def test_a_failed_run_is_named_with_its_log(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "train", lambda run, *a, **k: (run, 1, 0.0))
    with pytest.raises(RuntimeError, match=r"cnn-0 \(see .*cnn-0.log\).*run the same command"):
        suite.run_suite("fashion-mnist", root=tmp_path, models=["cnn"], progress=False)


def test_bad_jobs_are_refused_with_the_valid_range(capsys):
    with pytest.raises(SystemExit):
        suite.main(["--jobs", "0", "--quick"])
    assert "--jobs: must be 1.." in capsys.readouterr().err


@needs_fashion_mnist
def test_quick_suite_trains_writes_and_loads_a_model(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "SUITE", (suite.SuiteEntry("cnn", (0,)),))
    files = suite.run_suite("fashion-mnist", root=tmp_path, epochs=1, quick=True, progress=False)
    result = json.loads(files[0].read_text())
    assert result["model"] == "cnn" and result["history"][0]["load_average"] is not None
    assert not suite.Run("cnn", 0, tmp_path / "fashion-mnist").checkpoint.exists()
    assert list(suite.load_suite(tmp_path / "fashion-mnist")) == ["cnn"]
