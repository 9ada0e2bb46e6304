import numpy as np
import pytest
import torch

from medpipe.mri import acs_shape, estimate_sensitivities, fftc, ifftc, rss, sense_expand, sense_reduce


def _coherence(a, b):
    """|<a, b>| over coils per pixel: 1 when the maps agree up to a per-pixel phase."""
    return np.abs((np.conj(a) * b).sum(0))


def test_rss_matches_numpy(multicoil):
    _, _, kspace = multicoil
    coil_images = ifftc(torch.from_numpy(kspace)[None])
    expected = np.sqrt((np.abs(coil_images.numpy()) ** 2).sum(1))
    np.testing.assert_allclose(rss(coil_images).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(rss(np.abs(coil_images.numpy()), coil_dim=1).numpy(), expected, rtol=1e-5)
    assert rss(coil_images).dtype == torch.float32


def test_expand_reduce(multicoil):
    image, sens, _ = multicoil
    image_t, sens_t = torch.from_numpy(image)[None], torch.from_numpy(sens)[None]
    coils = sense_expand(image_t, sens_t)
    assert coils.shape == (1, 6, 40, 36)
    np.testing.assert_allclose(coils[0].numpy(), sens * image, rtol=1e-6)
    # sum |S|^2 = 1 makes reduce the left inverse of expand
    torch.testing.assert_close(sense_reduce(coils, sens_t), image_t, atol=1e-5, rtol=1e-5)


def test_expand_reduce_shape_errors():
    sens = torch.ones(2, 3, 5, 6, dtype=torch.complex64)
    with pytest.raises(ValueError, match=r"`image` must have shape \(2, 5, 6\)"):
        sense_expand(torch.ones(2, 6, 5, dtype=torch.complex64), sens)
    with pytest.raises(ValueError, match=r"`coil_images` must have shape \(2, 3, 5, 6\)"):
        sense_reduce(torch.ones(2, 4, 5, 6, dtype=torch.complex64), sens)
    with pytest.raises(ValueError, match="`sens` must have shape"):
        sense_reduce(torch.ones(5, 6, dtype=torch.complex64), torch.ones(5, 6, dtype=torch.complex64))
    with pytest.raises(ValueError, match="`coil_dim` must index"):
        rss(torch.ones(5, 6), coil_dim=3)


@pytest.mark.parametrize("method", ["lowres", "espirit"])
def test_estimate_recovers_true_maps(multicoil, method):
    image, sens, kspace = multicoil
    maps = estimate_sensitivities(torch.from_numpy(kspace), acs_lines=(16, 16), method=method).numpy()
    inside = np.abs(image) > 0
    assert _coherence(maps, sens)[inside].min() > 0.99
    np.testing.assert_allclose((np.abs(maps) ** 2).sum(0)[inside], 1.0, atol=1e-4)


def test_espirit_matches_sigpy(make_multicoil):
    sigpy_mri = pytest.importorskip("sigpy.mri")
    _, _, kspace = make_multicoil(26, 22, 4)
    reference = sigpy_mri.app.EspiritCalib(kspace, calib_width=12, show_pbar=False).run()
    maps = estimate_sensitivities(torch.from_numpy(kspace)[None], acs_lines=(12, 12), method="espirit")[0].numpy()
    np.testing.assert_array_equal(np.abs(maps).sum(0) > 0, np.abs(reference).sum(0) > 0)
    np.testing.assert_allclose(maps, reference, atol=1e-4)


def test_acs_detection_column_and_square(multicoil):
    _, _, kspace = multicoil
    column = np.zeros(36, bool)
    column[14:22] = True
    column[::4] = True
    assert acs_shape(torch.from_numpy(kspace * column)) == (40, 8)
    square = np.zeros((40, 36), bool)
    square[15:25, 13:23] = True
    square[::3, ::5] = True
    assert acs_shape(torch.from_numpy(kspace * square)) == (10, 10)
    maps = estimate_sensitivities(torch.from_numpy(kspace * column), method="lowres")
    assert maps.shape == (6, 40, 36)


def test_estimate_errors(multicoil):
    _, _, kspace = multicoil
    k = torch.from_numpy(kspace)
    with pytest.raises(ValueError, match="`method` must be one of"):
        estimate_sensitivities(k, method="walsh")
    with pytest.raises(ValueError, match="fully sampled centre"):
        estimate_sensitivities(torch.zeros_like(k))
    with pytest.raises(ValueError, match="`acs_lines` must give a region"):
        estimate_sensitivities(k, acs_lines=(50, 4))
    with pytest.raises(TypeError, match="`acs_lines` must be None"):
        estimate_sensitivities(k, acs_lines=(1, 2, 3))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) or \(C, H, W\)"):
        estimate_sensitivities(k[0])
    bad = k.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="`kspace` must be finite"):
        estimate_sensitivities(bad)
    with pytest.raises(TypeError, match="`kspace` must be a complex tensor"):
        estimate_sensitivities(k.real)
    assert fftc(k).shape == k.shape


def test_rss_of_synthetic_phantom_equals_reference():
    synthetic = pytest.importorskip("medpipe.synthetic")
    phantom = synthetic.kspace_phantom((30, 26), num_coils=5, num_slices=2, seed=3, noise_std=0.01)
    combined = rss(ifftc(torch.from_numpy(phantom.kspace)))
    np.testing.assert_allclose(combined.numpy(), phantom.reconstruction_rss, rtol=1e-5, atol=1e-6)
    noise_free = synthetic.kspace_phantom((30, 26), num_coils=5, seed=3)
    np.testing.assert_allclose(rss(ifftc(torch.from_numpy(noise_free.kspace)))[0].numpy(), np.abs(noise_free.image[0]), atol=1e-5)
    maps = estimate_sensitivities(torch.from_numpy(noise_free.kspace), acs_lines=(12, 12), method="espirit")
    inside = np.abs(noise_free.image[0]) > 0.05 * np.abs(noise_free.image).max()
    assert _coherence(maps[0].numpy(), noise_free.sensitivities[0])[inside].mean() > 0.98
