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


#: What every case of benchmarks/solvers.py holds (dopri5 with batch > 1 adds
#: ``torchode_per_sample_s``). The first six keys are the ones the appendix reads.
SOLVER_CASE_KEYS = {
    "method", "batch", "steps", "nodelib_s", "torchdiffeq_s", "ratio",
    "torchode_s", "torchdyn_s", "fastest_peer", "ratio_to_fastest_peer",
    "ratio_to_fastest_peer_per_nfe", "nfe", "max_abs_diff", "notes",
}  # fmt: skip
PEERS = ("torchdiffeq", "torchode", "torchdyn")


@pytest.fixture(scope="module")
def quick_solvers(tmp_path_factory):
    """benchmarks/solvers.py --quick, run once for the tests that read it."""
    return run_benchmark("solvers.py", tmp_path_factory.mktemp("solvers") / "solvers.json")


@pytest.mark.slow
def test_solver_benchmark_writes_cases_with_the_documented_keys(quick_solvers):
    assert set(quick_solvers) == {"cases", "command", "machine"}
    assert set(quick_solvers["machine"]) >= {"clock", *PEERS}
    assert all(
        set(case) - SOLVER_CASE_KEYS <= {"torchode_per_sample_s"} and set(case) >= SOLVER_CASE_KEYS
        for case in quick_solvers["cases"]
    )
    assert {case["method"] for case in quick_solvers["cases"]} >= {"euler", "dopri5"}
    assert all(case["ratio"] > 0 for case in quick_solvers["cases"])


@pytest.mark.slow
def test_solver_benchmark_counts_the_same_nfe_in_every_library_for_fixed_steps(quick_solvers):
    fixed = [case for case in quick_solvers["cases"] if case["method"] != "dopri5"]
    assert fixed and all(
        set(case["nfe"]) == {"nodelib", *PEERS} and len(set(case["nfe"].values())) == 1
        for case in fixed
    )


@pytest.mark.slow
def test_solver_benchmark_peers_solve_the_same_problem_as_nodelib(quick_solvers):
    # Fixed steps agree to rounding; dopri5 (other step sequences) to about the tolerance.
    for case in quick_solvers["cases"]:
        limit = 1e-4 if case["method"] == "dopri5" else 1e-5
        assert max(case["max_abs_diff"].values()) < limit, case


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
        for case in result["cases"]:
            peer_s = {peer: case[f"{peer}_s"] for peer in PEERS}
            assert case["ratio"] == pytest.approx(case["nodelib_s"] / case["torchdiffeq_s"])
            assert case["fastest_peer"] == min(peer_s, key=peer_s.get)
            assert case["ratio_to_fastest_peer"] == pytest.approx(
                case["nodelib_s"] / min(peer_s.values())
            )
    else:
        assert result["steps"] == [10, 100, 1000]
