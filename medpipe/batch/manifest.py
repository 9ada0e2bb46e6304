"""``manifest.csv``: one row per case, ``case_id,status,message,duration_s,outputs``.

Shards write ``manifest.part-K-of-N.csv`` (disjoint rows); :func:`merge_manifests` joins them.
Rows are appended and flushed as cases finish, so a killed run leaves the rows it finished.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COLUMNS", "STATUSES", "Row", "ManifestWriter", "read_manifest", "write_manifest", "merge_manifests", "part_name"]

COLUMNS = ("case_id", "status", "message", "duration_s", "outputs")
STATUSES = ("ok", "skipped", "failed")
_PART = re.compile(r"^manifest\.part-(\d+)-of-(\d+)\.csv$")


@dataclass(frozen=True)
class Row:
    """One manifest row; ``outputs`` are paths relative to the output folder."""

    case_id: str
    status: str
    message: str
    duration_s: float
    outputs: tuple[str, ...] = ()

    def as_csv(self) -> list[str]:
        return [self.case_id, self.status, " ".join(self.message.split()), f"{self.duration_s:.3f}", ";".join(self.outputs)]


def part_name(part_id: int, num_parts: int) -> str:
    """``manifest.part-K-of-N.csv``."""
    return f"manifest.part-{part_id}-of-{num_parts}.csv"


class ManifestWriter:
    """Appends rows to a manifest file as cases finish, then rewrites it sorted by case id."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows: dict[str, Row] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as handle:
            csv.writer(handle).writerow(COLUMNS)

    def add(self, row: Row) -> None:
        self.rows[row.case_id] = row
        with open(self.path, "a", newline="") as handle:
            csv.writer(handle).writerow(row.as_csv())
            handle.flush()
            os.fsync(handle.fileno())

    def close(self) -> list[Row]:
        rows = [self.rows[k] for k in sorted(self.rows)]
        write_manifest(self.path, rows)
        return rows


def write_manifest(path: Path, rows: list[Row]) -> None:
    """Write ``rows`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(row.as_csv())
    os.replace(tmp, path)


def read_manifest(path: Path) -> list[Row]:
    """Read a manifest file.

    Raises:
        ValueError: when the header is not ``case_id,status,message,duration_s,outputs`` or a
            status is not ok/skipped/failed.
    """
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if tuple(header or ()) != COLUMNS:
            raise ValueError(f"`{path}` must start with the header {','.join(COLUMNS)}, got {header}")
        rows = []
        for record in reader:
            if len(record) != len(COLUMNS):
                continue  # a row cut short by a killed run
            case_id, status, message, duration, outputs = record
            if status not in STATUSES:
                raise ValueError(f"`status` in {path} must be one of {STATUSES}, got {status!r}")
            rows.append(Row(case_id, status, message, float(duration), tuple(o for o in outputs.split(";") if o)))
    return rows


def merge_manifests(output: Path) -> list[Row]:
    """Merge ``manifest.part-K-of-N.csv`` files (and an existing ``manifest.csv``) of ``output``.

    When part files exist they alone are merged (an older ``manifest.csv`` is replaced); without
    parts ``manifest.csv`` is read back. Rows come back sorted by case id.

    Raises:
        ValueError: when there is nothing to merge, parts disagree on N, or two parts hold one case.
    """
    output = Path(output)
    parts = sorted(p for p in output.glob("manifest.part-*-of-*.csv") if _PART.match(p.name))
    single = output / "manifest.csv"
    if not parts and not single.is_file():
        raise ValueError(f"`output` must hold manifest.csv or manifest.part-K-of-N.csv files, got none in {str(output)!r}")
    totals = {int(_PART.match(p.name)[2]) for p in parts}
    if len(totals) > 1:
        raise ValueError(f"manifest parts must share one number of parts, got {sorted(totals)} in {str(output)!r}")
    rows: dict[str, Row] = {r.case_id: r for r in read_manifest(single)} if single.is_file() and not parts else {}
    owner: dict[str, str] = {}
    for part in parts:
        for row in read_manifest(part):
            if row.case_id in owner and owner[row.case_id] != part.name:
                raise ValueError(f"case {row.case_id!r} must be in one part only, got {owner[row.case_id]} and {part.name}")
            owner[row.case_id] = part.name
            rows[row.case_id] = row
    return [rows[k] for k in sorted(rows)]
