"""The ``medpipe`` command: argument parsing and dispatch only.

Each subcommand lives in ``medpipe/commands/<name>.py`` with two functions:
``add_arguments(parser)`` and ``run(args) -> int`` (the exit code). The work itself is done by
the library; the command modules only translate arguments into library calls.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Order is the order ``medpipe --help`` lists them in (binding names: ../shared/DESIGN.md).
SUBCOMMANDS = {
    "demo": "synthetic scans -> every bundle -> report (the README's main job)",
    "run": "batch: discover cases in a folder, run a bundle, write outputs, manifest and report",
    "scan": "list the studies, series and cases found in a folder, with a status for each",
    "convert": "convert DICOM series to NIfTI (+ a JSON sidecar without patient identifiers)",
    "metrics": "segmentation and topology metrics between a prediction and a ground truth",
    "bundles": "list the bundles with their inputs and outputs",
    "report": "(re)build manifest.csv and report.html, merging shards",
}

EXIT_OK, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit with code 1, as DESIGN.md specifies."""

    def error(self, message: str):  # noqa: D102
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from medpipe import __version__

    parser = _Parser(prog="medpipe", description="Medical imaging pipelines on MONAI.")
    parser.add_argument("--version", action="version", version=f"medpipe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in SUBCOMMANDS.items():
        module = importlib.import_module(f"medpipe.commands.{name}")
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    module = importlib.import_module(f"medpipe.commands.{args.command}")
    return int(module.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
