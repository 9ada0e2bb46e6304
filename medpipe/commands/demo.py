"""`medpipe demo OUTPUT`: synthetic scans -> every bundle -> report."""

from __future__ import annotations


def add_arguments(parser):
    parser.add_argument("output", help="folder for the demo outputs (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="base seed for the phantoms (default 0)")
    parser.add_argument("--no-bundles", action="store_true", help="only write the synthetic scans")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    from medpipe.demo import run_demo

    run_demo(args.output, seed=args.seed, run_bundles=not args.no_bundles, progress=not args.no_progress)
    return 0
