"""Benchmark: reading real DICOM series with medpipe, SimpleITK and dcm2niix, side by side.

Goal (issue 3): ``medpipe.io`` is no slower than SimpleITK's ``ImageSeriesReader`` on the same
real series (time ratio medpipe / SimpleITK <= 1.0).

Each reader starts from the folder, so every one pays for finding and sorting the files:

* medpipe: ``find_series(folder)`` (header scan, grouping, checks) + ``load_series`` (pixels,
  rescale, RAS affine); its ``load_series`` share is also reported;
* SimpleITK: ``ImageSeriesReader.GetGDCMSeriesFileNames`` + ``Execute`` + ``GetArrayFromImage``
  (on 4D EPI and mosaics it returns a meaningless 3D stack, but the I/O work is comparable);
* dcm2niix: the binary in a subprocess, ``-i y -p n`` into a temporary folder (includes its
  process start and the NIfTI write).

Series: the largest real series in ``../shared/data/dicom`` (GE 4D EPI, 150 files of 64x64),
a Siemens 4D mosaic (2 files of 216x216) and a JPEG 2000 Siemens mosaic (one file, 35 tiles).
The gantry-tilted GE CT is timed for medpipe's scan only (medpipe refuses to load it).
Timings are medians of repeated runs (at least 3 with ``--quick``, 7 otherwise; more, up to
31, for reads shorter than a second), the readers taking turns within each repeat, after one warm-up.
Writes ``benchmarks/results/dicom_read.json`` and ends with ``goals met: K/N``.

Usage::

    python benchmarks/dicom_read.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "dicom_read.json"
DATA = Path(os.environ.get("MEDPIPE_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SERIES = {
    "ge_epi_4d_150_files": "dicom/dcm_qa_nih/In/20180918GE/mr_0004",
    "siemens_mosaic_4d": "dicom/dcm_qa_nih/In/20180918Si/mr_0003",
    "siemens_mosaic_jpeg2000": "dicom/dcm_qa_ts/In/9.dcm",
}
GOAL_RATIO = 1.0
MAX_REPEATS = 31


def _median_seconds(function, repeats: int) -> float:
    return _interleaved({"only": function}, repeats)["only"]


def _interleaved(functions: dict, repeats: int) -> dict:
    """Median seconds of each function, timed in turn within every repeat so that the load
    from other processes on a shared machine falls on all readers alike."""
    slowest = 0.0
    for function in functions.values():  # warm-up: imports, file cache
        start = time.perf_counter()
        function()
        slowest = max(slowest, time.perf_counter() - start)
    # short reads get more repeats (up to ~2 s per reader) so that noise from a shared machine averages out
    repeats = min(MAX_REPEATS, max(repeats, int(2.0 / max(slowest, 1e-3))))
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["repeats"] = repeats
    return medians


def _medpipe(path: Path):
    from medpipe.io import find_series, load_series

    (series,) = [s for s in find_series(path) if s.status == "ok"]
    return load_series(series).array


def _medpipe_load_only(path: Path):
    from medpipe.io import find_series, load_series

    (series,) = [s for s in find_series(path) if s.status == "ok"]
    return lambda: load_series(series).array


def _simpleitk(path: Path):
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    if path.is_file():
        return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(path)))
    return sitk.GetArrayFromImage(reader.Execute())


def _dcm2niix(path: Path, binary: str):
    with tempfile.TemporaryDirectory() as folder:
        source = path
        if path.is_file():  # dcm2niix converts folders; give it a folder with just this file
            source = Path(folder) / "in"
            source.mkdir()
            os.symlink(path, source / path.name)
        subprocess.run([binary, "-i", "y", "-p", "n", "-o", folder, str(source)], check=True, capture_output=True)


def _machine() -> dict:
    import numpy
    import pydicom
    import SimpleITK

    binary = shutil.which("dcm2niix")
    version = None
    if binary:
        completed = subprocess.run([binary, "--version"], capture_output=True, text=True)
        version = (completed.stdout or completed.stderr).strip().splitlines()[-1] if (completed.stdout or completed.stderr) else None
    return {
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "pydicom": pydicom.__version__,
        "SimpleITK": SimpleITK.Version_VersionString(),
        "dcm2niix": version,
        "gpu": None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (DATA / "dicom").is_dir():
        print(f"real data not found at {DATA} (set MEDPIPE_TEST_DATA)", file=sys.stderr)
        return 1
    repeats = 3 if args.quick else 7
    binary = shutil.which("dcm2niix")
    figures, goals = {}, {}
    rows = []
    for name, relative in SERIES.items():
        path = DATA / relative
        readers = {
            "medpipe": lambda: _medpipe(path),
            "load_only": _medpipe_load_only(path),
            "simpleitk": lambda: _simpleitk(path),
        }
        if binary:
            readers["dcm2niix"] = lambda: _dcm2niix(path, binary)
        timings = _interleaved(readers, repeats)
        medpipe_s, load_s, sitk_s = timings["medpipe"], timings["load_only"], timings["simpleitk"]
        d2n_s = timings.get("dcm2niix")
        figures[name] = {
            "files": 1 if path.is_file() else sum(1 for _ in path.iterdir()),
            "repeats": timings["repeats"],
            "medpipe_s": medpipe_s,
            "medpipe_load_series_only_s": load_s,
            "simpleitk_s": sitk_s,
            "dcm2niix_s": d2n_s,
            "ratio_medpipe_over_simpleitk": medpipe_s / sitk_s,
            "ratio_medpipe_over_dcm2niix": medpipe_s / d2n_s if d2n_s else None,
        }
        ratio = medpipe_s / sitk_s
        goals[f"{name}_medpipe_over_simpleitk"] = {"value": round(ratio, 3), "target": f"<= {GOAL_RATIO}",
                                                   "met": bool(ratio <= GOAL_RATIO)}
        rows.append((name, medpipe_s, load_s, sitk_s, d2n_s, ratio))
    from medpipe.io import find_series

    ct = DATA / "dicom/dcm_qa_ct/In/GE"
    figures["ge_ct_tilted_scan_only"] = {"medpipe_find_series_s": _median_seconds(lambda: find_series(ct), repeats),
                                         "status": find_series(ct)[0].status, "reason": find_series(ct)[0].reason}

    header = f"{'series':28s} {'medpipe s':>10s} {'load only':>10s} {'SimpleITK s':>12s} {'dcm2niix s':>11s} {'mp/ITK':>7s}"
    print(header)
    print("-" * len(header))
    for name, medpipe_s, load_s, sitk_s, d2n_s, ratio in rows:
        d2n = f"{d2n_s:11.3f}" if d2n_s else f"{'n/a':>11s}"
        print(f"{name:28s} {medpipe_s:10.3f} {load_s:10.3f} {sitk_s:12.3f} {d2n} {ratio:7.2f}")
    print(f"GE CT (tilted) medpipe scan: {figures['ge_ct_tilted_scan_only']['medpipe_find_series_s']:.3f} s, "
          f"status {figures['ge_ct_tilted_scan_only']['status']}")
    result = {"benchmark": "dicom_read", "quick": args.quick, "min_repeats": repeats, "figures": figures,
              "machine": _machine(), "goals": goals}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    met = sum(goal["met"] for goal in goals.values())
    print(f"goals met: {met}/{len(goals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
