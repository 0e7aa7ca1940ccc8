"""Shared test settings: every test runs in fast mode unless it says otherwise."""

import os

os.environ.setdefault("NODELIB_FAST", "1")
os.environ.setdefault("NODELIB_DATASET", "fashion-mnist")
