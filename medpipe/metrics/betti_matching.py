"""Betti matching error (Stucki et al., ICML 2023; Stucki et al. 2024, "Efficient Betti Matching").

The Betti matching of two images matches the persistence bars of ``pred`` with those of ``gt``
through the induced matchings (Bauer and Lesnick) into a comparison image. For binary masks
medpipe uses the convention of the reference implementation, Betti-Matching-3D:

* filtration: sublevel sets of ``1 - mask`` (foreground enters at 0, background at 1);
* comparison image: ``min(1 - pred, 1 - gt)``, i.e. the union of the two foregrounds;
* cubical complex: the V-construction, so ``connectivity=1`` (face neighbours) is the reference's
  own setting. ``connectivity="full"`` (the T-construction) is computed exactly by refining the
  grid: every cell of the T-complex becomes a vertex of a ``2n + 1`` grid whose value is the
  minimum over its adjacent voxels, whose V-complex is a subdivision of the T-complex.

The error in dimension ``k`` is the number of unmatched ``k``-bars in ``pred`` plus those in ``gt``.
The reference never reports the essential (infinite) dimension-0 bar, so an empty prediction
against a one-blob ground truth scores 0 there; medpipe counts that bar: **+1 in dimension 0 when
exactly one mask is empty**. When both are non-empty the two essential bars match each other.

Speed: voxels outside the bounding box of ``pred | gt`` are background in both images and enter
the filtration together at the final value, so cropping both masks to that box plus a one-voxel
background margin leaves every finite bar, and every match, unchanged (tested). This is what makes
BraTS-size volumes with a tumour-sized mask fast.

A binary-specialised matching could go further. Every finite bar of a binary filtration is
``[0, 1)``, so the matching is decided by which comparison-image class each bar's image lands on:
in dimension 0 that is the component of ``pred | gt`` holding the component (one labelling pass;
the only subtlety, checked against the reference, is which union component carries the essential
bars), and the top dimension follows by Alexander duality from background components, where the
reference's tie-breaking order picks the matched cavity. Only dimension 1 in 3D would still need a
persistence reduction, and only inside union components that carry loops. medpipe runs the
reference reduction for all dimensions so that it equals the reference bar for bar.

The matching engine is the Betti-Matching-3D extension shipped, prebuilt, in the ``topolosses``
wheel (``pip install --no-deps topolosses``); it is loaded by path because ``import topolosses``
pulls in OpenCV.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from medpipe.metrics._inputs import check_connectivity, check_labels, check_pair, to_mask

__all__ = [
    "betti_matching_error", "load_reference", "refine_to_vertices", "unmatched_counts", "unmatched_counts_batch",
]

INSTALL_HINT = "pip install --no-deps topolosses"


@functools.lru_cache(maxsize=1)
def load_reference() -> ModuleType:
    """Load the Betti-Matching-3D extension module from the installed ``topolosses`` wheel.

    Raises:
        ImportError: when ``topolosses`` (or its compiled extension) is not installed.
    """
    spec = importlib.util.find_spec("topolosses")
    candidates: list[Path] = []
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            candidates += sorted(Path(root).glob("losses/betti_matching/src/betti_matching*.so"))
            candidates += sorted(Path(root).glob("losses/betti_matching/src/betti_matching*.pyd"))
    if not candidates:
        raise ImportError(
            "the Betti matching metric and loss need the Betti-Matching-3D extension shipped in the "
            f"`topolosses` wheel; install it with `{INSTALL_HINT}`"
        )
    module_spec = importlib.util.spec_from_file_location("betti_matching", candidates[0])
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def refine_to_vertices(values: np.ndarray) -> np.ndarray:
    """Turn a T-construction image into the V-construction image of its subdivision.

    Args:
        values: float ``(n_1, ..., n_d)``, one value per voxel (top-dimensional cell).

    Returns:
        float ``(2 n_1 + 1, ..., 2 n_d + 1)``: odd positions hold the voxels, even positions the
        lower-dimensional cells with the minimum over their adjacent voxels (sublevel convention).
    """
    refined = values
    for axis in range(values.ndim):
        moved = np.moveaxis(refined, axis, 0)
        out = np.empty((2 * moved.shape[0] + 1,) + moved.shape[1:], dtype=values.dtype)
        out[1::2] = moved
        out[2:-1:2] = np.minimum(moved[:-1], moved[1:])
        out[0], out[-1] = moved[0], moved[-1]
        refined = np.moveaxis(out, 0, axis)
    return np.ascontiguousarray(refined)


def _crop_box(union: np.ndarray) -> tuple[slice, ...]:
    box = []
    for axis in range(union.ndim):
        occupied = np.flatnonzero(union.any(axis=tuple(a for a in range(union.ndim) if a != axis)))
        box.append(slice(max(int(occupied[0]) - 1, 0), min(int(occupied[-1]) + 2, union.shape[axis])))
    return tuple(box)


def _filtration(mask: np.ndarray, full: bool) -> np.ndarray:
    values = 1.0 - mask.astype(np.float64)
    return refine_to_vertices(values) if full else np.ascontiguousarray(values)


def unmatched_counts_batch(
    pairs: list[tuple[np.ndarray, np.ndarray]], hops: int, crop: bool = True
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Run the reference matching on boolean mask pairs (after cropping) and return its counts.

    All non-empty pairs go to the reference in one call, which matches them in parallel threads.

    Returns:
        One ``(num_matched, num_unmatched_pred, num_unmatched_gt)`` per pair, int64 ``(ndim,)``
        each, exactly as the reference reports them (without the essential dimension-0 bar).
    """
    counts: list = [None] * len(pairs)
    inputs_pred, inputs_gt, positions = [], [], []
    for position, (pred, gt) in enumerate(pairs):
        union = pred | gt
        if not union.any():
            zeros = np.zeros(pred.ndim, dtype=np.int64)
            counts[position] = (zeros, zeros.copy(), zeros.copy())
            continue
        if crop:
            box = _crop_box(union)
            pred, gt = pred[box], gt[box]
        full = hops == pred.ndim and pred.ndim > 1
        inputs_pred.append(_filtration(pred, full))
        inputs_gt.append(_filtration(gt, full))
        positions.append(position)
    if positions:
        engine = load_reference()
        if len(positions) == 1:
            results = [engine.compute_matching(inputs_pred[0], inputs_gt[0])]
        else:
            results = engine.compute_matching(inputs_pred, inputs_gt)
        for position, result in zip(positions, results):
            counts[position] = tuple(
                np.asarray(values, dtype=np.int64)
                for values in (result.num_matched, result.num_unmatched_input1, result.num_unmatched_input2)
            )
    return counts


