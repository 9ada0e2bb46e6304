"""k-space loading, undersampling and channel layout for the reconstruction bundles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medpipe.io.kspace import write_cfl, write_fastmri_h5
from medpipe.mri.coils import rss
from medpipe.mri.fft import ifftc
from medpipe.synthetic import kspace_phantom
from medpipe.transforms.recon_io import (
    KSpaceToChannelsd,
    LoadKSpaced,
    RandKSpaceSliced,
    RandUndersampleKSpaced,
    SaveMagnituded,
    UndersampleKSpaced,
    is_undersampled,
)

S, C, H, W = 2, 3, 12, 10


@pytest.fixture(scope="module")
def phantom():
    return kspace_phantom((H, W), C, num_slices=S, seed=5)


@pytest.fixture
def h5_file(tmp_path, phantom):
    path = tmp_path / "case_x.h5"
    write_fastmri_h5(path, phantom.kspace)
    return path


def test_load_fully_sampled_h5_computes_rss_label(h5_file, phantom):
    d = LoadKSpaced("kspace")({"case_id": "case_x", "kspace": str(h5_file)})
    assert d["kspace"].dtype == torch.complex64 and d["kspace"].shape == (S, C, H, W)
    np.testing.assert_allclose(d["label"].numpy(), phantom.reconstruction_rss, rtol=1e-5, atol=1e-6)
    assert "mask" not in d


def test_file_mask_is_kept_and_applied(tmp_path, phantom):
    mask = np.zeros(W, dtype=np.float32)
    mask[::2] = 1
    path = tmp_path / "masked.h5"
    write_fastmri_h5(path, phantom.kspace * mask, mask=mask)
    d = LoadKSpaced("kspace")({"case_id": "masked", "kspace": str(path)})
    assert d["mask"].shape == (1, 1, 1, W) and "label" not in d
    d = UndersampleKSpaced("kspace")(d)
    assert torch.all(d["kspace"][..., 1::2] == 0)


def test_bart_reference_and_undersampled_data_left_alone(tmp_path, phantom):
    kspace = phantom.kspace.copy()
    kspace[..., 1::2] = 0
    write_cfl(tmp_path / "ksp", kspace)
    write_cfl(tmp_path / "img", (phantom.image * 3.0)[:, None])
    d = LoadKSpaced("kspace")({"case_id": "bart", "kspace": str(tmp_path / "ksp.cfl"), "label": str(tmp_path / "img.cfl")})
    np.testing.assert_allclose(d["label"].numpy(), np.abs(phantom.image) * 3.0, rtol=1e-5, atol=1e-6)
    assert is_undersampled(d["kspace"])
    out = UndersampleKSpaced("kspace")(dict(d))
    assert torch.equal(out["kspace"], d["kspace"]) and "mask" not in out


def test_bart_reference_with_two_map_sets(tmp_path, phantom):
    """A PICS image with two ESPIRiT map sets, BART dims (1, H, W, 1, 2): the RSS over the map sets."""
    write_cfl(tmp_path / "ksp", phantom.kspace[:1])
    maps = np.stack([phantom.image[0], 0.5j * phantom.image[0]], axis=-1)[None, :, :, None, :]
    write_cfl(tmp_path / "img", maps.astype(np.complex64), medpipe_layout=False)
    d = LoadKSpaced("kspace")({"kspace": str(tmp_path / "ksp.cfl"), "label": str(tmp_path / "img.cfl")})
    np.testing.assert_allclose(d["label"][0].numpy(), np.abs(phantom.image[0]) * np.sqrt(1.25), rtol=1e-5)


def test_calgary_campinas_layout(tmp_path, phantom):
    """CC-359 files: float (S, H, W, 2C) interleaved real/imaginary, uncentred FFT."""
    import h5py

    uncentred = np.fft.fft2(ifftc(torch.from_numpy(phantom.kspace)).numpy(), norm="ortho")
    interleaved = np.empty((S, H, W, 2 * C), dtype=np.float32)
    interleaved[..., ::2] = uncentred.real.transpose(0, 2, 3, 1)
    interleaved[..., 1::2] = uncentred.imag.transpose(0, 2, 3, 1)
    with h5py.File(tmp_path / "e14089s3_P53248.7.h5", "w") as f:
        f["kspace"] = interleaved
    d = LoadKSpaced("kspace", file_format="calgary_campinas")({"kspace": str(tmp_path / "e14089s3_P53248.7.h5")})
    np.testing.assert_allclose(d["kspace"].numpy(), phantom.kspace, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(d["label"].numpy(), phantom.reconstruction_rss, rtol=1e-4, atol=1e-5)
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f["kspace"] = interleaved[..., :-1]
    with pytest.raises(ValueError, match=r"must be float \(slices, H, W, 2C\) with interleaved"):
        LoadKSpaced("kspace", file_format="calgary_campinas")({"kspace": str(tmp_path / "bad.h5")})


def test_mask_is_seeded_from_case_id(h5_file):
    load = LoadKSpaced("kspace")
    undersample = UndersampleKSpaced("kspace", "random", acceleration=4, center_fraction=0.2)
    first = undersample(load({"case_id": "a", "kspace": str(h5_file)}))
    again = undersample(load({"case_id": "a", "kspace": str(h5_file)}))
    other = [undersample(load({"case_id": f"b{i}", "kspace": str(h5_file)}))["mask"] for i in range(4)]
    assert torch.equal(first["mask"], again["mask"]) and first["mask"].shape == (1, 1, H, W)
    assert any(not torch.equal(first["mask"], m) for m in other)
    torch.testing.assert_close(first["kspace"], load({"kspace": str(h5_file)})["kspace"] * first["mask"])


def test_random_undersampling_replays_with_the_same_state(h5_file):
    d = LoadKSpaced("kspace")({"kspace": str(h5_file)})
    masks = []
    for _ in range(2):
        transform = RandUndersampleKSpaced("kspace", "random", accelerations=[4, 2], center_fractions=[0.2, 0.3])
        transform.set_random_state(seed=7)
        masks.append([transform(dict(d))["mask"] for _ in range(3)])
    for a, b in zip(*masks):
        assert torch.equal(a, b)


def test_random_undersampling_draws_from_a_list_of_mask_types(h5_file):
    from medpipe.mri.masks import equispaced_mask, random_mask

    d = LoadKSpaced("kspace")({"kspace": str(h5_file)})
    transform = RandUndersampleKSpaced("kspace", ["random", "equispaced"], accelerations=[4], center_fractions=[0.2])
    transform.set_random_state(seed=3)
    drawn = set()
    for _ in range(12):
        out = transform(dict(d))
        expected = {"random": random_mask, "equispaced": equispaced_mask}[transform.mask_type]
        mask = expected((H, W), acceleration=4, center_fraction=0.2, seed=transform._seed)
        assert torch.equal(out["mask"][0, 0], mask)
        drawn.add(transform.mask_type)
    assert drawn == {"random", "equispaced"}
    with pytest.raises(ValueError, match="did you mean 'random'"):
        RandUndersampleKSpaced("kspace", ["random", "rnadom"])
    with pytest.raises(ValueError, match="`mask_type` must be a mask name or a non-empty list"):
        RandUndersampleKSpaced("kspace", [])


def test_slice_and_channels_layout(h5_file):
    d = LoadKSpaced("kspace")({"case_id": "case_x", "kspace": str(h5_file)})
    kspace, label = d["kspace"].clone(), d["label"].clone()
    sliced = RandKSpaceSliced(["kspace", "label"]).set_random_state(seed=1)(dict(d))
    index = [torch.equal(sliced["kspace"][0], kspace[s]) for s in range(S)].index(True)
    assert torch.equal(sliced["label"][0], label[index])
    out = KSpaceToChannelsd("kspace")(dict(d))
    assert out["image"].shape == (2 * C, H, W, S) and out["label"].shape == (1, H, W, S)
    torch.testing.assert_close(out["image"][:C, ..., 1], kspace[1].real)
    torch.testing.assert_close(out["image"][C:, ..., 1], kspace[1].imag)
    assert out["image_meta_dict"]["filename_or_obj"] == "case_x"
    torch.testing.assert_close(out["label"][0, ..., 0], rss(ifftc(kspace[:1]), coil_dim=1)[0])


@pytest.mark.parametrize("slices", [1, 3])
def test_save_magnitude_keeps_slice_axis(tmp_path, slices):
    import nibabel as nib

    volume = torch.rand(1, H, W, slices)
    meta = {"filename_or_obj": "case_y", "affine": torch.diag(torch.tensor([2.0, 3.0, 4.0, 1.0], dtype=torch.float64))}
    SaveMagnituded("pred", output_dir=str(tmp_path))({"pred": volume, "image_meta_dict": meta})
    image = nib.load(tmp_path / "case_y_recon.nii.gz")
    assert image.shape == (H, W, slices)
    np.testing.assert_allclose(image.get_fdata(), volume[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(image.affine, np.diag([2.0, 3.0, 4.0, 1.0]))
    with pytest.raises(ValueError, match=r"`pred` must be a magnitude volume"):
        SaveMagnituded("pred", output_dir=str(tmp_path))({"pred": torch.rand(2, H, W, 1), "image_meta_dict": meta})


def test_errors(tmp_path, h5_file, phantom):
    with pytest.raises(ValueError, match="`file_format` must be one of"):
        LoadKSpaced("kspace", file_format="dicom")
    with pytest.raises(ValueError, match="`keys` must name exactly one"):
        LoadKSpaced(["a", "b"])
    with pytest.raises(ValueError, match="must be fastMRI .h5 or BART .cfl"):
        LoadKSpaced("kspace")({"kspace": str(tmp_path / "scan.nii.gz")})
    write_cfl(tmp_path / "small", phantom.image[:, None, :4])
    with pytest.raises(ValueError, match=r"reference .* must have shape \(2, 12, 10\)"):
        LoadKSpaced("kspace")({"kspace": str(h5_file), "label": str(tmp_path / "small.cfl")})
    d = LoadKSpaced("kspace")({"kspace": str(h5_file)})
    d["mask"] = torch.ones(W + 1)
    with pytest.raises(ValueError, match="must broadcast to the k-space shape"):
        UndersampleKSpaced("kspace")(d)
    with pytest.raises(ValueError, match="`accelerations` and `center_fractions` must be non-empty and of equal"):
        RandUndersampleKSpaced("kspace", accelerations=[4, 8], center_fractions=[0.08])
    with pytest.raises(ValueError, match=r"`kspace` must be complex k-space \(S, C, H, W\)"):
        KSpaceToChannelsd("kspace")({"kspace": torch.zeros(2, 3, 4, 5)})
