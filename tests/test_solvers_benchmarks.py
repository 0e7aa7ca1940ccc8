"""The benchmark scripts run (at tiny sizes) and write JSON in the documented format."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_benchmark(script, out):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return json.loads(out.read_text())


@pytest.mark.slow
def test_solver_benchmark_writes_cases_with_the_documented_keys(tmp_path):
    result = run_benchmark("solvers.py", tmp_path / "solvers.json")
    assert list(result) == ["cases", "command", "machine"]
    keys = {"method", "batch", "steps", "nodelib_s", "torchdiffeq_s", "ratio"}
    assert all(set(case) == keys for case in result["cases"])
    assert {case["method"] for case in result["cases"]} >= {"euler", "dopri5"}
    assert all(case["ratio"] > 0 for case in result["cases"])


@pytest.mark.slow
def test_adjoint_memory_benchmark_writes_the_documented_keys(tmp_path):
    result = run_benchmark("adjoint_memory.py", tmp_path / "memory.json")
    assert set(result) == {
        "steps",
        "adjoint_peak_mb",
        "backprop_peak_mb",
        "max_grad_rel_diff",
        "command",
        "machine",
    }
    assert len(result["steps"]) == len(result["adjoint_peak_mb"]) == len(result["backprop_peak_mb"])
    assert result["max_grad_rel_diff"] < 0.5


@pytest.mark.parametrize("name", ["solvers.json", "adjoint_memory.json"])
def test_committed_benchmark_results_have_the_documented_format(name):
    result = json.loads((REPO / "benchmarks" / "results" / name).read_text())
    if name == "solvers.json":
        assert all(
            case["ratio"] == pytest.approx(case["nodelib_s"] / case["torchdiffeq_s"])
            for case in result["cases"]
        )
    else:
        assert result["steps"] == [10, 100, 1000]
