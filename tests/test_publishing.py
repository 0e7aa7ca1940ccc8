"""The publishing side of the repository: CI workflow, Binder, licences, citation, help page."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
BINDER_REQUIREMENTS = ROOT / "binder" / "requirements.txt"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def makefile_targets() -> set[str]:
    """The target names the Makefile defines (rules like 'book:' or 'html: venv')."""
    targets = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", line)
        if match:
            targets.add(match.group(1))
    return targets


def workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as the boolean True
    data["on"] = data.pop(True, data.get("on"))
    return data


def run_steps(job: str | None = None) -> list[str]:
    jobs = workflow()["jobs"]
    names = [job] if job else list(jobs)
    return [step["run"] for name in names for step in jobs[name]["steps"] if "run" in step]


def make_invocations(command: str) -> list[list[str]]:
    """The targets of every `make ...` in a shell command ('make a b' -> [['a', 'b']]).

    Only `make` in command position counts: at the start, after `&&`, `||`, `;`, `|`
    or `(`, possibly behind variable assignments (`NODELIB_FAST=1 make book`).
    """
    calls = []
    pattern = r"(?:^|&&|\|\||[;|(\n])\s*(?:[A-Za-z_]\w*=\S*\s+)*make\b([^;&|)\n]*)"
    for match in re.finditer(pattern, command):
        words = match.group(1).split()
        calls.append([w for w in words if not w.startswith("-") and "=" not in w])
    return calls


def test_make_invocations_are_found_in_command_position_only():
    command = (
        "apt-get install make git && NODELIB_FAST=1 make book && make system SYSTEM_NEEDS=test"
    )
    assert make_invocations(command) == [["book"], ["system"]]


def uses(job: str) -> list[str]:
    return [step["uses"] for step in workflow()["jobs"][job]["steps"] if "uses" in step]


# ------------------------------------------------------------------ the workflow
def test_workflow_is_valid_yaml_with_jobs():
    assert workflow()["jobs"]


def test_workflow_runs_on_pushes_to_main_and_on_pull_requests():
    triggers = workflow()["on"]
    assert "main" in triggers["push"]["branches"]
    assert "pull_request" in triggers


def test_every_make_target_the_workflow_calls_exists():
    targets = makefile_targets()
    called = {t for command in run_steps() for call in make_invocations(command) for t in call}
    assert called, "the workflow calls no make target"
    assert called <= targets, f"targets missing from the Makefile: {sorted(called - targets)}"


def test_pull_requests_run_make_test():
    test_job = workflow()["jobs"]["test"]
    assert "if" not in test_job, "the test job must run for pull requests too"
    assert ["test"] in [c for command in run_steps("test") for c in make_invocations(command)]


def test_the_published_book_is_built_by_make_book():
    calls = [c for command in run_steps("build") for c in make_invocations(command)]
    assert ["book"] in calls


def test_the_workflow_has_no_build_recipe_of_its_own():
    """Building and testing happen in the Makefile; the workflow only calls its targets."""
    forbidden = r"jupyter-book|jupyter\s+book|pytest|nbmake|pip\s+install|ruff|vendor_assets"
    offending = [command for command in run_steps() if re.search(forbidden, command)]
    assert not offending, f"move these into the Makefile and call the target: {offending}"


def test_pages_are_deployed_from_the_built_html():
    jobs = workflow()["jobs"]
    upload = [s for s in jobs["build"]["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert any(u.startswith("actions/deploy-pages@") for u in uses("deploy"))
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_publishing_waits_for_the_tests_and_skips_pull_requests():
    jobs = workflow()["jobs"]
    assert jobs["build"]["needs"] == "test" and jobs["deploy"]["needs"] == "build"
    assert "pull_request" in jobs["build"]["if"] and "refs/heads/main" in jobs["build"]["if"]


@pytest.mark.parametrize("job", ["test", "build"])
def test_pip_downloads_and_data_sets_are_cached(job):
    caches = [
        s
        for s in workflow()["jobs"][job]["steps"]
        if s.get("uses", "").startswith("actions/cache@")
    ]
    assert caches, f"job {job} has no cache step"
    paths = caches[0]["with"]["path"]
    env = workflow()["env"]
    assert env["PIP_CACHE_DIR"] in paths and env["NODELIB_DATA_DIR"] in paths
    assert env["NODELIB_DATA_DIR"].endswith(".cache/nodelib")


# ------------------------------------------------------------------ Binder
def binder_lines() -> list[str]:
    lines = [line.split(" #")[0].strip() for line in BINDER_REQUIREMENTS.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def binder_requirements() -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in binder_lines() if not line.startswith(("-", "."))]
    return {r.name: r for r in reqs}


def test_binder_installs_nodelib_from_the_repository_root():
    """repo2docker runs pip from the repository root, and pip resolves '.' against it."""
    assert "-e ." in binder_lines()


def test_binder_uses_pytorchs_cpu_index():
    indexes = [
        line for line in binder_lines() if line.startswith(("--extra-index-url", "--index-url"))
    ]
    assert indexes == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    assert not re.search(r"whl/cu\d+", BINDER_REQUIREMENTS.read_text())


@pytest.mark.parametrize("name", ["torch", "torchvision"])
def test_binder_asks_for_the_same_torch_range_as_nodelib(name):
    nodelib_deps = {
        Requirement(r).name: Requirement(r) for r in importlib.metadata.requires("nodelib")
    }
    assert binder_requirements()[name].specifier == nodelib_deps[name].specifier


def test_binder_has_no_conda_environment_that_would_override_requirements():
    """repo2docker prefers environment.yml over requirements.txt."""
    assert not (ROOT / "binder" / "environment.yml").exists()


def test_the_top_level_requirements_keep_the_default_torch_index():
    """Local machines and CI may have a GPU: only Binder is pinned to the CPU build."""
    assert "download.pytorch.org" not in (ROOT / "requirements.txt").read_text()


# ------------------------------------------------------------------ licences and citation
def test_code_is_under_the_mit_licence():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted" in text
    assert re.search(r'^license = "MIT"$', (ROOT / "pyproject.toml").read_text(), re.M)


def test_text_and_figures_are_under_cc_by_4():
    text = (ROOT / "LICENSE-CONTENT.md").read_text()
    assert "CC BY 4.0" in text
    assert "https://creativecommons.org/licenses/by/4.0/" in text


def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_citation_file_has_the_keys_cff_1_2_0_requires():
    cff = citation()
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert cff.get(key), f"CITATION.cff lacks {key}"
    for author in cff["authors"]:
        assert author.get("name") or author.get("family-names"), author


def test_citation_dates_are_strings_in_iso_format():
    """CFF wants 'YYYY-MM-DD' strings; an unquoted date would be read as a YAML date."""
    date = citation()["date-released"]
    assert isinstance(date, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date)


def test_citation_names_the_repository_and_licence_of_the_book():
    cff = citation()
    assert cff["repository-code"] == CONFIG["repository"]["url"]
    assert cff["license"] == "MIT"


def test_citation_references_are_complete():
    for reference in citation().get("references", []):
        for key in ("type", "title", "authors"):
            assert reference.get(key), f"a reference lacks {key}: {reference}"


# ------------------------------------------------------------------ the help page
#: (source file, message it prints) pairs that book/running_the_course.md quotes.
PRINTED_MESSAGES = [
    ("scripts/check_python.sh", "is too old; the course needs Python 3.10 or newer."),
    ("scripts/check_python.sh", "Install a newer one and run: make PYTHON=python3.11 test"),
    (
        "scripts/check_python.sh",
        "cannot create virtual environments (Debian: apt-get install python3-venv).",
    ),
    ("nodelib/data.py", "is not on this machine and its download server cannot be reached "),
    ("nodelib/data.py", "or run on Fashion-MNIST instead with NODELIB_DATASET=fashion-mnist"),
    ("scripts/system_deps.sh", "these system packages are missing and apt-get cannot be used here"),
    ("scripts/system_deps.sh", "npm: fetches the widget manager for the HTML book"),
    ("scripts/system_deps.sh", "the browser tests"),
    ("scripts/vendor_assets.py", "npm is needed to fetch the widget manager for the book."),
    ("_ext/course_assets.py", "Run `make vendor` (or python scripts/vendor_assets.py) first."),
    ("tests/browser/conftest.py", ": install Debian's package chromium"),
]


@pytest.mark.parametrize("source, message", PRINTED_MESSAGES)
def test_troubleshooting_quotes_messages_the_project_really_prints(source, message):
    assert message in (ROOT / source).read_text(), f"{source} no longer prints {message!r}"
    assert message in (ROOT / "book" / "running_the_course.md").read_text()
