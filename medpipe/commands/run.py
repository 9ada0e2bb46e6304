"""`medpipe run BUNDLE INPUT OUTPUT`: batch-process a folder of scans with a bundle."""

from __future__ import annotations

import sys


def add_arguments(parser):
    parser.add_argument("bundle", help="bundle name from bundles/ or a path to a bundle folder")
    parser.add_argument("input", help="folder of scans (BraTS / nnU-Net NIfTI, DICOM studies, fastMRI .h5)")
    parser.add_argument("output", help="output folder (one subfolder per case, manifest.csv, report.html)")
    parser.add_argument("--dry-run", action="store_true", help="list every case, the inputs it would use and why cases are skipped; write nothing")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0 (default: cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when stderr is not a terminal)")
    parser.add_argument("--dicom-seg", action="store_true", help="also write DICOM-SEG for cases read from DICOM")
    parser.add_argument("--part-id", type=int, help="this shard's index K in [0, N) (default: RANK or SLURM_ARRAY_TASK_ID)")
    parser.add_argument("--num-parts", type=int, help="number of shards N (default: WORLD_SIZE or SLURM_ARRAY_TASK_COUNT)")
    parser.add_argument("--scheduler", help="address of a Dask scheduler to run cases on")
    parser.add_argument("--dask-workers", type=int, help="run cases on a local Dask cluster of N worker processes")
    parser.add_argument("--series-map", help="JSON rules matching DICOM series to bundle inputs (replaces the defaults input by input)")
    parser.add_argument("--keep-phi", action="store_true", help="allow patient name, ID and birth date in logs")


def run(args) -> int:
    from medpipe.batch.runner import RunOptions, dry_run_lines, prepare, run_batch

    options = RunOptions(
        bundle=args.bundle, input=args.input, output=args.output, device=args.device,
        dicom_seg=args.dicom_seg, keep_phi=args.keep_phi, series_map=args.series_map,
        part_id=args.part_id, num_parts=args.num_parts, scheduler=args.scheduler,
        dask_workers=args.dask_workers, progress=not args.no_progress,
    )
    try:
        if args.dry_run:
            config, cases, _ = prepare(options)
            print("\n".join(dry_run_lines(config, cases)))
            return 0
        summary = run_batch(options)
    except (ValueError, ImportError) as err:
        print(f"medpipe run: error: {err}", file=sys.stderr)
        return 1
    counts = {s: sum(r.status == s for r in summary.rows) for s in ("ok", "skipped", "failed")}
    for row in summary.rows:
        if row.status == "failed":
            print(f"failed {row.case_id}: {row.message}", file=sys.stderr)
    where = f"report: {summary.report}" if summary.report else "shard done; merge with: medpipe report OUTPUT"
    print(f"{counts['ok']} ok, {counts['skipped']} skipped, {counts['failed']} failed; manifest: {summary.manifest}; {where}")
    return summary.exit_code
