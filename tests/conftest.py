"""Shared fixtures: where the real data is, and skipping cleanly without it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]

# Oracles installed as console scripts (dcm2niix) live beside the interpreter; `make test` runs
# .venv/bin/python without activating the venv, so put that folder on PATH for the tests.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


def real_data_root() -> Path | None:
    """``MEDPIPE_TEST_DATA``, or ``../shared/data`` beside the repository when it exists."""
    env = os.environ.get("MEDPIPE_TEST_DATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    default = _REPO.parent / "shared" / "data"
    return default if default.is_dir() else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real-data folder; tests that use it skip with a reason when it is absent."""
    root = real_data_root()
    if root is None:
        pytest.skip("real data not found: set MEDPIPE_TEST_DATA or place shared/data beside the repo")
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return _REPO
