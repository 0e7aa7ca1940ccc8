"""benchmarks/training_practice.py runs (at the studies' quick sizes) and writes the documented
keys with finite numbers, atomically and stamped; its aims are judged from the numbers."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "training_practice.py"
SECTIONS = {
    "regularisation": {"nfe_plain", "nfe_regularised", "loss_plain", "loss_regularised"},
    "adjoint_variants": {"T", "backsolve_rel_err", "checkpoint_rel_err", "checkpoint_peak_mb"},
    "seminorm": {"backward_nfe_default", "backward_nfe_seminorm", "grad_rel_diff"},
    "stiff": {"problem", "explicit_nfe", "implicit_nfe", "explicit_seconds", "implicit_seconds"},
}


def load_benchmark_module():
    spec = importlib.util.spec_from_file_location("training_practice", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("training_practice")
    out = folder / "training_practice.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )
    return folder, json.loads(out.read_text())


@pytest.mark.slow
def test_quick_run_writes_every_documented_key(quick_run):
    _, result = quick_run
    for section, keys in SECTIONS.items():
        assert keys <= set(result[section]), f"{section} lacks {keys - set(result[section])}"
    assert {"aims", "seconds", "quick", "command", "machine"} <= set(result)
    assert result["quick"] is True


@pytest.mark.slow
def test_quick_run_numbers_are_finite(quick_run):
    _, result = quick_run
    numbers = [
        *(result["regularisation"][key] for key in SECTIONS["regularisation"]),
        *result["adjoint_variants"]["backsolve_rel_err"],
        *result["adjoint_variants"]["checkpoint_rel_err"],
        *result["adjoint_variants"]["checkpoint_peak_mb"].values(),
        result["seminorm"]["backward_nfe_default"],
        result["seminorm"]["backward_nfe_seminorm"],
        result["seminorm"]["grad_rel_diff"],
        *(result["stiff"][key] for key in SECTIONS["stiff"] - {"problem"}),
        *result["seconds"].values(),
    ]
    assert all(isinstance(n, int | float) and math.isfinite(n) for n in numbers)
    assert len(result["adjoint_variants"]["T"]) == len(
        result["adjoint_variants"]["backsolve_rel_err"]
    )


@pytest.mark.slow
def test_quick_run_is_written_atomically_with_the_stamp(quick_run):
    folder, result = quick_run
    # the atomic writer renames a finished temporary file: nothing else is left behind
    assert [path.name for path in folder.iterdir()] == ["training_practice.json"]
    assert result["command"].startswith("python benchmarks/training_practice.py --quick")
    assert {"cpu", "cores", "torch", "date"} <= set(result["machine"])


@pytest.mark.slow
def test_quick_run_records_a_verdict_for_every_aim(quick_run):
    _, result = quick_run
    assert set(result["aims"]["met"]) == {
        "regularisation",
        "checkpoint_exact",
        "backsolve_breaks",
        "seminorm_saving",
        "seminorm_same_gradient",
        "stiff",
    }
    assert all(isinstance(value, bool) for value in result["aims"]["met"].values())


def _result(nfe_regularised=60.0, loss_regularised=0.105, backsolve_last=2e-3):
    return {
        "regularisation": {
            "nfe_plain": 100.0,
            "nfe_regularised": nfe_regularised,
            "loss_plain": 0.1,
            "loss_regularised": loss_regularised,
        },
        "adjoint_variants": {
            "backsolve_rel_err": [1e-6, backsolve_last],
            "checkpoint_rel_err": [1e-15, 1e-15],
        },
        "seminorm": {
            "backward_nfe_default": 100,
            "backward_nfe_seminorm": 70,
            "grad_rel_diff": 1e-6,
        },
        "stiff": {"explicit_nfe": 20000, "implicit_nfe": 1500},
    }


def test_aims_hold_for_numbers_that_meet_them():
    met = load_benchmark_module().aims_met(_result())
    assert all(met.values()), met


def test_regularisation_aim_fails_when_the_loss_rises_more_than_ten_percent():
    met = load_benchmark_module().aims_met(_result(loss_regularised=0.12))
    assert met["regularisation"] is False


def test_backsolve_aim_fails_when_its_error_stays_small():
    met = load_benchmark_module().aims_met(_result(backsolve_last=1e-5))
    assert met["backsolve_breaks"] is False


def test_committed_result_is_a_full_run_that_meets_every_aim():
    result = json.loads((REPO / "benchmarks" / "results" / "training_practice.json").read_text())
    assert result["quick"] is False  # the full run, not --quick
    assert len(result["adjoint_variants"]["T"]) == 5
    # recomputed from the numbers, not read from the recorded verdicts
    met = load_benchmark_module().aims_met(result)
    assert all(met.values()), met
