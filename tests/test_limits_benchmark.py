"""benchmarks/limits.py writes the documented JSON, and the committed result holds its claims."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCHEMA = {
    "crossing": ["node_mse", "anode_mse", "resnet_mse"],
    "annuli": ["node_accuracy", "anode_accuracy", "node_nfe", "anode_nfe"],
}


def assert_schema(result):
    assert set(result) == {*SCHEMA, "settings", "command", "machine"}
    for section, keys in SCHEMA.items():
        assert list(result[section]) == keys
        assert all(isinstance(result[section][key], int | float) for key in keys)
    assert {"cpu", "cores", "torch", "commit", "date"} <= set(result["machine"])
    assert result["command"].startswith("python benchmarks/limits.py")


@pytest.mark.slow
def test_limits_benchmark_writes_the_documented_keys(tmp_path):
    out = tmp_path / "limits.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "limits.py"), "--quick", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert_schema(json.loads(out.read_text()))


def test_committed_limits_result_has_the_schema_and_shows_the_limits():
    result = json.loads((REPO / "benchmarks" / "results" / "limits.json").read_text())
    assert_schema(result)
    crossing, annuli = result["crossing"], result["annuli"]
    assert crossing["node_mse"] >= 0.99  # a flow keeps the two points in order
    assert crossing["anode_mse"] < 1e-2 and crossing["resnet_mse"] < 1e-2
    assert annuli["anode_accuracy"] >= 0.99
    assert annuli["anode_nfe"] < annuli["node_nfe"]
