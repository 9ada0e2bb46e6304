"""Resume: a case is skipped when its outputs exist and the hash of inputs, bundle and settings matches.

The hash covers the *bytes* of every input file (safest: a copied folder with fresh mtimes still
resumes, and an edited file with the same size and mtime still recomputes), the digest of the
bundle's ``configs/`` and ``models/`` (:func:`medpipe.batch.engine.bundle_digest`) and the
settings that change outputs (``--dicom-seg``, the series rules). Each finished case folder holds
``.medpipe-case.json`` with that hash and the list of its outputs; it is written inside the
temporary folder before the atomic rename, so it exists only for complete cases.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["RECORD_NAME", "case_hash", "read_record", "is_up_to_date"]

RECORD_NAME = ".medpipe-case.json"


def case_hash(input_files: list[str], bundle_digest: str, settings: dict) -> str:
    """SHA-256 over the input files' bytes (in the given order), the bundle digest and settings.

    Args:
        input_files: every file the case reads, in a stable order (input order, then label).
        bundle_digest: see :func:`medpipe.batch.engine.bundle_digest`.
        settings: JSON-serialisable options that change the outputs.
    """
    digest = hashlib.sha256()
    for path in input_files:
        digest.update(Path(path).name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    digest.update(bundle_digest.encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def read_record(case_dir: Path) -> dict | None:
    """The ``.medpipe-case.json`` of a finished case folder, or ``None``."""
    path = Path(case_dir) / RECORD_NAME
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_up_to_date(case_dir: Path, expected_hash: str) -> tuple[bool, str]:
    """Whether ``case_dir`` holds complete outputs for ``expected_hash``, and why not."""
    record = read_record(case_dir)
    if record is None:
        return False, "no finished outputs"
    if record.get("hash") != expected_hash:
        return False, "inputs, bundle or settings changed"
    missing = [o for o in record.get("outputs", []) if not (Path(case_dir).parent / o).is_file()]
    if missing:
        return False, f"output {missing[0]} is missing"
    return True, "up to date"
