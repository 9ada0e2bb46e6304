"""Keep patient identifiers out of logs and manifests.

Values of ``PatientName``, ``PatientID``, ``OtherPatientIDs`` and ``PatientBirthDate`` read from a
case's DICOM headers are replaced by ``[PHI]`` in every line medpipe writes about the case,
unless ``--keep-phi`` is given. Names are scrubbed whole and by component (``DOE^JOHN`` also
hides ``DOE`` and ``JOHN`` when a component has 3 or more characters).
"""

from __future__ import annotations

import re

__all__ = ["PHI_TAGS", "PhiScrubber", "phi_values"]

PHI_TAGS = ("PatientName", "PatientID", "OtherPatientIDs", "PatientBirthDate")


def phi_values(dicom_file: str) -> set[str]:
    """The identifying strings in one DICOM file's header (empty when unreadable)."""
    import pydicom

    try:
        header = pydicom.dcmread(dicom_file, stop_before_pixels=True, specific_tags=list(PHI_TAGS))
    except Exception:  # noqa: BLE001 - an unreadable header has nothing to hide
        return set()
    values: set[str] = set()
    for tag in PHI_TAGS:
        value = getattr(header, tag, None)
        if value is None or str(value) == "":
            continue
        raw = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
        for value in raw:
            text = str(value).strip()
            if not text:
                continue
            values.add(text)
            if tag == "PatientName":
                parts = [p for p in re.split(r"[\^= ]+", text) if len(p) >= 3]
                values.update(parts)
                values.add(" ".join(p for p in re.split(r"[\^=]+", text) if p))
            if tag == "PatientBirthDate" and re.fullmatch(r"\d{8}", text):
                values.add(f"{text[:4]}-{text[4:6]}-{text[6:]}")
    return {v for v in values if v}


class PhiScrubber:
    """Replace known identifying strings with ``[PHI]`` (a no-op when ``keep_phi``)."""

    def __init__(self, keep_phi: bool = False):
        self.keep_phi = keep_phi
        self.values: set[str] = set()
        self._pattern: re.Pattern | None = None

    def add(self, values: set[str]) -> None:
        self.values |= set(values)
        ordered = sorted(self.values, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE) if ordered else None

    def __call__(self, text: str) -> str:
        if self.keep_phi or self._pattern is None:
            return text
        return self._pattern.sub("[PHI]", text)
