import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from medpipe.transforms.brats import (
    BRATS_MODALITIES,
    BraTSLabelToRegions,
    BraTSLabelToRegionsd,
    CheckBraTSInputsd,
    RegionsToBraTSLabel,
    RegionsToBraTSLabeld,
    brats_label_to_regions,
    check_brats_inputs,
    regions_to_brats_label,
)

SHAPE = (5, 6, 7)


def _label(et_label=4, seed=0):
    rng = np.random.default_rng(seed)
    return torch.as_tensor(rng.choice([0, 1, 2, et_label], size=(1, *SHAPE)).astype(np.uint8))


def _modalities(shape=SHAPE, spacing=(1.0, 1.0, 1.0)):
    affine = torch.as_tensor(np.diag([*spacing, 1.0]))
    return {m: MetaTensor(torch.rand(1, *shape), affine=affine) for m in BRATS_MODALITIES}


@pytest.mark.parametrize("et_label", [4, 3])
def test_label_to_regions_matches_numpy_definition(et_label):
    label = _label(et_label)
    regions = brats_label_to_regions(label, et_label)
    lab = label[0].numpy()
    assert regions.shape == (3, *SHAPE) and regions.dtype == torch.float32
    np.testing.assert_array_equal(regions[0].numpy(), np.isin(lab, [1, et_label]))  # TC
    np.testing.assert_array_equal(regions[1].numpy(), np.isin(lab, [1, 2, et_label]))  # WT
    np.testing.assert_array_equal(regions[2].numpy(), lab == et_label)  # ET


@pytest.mark.parametrize("et_label", [4, 3])
def test_round_trip_labels_regions_labels(et_label):
    label = _label(et_label, seed=1)
    back = regions_to_brats_label(brats_label_to_regions(label, et_label), et_label)
    assert back.dtype == torch.uint8 and back.shape == (1, *SHAPE)
    torch.testing.assert_close(back, label)


def test_regions_to_label_enforces_nesting():
    regions = torch.zeros(3, *SHAPE)
    regions[2, 0, 0, 0] = 1  # ET outside TC and WT: background
    regions[0, 1, 0, 0] = 1  # TC outside WT: background
    regions[1, 2, 0, 0] = 1  # WT only: oedema
    regions[:, 3, 0, 0] = 1  # all three: enhancing
    label = regions_to_brats_label(regions)[0]
    assert label[:4, 0, 0].tolist() == [0, 0, 2, 4]


def test_metatensor_meta_is_kept():
    affine = torch.as_tensor(np.diag([2.0, 3.0, 4.0, 1.0]))
    label = MetaTensor(_label(), affine=affine)
    regions = BraTSLabelToRegions()(label)
    back = RegionsToBraTSLabel()(regions)
    assert isinstance(back, MetaTensor)
    torch.testing.assert_close(back.affine, affine)


def test_dictionary_forms():
    data = {"label": _label(), "other": 1}
    out = BraTSLabelToRegionsd(keys="label")(data)
    assert out["label"].shape == (3, *SHAPE) and out["other"] == 1
    back = RegionsToBraTSLabeld(keys="label")(out)
    torch.testing.assert_close(back["label"], data["label"])


def test_label_values_outside_the_convention_are_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"et_label=3"):
        brats_label_to_regions(torch.tensor([[[0, 1, 3]]]), et_label=4)
    with pytest.raises(ValueError, match=r"values must be in \{0, 1, 2, 4\}, got also \[7\]"):
        brats_label_to_regions(torch.tensor([[[0, 7]]]))


def test_bad_et_label_and_region_channels():
    with pytest.raises(ValueError, match="`et_label` must be 4"):
        BraTSLabelToRegions(et_label=5)
    with pytest.raises(ValueError, match="`regions` must have 3 channels"):
        regions_to_brats_label(torch.zeros(2, *SHAPE))


def test_check_accepts_consistent_modalities():
    data = _modalities()
    assert CheckBraTSInputsd()(data).keys() == data.keys()
    stacked = {"image": torch.cat([data[m] for m in BRATS_MODALITIES])}
    CheckBraTSInputsd(keys="image")(stacked)


def test_missing_modality_names_the_expected_ones():
    data = _modalities()
    del data["t2"]
    with pytest.raises(ValueError, match=r"4 modalities t1, t1ce, t2, flair.*missing \['t2'\]"):
        CheckBraTSInputsd()(data)


def test_channel_mismatch_names_the_expected_modalities():
    with pytest.raises(ValueError, match=r"must have 4 channels, the modalities t1, t1ce, t2, flair, got shape \(3, 5, 6, 7\)"):
        CheckBraTSInputsd(keys="image")({"image": torch.rand(3, *SHAPE)})
    data = _modalities()
    data["flair"] = torch.rand(2, *SHAPE)
    with pytest.raises(ValueError, match=r"'flair' must be a single channel of the 4 modalities t1, t1ce, t2, flair"):
        check_brats_inputs(data)


def test_mismatched_geometry_gives_both_shapes_and_spacings():
    data = _modalities()
    data["t2"] = _modalities(shape=(5, 6, 8), spacing=(1.0, 1.0, 0.9))["t2"]
    with pytest.raises(ValueError, match=r"shapes \(5, 6, 7\) and \(5, 6, 8\), spacings \(1.0, 1.0, 1.0\) and \(1.0, 1.0, 0.9\)"):
        check_brats_inputs(data)
    data = _modalities()
    data["flair"] = _modalities(spacing=(1.0, 1.2, 1.0))["flair"]
    with pytest.raises(ValueError, match=r"'t1' and 'flair' must share one voxel grid.*spacings \(1.0, 1.0, 1.0\) and \(1.0, 1.2, 1.0\)"):
        check_brats_inputs(data)


def test_nan_voxels_are_refused():
    data = _modalities()
    data["t1ce"][0, 1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"'t1ce' must not contain NaN voxels, got 1"):
        CheckBraTSInputsd()(data)


def test_bad_keys_count():
    with pytest.raises(ValueError, match="`keys` must be one stacked key or one key per modality"):
        CheckBraTSInputsd(keys=("a", "b"))
