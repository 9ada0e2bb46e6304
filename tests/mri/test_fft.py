import numpy as np
import pytest
import torch
from monai.networks.blocks.fft_utils_t import fftn_centered_t, ifftn_centered_t

from medpipe.mri import fftc, from_complex, ifftc


def _numpy_fftc(x, ndim, inverse=False):
    axes = tuple(range(-ndim, 0))
    transform = np.fft.ifftn if inverse else np.fft.fftn
    return np.fft.fftshift(transform(np.fft.ifftshift(x, axes=axes), axes=axes, norm="ortho"), axes=axes)


def _random(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.complex64)


@pytest.mark.parametrize("shape, ndim", [((2, 3, 5, 7), 2), ((6, 7), 2), ((2, 5, 6, 7), 3), ((1, 4, 9, 8), 2)])
def test_matches_numpy(shape, ndim):
    x = _random(shape)
    np.testing.assert_allclose(fftc(x, ndim).numpy(), _numpy_fftc(x.numpy(), ndim), atol=1e-5)
    np.testing.assert_allclose(ifftc(x, ndim).numpy(), _numpy_fftc(x.numpy(), ndim, inverse=True), atol=1e-5)


@pytest.mark.parametrize("shape, ndim", [((2, 3, 5, 7), 2), ((2, 5, 6, 7), 3)])
def test_round_trip_and_parseval(shape, ndim):
    x = _random(shape, seed=1)
    k = fftc(x, ndim)
    torch.testing.assert_close(ifftc(k, ndim), x, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(k.abs().pow(2).sum(), x.abs().pow(2).sum(), rtol=1e-5, atol=0)
    assert k.dtype == torch.complex64 and k.shape == x.shape


@pytest.mark.parametrize("ndim", [2, 3])
def test_bit_identical_to_monai(ndim):
    x = _random((2, 5, 6, 7), seed=2)
    assert torch.equal(from_complex(fftc(x, ndim)), fftn_centered_t(from_complex(x), spatial_dims=ndim))
    assert torch.equal(from_complex(ifftc(x, ndim)), ifftn_centered_t(from_complex(x), spatial_dims=ndim))


def test_accepts_numpy_complex():
    x = _random((5, 6)).numpy()
    assert isinstance(fftc(x), torch.Tensor)


def test_rejects_real_and_trailing_two():
    with pytest.raises(TypeError, match="`x` must be a complex tensor"):
        fftc(torch.zeros(5, 6))
    with pytest.raises(TypeError, match="to_complex"):
        ifftc(torch.zeros(5, 6, 2))


def test_rejects_bad_spatial_dims():
    with pytest.raises(ValueError, match="`spatial_dims` must be 1, 2 or 3"):
        fftc(_random((5, 6)), spatial_dims=4)
    with pytest.raises(ValueError, match="at least spatial_dims=3"):
        fftc(_random((5, 6)), spatial_dims=3)
