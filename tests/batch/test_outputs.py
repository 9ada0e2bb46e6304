"""Per-case outputs: reconstruction QC panels, prediction reading, and the no-NIfTI error."""

from pathlib import Path

import numpy as np
import pytest

from medpipe.batch.discovery import Case
from medpipe.batch.outputs import _input_panel, _rss_of_inverse_fft, prediction_array, write_case_outputs


def test_rss_of_inverse_fft_matches_the_phantoms_reference():
    from medpipe.synthetic import kspace_phantom

    phantom = kspace_phantom((24, 20), num_coils=3, num_slices=2, seed=4)
    np.testing.assert_allclose(_rss_of_inverse_fft(phantom.kspace), phantom.reconstruction_rss, rtol=1e-4, atol=1e-5)


def test_zero_filled_panel_from_network_channels():
    from medpipe.synthetic import kspace_phantom

    phantom = kspace_phantom((24, 20), num_coils=3, num_slices=3, seed=5)
    mask = np.zeros(20, bool)
    mask[::3] = True
    masked = phantom.kspace * mask
    # real parts then imaginary parts, (2C, H, W, S): the network input of medpipe's recon bundles
    channels = np.concatenate([masked.real, masked.imag], axis=1).transpose(1, 2, 3, 0)
    title, image = _input_panel(Case("c", "fastmri"), {"image": channels})
    assert title == "zero-filled"
    np.testing.assert_allclose(image, _rss_of_inverse_fft(masked)[1], rtol=1e-4, atol=1e-5)


def test_prediction_array_is_channel_first(tmp_path):
    import nibabel as nib

    data = np.arange(2 * 5 * 6 * 7, dtype=np.uint8).reshape(5, 6, 7, 2)
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 3.0, 4.0, 1.0])), str(tmp_path / "p.nii.gz"))
    array, affine = prediction_array(tmp_path / "p.nii.gz")
    assert array.shape == (2, 5, 6, 7) and np.array_equal(array[1], data[..., 1])
    assert affine[1, 1] == 3.0


def test_bundle_output_without_nifti_is_an_error(tmp_path):
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "out.txt").write_text("x")
    (tmp_path / "case").mkdir()
    with pytest.raises(ValueError, match="the bundle output must include a NIfTI file, got \\['out.txt'\\]"):
        write_case_outputs(Case("c", "brats"), None, {}, [tmp_path / "bundle" / "out.txt"], tmp_path / "case")
