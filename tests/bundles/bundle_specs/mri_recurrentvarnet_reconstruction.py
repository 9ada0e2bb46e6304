"""Test data and checks of the ``mri_recurrentvarnet_reconstruction`` bundle: shared by the k-space bundles."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "bundle_specs_kspace_reconstruction", Path(__file__).with_name("_kspace_reconstruction.py")
)
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

write_tiny_dataset = _shared.write_tiny_dataset
TRAIN_OVERRIDES = _shared.TRAIN_OVERRIDES
REAL_LAYOUTS = _shared.REAL_LAYOUTS
EXPORT = _shared.EXPORT
VERIFY_NET_IN_OUT = _shared.VERIFY_NET_IN_OUT
check_quality = _shared.check_quality
