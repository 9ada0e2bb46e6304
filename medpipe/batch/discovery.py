"""Find the cases in a folder: BraTS and nnU-Net NIfTI layouts, DICOM studies, fastMRI HDF5 files.

* NIfTI files are grouped by the name before their last ``_``/``-`` part, which names the input:
  a modality spelling (``_t1``, ``_t1ce``, ``-t1c``, ``_flair``, ...), an nnU-Net channel index
  (``_0000``; mapped through a ``dataset.json``'s ``channel_names``/``modality`` when there is one,
  else the bundle's channel order), a suffix the bundle's ``dataset_layout`` declares, or a label
  (``_seg``; also any file under ``labels*/``).
* Every top-level folder holding DICOM files is one study; its series are matched to the bundle's
  inputs by :mod:`medpipe.batch.series_rules`.
* Every ``.h5`` file is one k-space case (reconstruction bundles only).

A case that cannot run (an input missing, two files for one input, an ambiguous series) carries
a ``problem`` and is reported as failed; a case that is not for this bundle (k-space for a
segmentation bundle) carries a ``skip_reason``.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from medpipe.batch.engine import BundleSpec
from medpipe.batch.series_rules import CHANNEL_ALIASES, LABEL_TOKENS, canonical_channel, match_series

__all__ = ["Case", "discover_cases", "dicom_series_in"]

_NIFTI = re.compile(r"\.nii(\.gz)?$", re.IGNORECASE)
_TOKEN = re.compile(r"^(?P<case>.+)[_\-](?P<token>[A-Za-z0-9]+)$")
_TAGS = ("SeriesInstanceUID", "StudyInstanceUID", "SeriesDescription", "SeriesNumber", "Modality", "ImageType", "ProtocolName", "SequenceName")


@dataclass(frozen=True)
class Case:
    """One case as discovered (paths are strings so a case pickles to Dask workers).

    Attributes:
        case_id: output folder name (letters, digits, ``._-``).
        layout: ``"brats"``, ``"nnunet"``, ``"nifti"``, ``"dicom"`` or ``"fastmri"``.
        inputs: bundle input name -> files (one NIfTI/HDF5 file, or the files of one DICOM series).
        label: a ground-truth label file, if the layout has one.
        series: input name -> ``"#number 'description'"`` for DICOM cases.
        problem: why the case cannot run (it is reported failed), or ``None``.
        skip_reason: why the case is not for this bundle (reported skipped), or ``None``.
        notes: what discovery left out and why (series not used, localizers).
        phi_files: one DICOM file per series of the study, read for the identifiers that logs must
            not show (every series, so a case with no matched series still scrubs its reasons).
    """

    case_id: str
    layout: str
    inputs: dict = field(default_factory=dict)
    label: str | None = None
    series: dict = field(default_factory=dict)
    problem: str | None = None
    skip_reason: str | None = None
    notes: tuple = ()
    phi_files: tuple = ()


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() == ".dcm":
        return True
    if path.suffix:
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def dicom_series_in(folder: Path, files: list[Path] | None = None) -> list[dict]:
    """Group the DICOM files under ``folder`` (or the given ``files``) by ``SeriesInstanceUID``.

    Returns:
        One ``{"uid", "files", "tags"}`` per series, sorted by series number then UID; files that
        pydicom cannot read are listed under a pseudo-series with ``uid`` ``None`` and tag
        ``"error"``.
    """
    import pydicom

    groups: dict = defaultdict(list)
    tags: dict = {}
    candidates = files if files is not None else (p for p in Path(folder).rglob("*") if p.is_file() and _is_dicom(p))
    for path in sorted(candidates):
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(_TAGS))
            uid = str(header.SeriesInstanceUID)
        except Exception as err:  # noqa: BLE001 - any unreadable file is reported, not raised
            groups[None].append(str(path))
            tags[None] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"}
            continue
        groups[uid].append(str(path))
        if uid not in tags:
            tags[uid] = {t: _tag_value(header, t) for t in _TAGS}
    order = sorted((u for u in groups if u is not None), key=lambda u: (_as_int(tags[u].get("SeriesNumber")), u))
    series = [{"uid": u, "files": groups[u], "tags": tags[u]} for u in order]
    if None in groups:
        series.append({"uid": None, "files": groups[None], "tags": tags[None]})
    return series


def _first_level_folders(root: Path, files: list[Path]) -> dict[Path, list[Path]]:
    """DICOM files by their first-level folder under ``root`` (files directly in ``root``: ``root``)."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for path in files:
        rel = path.relative_to(root)
        by_folder[root / rel.parts[0] if len(rel.parts) > 1 else root].append(path)
    return dict(sorted(by_folder.items()))


