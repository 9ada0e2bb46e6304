"""`medpipe run`."""

from medpipe.commands import not_available


def add_arguments(parser):
    parser.add_argument("bundle", help="bundle name from bundles/ or a path")
    parser.add_argument("input", help="folder of scans")
    parser.add_argument("output", help="output folder")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--dicom-seg", action="store_true")
    parser.add_argument("--part-id", type=int)
    parser.add_argument("--num-parts", type=int)
    parser.add_argument("--scheduler")
    parser.add_argument("--dask-workers", type=int)
    parser.add_argument("--series-map")
    parser.add_argument("--keep-phi", action="store_true")


def run(args) -> int:
    return not_available("run", "batch runner, issue 7")
