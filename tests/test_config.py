"""nodelib.config reads its settings from the environment, and refuses nonsense."""

import importlib
import os
import subprocess
import sys

import pytest
import torch

from nodelib import config


def fresh_config(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return importlib.reload(config)


@pytest.fixture(autouse=True)
def restore_config():
    yield
    importlib.reload(config)


def test_fast_mode_follows_the_environment(monkeypatch):
    assert fresh_config(monkeypatch, NODELIB_FAST="1").FAST is True
    assert fresh_config(monkeypatch, NODELIB_FAST="0").FAST is False


def test_fast_or_full_picks_by_mode(monkeypatch):
    fresh_config(monkeypatch, NODELIB_FAST="1")
    assert config.fast_or_full(2, 200) == 2
    fresh_config(monkeypatch, NODELIB_FAST="")
    assert config.fast_or_full(2, 200) == 200


def test_an_ambiguous_fast_value_is_refused_with_its_name():
    env = dict(os.environ, NODELIB_FAST="maybe")
    result = subprocess.run(
        [sys.executable, "-c", "import nodelib"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "NODELIB_FAST='maybe'" in result.stderr


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    assert fresh_config(monkeypatch, NODELIB_DATA_DIR=str(tmp_path)).DATA_DIR == tmp_path


def test_device_defaults_to_cuda_only_when_available(monkeypatch):
    monkeypatch.delenv("NODELIB_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert importlib.reload(config).DEVICE.type == expected


def test_describe_names_the_mode(monkeypatch):
    assert "fast mode" in fresh_config(monkeypatch, NODELIB_FAST="1").describe()
