"""`medpipe scan INPUT`: list the DICOM series (and NIfTI / k-space files) in a folder.

Prints one row per series with its status (``ok``, ``excluded``, ``error``), kind, shape,
number of files and the reason. Exit code 0 when every series is ok or excluded, 2 when some
series are in error, 1 on a usage error (e.g. INPUT does not exist).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


_OTHER_SUFFIXES = {".nii": "nifti", ".nii.gz": "nifti", ".nrrd": "nrrd", ".mha": "mha", ".h5": "kspace",
                   ".cfl": "kspace"}


def add_arguments(parser):
    parser.add_argument("input", help="a folder (searched recursively) or a single DICOM file")


def _other_files(root: Path) -> list[tuple[Path, str]]:
    if root.is_file():
        return []
    found = []
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            for suffix, kind in _OTHER_SUFFIXES.items():
                if name.lower().endswith(suffix):
                    found.append((Path(folder) / name, kind))
                    break
    return found


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned plain-text table."""
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(str(value).ljust(width) for value, width in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def run(args) -> int:
    from medpipe.io.dicom import find_series

    root = Path(args.input)
    if not root.exists():
        print(f"medpipe scan: INPUT must be an existing folder or file, got {str(root)!r}", file=sys.stderr)
        return 1
    series_list = find_series(root)
    rows = []
    for series in series_list:
        shape = "x".join(str(size) for size in series.shape) or "-"
        detail = series.reason or "; ".join(series.notes)
        rows.append([series.status, series.kind or "-", shape, str(len(series.files)), series.label,
                     _relative(series.folder, root), detail])
    for path, kind in _other_files(root):
        rows.append(["ok", kind, "-", "1", path.name, _relative(path.parent, root), ""])
    if not rows:
        print(f"medpipe scan: no DICOM series or image files found in {str(root)!r}")
        return 0
    print(format_table(rows, ["status", "kind", "shape", "files", "series", "folder", "reason / notes"]))
    counts = {status: sum(row[0] == status for row in rows) for status in ("ok", "excluded", "error")}
    print(f"\n{len(rows)} found: {counts['ok']} ok, {counts['excluded']} excluded, {counts['error']} error")
    return 2 if counts["error"] else 0
