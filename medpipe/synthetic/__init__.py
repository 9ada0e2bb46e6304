"""Deterministic synthetic phantoms and the writers that put them in real-world file layouts.

Same arguments, same seed -> same bytes: every phantom draws from its own
``numpy.random.default_rng(seed)``, UIDs derive from the seed and DICOM dates are fixed.
Spatial axes are RAS voxel order and affines are RAS (nibabel convention).

Names are re-exported lazily, so ``import medpipe.synthetic`` stays cheap.
"""

from __future__ import annotations

from medpipe._lazy import lazy_exports

_LOCATIONS = {
    "BrainPhantom": "medpipe.synthetic.brain",
    "brain_phantom": "medpipe.synthetic.brain",
    "to_brats2023_labels": "medpipe.synthetic.brain",
    "BRATS_LABELS": "medpipe.synthetic.brain",
    "MODALITIES": "medpipe.synthetic.brain",
    "CTPhantom": "medpipe.synthetic.ct",
    "abdomen_ct_phantom": "medpipe.synthetic.ct",
    "BTCV_LABELS": "medpipe.synthetic.ct",
    "KSpacePhantom": "medpipe.synthetic.kspace",
    "kspace_phantom": "medpipe.synthetic.kspace",
    "fft2c": "medpipe.synthetic.kspace",
    "ifft2c": "medpipe.synthetic.kspace",
    "RegistrationPair": "medpipe.synthetic.registration",
    "registration_pair": "medpipe.synthetic.registration",
    "VesselTree": "medpipe.synthetic.vessels",
    "vessel_tree": "medpipe.synthetic.vessels",
    "write_nifti": "medpipe.synthetic.writers",
    "write_fastmri_h5": "medpipe.synthetic.writers",
    "write_dicom_series": "medpipe.synthetic.dicom",
    "write_brats_case": "medpipe.synthetic.layouts",
    "write_nnunet_case": "medpipe.synthetic.layouts",
    "write_dicom_study": "medpipe.synthetic.layouts",
}

__all__ = sorted(_LOCATIONS)
__getattr__, __dir__ = lazy_exports(__name__, _LOCATIONS)
