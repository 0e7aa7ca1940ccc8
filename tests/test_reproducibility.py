"""nodelib.reproducibility: machine stamps, and reading benchmark results back."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from nodelib import reproducibility

CASE = {"method": "rk4", "batch": 1, "steps": 10, "nodelib_s": 0.1, "torchdiffeq_s": 0.2}
SOLVERS = {"cases": [CASE | {"ratio": 0.5}]}
ADJOINT = {"steps": [10, 100], "adjoint_peak_mb": [1.0, 1.0], "backprop_peak_mb": [2.0, 20.0],
           "max_grad_rel_diff": 1e-7}  # fmt: skip
SPIRAL = {
    "source_protocol": {"euler": {"seconds": 3.0, "mse": 0.1}},
    "course_protocol": {"seconds": 1.0, "mse": 0.01, "iterations": 100, "solver": "dopri5"},
    "time_ratio": 3.0,
}
ODENET = {"models": {"course_odenet": {"seconds_per_iter": 0.1, "params": 1000}},
          "speedup_vs_source": 2.0}  # fmt: skip


def test_stamp_names_cpu_cores_torch_python_and_commit():
    stamp = reproducibility.stamp()
    for key in ("cpu", "cores", "torch", "python", "commit", "date"):
        assert key in stamp
    assert stamp["cores"] >= 1
    json.dumps(stamp)  # a benchmark embeds it in its JSON file


def test_stamp_records_the_commit_of_this_checkout():
    commit, _ = reproducibility.git_commit()
    assert commit is None or len(commit) == 40


def test_git_commit_outside_a_repository_is_none(tmp_path):
    assert reproducibility.git_commit(tmp_path) == (None, None)


def test_command_line_is_relative_to_the_repository():
    script = str(reproducibility.REPO_ROOT / "benchmarks" / "odenet.py")
    assert (
        reproducibility.command_line([script, "--quick"]) == "python benchmarks/odenet.py --quick"
    )


def test_missing_result_loads_as_none(tmp_path):
    assert reproducibility.load_result("solvers", tmp_path) is None


def test_present_result_is_read(tmp_path):
    (tmp_path / "odenet.json").write_text(json.dumps(ODENET))
    assert reproducibility.load_result("odenet", tmp_path) == ODENET


def test_broken_result_file_raises_naming_it(tmp_path):
    (tmp_path / "spiral.json").write_text("{not json")
    with pytest.raises(ValueError, match="spiral.json"):
        reproducibility.load_result("spiral", tmp_path)


def test_unknown_benchmark_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown benchmark"):
        reproducibility.load_result("speed", tmp_path)


def test_results_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NODELIB_RESULTS_DIR", str(tmp_path))
    assert reproducibility.results_dir() == tmp_path


def test_missing_note_gives_the_command_that_produces_the_file():
    assert reproducibility.BENCHMARKS["spiral"] in reproducibility.missing_note("spiral")


def test_provenance_shows_command_commit_and_machine():
    result = dict(ODENET, command="python benchmarks/odenet.py --rounds 9")
    result["machine"] = {"cpu": "Test CPU 3000", "cores": 8, "torch": "9.9", "commit": "a" * 40}
    text = reproducibility.provenance("odenet", result)
    assert "python benchmarks/odenet.py --rounds 9" in text
    assert "aaaaaaaaaaaa" in text and "Test CPU 3000" in text and "8 cores" in text


def test_provenance_of_an_unstamped_file_says_not_recorded():
    assert "commit:   not recorded" in reproducibility.provenance("spiral", SPIRAL)


@pytest.mark.parametrize(
    "name, result",
    [("solvers", SOLVERS), ("adjoint_memory", ADJOINT), ("spiral", SPIRAL), ("odenet", ODENET)],
)
def test_every_benchmark_has_a_figure_with_data(name, result):
    fig = reproducibility.FIGURES[name](result)
    assert isinstance(fig, go.Figure) and len(fig.data) >= 1


def test_adjoint_memory_figure_accepts_a_single_step_count():
    single = {"steps": 100, "adjoint_peak_mb": 1.0, "backprop_peak_mb": 5.0, "max_grad_rel_diff": 0}
    assert list(reproducibility.adjoint_memory_figure(single).data[0].y) == [5.0, 1.0]


def test_every_committed_benchmark_result_is_listed_for_the_appendix():
    folder = reproducibility.REPO_ROOT / "benchmarks" / "results"
    committed = {path.stem for path in folder.glob("*.json")}
    # the spiral lab's update-rate measurement belongs to the lab, not to a claim of the book
    unlisted = committed - set(reproducibility.BENCHMARKS) - {"spiral_lab_updates"}
    assert not unlisted, f"add {sorted(unlisted)} to reproducibility.BENCHMARKS"


def test_write_result_stamps_and_keeps_a_benchmarks_own_machine_facts(tmp_path):
    out = tmp_path / "sub" / "result.json"
    written = reproducibility.write_result(
        {"value": 1.5, "machine": {"threads": 2}}, out, ["benchmarks/x.py", "--out", str(out)]
    )
    on_disk = json.loads(out.read_text())
    assert on_disk == written
    assert on_disk["command"] == f"python benchmarks/x.py --out {out}"
    assert on_disk["machine"]["threads"] == 2 and "cpu" in on_disk["machine"]
    assert not list(out.parent.glob(".*.tmp")), "the temporary file was left behind"
