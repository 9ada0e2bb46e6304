"""Batch throughput: seconds per case and the share of time spent outside model inference.

``medpipe run`` on BraTS-size cases (240 x 240 x 155, four modalities) with the segmentation
bundle, side by side with MONAI's own ``monai.bundle.run`` (the function behind
``python -m monai.bundle run``) on the same folder. medpipe does more per case (metrics,
statistics, QC picture, manifest, report); the goal is that everything besides the model's
forward passes (loading, writing, metrics, QC, report, model loading) stays <= 25% of the run.
The benchmark also checks that both write the same voxels.

    python benchmarks/batch.py --quick        # 2 cases, a few minutes on CPU
    python benchmarks/batch.py --cases 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BUNDLE = "brats_mri_revunet_segmentation"
GOAL = 0.25


def machine(device: str) -> dict:
    import monai
    import torch

    info = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "monai": monai.__version__, "platform": platform.platform(), "device": device}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def warm_up() -> None:
    """Import what both runners use, so neither pays Python's first-import time inside its timing."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import monai.bundle  # noqa: F401
    import monai.engines  # noqa: F401
    import monai.inferers  # noqa: F401
    import monai.transforms  # noqa: F401
    import nibabel  # noqa: F401

    import medpipe.networks  # noqa: F401
    import medpipe.transforms.brats  # noqa: F401


def write_cases(root: Path, count: int, shape: tuple[int, int, int]) -> list[str]:
    from medpipe.synthetic import brain_phantom, write_brats_case

    ids = [f"BraTS_{i:03d}" for i in range(count)]
    for seed, case_id in enumerate(ids):
        write_brats_case(root, case_id, brain_phantom(shape, seed=seed))
    return ids


def run_medpipe(bundle: str, scans: Path, output: Path, device: str) -> dict:
    from medpipe.batch.runner import RunOptions, run_batch

    start = time.perf_counter()
    summary = run_batch(RunOptions(bundle, str(scans), str(output), device=device, progress=False))
    wall = time.perf_counter() - start
    bad = [r for r in summary.rows if r.status != "ok"]
    if bad:
        raise RuntimeError(f"medpipe run must process every case, got {bad[0].case_id}: {bad[0].status} {bad[0].message}")
    inference = sum(t["inference_s"] for t in summary.timings.values())
    per_case = [{"case_id": c, "total_s": t["total_s"], "inference_s": t["inference_s"],
                 "outside_share": 1 - t["inference_s"] / t["total_s"]} for c, t in sorted(summary.timings.items())]
    return {"wall_s": wall, "inference_s": inference, "seconds_per_case": wall / len(summary.rows),
            "share_outside_inference": 1 - inference / wall, "cases": per_case}


def run_monai(bundle_root: Path, scans: Path, output: Path, device: str) -> dict:
    from monai.bundle import run

    start = time.perf_counter()
    run(config_file=str(bundle_root / "configs" / "inference.json"), meta_file=str(bundle_root / "configs" / "metadata.json"),
        bundle_root=str(bundle_root), dataset_dir=str(scans), output_dir=str(output), device=f"$torch.device({device!r})")
    wall = time.perf_counter() - start
    return {"wall_s": wall, "seconds_per_case": wall / len(list(output.rglob("*.nii.gz")))}


def same_voxels(medpipe_out: Path, monai_out: Path, case_ids: list[str]) -> bool:
    import nibabel as nib

    for case_id in case_ids:
        (ours,) = (medpipe_out / case_id).glob("*.nii.gz")
        (theirs,) = [p for p in monai_out.rglob("*.nii.gz") if p.name == ours.name]
        if not np.array_equal(np.asanyarray(nib.load(str(ours)).dataobj), np.asanyarray(nib.load(str(theirs)).dataobj)):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 cases (a few minutes on CPU)")
    parser.add_argument("--cases", type=int, default=6, help="number of BraTS-size cases (default 6; --quick: 2)")
    parser.add_argument("--shape", type=int, nargs=3, default=(240, 240, 155), help="case grid (default BraTS 240 240 155)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the machine is shared)")
    parser.add_argument("--out", default=None, help="results JSON (default benchmarks/results/batch[.gpu].json)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    count = 2 if args.quick else args.cases
    from medpipe.batch.engine import resolve_bundle

    spec = resolve_bundle(BUNDLE)
    warm_up()
    with tempfile.TemporaryDirectory(prefix="medpipe-bench-batch-") as tmp:
        tmp = Path(tmp)
        case_ids = write_cases(tmp / "scans", count, tuple(args.shape))
        medpipe = run_medpipe(BUNDLE, tmp / "scans", tmp / "medpipe", args.device)
        monai = run_monai(spec.root, tmp / "scans", tmp / "monai", args.device)
        identical = same_voxels(tmp / "medpipe", tmp / "monai", case_ids)
    share = medpipe["share_outside_inference"]
    goals = {"share_outside_inference": {"value": round(share, 4), "target": f"<= {GOAL}", "met": bool(share <= GOAL)},
             "same_voxels_as_monai_bundle_run": {"value": identical, "target": "== true", "met": identical}}
    result = {"benchmark": "batch", "bundle": BUNDLE, "quick": args.quick, "cases": count, "shape": list(args.shape),
              "machine": machine(args.device), "medpipe_run": medpipe, "monai_bundle_run": monai,
              "ratio_medpipe_over_monai_wall": medpipe["wall_s"] / monai["wall_s"], "goals": goals}
    rows = [("medpipe run", medpipe["wall_s"], medpipe["seconds_per_case"], f"{share:.1%}"),
            ("monai.bundle run", monai["wall_s"], monai["seconds_per_case"], "-")]
    print(f"{count} case(s) of {'x'.join(map(str, args.shape))}, bundle {BUNDLE}, device {args.device}, {args.threads} thread(s)")
    print(f"{'runner':<18}{'wall s':>10}{'s/case':>10}{'outside inference':>20}")
    for name, wall, per_case, outside in rows:
        print(f"{name:<18}{wall:>10.2f}{per_case:>10.2f}{outside:>20}")
    print(f"ratio medpipe / monai wall: {result['ratio_medpipe_over_monai_wall']:.3f}; same voxels: {identical}")
    for case in medpipe["cases"]:
        print(f"  {case['case_id']}: {case['total_s']:.2f} s, inference {case['inference_s']:.2f} s, outside {case['outside_share']:.1%}")
    gpu = args.device.startswith("cuda")
    path = Path(args.out) if args.out else REPO / "benchmarks" / "results" / ("batch.gpu.json" if gpu else "batch.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    met = sum(g["met"] for g in goals.values())
    print(f"results: {path}")
    print(f"goals met: {met}/{len(goals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
