"""`medpipe metrics`."""

from medpipe.commands import not_available


def add_arguments(parser):
    parser.add_argument("pred")
    parser.add_argument("gt")
    parser.add_argument("--labels")
    parser.add_argument("--connectivity", default="1", choices=["1", "full"])
    parser.add_argument("--spacing")
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    return not_available("metrics", "metrics, issue 4")