def _split_studies(folder: Path, series: list[dict]) -> list[tuple[Path, list[dict]]]:
    """One case per first-level folder, split by ``StudyInstanceUID`` when the folder holds several
    studies, so that two studies exported side by side are never merged. A split study is named
    after the deepest folder holding all its files; unreadable files stay with the first study.
    """
    studies: dict[str, list[dict]] = defaultdict(list)
    for item in series:
        if item["uid"] is not None:
            studies[str(item["tags"].get("StudyInstanceUID"))].append(item)
    if len(studies) <= 1:
        return [(folder, series)]
    groups = sorted(studies.values(), key=lambda group: group[0]["files"][0])
    groups[0].extend(item for item in series if item["uid"] is None)
    return [
        (Path(os.path.commonpath([str(Path(f).parent) for item in group for f in item["files"]])), group)
        for group in groups
    ]


def _tag_value(header, keyword: str):
    value = getattr(header, keyword, "")
    if value is None:
        return ""
    if keyword == "ImageType":
        return [str(v) for v in value] if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, str) else [str(value)]
    return str(value)


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 30


def _nnunet_channel_names(folder: Path) -> dict[int, str] | None:
    for candidate in (folder / "dataset.json", folder.parent / "dataset.json"):
        if candidate.is_file():
            try:
                meta = json.loads(candidate.read_text())
            except (json.JSONDecodeError, OSError):
                return None
            names = meta.get("channel_names") or meta.get("modality")
            if isinstance(names, dict):
                return {int(k): canonical_channel(v) for k, v in names.items()}
    return None


def _classify_nifti(path: Path, channels: tuple[str, ...], suffixes: dict | None = None) -> tuple[str, str, str]:
    """``(case_name, kind, channel)`` with kind ``image``, ``label`` or ``unknown``."""
    stem = _NIFTI.sub("", path.name)
    if path.parent.name.lower().startswith("labels"):
        return stem, "label", ""
    match = _TOKEN.match(stem)
    if match:
        token = match["token"]
        if re.fullmatch(r"\d{4}", token):
            names = _nnunet_channel_names(path.parent)
            index = int(token)
            if names is not None and index in names:
                return match["case"], "image", names[index]
            return match["case"], "image", channels[index] if index < len(channels) else token
        if token.lower() in (suffixes or {}) and suffixes[token.lower()] in channels:
            return match["case"], "image", suffixes[token.lower()]
        if token.lower() in LABEL_TOKENS:
            return match["case"], "label", ""
        channel = canonical_channel(token)
        if channel in channels or channel in CHANNEL_ALIASES:
            return match["case"], "image", channel
    if channels == ("image",):
        return stem, "image", "image"
    return stem, "unknown", ""


def _safe_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "case"


