"""Tests for medpipe.io.siemens_csa against nibabel's full CSA reader."""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest

from medpipe.io.siemens_csa import csa_image_fields

NIBABEL_CSA = Path(nibabel.__file__).parent / "nicom" / "tests" / "data" / "csa_slice_norm.dcm"


def _nibabel_normal(dataset):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import csareader

        header = csareader.get_csa_header(dataset, "image")
        return csareader.get_slice_normal(header), csareader.get_n_mosaic(header)


def _check(dataset):
    fields = csa_image_fields(dataset)
    normal, count = _nibabel_normal(dataset)
    np.testing.assert_allclose([float(v) for v in fields["SliceNormalVector"]], normal)
    assert int(fields["NumberOfImagesInMosaic"][0]) == count


@pytest.mark.skipif(not NIBABEL_CSA.is_file(), reason="nibabel test data not installed")
def test_matches_nibabel_on_its_test_file():
    _check(pydicom.dcmread(NIBABEL_CSA, stop_before_pixels=True))


def test_matches_nibabel_on_real_mosaics(real_data):
    for path in sorted((real_data / "dicom" / "dcm_qa_ts" / "In").glob("*.dcm"))[:3]:
        _check(pydicom.dcmread(path, stop_before_pixels=True))


def test_no_csa_and_corrupt_csa(tmp_path):
    dataset = pydicom.Dataset()
    dataset.PatientName = "x"
    assert csa_image_fields(dataset) is None
    block = dataset.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    block.add_new(0x10, "OB", b"SV10\x04\x03\x02\x01" + (3).to_bytes(4, "little") + b"\x4d\x00\x00\x00" + b"x" * 20)
    with pytest.raises(ValueError, match="truncated"):
        csa_image_fields(dataset)
