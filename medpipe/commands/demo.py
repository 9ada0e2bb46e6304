"""`medpipe demo`."""

from medpipe.commands import not_available


def add_arguments(parser):
    parser.add_argument("output", help="folder for the demo outputs")


def run(args) -> int:
    return not_available("demo", "the demo grows as bundles land")
