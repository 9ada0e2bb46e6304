"""Test data and checks of the ``mri_recurrentvarnet_reconstruction`` bundle: shared by the k-space bundles."""

from tests.bundles.bundle_specs._kspace_reconstruction import (  # noqa: F401 - the spec's interface
    EXPORT,
    REAL_LAYOUTS,
    TRAIN_OVERRIDES,
    VERIFY_NET_IN_OUT,
    check_quality,
    write_tiny_dataset,
)
