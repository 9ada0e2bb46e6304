"""Tests for medpipe.io.dicom_seg: segments, codes, voxel counts and orientation on read-back."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
from tests.io._dicom_factory import SAGITTAL, volume, write_series
from pydicom.sr.codedict import codes

from medpipe.io import find_series, load_series
from medpipe.io.dicom_seg import BRATS_LABEL_TABLE, read_dicom_seg, sorted_source_files, write_dicom_seg


def _pydicom_counts(path) -> dict[int, int]:
    """Voxels per segment counted with pydicom alone (frames x per-frame segment number)."""
    dataset = pydicom.dcmread(path)
    frames = dataset.pixel_array.reshape(int(dataset.NumberOfFrames), dataset.Rows, dataset.Columns)
    counts: dict[int, int] = {}
    for frame, group in zip(frames, dataset.PerFrameFunctionalGroupsSequence):
        number = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        counts[number] = counts.get(number, 0) + int(frame.sum())
    return counts


def _world_points_ras(volume_obj) -> set:
    indices = np.argwhere(volume_obj.array > 0)
    homogeneous = np.c_[indices[:, :3], np.ones(len(indices))]
    lps = homogeneous @ volume_obj.affine.T
    return {tuple(np.round([-p[0], -p[1], p[2]], 3)) for p in lps}


@pytest.mark.parametrize("orientation, step", [(None, (0, 0, -2.0)), (SAGITTAL, (1.5, 0, 0))])
def test_round_trip_counts_names_and_orientation(tmp_path, orientation, step):
    kwargs = {"orientation": orientation} if orientation is not None else {}
    write_series(tmp_path / "ct", volume(), step=step, **kwargs)
    (series,) = find_series(tmp_path / "ct")
    loaded = load_series(series)
    label = np.zeros((5, 6, 7), np.uint8)
    label[1, 2, 3] = 1
    label[0:2, 0:3, 5] = 4
    label[4, 5, 6] = 2
    path = write_dicom_seg(tmp_path / "seg.dcm", label, series, label_table=BRATS_LABEL_TABLE)
    # highdicom: names and codes, one segment per label in increasing value
    seg = hd.seg.segread(path)
    assert seg.get_segment_numbers() == [1, 2, 3]
    described = [seg.get_segment_description(n) for n in (1, 2, 3)]
    assert [d.segment_label for d in described] == ["necrotic tumour core", "peritumoural oedema", "enhancing tumour"]
    assert described[1].segmented_property_type.value == codes.SCT.Edema.value
    # voxel counts with pydicom and with medpipe's reader
    assert _pydicom_counts(path) == {1: 1, 2: 1, 3: 6}
    back, names = read_dicom_seg(path, series)
    np.testing.assert_array_equal(back, np.select([label == 1, label == 2, label == 4], [1, 2, 3], 0))
    # orientation: every segment voxel lands where medpipe's affine puts it
    for number, value in ((1, 1), (2, 2), (3, 4)):
        seg_points = _world_points_ras(seg.get_volume(segment_numbers=[number], combine_segments=True))
        ours = np.argwhere(label == value)
        our_points = {tuple(np.round((loaded.affine @ np.r_[index, 1.0])[:3], 3)) for index in ours}
        assert seg_points == our_points


def test_errors(tmp_path):
    write_series(tmp_path / "ct", volume())
    (series,) = find_series(tmp_path / "ct")
    with pytest.raises(ValueError, match=r"shape \(columns, rows, images\) = \(5, 6, 7\)"):
        write_dicom_seg(tmp_path / "s.dcm", np.ones((6, 5, 7), np.uint8), series)
    with pytest.raises(ValueError, match="only background"):
        write_dicom_seg(tmp_path / "s.dcm", np.zeros((5, 6, 7), np.uint8), series)
    with pytest.raises(ValueError, match="integer"):
        write_dicom_seg(tmp_path / "s.dcm", np.zeros((5, 6, 7), np.float32), series)
    with pytest.raises(TypeError, match="pydicom Code"):
        write_dicom_seg(tmp_path / "s.dcm", np.ones((5, 6, 7), np.uint8), series,
                        label_table={1: {"name": "x", "type": "liver"}})
    with pytest.raises(ValueError, match="at least one DICOM image"):
        sorted_source_files([])


@pytest.mark.filterwarnings("ignore:The string .* person name:UserWarning")
def test_real_gantry_tilted_ct(real_data, tmp_path):
    """The GE CT is refused for loading (tilt), but a SEG on its instances keeps per-slice geometry."""
    (series,) = find_series(real_data / "dicom" / "dcm_qa_ct" / "In" / "GE")
    files = sorted_source_files(series)
    pixels = np.stack([pydicom.dcmread(f).pixel_array.T for f in files], axis=-1)  # (X, Y, Z)
    label = np.zeros(pixels.shape, np.uint8)
    label[:, :, 8:14][pixels[:, :, 8:14] > 1400] = 1  # bone (stored + intercept -1024 -> > ~400 HU)
    label[200:260, 300:340, 10:13] = 2
    path = write_dicom_seg(tmp_path / "ct_seg.dcm", label, files)
    assert _pydicom_counts(path) == {1: int((label == 1).sum()), 2: int((label == 2).sum())}
    back, names = read_dicom_seg(path, series)
    np.testing.assert_array_equal(back, label)
    assert names == {1: "label 1", 2: "label 2"}
    # each frame sits exactly on its source image (position and orientation copied per slice)
    seg = pydicom.dcmread(path, stop_before_pixels=True)
    sources = {str(d.SOPInstanceUID): d for d in (pydicom.dcmread(f, stop_before_pixels=True) for f in files)}
    for group in seg.PerFrameFunctionalGroupsSequence:
        uid = str(group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
        np.testing.assert_allclose([float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient],
                                   [float(v) for v in sources[uid].ImagePositionPatient], atol=1e-4)


def test_source_errors(tmp_path):
    write_series(tmp_path / "ax", volume((5, 6, 3)), prefix="ax")
    write_series(tmp_path / "ax", volume((5, 6, 3)), orientation=SAGITTAL, prefix="sag")
    with pytest.raises(ValueError, match="share one ImageOrientationPatient"):
        sorted_source_files(sorted((tmp_path / "ax").iterdir()))
    paths = write_series(tmp_path / "rep", volume((5, 6, 4)), positions=[(0, 0, 0), (0, 0, 2)] * 2)
    with pytest.raises(ValueError, match="one image per slice location"):
        sorted_source_files(paths)
    (series,) = find_series(tmp_path / "rep")
    fake = series.__class__(**{**series.__dict__, "kind": "mosaic-3d"})
    with pytest.raises(ValueError, match="plain 3D series"):
        sorted_source_files(fake)
    no_frame = write_series(tmp_path / "nofor", volume((5, 6, 2)))
    for path in no_frame:
        dataset = pydicom.dcmread(path)
        del dataset.FrameOfReferenceUID
        dataset.save_as(path)
    with pytest.raises(ValueError, match="FrameOfReferenceUID"):
        write_dicom_seg(tmp_path / "s.dcm", np.ones((5, 6, 2), np.uint8), no_frame)
