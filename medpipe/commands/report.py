"""`medpipe report`."""

from medpipe.commands import not_available


def add_arguments(parser):
    parser.add_argument("output", help="a run output folder")


def run(args) -> int:
    return not_available("report", "batch runner, issue 7")
