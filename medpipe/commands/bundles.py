"""`medpipe bundles`."""

from medpipe.commands import not_available


def add_arguments(parser):
    pass


def run(args) -> int:
    return not_available("bundles", "bundles, issues 5 and 6")
