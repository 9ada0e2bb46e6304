"""`medpipe convert`."""

from medpipe.commands import not_available


def add_arguments(parser):
    parser.add_argument("input", help="a DICOM folder")
    parser.add_argument("output", help="output folder for NIfTI + JSON sidecars")
    parser.add_argument("--keep-phi", action="store_true")


def run(args) -> int:
    return not_available("convert", "scan I/O, issue 3")
