"""`medpipe scan`."""

from medpipe.commands import not_available


def add_arguments(parser):
    parser.add_argument("input", help="a folder of DICOM/NIfTI/k-space files")


def run(args) -> int:
    return not_available("scan", "scan I/O, issue 3")
