"""Segmentation, topology and reconstruction metrics; names are re-exported lazily.

``from medpipe.metrics import betti_numbers`` imports only ``medpipe.metrics.topology``. The
reconstruction metrics (``ssim``, ``psnr``, ``nmse``) live in ``medpipe.metrics.reconstruction``;
a module that is not installed yet only fails when its names are used. The registration metrics
(``jacobian_determinant``, ``folding_fraction``, ``volume_ratio``) live in
``medpipe.metrics.registration``.
"""

from __future__ import annotations

from medpipe._lazy import lazy_exports

_LOCATIONS = {
    "betti_numbers": "medpipe.metrics.topology",
    "betti_number_error": "medpipe.metrics.topology",
    "euler_characteristic": "medpipe.metrics.topology",
    "connected_components_error": "medpipe.metrics.topology",
    "cldice": "medpipe.metrics.topology",
    "skeleton_recall": "medpipe.metrics.topology",
    "betti_matching_error": "medpipe.metrics.betti_matching",
    "dice": "medpipe.metrics.segmentation",
    "hd95": "medpipe.metrics.segmentation",
    "assd": "medpipe.metrics.segmentation",
    "normalized_surface_dice": "medpipe.metrics.segmentation",
    "SurfaceDistance": "medpipe.metrics.segmentation",
    "ASSDMetric": "medpipe.metrics.cumulative",
    "BettiMatchingErrorMetric": "medpipe.metrics.cumulative",
    "BettiNumberErrorMetric": "medpipe.metrics.cumulative",
    "BettiNumbersMetric": "medpipe.metrics.cumulative",
    "ClDiceMetric": "medpipe.metrics.cumulative",
    "ConnectedComponentsErrorMetric": "medpipe.metrics.cumulative",
    "DiceMetric": "medpipe.metrics.cumulative",
    "EulerCharacteristicErrorMetric": "medpipe.metrics.cumulative",
    "HD95Metric": "medpipe.metrics.cumulative",
    "NormalizedSurfaceDiceMetric": "medpipe.metrics.cumulative",
    "SkeletonRecallMetric": "medpipe.metrics.cumulative",
    "ssim": "medpipe.metrics.reconstruction",
    "psnr": "medpipe.metrics.reconstruction",
    "nmse": "medpipe.metrics.reconstruction",
    "reconstruction_metrics": "medpipe.metrics.reconstruction",
    "jacobian_determinant": "medpipe.metrics.registration",
    "folding_fraction": "medpipe.metrics.registration",
    "volume_ratio": "medpipe.metrics.registration",
}

__all__ = sorted(_LOCATIONS)
__getattr__, __dir__ = lazy_exports(__name__, _LOCATIONS)
