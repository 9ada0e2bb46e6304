"""Bundle utilities: find medpipe's bundles, describe them, check their metadata, list their data.

A bundle is a folder with ``configs/metadata.json`` (MONAI's layout). medpipe's bundles live in
``bundles/`` at the top of the repository; ``MEDPIPE_BUNDLES`` points somewhere else.

Metadata is checked against the MONAI metadata schema of 2024-07-25 shipped in
``medpipe/schemas`` (no download), plus medpipe's own rules: ``required_packages_version`` is
present and ``network_data_format`` describes ``inputs.image`` and ``outputs.pred``, the names
``monai.bundle verify_net_in_out`` relies on. The same check from MONAI's command line, offline::

    python -m monai.bundle verify_metadata --meta_file configs/metadata.json \\
        --filepath "$(python -c 'import medpipe.schemas as s; print(s.schema_path())')"

(``verify_metadata`` skips its download when ``--filepath`` already exists.)

Bundle configs turn a dataset folder into a data list with :func:`case_datalist`, given the folder
layout that ``data_manifests/<dataset>.json`` describes.
"""

from __future__ import annotations

import difflib
import glob
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from medpipe.schemas import METADATA_SCHEMA, load_schema

__all__ = [
    "BundleInfo",
    "bundles_root",
    "case_datalist",
    "describe_bundle",
    "list_bundles",
    "resolve_bundle",
    "validate_metadata",
]

METADATA_FILE = Path("configs") / "metadata.json"
CASE_ID = "{case_id}"


@dataclass(frozen=True)
class BundleInfo:
    """What ``medpipe bundles`` shows for one bundle.

    Attributes:
        name: folder name, e.g. ``brats_mri_revunet_segmentation``.
        path: the bundle folder.
        version: ``metadata["version"]``.
        task: ``metadata["task"]``.
        inputs: ``network_data_format.inputs`` (name -> description dict).
        outputs: ``post_processed_outputs`` when given, else ``network_data_format.outputs``.
    """

    name: str
    path: Path
    version: str
    task: str
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)


def bundles_root() -> Path:
    """The folder holding medpipe's bundles.

    ``MEDPIPE_BUNDLES`` when set, else ``bundles/`` beside the ``medpipe`` package (the repository
    checkout, which an editable install points at).

    Raises:
        ValueError: if that folder does not exist.
    """
    env = os.environ.get("MEDPIPE_BUNDLES")
    root = Path(env) if env else Path(__file__).resolve().parents[1] / "bundles"
    if not root.is_dir():
        source = "MEDPIPE_BUNDLES" if env else "the repository's bundles/ folder"
        raise ValueError(
            f"bundles folder must exist, got {str(root)!r} (from {source}); "
            "set MEDPIPE_BUNDLES to the folder that holds the bundles"
        )
    return root


def _bundle_names(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file())


