import numpy as np
import pytest
import torch

from medpipe.mri import ifftc, percentile, percentile_scale, rss, scale_kspace_by_percentile


def test_percentile_matches_numpy():
    x = torch.randn(5, 6, 7, dtype=torch.complex64)
    assert percentile(x, 90) == pytest.approx(np.percentile(np.abs(x.numpy()), 90), rel=1e-6)


def test_percentile_scale():
    x = torch.rand(5, 6) * 30
    scaled, scale = percentile_scale(x, 99)
    assert percentile(scaled, 99) == pytest.approx(1.0, rel=1e-5)
    torch.testing.assert_close(scaled * scale, x)


def test_kspace_scaling_brings_image_percentile_to_one(multicoil):
    _, _, kspace = multicoil
    scaled, scale = scale_kspace_by_percentile(torch.from_numpy(kspace) * 1e4, 99.5)
    assert percentile(rss(ifftc(scaled), coil_dim=0), 99.5) == pytest.approx(1.0, rel=1e-4)
    assert scale > 1e3


def test_errors():
    with pytest.raises(ValueError, match=r"`q` must be in \[0, 100\]"):
        percentile(torch.ones(3), 101)
    with pytest.raises(ValueError, match="`kspace` must have a positive, finite percentile"):
        scale_kspace_by_percentile(torch.zeros(2, 5, 6, dtype=torch.complex64))
    with pytest.raises(ValueError, match="`x` must have a positive"):
        percentile_scale(torch.zeros(4))
