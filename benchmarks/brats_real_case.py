"""The BraTS bundle's inference on the real case ``nifti/brats_tcia_example`` (240 x 240 x 155 x 4).

Issue 5 asks that the bundle's inference on this real case completes on 2 CPU cores, with the
time and peak memory per case printed. Each variant runs ``python -m monai.bundle run`` with the
bundle's own ``inference.json`` in a fresh subprocess, so the figures are what a user sees:
wall time, CPU time and the child's own peak resident memory (VmHWM, read at its exit; it
includes the interpreter, torch and MONAI).

Side by side: the shipped reversible network and its ``reversible=False`` twin with the same
weights. Inference runs without gradients, so the two should cost the same; reversibility saves
memory in training only (``benchmarks/revunet_memory.py``).

    python benchmarks/brats_real_case.py [--quick] [--data ../shared/data]

``--quick`` runs only the shipped reversible network.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "bundles" / "brats_mri_revunet_segmentation"
CASE = "brats_tcia_example"
LAYOUT = {"images": {m: f"{{case_id}}/{m}.nii.gz" for m in ("t1", "t1ce", "t2", "flair")}}
# Runs ``python -m monai.bundle ARGS`` in this process and writes its own VmHWM (KiB) at exit.
_WRAPPER = """
import atexit, runpy, sys
hwm_file = sys.argv.pop(1)
def _write_hwm():
    with open('/proc/self/status') as status:
        kib = next(line.split()[1] for line in status if line.startswith('VmHWM'))
    with open(hwm_file, 'w') as out:
        out.write(kib)
atexit.register(_write_hwm)
sys.argv[0] = 'monai.bundle'
runpy.run_module('monai.bundle', run_name='__main__')
"""


def _default_data() -> Path:
    env = os.environ.get("MEDPIPE_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def run_variant(data: Path, reversible: bool, threads: int) -> dict:
    """Run the bundle's inference once in a fresh subprocess and measure it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        hwm_file = Path(tmp) / "vmhwm_kib"
        command = [
            sys.executable, "-c", _WRAPPER, str(hwm_file), "run",
            "--config_file", str(BUNDLE / "configs" / "inference.json"),
            "--meta_file", str(BUNDLE / "configs" / "metadata.json"),
            "--bundle_root", str(BUNDLE),
            "--dataset_dir", str(data / "nifti"),
            "--dataset_layout", json.dumps(LAYOUT),
            "--output_dir", str(out),
            "--network_def#reversible", str(reversible),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        outputs = sorted(p.name for p in out.rglob("*.nii.gz")) if out.is_dir() else []
        return {
            "reversible": reversible,
            "completed": result.returncode == 0 and bool(outputs),
            "returncode": result.returncode,
            "error": result.stderr.strip().splitlines()[-1] if result.returncode else None,
            "outputs": outputs,
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
            "peak_rss_mib": round(int(hwm_file.read_text()) / 1024, 1) if hwm_file.is_file() else None,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the shipped reversible network")
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "brats_real_case.json")
    args = parser.parse_args(argv)
    if not (args.data / "nifti" / CASE / "t1.nii.gz").is_file():
        print(f"real case nifti/{CASE} not found under {args.data}: set MEDPIPE_TEST_DATA or --data")
        return 1
    variants = [True] if args.quick else [True, False]
    rows = [run_variant(args.data, reversible, args.threads) for reversible in variants]

    print(f"{'network':<24}{'completed':>10}{'wall s':>10}{'CPU s':>10}{'peak MiB':>10}")
    for row in rows:
        name = "RevUNet (reversible)" if row["reversible"] else "twin (reversible=False)"
        peak = f"{row['peak_rss_mib']:.0f}" if row["peak_rss_mib"] is not None else "n/a"
        print(f"{name:<24}{str(row['completed']):>10}{row['wall_seconds']:>10.1f}{row['cpu_seconds']:>10.1f}{peak:>10}")
        if row["error"]:
            print(f"  error: {row['error']}")
    if len(rows) == 2:
        print(f"ratios reversible / twin: wall {rows[0]['wall_seconds'] / rows[1]['wall_seconds']:.2f}, "
              f"CPU {rows[0]['cpu_seconds'] / rows[1]['cpu_seconds']:.2f}")

    shipped = rows[0]
    goals = {
        "real_case_inference_completes_on_cpu": {"value": shipped["completed"], "target": "== true", "met": shipped["completed"]},
    }
    import torch

    report = {
        "case": CASE,
        "shape": [240, 240, 155, 4],
        "runs": rows,
        "machine": {
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "gpu": None,
        },
        "goals": goals,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    met = sum(g["met"] for g in goals.values())
    print(f"goals met: {met}/{len(goals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
