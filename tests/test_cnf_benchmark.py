"""benchmarks/cnf.py runs (at tiny sizes) and writes the documented keys; the committed result
meets the chapter's targets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KEYS = {
    "density_integral",
    "hutchinson_bias_z",
    "test_nll",
    "gaussian_nll",
    "seconds",
    "settings",
    "command",
    "machine",
}


@pytest.mark.slow
def test_cnf_benchmark_writes_the_documented_keys(tmp_path):
    out = tmp_path / "cnf.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "cnf.py"), "--quick", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    result = json.loads(out.read_text())
    assert set(result) == KEYS
    assert result["settings"]["iterations"] == 10
    assert 0.5 < result["density_integral"] < 1.5 and result["seconds"] > 0
    assert result["command"].startswith("python benchmarks/cnf.py --quick")


def test_committed_cnf_result_meets_the_targets():
    result = json.loads((REPO / "benchmarks" / "results" / "cnf.json").read_text())
    assert set(result) == KEYS
    assert result["settings"]["iterations"] == 600  # the full run, not --quick
    assert abs(result["density_integral"] - 1) <= 0.02
    assert 0 <= result["hutchinson_bias_z"] <= 3
    assert result["test_nll"] < result["gaussian_nll"] - 0.3  # clearly better than a Gaussian
