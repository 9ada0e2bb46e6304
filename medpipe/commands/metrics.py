"""`medpipe metrics PRED GT`: segmentation and topology metrics between two label volumes.

Reads NIfTI (``.nii``/``.nii.gz``, spacing from the header) or DICOM-SEG files (highdicom,
spacing from the plane geometry), computes every metric of :mod:`medpipe.metrics` per label and
prints a table, or JSON with ``--json``. Exit code 0 on success, 1 on bad input.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

COLUMNS = ("dice", "hd95", "assd", "nsd", "cldice", "skeleton_recall", "betti_pred", "betti_gt",
           "betti_number_error", "betti_matching_error", "components_error")


class InputError(ValueError):
    """A problem with the command line's files or options, reported with exit code 1."""


def add_arguments(parser):
    parser.add_argument("pred", help="predicted label volume (NIfTI or DICOM-SEG)")
    parser.add_argument("gt", help="ground-truth label volume (NIfTI or DICOM-SEG)")
    parser.add_argument("--labels", help="comma-separated label values, e.g. 1,2,4 (default: every non-zero value)")
    parser.add_argument("--connectivity", default="1", choices=["1", "full"],
                        help="1 = face neighbours (Betti-Matching-3D), full = 8/26 neighbours (gudhi/TopoMortar)")
    parser.add_argument("--spacing", help="voxel size, e.g. 1,1,1 (default: from the file header)")
    parser.add_argument("--tolerance", type=float, default=1.0, help="normalised surface Dice tolerance, in mm")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _is_dicom(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(132)[128:132] == b"DICM"


def load_labels(path: str) -> tuple[np.ndarray, tuple[float, ...], np.ndarray | None]:
    """Read a label volume, its voxel spacing and, for DICOM-SEG, its affine.

    Returns:
        ``(labels, spacing, affine)``: integer array ``(X, Y[, Z])``, one spacing per axis, and the
        4x4 affine of a DICOM-SEG volume (``None`` for NIfTI).
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"file not found: {path}")
    affine = None
    try:
        if _is_dicom(file):
            import highdicom

            volume = highdicom.seg.segread(file).get_volume(combine_segments=True, relabel=False)
            array, spacing = np.asarray(volume.array), tuple(float(s) for s in volume.spacing)
            affine = np.asarray(volume.affine, dtype=np.float64)
        else:
            import nibabel

            image = nibabel.load(file)
            array = np.asanyarray(image.dataobj)
            spacing = tuple(float(z) for z in image.header.get_zooms()[: array.ndim])
    except Exception as error:  # noqa: BLE001 - any reader failure is a bad input file for the user
        raise InputError(f"cannot read {path} as NIfTI or DICOM-SEG: {error}") from error
    while array.ndim > 2 and array.shape[-1] == 1:
        array, spacing = array[..., 0], spacing[:-1]
    if array.ndim not in (2, 3):
        raise InputError(f"{path} must hold a 2D or 3D label volume, got shape {array.shape}")
    if array.dtype.kind == "f":
        if np.isnan(array).any() or not np.array_equal(array, np.round(array)):
            raise InputError(f"{path} must hold integer labels, got non-integer values")
        array = array.astype(np.int64)
    return array, spacing, affine


def align_dicom_seg(pred: np.ndarray, pred_affine: np.ndarray, gt: np.ndarray, gt_affine: np.ndarray):
    """Place two DICOM-SEG volumes on their common grid.

    A DICOM-SEG stores only the frames that hold segments, so two segmentations of one series
    can cover different slices. When both share orientation and spacing, each is zero-padded to
    the union of their extents.
    """
    if pred.ndim != 3 or gt.ndim != 3 or not np.allclose(pred_affine[:3, :3], gt_affine[:3, :3], atol=1e-4):
        return pred, gt
    offset = np.linalg.solve(pred_affine, gt_affine[:, 3])[:3]
    if not np.allclose(offset, np.round(offset), atol=1e-3):
        return pred, gt
    offset = np.round(offset).astype(int)
    low = np.minimum(0, offset)
    high = np.maximum(pred.shape, offset + np.array(gt.shape))
    aligned = []
    for array, start in ((pred, -low), (gt, offset - low)):
        canvas = np.zeros(tuple(high - low), dtype=array.dtype)
        canvas[tuple(slice(a, a + n) for a, n in zip(start, array.shape))] = array
        aligned.append(canvas)
    return aligned[0], aligned[1]


def _parse_numbers(text: str, name: str, kind):
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--{name} must be comma-separated numbers, got {text!r}") from None


def _json_value(value):
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def compute(pred: np.ndarray, gt: np.ndarray, labels: list[int], connectivity, spacing, tolerance: float) -> dict:
    """Every metric for every label: ``{label: {metric: value}}`` (``inf`` distances flagged)."""
    from medpipe import metrics

    results: dict[int, dict] = {}
    for label in labels:
        p, g = pred == label, gt == label
        row = {
            "dice": metrics.dice(p, g),
            "hd95": metrics.hd95(p, g, spacing=spacing),
            "assd": metrics.assd(p, g, spacing=spacing),
            "nsd": metrics.normalized_surface_dice(p, g, tolerance=tolerance, spacing=spacing),
            "cldice": metrics.cldice(p, g),
            "skeleton_recall": metrics.skeleton_recall(p, g),
            "betti_pred": metrics.betti_numbers(p, connectivity),
            "betti_gt": metrics.betti_numbers(g, connectivity),
            "betti_number_error": metrics.betti_number_error(p, g, connectivity),
            "components_error": metrics.connected_components_error(p, g, connectivity),
            "empty_pred": not p.any(),
            "empty_gt": not g.any(),
        }
        try:
            row["betti_matching_error"] = metrics.betti_matching_error(p, g, connectivity)
        except ImportError as error:
            print(f"medpipe metrics: betti_matching_error skipped: {error}", file=sys.stderr)
            row["betti_matching_error"] = None
        results[label] = row
    return results


def _table(results: dict) -> str:
    def cell(value) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, tuple):
            return ",".join(str(v) for v in value)
        if isinstance(value, float):
            return "inf" if math.isinf(value) else f"{value:.4f}"
        return str(value)

    rows = [("label",) + COLUMNS] + [(str(label),) + tuple(cell(row[c]) for c in COLUMNS) for label, row in results.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(text.rjust(width) for text, width in zip(r, widths)) for r in rows)


def run(args) -> int:
    try:
        pred, pred_spacing, pred_affine = load_labels(args.pred)
        gt, _, gt_affine = load_labels(args.gt)
        if pred_affine is not None and gt_affine is not None:
            pred, gt = align_dicom_seg(pred, pred_affine, gt, gt_affine)
        if pred.shape != gt.shape:
            raise InputError(f"PRED and GT must have the same shape, got {pred.shape} ({args.pred}) and {gt.shape} ({args.gt})")
        spacing = pred_spacing
        if args.spacing:
            spacing = tuple(_parse_numbers(args.spacing, "spacing", float))
            if len(spacing) != pred.ndim or min(spacing) <= 0:
                raise InputError(f"--spacing must be {pred.ndim} positive numbers, got {args.spacing!r}")
        if args.labels:
            labels = _parse_numbers(args.labels, "labels", int)
            if not labels:
                raise InputError(f"--labels must name at least one label, got {args.labels!r}")
        else:
            labels = [int(v) for v in np.union1d(np.unique(pred), np.unique(gt)) if v != 0] or [1]
        connectivity = 1 if args.connectivity == "1" else "full"
        results = compute(pred, gt, labels, connectivity, spacing, args.tolerance)
    except (InputError, ValueError) as error:
        print(f"medpipe metrics: {error}", file=sys.stderr)
        return 1
    if args.json:
        document = {
            "pred": str(args.pred), "gt": str(args.gt), "shape": list(pred.shape), "spacing": list(spacing),
            "connectivity": args.connectivity, "hd95_convention": "max of directed 95th percentiles (MONAI)",
            "labels": {str(label): {k: _json_value(v) for k, v in row.items()} for label, row in results.items()},
        }
        print(json.dumps(document, indent=2))
    else:
        print(f"pred {args.pred}  gt {args.gt}  shape {pred.shape}  spacing {tuple(round(s, 4) for s in spacing)}  "
              f"connectivity {args.connectivity}")
        print(_table(results))
    return 0