def resolve_bundle(name_or_path: str | os.PathLike) -> Path:
    """A bundle folder from a bundle name (looked up in :func:`bundles_root`) or a path.

    Raises:
        ValueError: if it is neither an existing bundle folder nor a known name; the message lists
            the close matches.
    """
    candidate = Path(name_or_path)
    if (candidate / METADATA_FILE).is_file():
        return candidate.resolve()
    root = bundles_root()
    names = _bundle_names(root)
    if str(name_or_path) in names:
        return (root / str(name_or_path)).resolve()
    close = difflib.get_close_matches(str(name_or_path), names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known bundles: {', '.join(names) or 'none'}"
    raise ValueError(
        f"`bundle` must be a bundle name in {str(root)!r} or a folder with {METADATA_FILE}, "
        f"got {str(name_or_path)!r}{hint}"
    )


def _read_metadata(metadata: Mapping | str | os.PathLike) -> tuple[dict, str]:
    if isinstance(metadata, Mapping):
        return dict(metadata), "metadata"
    path = Path(metadata)
    if path.is_dir():
        path = path / METADATA_FILE
    try:
        return json.loads(path.read_text()), str(path)
    except FileNotFoundError:
        raise ValueError(f"`metadata` must be a metadata.json file or bundle folder, got {str(path)!r}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"`metadata` must be valid JSON, got a parse error in {str(path)!r}: {err}") from None


def validate_metadata(metadata: Mapping | str | os.PathLike) -> dict:
    """Check bundle metadata against the shipped MONAI schema of 2024-07-25 and medpipe's rules.

    Args:
        metadata: the parsed metadata, a ``metadata.json`` path, or a bundle folder.

    Returns:
        The metadata dict.

    Raises:
        ValueError: naming the file and the first violation: a schema error (with its JSON path),
            a missing ``required_packages_version``, or a ``network_data_format`` without
            ``inputs.image`` or ``outputs.pred``.
    """
    import jsonschema

    meta, where = _read_metadata(metadata)
    schema = load_schema(METADATA_SCHEMA)
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(meta), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        location = "/".join(str(p) for p in err.absolute_path) or "<top level>"
        raise ValueError(f"{where} must satisfy {METADATA_SCHEMA}: at {location}: {err.message}")
    data_format = meta["network_data_format"]
    for section, key in (("inputs", "image"), ("outputs", "pred")):
        if key not in data_format[section]:
            raise ValueError(
                f"{where} must describe network_data_format.{section}.{key} (monai.bundle "
                f"verify_net_in_out reads it), got {section} keys {sorted(data_format[section])}"
            )
    return meta


def describe_bundle(path: str | os.PathLike) -> BundleInfo:
    """:class:`BundleInfo` for one bundle folder (its metadata is validated first)."""
    path = resolve_bundle(path)
    meta = validate_metadata(path)
    data_format = meta["network_data_format"]
    outputs = data_format.get("post_processed_outputs") or data_format["outputs"]
    return BundleInfo(
        name=path.name,
        path=path,
        version=meta["version"],
        task=meta["task"],
        inputs=dict(data_format["inputs"]),
        outputs=dict(outputs),
    )


def list_bundles(root: str | os.PathLike | None = None) -> list[BundleInfo]:
    """Every bundle under ``root`` (default :func:`bundles_root`), sorted by name.

    Raises:
        ValueError: if ``root`` is not a folder, or a bundle's metadata is invalid.
    """
    root = Path(root) if root is not None else bundles_root()
    if not root.is_dir():
        raise ValueError(f"`root` must be a folder holding bundles, got {str(root)!r}")
    return [describe_bundle(root / name) for name in _bundle_names(root)]


def _layout_patterns(layout: Mapping) -> tuple[dict[str, str], str | None]:
    if not isinstance(layout, Mapping) or not isinstance(layout.get("images"), Mapping) or not layout["images"]:
        raise ValueError(
            "`layout` must be a mapping with an 'images' mapping (key -> pattern with {case_id}), "
            f"got {layout!r}"
        )
    patterns = dict(layout["images"])
    label = layout.get("label")
    for key, pattern in [*patterns.items(), ("label", label)]:
        if pattern is not None and CASE_ID not in str(pattern):
            raise ValueError(f"`layout` pattern for {key!r} must contain {CASE_ID}, got {pattern!r}")
    return patterns, label


def write_layout_case(
    dataset_dir: str | os.PathLike,
    case_id: str,
    arrays: Mapping[str, "np.ndarray"],
    affine: "np.ndarray",
    layout: Mapping,
) -> dict[str, str]:
    """Write one case's volumes as NIfTI files where ``layout`` puts them (inverse of :func:`case_datalist`).

    Args:
        dataset_dir: the dataset folder (created if needed).
        case_id: the case identifier substituted for ``{case_id}``.
        arrays: layout key (each image key, and ``"label"`` if the case has one) -> (X, Y, Z) array.
        affine: float64 (4, 4) RAS affine shared by every volume.
        layout: ``{"images": {key: pattern}, "label": pattern}`` with ``.nii``/``.nii.gz`` patterns.

    Returns:
        layout key -> written path.

    Raises:
        ValueError: if an image key of the layout has no array, or an array key is not in the layout.
    """
    import nibabel as nib
    import numpy as np

    patterns, label_pattern = _layout_patterns(layout)
    if label_pattern is not None:
        patterns["label"] = label_pattern
    missing = [k for k in layout["images"] if k not in arrays]
    extra = [k for k in arrays if k not in patterns]
    if missing or extra:
        raise ValueError(
            f"`arrays` must have exactly the layout keys {sorted(patterns)} (label optional), "
            f"got {sorted(arrays)}"
        )
    written = {}
    for key, array in arrays.items():
        path = Path(dataset_dir) / patterns[key].replace(CASE_ID, case_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(np.asarray(array), np.asarray(affine, dtype=np.float64)), path)
        written[key] = str(path)
    return written


def case_datalist(
    dataset_dir: str | os.PathLike, layout: Mapping, *, require_label: bool = True
) -> list[dict[str, str]]:
    """A MONAI data list (one dict per case) from a dataset folder and its file layout.

    The layout is the ``layout`` object of a ``data_manifests/<dataset>.json`` (also copied into
    the bundle configs), for example BraTS 2021::

        {"images": {"t1": "{case_id}/{case_id}_t1.nii.gz", "t1ce": ..., "t2": ..., "flair": ...},
         "label": "{case_id}/{case_id}_seg.nii.gz"}

    Cases are the matches of the first image pattern; every other file of a case must exist.

    Args:
        dataset_dir: the dataset folder.
        layout: ``{"images": {key: pattern}, "label": pattern or None}``; patterns are relative to
            ``dataset_dir`` and contain ``{case_id}``.
        require_label: refuse cases without a label file; when False, ``"label"`` is included
            only for cases that have one.

    Returns:
        ``[{"case_id": ..., <image key>: path, ..., "label": path}, ...]`` sorted by case id.

    Raises:
        ValueError: if ``dataset_dir`` is missing, no case matches, or a case lacks a file (the
            message names the case and the missing file).
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        raise ValueError(f"`dataset_dir` must be an existing folder, got {str(root)!r}")
    patterns, label_pattern = _layout_patterns(layout)
    first_key, first = next(iter(patterns.items()))
    escaped = re.escape(first).replace(re.escape(CASE_ID), "(?P<case_id>[^/]+)", 1)
    regex = re.compile("^" + escaped.replace(re.escape(CASE_ID), "(?P=case_id)") + "$")
    case_ids = set()
    for match in glob.glob(first.replace(CASE_ID, "*"), root_dir=root):
        found = regex.match(Path(match).as_posix())
        if found:
            case_ids.add(found["case_id"])
    if not case_ids:
        raise ValueError(
            f"`dataset_dir` must contain cases laid out as {first!r} ({first_key}), found none in {str(root)!r}"
        )
    datalist = []
    for case_id in sorted(case_ids):
        item = {"case_id": case_id}
        wanted = dict(patterns)
        if label_pattern is not None:
            wanted["label"] = label_pattern
        for key, pattern in wanted.items():
            path = root / pattern.replace(CASE_ID, case_id)
            if path.exists():
                item[key] = str(path)
            elif key != "label" or require_label:
                raise ValueError(
                    f"case {case_id!r} in {str(root)!r} must have its {key} file {pattern!r}, "
                    f"got no {str(path)!r}"
                )
        datalist.append(item)
    return datalist
