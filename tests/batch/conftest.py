"""Fixtures for the batch tests (the data they write lives in :mod:`tests.batch._data`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.batch._data import write_tiny_bundle


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    return write_tiny_bundle(tmp_path_factory.mktemp("bundles"))

