"""MRI physics on native complex64 tensors with coils at axis 1.

Centred orthonormal FFTs, coil combination, sensitivity estimation, sampling masks seeded from the
case id, SENSE operators, k-space noise and intensity scaling. Every public name is re-exported here.
"""

from medpipe.mri.coils import acs_shape, estimate_sensitivities, rss, sense_expand, sense_reduce
from medpipe.mri.cs import cs_reconstruction, zero_filled
from medpipe.mri.espirit import espirit_maps
from medpipe.mri.fft import fftc, ifftc
from medpipe.mri.layout import as_complex_tensor, check_finite, from_complex, to_complex
from medpipe.mri.masks import (
    MASK_FUNCTIONS,
    equispaced_mask,
    gaussian_mask,
    make_mask,
    mask_acceleration,
    poisson_disc_mask,
    random_mask,
    seed_from_case_id,
)
from medpipe.mri.noise import add_complex_noise
from medpipe.mri.operators import apply_mask, log_likelihood_gradient, sense_adjoint, sense_forward
from medpipe.mri.scaling import percentile, percentile_scale, scale_kspace_by_percentile

__all__ = [
    "MASK_FUNCTIONS",
    "equispaced_mask",
    "gaussian_mask",
    "make_mask",
    "mask_acceleration",
    "percentile",
    "percentile_scale",
    "poisson_disc_mask",
    "random_mask",
    "seed_from_case_id",
    "acs_shape",
    "add_complex_noise",
    "apply_mask",
    "as_complex_tensor",
    "check_finite",
    "cs_reconstruction",
    "espirit_maps",
    "estimate_sensitivities",
    "fftc",
    "from_complex",
    "ifftc",
    "log_likelihood_gradient",
    "rss",
    "scale_kspace_by_percentile",
    "sense_adjoint",
    "sense_expand",
    "sense_forward",
    "sense_reduce",
    "to_complex",
    "zero_filled",
]