def unmatched_counts(
    pred: np.ndarray, gt: np.ndarray, hops: int, crop: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`unmatched_counts_batch` for a single pair."""
    return unmatched_counts_batch([(pred, gt)], hops, crop)[0]


def betti_matching_error(pred: Any, gt: Any, connectivity: int | str = 1, *, labels: Any = None) -> Any:
    """Betti matching error per homology dimension.

    Args:
        pred, gt: same-shape ``(H, W)`` or ``(H, W, D)`` masks (NumPy or torch), binary unless
            ``labels`` is given.
        connectivity: ``1`` (face neighbours, the V-construction of Betti-Matching-3D; the
            default) or ``"full"`` (8/26 neighbours, the T-construction).
        labels: optional label value(s); then each ``mask == label`` pair is matched.

    Returns:
        tuple of ints ``(e_0, ..., e_{d-1})``: unmatched ``k``-bars of ``pred`` plus unmatched
        ``k``-bars of ``gt``, with the essential dimension-0 bar counted when exactly one mask is
        empty (the reference's value + 1 there). ``{label: tuple}`` with ``labels``. Two empty
        masks give all zeros.

    Raises:
        ValueError: shape mismatch, non-binary input without ``labels``, NaN, bad ``connectivity``.
        ImportError: the ``topolosses`` wheel with the reference extension is not installed.

    With several ``labels`` all pairs go to the reference in one call, which runs them in
    parallel threads.
    """
    pred_array, gt_array = check_pair(pred, gt)
    hops = check_connectivity(connectivity, pred_array.ndim)
    if labels is None:
        keys, pairs = [None], [(to_mask(pred_array, "pred"), to_mask(gt_array, "gt"))]
    else:
        keys = check_labels(labels)
        pairs = [(pred_array == label, gt_array == label) for label in keys]
    errors = {}
    for key, (pred_mask, gt_mask), (_, unmatched_pred, unmatched_gt) in zip(keys, pairs, unmatched_counts_batch(pairs, hops)):
        error = unmatched_pred + unmatched_gt
        if pred_mask.any() != gt_mask.any():
            error[0] += 1
        errors[key] = tuple(int(e) for e in error)
    return errors[None] if labels is None else errors
