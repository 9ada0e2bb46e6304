"""One module per ``medpipe`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""

import sys


def not_available(name: str, issue: str) -> int:
    """Tell the user a subcommand has not landed yet; exit code 1."""
    print(f"medpipe {name}: not available yet ({issue}).", file=sys.stderr)
    return 1
