"""Reading a few fields of the Siemens CSA image header (private tag (0029,xx10)).

Only the fields a DICOM scan needs for mosaics are read (``SliceNormalVector``,
``NumberOfImagesInMosaic``), so the parser walks the tag table and skips every other value.
The CSA2 layout (``SV10`` signature), as documented with nibabel's ``nicom.csareader``:

* 16-byte preamble: ``b"SV10"``, 4 bytes, ``n_tags`` (uint32 LE), 4 bytes;
* per tag, 84 bytes: name (64 bytes, NUL-terminated), VM, VR (4 bytes), SyngoDT,
  ``n_items``, a check value (int32 LE each);
* per item, 16 bytes whose second int32 is the value length, then the value padded to a
  multiple of 4 bytes (text, NUL-terminated).

Older CSA1 headers (no signature) are handed to nibabel's general reader.
"""

from __future__ import annotations

import struct
import warnings

__all__ = ["csa_image_fields"]

_CREATOR = "SIEMENS CSA HEADER"


def _csa_bytes(dataset) -> bytes | None:
    for block in range(0x10, 0x100):
        creator = dataset.get_item(0x00290000 | block)
        if creator is None:
            continue
        value = creator.value
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if text.strip(" \x00") == _CREATOR:
            element = dataset.get_item(0x00290000 | (block << 8) | 0x10)
            if element is not None and isinstance(element.value, bytes):
                return element.value
            return None
    return None


def _parse_csa2(data: bytes, wanted: set[str]) -> dict[str, list[str]]:
    (n_tags,) = struct.unpack_from("<I", data, 8)
    if not 0 < n_tags <= 1000:
        raise ValueError(f"CSA header must have 1-1000 tags, got {n_tags}")
    offset, found = 16, {}
    for _ in range(n_tags):
        name = data[offset:offset + 64].split(b"\x00", 1)[0].decode("latin-1")
        (n_items,) = struct.unpack_from("<i", data, offset + 76)
        offset += 84
        values = []
        for _ in range(n_items):
            length = struct.unpack_from("<4i", data, offset)[1]
            offset += 16
            if name in wanted and length:
                values.append(data[offset:offset + length].split(b"\x00", 1)[0].decode("latin-1").strip())
            offset += (length + 3) // 4 * 4
        if name in wanted:
            found[name] = values
            if len(found) == len(wanted):
                break
    return found


def csa_image_fields(dataset, names=("SliceNormalVector", "NumberOfImagesInMosaic")) -> dict[str, list[str]] | None:
    """The named fields of the CSA image header as lists of text values.

    Args:
        dataset: a pydicom dataset holding the private creator and the CSA element.
        names: CSA field names to return.

    Returns:
        ``{name: [values]}`` for the names present (empty values dropped), or None when the
        dataset has no CSA image header.

    Raises:
        ValueError: the CSA header is corrupt.
    """
    data = _csa_bytes(dataset)
    if data is None:
        return None
    wanted = set(names)
    if data[:4] == b"SV10":
        try:
            return _parse_csa2(data, wanted)
        except struct.error as error:
            raise ValueError(f"CSA header must be complete, got a truncated one ({error})") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nibabel warns that its DICOM wrappers are experimental
        from nibabel.nicom import csareader

        header = csareader.read(data)
    tags = header.get("tags", {})
    return {name: [str(item).strip() for item in tags[name]["items"]] for name in wanted if name in tags}
