"""`medpipe bundles`: list the bundles with their inputs and outputs."""

from __future__ import annotations

import json
import sys


def add_arguments(parser):
    parser.add_argument(
        "--root",
        default=None,
        help="folder holding the bundles (default: MEDPIPE_BUNDLES, else the repository's bundles/)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _describe_io(entry) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    shape = " x ".join(str(s) for s in entry.get("spatial_shape", []))
    channels = entry.get("num_channels", "?")
    channel_def = entry.get("channel_def") or {}
    names = ", ".join(str(v) for v in channel_def.values())
    text = f"{entry.get('type', '?')} {entry.get('dtype', '')} {channels} ch"
    if shape:
        text += f" [{shape}]"
    return text + (f" ({names})" if names else "")


def run(args) -> int:
    from medpipe.bundles import list_bundles

    try:
        bundles = list_bundles(args.root)
    except ValueError as err:
        print(f"medpipe bundles: {err}", file=sys.stderr)
        return 1
    if args.json:
        rows = [
            {"name": b.name, "version": b.version, "task": b.task, "inputs": b.inputs, "outputs": b.outputs}
            for b in bundles
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not bundles:
        print("no bundles found")
        return 0
    for bundle in bundles:
        print(f"{bundle.name}  (v{bundle.version})")
        print(f"  task: {bundle.task}")
        for label, items in (("input", bundle.inputs), ("output", bundle.outputs)):
            for key, entry in items.items():
                print(f"  {label} {key}: {_describe_io(entry)}")
    return 0
