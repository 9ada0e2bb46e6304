import numpy as np
import pytest
import torch

from medpipe.mri import espirit_maps
from medpipe.mri.espirit import _image_space_gram


@pytest.mark.parametrize("height, width, kernel", [(20, 17, 4), (15, 22, 3)])
def test_image_space_operator_matches_direct_formula(height, width, kernel):
    # G(q) = 1/k^2 sum_n v_n(q) v_n(q)^H, v_n = unnormalised inverse DFT of the zero-padded kernel
    rng = np.random.default_rng(0)
    kernels = (rng.standard_normal((5, 3, kernel, kernel)) + 1j * rng.standard_normal((5, 3, kernel, kernel))).astype(np.complex64)
    padded = np.zeros((5, 3, height, width), np.complex64)
    padded[..., :kernel, :kernel] = kernels
    images = np.fft.ifft2(padded) * height * width  # sum_t K[t] exp(+2 pi i t q / N)
    direct = np.einsum("ncyx,ndyx->yxcd", images, images.conj()) / kernel**2
    direct = np.fft.fftshift(direct, axes=(0, 1))  # centred image grid
    fast = _image_space_gram(torch.from_numpy(kernels), height, width).numpy()
    np.testing.assert_allclose(fast, direct, atol=1e-3 * np.abs(direct).max())


def test_maps_are_unit_norm_eigenvectors(make_multicoil):
    image, sens, kspace = make_multicoil(26, 22, 4)
    calibration = torch.from_numpy(kspace)[:, 7:19, 5:17]
    maps = espirit_maps(calibration, (26, 22), kernel_size=6).numpy()
    kept = np.abs(maps).sum(0) > 0
    np.testing.assert_allclose((np.abs(maps) ** 2).sum(0)[kept], 1.0, atol=1e-5)
    assert np.all(np.abs(maps[0].imag) < 1e-6) and np.all(maps[0].real >= 0)  # phase referenced to coil 0
    assert kept[np.abs(image) > 0].all()
