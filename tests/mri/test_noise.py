import numpy as np
import pytest
import torch

from medpipe.mri import add_complex_noise


def test_noise_only_at_sampled_locations_with_given_std():
    kspace = torch.zeros(2, 3, 50, 60, dtype=torch.complex64)
    mask = torch.zeros(60)
    mask[::3] = 1
    noisy = add_complex_noise(kspace * mask, mask, sigma=0.5, seed="case-1")
    assert torch.all(noisy[..., mask == 0] == 0)
    sampled = noisy[..., mask == 1]
    np.testing.assert_allclose(sampled.real.std().item(), 0.5, rtol=0.05)
    np.testing.assert_allclose(sampled.imag.std().item(), 0.5, rtol=0.05)
    assert abs(float((sampled.real * sampled.imag).mean())) < 0.02  # independent components


def test_reproducible_by_seed():
    kspace = torch.ones(3, 5, 6, dtype=torch.complex64)
    mask = torch.ones(5, 6)
    a = add_complex_noise(kspace, mask, sigma=1.0, seed="x")
    assert torch.equal(a, add_complex_noise(kspace, mask, sigma=1.0, seed="x"))
    assert not torch.equal(a, add_complex_noise(kspace, mask, sigma=1.0, seed="y"))
    assert torch.equal(add_complex_noise(kspace, mask, sigma=0.0), kspace)


def test_errors():
    kspace = torch.ones(3, 5, 6, dtype=torch.complex64)
    with pytest.raises(ValueError, match="`sigma` must be >= 0"):
        add_complex_noise(kspace, torch.ones(6), sigma=-1.0)
    with pytest.raises(ValueError, match="`mask` must broadcast"):
        add_complex_noise(kspace, torch.ones(5), sigma=1.0)
    with pytest.raises(TypeError, match="`kspace` must be a complex tensor"):
        add_complex_noise(kspace.real, torch.ones(6), sigma=1.0)
