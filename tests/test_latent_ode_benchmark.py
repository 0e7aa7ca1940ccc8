"""benchmarks/latent_ode.py runs (at tiny sizes) and writes the documented keys with finite
numbers; the committed result is a full run whose union solve matches per-series solves."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS = ("latent_ode", "ode_rnn", "gru_dt")
KEYS = {
    "union_vs_per_sample_max_diff",
    "observed_fraction",
    *MODELS,
    "by_fraction",
    "extrap_ratio_latent_to_gru",
    "seconds",
    "settings",
    "command",
    "machine",
}


def assert_finite_scores(result):
    for name in MODELS:
        assert set(result[name]) == {"interp_mse", "extrap_mse"}
        assert all(math.isfinite(v) and v >= 0 for v in result[name].values())
    for by_model in result["by_fraction"].values():
        assert set(by_model) == set(MODELS)
    assert math.isfinite(result["union_vs_per_sample_max_diff"])
    assert result["seconds"] > 0


@pytest.mark.slow
def test_latent_ode_benchmark_writes_the_documented_keys(tmp_path):
    out = tmp_path / "latent_ode.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "latent_ode.py"), "--quick", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    result = json.loads(out.read_text())
    assert set(result) == KEYS
    assert result["settings"]["iterations"] == 3
    assert_finite_scores(result)
    assert result["command"].startswith("python benchmarks/latent_ode.py --quick")


def test_committed_latent_ode_result_is_a_full_run_with_an_exact_union_solve():
    result = json.loads((REPO / "benchmarks" / "results" / "latent_ode.json").read_text())
    assert set(result) == KEYS
    assert result["settings"]["iterations"] == 1500  # the full run, not --quick
    assert_finite_scores(result)
    assert result["union_vs_per_sample_max_diff"] < 1e-6
    assert result["observed_fraction"] in (0.1, 0.3, 0.5)
    ratio = result["latent_ode"]["extrap_mse"] / result["gru_dt"]["extrap_mse"]
    assert result["extrap_ratio_latent_to_gru"] == pytest.approx(ratio)
