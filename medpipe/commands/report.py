"""`medpipe report OUTPUT`: (re)build manifest.csv and report.html, merging shard manifests."""

from __future__ import annotations

import sys


def add_arguments(parser):
    parser.add_argument("output", help="a run output folder (with manifest.csv or manifest.part-K-of-N.csv files)")


def run(args) -> int:
    from medpipe.batch.report import rebuild

    try:
        report, rows = rebuild(args.output)
    except ValueError as err:
        print(f"medpipe report: error: {err}", file=sys.stderr)
        return 1
    failed = sum(r.status == "failed" for r in rows)
    print(f"{len(rows)} case(s), {failed} failed; report: {report}")
    return 0
