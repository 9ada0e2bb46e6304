"""Topology and reconstruction losses; names are re-exported lazily.

``from medpipe.losses import BettiMatchingLoss`` imports only ``medpipe.losses.topology``. The
reconstruction losses (``SSIML1Loss``, ``time_step_weights``) live in
``medpipe.losses.reconstruction``; a module that is not installed yet only fails when used.
"""

from __future__ import annotations

from medpipe._lazy import lazy_exports

_LOCATIONS = {
    "BettiMatchingLoss": "medpipe.losses.topology",
    "ClDiceLoss": "medpipe.losses.topology",
    "DiceClDiceLoss": "medpipe.losses.topology",
    "SkeletonRecallLoss": "medpipe.losses.topology",
    "MIPLoss": "medpipe.losses.topology",
    "focal_tversky_loss": "medpipe.losses.topology",
    "tubed_skeleton": "medpipe.losses.topology",
    "SSIML1Loss": "medpipe.losses.reconstruction",
    "time_step_weights": "medpipe.losses.reconstruction",
    "weighted_step_loss": "medpipe.losses.reconstruction",
}

__all__ = sorted(_LOCATIONS)
__getattr__, __dir__ = lazy_exports(__name__, _LOCATIONS)