def discover_cases(root: str | Path, spec: BundleSpec, rules: dict) -> list[Case]:
    """All cases under ``root`` for the bundle ``spec``, sorted by ``case_id``.

    Args:
        root: the input folder.
        spec: the bundle (its channels decide how files are matched to inputs).
        rules: series rules for DICOM studies (see :mod:`medpipe.batch.series_rules`).

    Raises:
        ValueError: when ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"`input` must be an existing folder, got {str(root)!r}")
    channels = spec.channels
    wants_kspace = spec.task == "reconstruction"
    groups: dict = defaultdict(lambda: {"images": defaultdict(list), "labels": [], "unknown": [], "layout": "nifti"})
    dicom_files: list[Path] = []
    cases: list[Case] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)):
        if _NIFTI.search(path.name):
            name, kind, channel = _classify_nifti(path, channels, spec.suffixes)
            group = groups[name]
            if kind == "image":
                group["images"][channel].append(str(path))
            else:
                group[{"label": "labels", "unknown": "unknown"}[kind]].append(str(path))
            if re.search(r"[_\-]\d{4}$", _NIFTI.sub("", path.name)) and kind == "image":
                group["layout"] = "nnunet"
            elif kind == "image" and (channel in CHANNEL_ALIASES or channel in spec.suffixes.values()):
                group["layout"] = "brats"
        elif path.suffix.lower() in (".h5", ".hdf5"):
            case_id = _safe_id(path.stem)
            if wants_kspace:
                cases.append(Case(case_id, "fastmri", {channels[0]: (str(path),)}))
            else:
                cases.append(Case(case_id, "fastmri", {}, skip_reason=f"k-space file; bundle {spec.name} takes images"))
        elif _is_dicom(path):
            dicom_files.append(path)
    for name, group in groups.items():
        images = group["images"]
        if not images and not group["unknown"]:
            continue  # a label without images is no case
        case_id = _safe_id(name)
        label = group["labels"][0] if group["labels"] else None
        if wants_kspace:
            cases.append(Case(case_id, group["layout"], skip_reason=f"image file; bundle {spec.name} takes k-space"))
            continue
        problem = None
        if group["unknown"]:
            problem = (f"cannot tell which input {Path(group['unknown'][0]).name} is; name files <case>_<input> with input in "
                       f"{list(channels)} or nnU-Net <case>_0000")
        duplicated = [c for c, files in images.items() if len(files) > 1]
        missing = [c for c in channels if c not in images]
        if problem is None and duplicated:
            problem = f"two files for input {duplicated[0]!r}: " + ", ".join(Path(f).name for f in images[duplicated[0]])
        if problem is None and missing:
            found = [c for c in channels if c in images]
            problem = f"missing input(s) {', '.join(missing)}; found {', '.join(found) or 'none'}"
        inputs = {c: tuple(images[c]) for c in channels if c in images}
        cases.append(Case(case_id, group["layout"], inputs, label, problem=problem))
    for folder, folder_files in _first_level_folders(root, dicom_files).items():
        if wants_kspace:
            case_id = _safe_id(folder.name if folder != root else root.name)
            cases.append(Case(case_id, "dicom", skip_reason=f"DICOM images; bundle {spec.name} takes k-space"))
            continue
        for study, series in _split_studies(folder, dicom_series_in(folder, folder_files)):
            cases.append(_dicom_case(root, study, series, rules, channels))
    return _unique(sorted(cases, key=lambda c: c.case_id))


def _dicom_case(root: Path, study: Path, series: list[dict], rules: dict, channels: tuple[str, ...]) -> Case:
    """The case of one DICOM study: its series matched to the bundle's inputs by ``rules``."""
    case_id = _safe_id(study.name if study != root else root.name)
    readable = [s for s in series if s["uid"] is not None]
    notes = [f"unreadable DICOM file(s): {s['tags']['error']}" for s in series if s["uid"] is None]
    chosen, problems, more = match_series([s["tags"] for s in readable], rules, channels)
    inputs = {c: tuple(readable[i]["files"]) for c, i in chosen.items()}
    described = {
        c: f"#{readable[i]['tags'].get('SeriesNumber', '?')} {readable[i]['tags'].get('SeriesDescription', '')!r}"
        for c, i in chosen.items()
    }
    problem = "; ".join(problems) if problems else None
    phi_files = tuple(s["files"][0] for s in readable)
    return Case(case_id, "dicom", inputs, None, described, problem, None, tuple(notes + more), phi_files)


def _unique(cases: list[Case]) -> list[Case]:
    """Suffix repeated case ids (``x``, ``x-2``) so that output folders never collide."""
    seen: dict[str, int] = {}
    out = []
    for case in cases:
        count = seen.get(case.case_id, 0) + 1
        seen[case.case_id] = count
        if count > 1:
            case = Case(**{**case.__dict__, "case_id": f"{case.case_id}-{count}"})
        out.append(case)
    return out
