"""PHI scrubbing: names (whole and by component), IDs and birth dates never reach logs."""

from tests.batch._data import SHAPE, SPACING

from medpipe.batch.phi import PhiScrubber, phi_values


def test_phi_values_from_a_dicom_header(tmp_path):
    import numpy as np

    from medpipe.synthetic import write_dicom_series

    files = write_dicom_series(tmp_path, np.zeros(SHAPE[:2] + (2,), np.float32), np.diag(SPACING + (1.0,)), modality="MR",
                               patient_id="PID-123", extra_tags={"PatientName": "DOE^JOHNATHAN", "PatientBirthDate": "19610203"})
    values = phi_values(str(files[0]))
    assert {"PID-123", "DOE^JOHNATHAN", "DOE", "JOHNATHAN", "19610203", "1961-02-03"} <= values
    assert phi_values(str(tmp_path / "absent.dcm")) == set()


def test_scrubber():
    scrub = PhiScrubber()
    assert scrub("nothing known yet") == "nothing known yet"
    scrub.add({"DOE^JOHN", "DOE", "PID-1"})
    assert scrub("patient doe^john (PID-1) in /data/DOE/") == "patient [PHI] ([PHI]) in /data/[PHI]/"
    keep = PhiScrubber(keep_phi=True)
    keep.add({"DOE"})
    assert keep("DOE") == "DOE"
