"""Benchmark: time to generate medpipe's synthetic phantoms, beside MONAI's test-image generator.

Goal (issue 2): a full-size BraTS brain (240 x 240 x 155, 1 mm) with all four modalities and its
label map generates in at most 10 s on 2 CPU cores (``brain_full_seconds <= 10``).

Side by side in the same run:

* ``monai.data.synthetic.create_test_image_3d`` at the same size, once per modality (four
  images + segmentations): the peer generator, piecewise-constant spheres plus noise;
* writing the generated brain (four modalities + label) with nibabel as ``.nii.gz``: the I/O that
  follows generation in every layout writer;
* the other phantoms at their default sizes, for reference.

Every timing is the median of repeated runs (3 with ``--quick``, 5 otherwise) after one warm-up.
Writes ``benchmarks/results/phantoms.json`` and ends with ``goals met: K/N``.

Usage::

    python benchmarks/phantoms.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FULL_SHAPE = (240, 240, 155)
GOAL_SECONDS = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "phantoms.json"


def _median_seconds(function, repeats: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds of ``repeats`` calls after a warm-up.

    CPU time is reported beside wall time because the 2-core machine is often shared: under
    contention wall time grows while the CPU time of this single-threaded work does not.
    """
    function()  # warm-up: imports, caches
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _machine() -> dict:
    import monai
    import nibabel
    import scipy

    return {
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "processor": platform.processor(),
        "gpu": None,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "monai": monai.__version__,
        "nibabel": nibabel.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 5 (a few minutes on CPU)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results JSON path")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 5

    from monai.data.synthetic import create_test_image_3d

    from medpipe.synthetic import (
        abdomen_ct_phantom,
        brain_phantom,
        kspace_phantom,
        registration_pair,
        vessel_tree,
        write_brats_case,
    )

    def monai_four_images():
        for seed in range(4):
            create_test_image_3d(
                *FULL_SHAPE, num_objs=12, rad_max=30, rad_min=5, noise_max=0.1, num_seg_classes=3,
                random_state=np.random.RandomState(seed),
            )

    brain = brain_phantom(FULL_SHAPE, seed=0)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        rows = {
            "brain_full (medpipe)": _median_seconds(lambda: brain_phantom(FULL_SHAPE, seed=0), repeats),
            "4 x create_test_image_3d (MONAI)": _median_seconds(monai_four_images, repeats),
            "write BraTS case .nii.gz (nibabel)": _median_seconds(
                lambda: write_brats_case(folder, "case", brain), max(1, repeats - 2)
            ),
            "abdomen_ct_phantom default": _median_seconds(lambda: abdomen_ct_phantom(seed=0), repeats),
            "kspace_phantom 8 coils x 16 slices": _median_seconds(
                lambda: kspace_phantom(num_slices=16, seed=0, noise_std=0.01), repeats
            ),
            "registration_pair default": _median_seconds(lambda: registration_pair(seed=0), repeats),
            "vessel_tree 2 loops": _median_seconds(lambda: vessel_tree(seed=0, num_loops=2), repeats),
        }
    load_after = os.getloadavg()
    reference = rows["brain_full (medpipe)"][0]
    print(f"{'task':<38} {'wall s':>9} {'cpu s':>9} {'wall vs brain_full':>19}")
    for name, (wall, cpu) in rows.items():
        print(f"{name:<38} {wall:>9.3f} {cpu:>9.3f} {wall / reference:>18.2f}x")
    ratio = reference / rows["4 x create_test_image_3d (MONAI)"][0]
    cpu_ratio = rows["brain_full (medpipe)"][1] / rows["4 x create_test_image_3d (MONAI)"][1]
    print(f"medpipe brain / MONAI create_test_image_3d x4: wall {ratio:.2f}, cpu {cpu_ratio:.2f}")
    print(f"1-min load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f} on {os.cpu_count()} CPUs")

    value = reference
    goals = {"brain_full_seconds": {"value": round(value, 4), "target": f"<= {GOAL_SECONDS:g}", "met": value <= GOAL_SECONDS}}
    result = {
        "benchmark": "phantoms",
        "quick": args.quick,
        "repeats": repeats,
        "shape": list(FULL_SHAPE),
        "wall_seconds": {k: round(v[0], 4) for k, v in rows.items()},
        "cpu_seconds": {k: round(v[1], 4) for k, v in rows.items()},
        "ratios": {
            "brain_full_over_monai_create_test_image_3d_x4_wall": round(ratio, 4),
            "brain_full_over_monai_create_test_image_3d_x4_cpu": round(cpu_ratio, 4),
            "nifti_write_over_brain_full_wall": round(rows["write BraTS case .nii.gz (nibabel)"][0] / reference, 4),
        },
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "machine": _machine(),
        "goals": goals,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    met = sum(goal["met"] for goal in goals.values())
    print(f"goals met: {met}/{len(goals)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
