"""JSON schemas shipped inside medpipe so that validation works offline.

``meta_schema_20240725.json`` states the requirements of MONAI's bundle metadata schema of
2024-07-25 (the one model-zoo bundles point at); the ``medpipe`` CLI and the bundle tests cannot
download it, so it travels with the package.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

METADATA_SCHEMA = "meta_schema_20240725.json"

_HERE = Path(__file__).resolve().parent


def schema_path(name: str = METADATA_SCHEMA) -> Path:
    """Path of a shipped schema file.

    Args:
        name: file name inside ``medpipe/schemas``.

    Raises:
        ValueError: if no schema of that name is shipped.
    """
    path = _HERE / name
    if not path.is_file():
        shipped = sorted(p.name for p in _HERE.glob("*.json"))
        raise ValueError(f"`name` must be one of the shipped schemas {shipped}, got {name!r}")
    return path


@cache
def _load(name: str) -> str:
    return schema_path(name).read_text()


def load_schema(name: str = METADATA_SCHEMA) -> dict:
    """The parsed schema (a fresh dict each call, so callers may modify it)."""
    return json.loads(_load(name))
