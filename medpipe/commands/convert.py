"""`medpipe convert INPUT OUTPUT`: one NIfTI per loadable DICOM series, with a JSON sidecar.

Each ``ok`` series becomes ``OUTPUT/<number>_<description>[_<split>].nii.gz`` plus a ``.json``
sidecar with the geometry (affine, shape, voxel spacing) and acquisition tags, without patient
identifiers unless ``--keep-phi``. ``OUTPUT/conversion.json`` lists every series with its
status and reason. Exit code 0 when every series is ok or excluded, 2 when some are in error
(the others are still converted), 1 on a usage error.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path



def add_arguments(parser):
    parser.add_argument("input", help="a DICOM folder (searched recursively) or file")
    parser.add_argument("output", help="output folder for NIfTI + JSON sidecars")
    parser.add_argument("--keep-phi", action="store_true", help="keep patient identifiers in the sidecars")


def _name(series, taken: set[str]) -> str:
    text = "_".join(part for part in (series.series_number.zfill(3) if series.series_number else "",
                                      series.description, series.split) if part)
    base = re.sub(r"[^A-Za-z0-9.=+-]+", "_", text).strip("_.") or "series"
    name, index = base, 2
    while name in taken:
        name, index = f"{base}_{index}", index + 1
    taken.add(name)
    return name


def run(args) -> int:
    from medpipe.io.dicom import find_series, load_series
    from medpipe.io.nifti import write_nifti

    source, output = Path(args.input), Path(args.output)
    if not source.exists():
        print(f"medpipe convert: INPUT must be an existing DICOM folder or file, got {str(source)!r}",
              file=sys.stderr)
        return 1
    if output.exists() and not output.is_dir():
        print(f"medpipe convert: OUTPUT must be a folder, got the file {str(output)!r}", file=sys.stderr)
        return 1
    output.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    summary, failed = [], 0
    for series in find_series(source):
        entry = {"series": series.label, "uid": series.uid if args.keep_phi else None, "status": series.status,
                 "reason": series.reason, "kind": series.kind, "files": len(series.files)}
        if series.status == "ok":
            try:
                loaded = load_series(series, keep_phi=args.keep_phi)
            except ValueError as error:
                entry.update(status="error", reason=str(error))
            else:
                name = _name(series, taken)
                write_nifti(output / f"{name}.nii.gz", loaded.array, loaded.affine,
                            description=series.description[:79])
                sidecar = dict(loaded.metadata, affine=loaded.affine.tolist(), source_files=len(series.files))
                if not args.keep_phi:
                    sidecar.pop("SeriesInstanceUID", None)
                    sidecar.pop("StudyInstanceUID", None)
                (output / f"{name}.json").write_text(json.dumps(sidecar, indent=2))
                entry["output"] = f"{name}.nii.gz"
        if entry["status"] == "error":
            failed += 1
        if entry["uid"] is None:
            entry.pop("uid")
        summary.append(entry)
        print(f"{entry['status']:8s} {series.label}" + (f" -> {entry['output']}" if "output" in entry
                                                         else f" ({entry['reason']})" if entry["reason"] else ""))
    (output / "conversion.json").write_text(json.dumps(summary, indent=2))
    converted = sum("output" in entry for entry in summary)
    print(f"converted {converted} series, {failed} in error, "
          f"{sum(entry['status'] == 'excluded' for entry in summary)} excluded -> {output}")
    return 2 if failed else 0
