"""Run a MONAI bundle's own inference pipeline one case at a time, with the model loaded once.

The bundle's ``configs/inference.json`` is parsed with :class:`monai.bundle.ConfigParser`.
The network (``network``, else ``network_def``) and the ``inferer`` are instantiated once and the
weights in ``models/model.pt`` are loaded once. For every case the bundle's ``preprocessing`` and
``postprocessing`` are re-instantiated from the same parse (so ``Invertd`` refers to the very
``preprocessing`` object that transformed the case) with ``output_dir`` pointing at a fresh
folder, and MONAI's :class:`~monai.engines.SupervisedEvaluator` runs them on a one-item dataset.
This is the code path of ``python -m monai.bundle run``, which is why both give the same voxels.

The bundle contract this relies on (model-zoo convention):

* the dataset items are ``{input_key: path}`` or ``{input_key: [path, ...]}`` (one path per
  channel, in the order of ``metadata.json``'s ``inputs.<input_key>.channel_def``);
* the writer in ``postprocessing`` (``SaveImaged``) writes under ``@output_dir``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

__all__ = ["BundleSpec", "BundleEngine", "resolve_bundle", "bundle_digest"]


@dataclass(frozen=True)
class BundleSpec:
    """What the batch runner needs to know about a bundle.

    Attributes:
        name: folder name of the bundle.
        root: the bundle folder (holds ``configs/`` and ``models/``).
        input_key: the dataset key the bundle's ``preprocessing`` loads (``metadata.json``'s first
            ``network_data_format.inputs`` key, usually ``"image"``).
        channels: input names in channel order (``("t1", "t1ce", "t2", "flair")`` for BraTS;
            ``("image",)`` for a single-channel bundle).
        output_channels: ``outputs.pred.channel_def`` as ``{index: name}`` (may be empty).
        task: ``"segmentation"``, ``"reconstruction"`` or ``"other"``.
        metadata: the parsed ``metadata.json``.
        suffixes: file-name suffix token -> input, from the ``dataset_layout`` the bundle's
            ``inference.json`` declares (``"{case_id}_t1ce.nii.gz"`` gives ``{"t1ce": "t1ce"}``).
    """

    name: str
    root: Path
    input_key: str
    channels: tuple[str, ...]
    output_channels: dict[int, str] = field(default_factory=dict)
    task: str = "other"
    metadata: dict = field(default_factory=dict, compare=False, repr=False)
    suffixes: dict = field(default_factory=dict)


def _layout_suffixes(inference: Path) -> dict[str, str]:
    """Suffix tokens of the ``dataset_layout.images`` patterns in ``inference.json`` (raw JSON)."""
    import re

    from medpipe.batch.series_rules import canonical_channel

    try:
        images = json.loads(inference.read_text()).get("dataset_layout", {}).get("images", {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return {}
    suffixes = {}
    for key, pattern in (images.items() if isinstance(images, dict) else []):
        match = re.search(r"\{case_id\}[_\-]([A-Za-z0-9]+)\.nii(\.gz)?$", str(pattern))
        if match:
            suffixes[match[1].lower()] = canonical_channel(key)
    return suffixes


def resolve_bundle(bundle: str | Path) -> BundleSpec:
    """Find a bundle by path or by name (:func:`medpipe.bundles.resolve_bundle`) and read its metadata.

    Args:
        bundle: a bundle folder, or the name of one in medpipe's ``bundles/``.

    Returns:
        The bundle's :class:`BundleSpec`. Output label names come from ``post_processed_outputs``
        when the metadata has them (what the bundle writes), else from ``outputs``.

    Raises:
        ValueError: when no such bundle exists or it lacks ``configs/inference.json``.
    """
    from medpipe.bundles import resolve_bundle as find_bundle
    from medpipe.batch.series_rules import default_channels

    candidate = find_bundle(bundle)
    if not (candidate / "configs" / "inference.json").is_file():
        raise ValueError(f"`bundle` must contain configs/inference.json, got {str(candidate)!r}")
    metadata = json.loads((candidate / "configs" / "metadata.json").read_text())
    data_format = metadata.get("network_data_format", {})
    inputs = data_format.get("inputs", {}) or {"image": {}}
    input_key = next(iter(inputs))
    channel_def = inputs[input_key].get("channel_def", {}) or {}
    channels = default_channels(candidate.name, channel_def, int(inputs[input_key].get("num_channels", 1) or 1))
    outputs = (data_format.get("post_processed_outputs") or metadata.get("post_processed_outputs")
               or data_format.get("outputs", {}))
    pred = next(iter(outputs.values()), {}) or {}
    output_channels = {int(k): str(v) for k, v in (pred.get("channel_def", {}) or {}).items()}
    described = f"{candidate.name} {metadata.get('task', '')}".lower()
    task = "segmentation" if "segmentation" in described else "reconstruction" if "reconstruction" in described else "other"
    if task == "reconstruction":
        channels = ("kspace",)  # one fastMRI HDF5 file per case, whatever its coil channels
    suffixes = _layout_suffixes(candidate / "configs" / "inference.json")
    return BundleSpec(candidate.name, candidate.resolve(), input_key, channels, output_channels, task, metadata, suffixes)


def bundle_digest(spec: BundleSpec) -> str:
    """SHA-256 over the bytes of every file in ``configs/`` and ``models/`` (sorted by path)."""
    digest = hashlib.sha256()
    for sub in ("configs", "models"):
        for path in sorted((spec.root / sub).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(spec.root)).encode())
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
    return digest.hexdigest()


class _TimedInferer:
    """Wraps the bundle's inferer to measure the seconds spent in model inference."""

    def __init__(self, inferer):
        self.inferer = inferer
        self.seconds = 0.0

    def __call__(self, inputs, network, *args, **kwargs):
        start = time.perf_counter()
        out = self.inferer(inputs, network, *args, **kwargs)
        if out.device.type == "cuda":
            torch.cuda.synchronize(out.device)
        self.seconds += time.perf_counter() - start
        return out


class BundleEngine:
    """The bundle's network, weights and inferer, loaded once; :meth:`run_case` per case.

    Args:
        spec: the bundle (see :func:`resolve_bundle`).
        device: torch device string, e.g. ``"cpu"`` or ``"cuda:0"``.
    """

    def __init__(self, spec: BundleSpec, device: str = "cpu"):
        from monai.bundle import ConfigParser

        self.spec = spec
        self.device = torch.device(device)
        parser = ConfigParser()
        meta = spec.root / "configs" / "metadata.json"
        if meta.is_file():
            parser.read_meta(str(meta))
        parser.read_config(str(spec.root / "configs" / "inference.json"))
        parser["bundle_root"] = str(spec.root)
        if "device" in parser:
            parser["device"] = f"$torch.device({str(self.device)!r})"
        for required in ("preprocessing", "postprocessing"):
            if required not in parser:
                raise ValueError(f"`bundle` inference.json must define `{required}`, got ids {sorted(parser.get())}")
        self.parser = parser
        network_id = "network" if "network" in parser else "network_def"
        self.network = parser.get_parsed_content(network_id).to(self.device)
        weights = spec.root / "models" / "model.pt"
        if weights.is_file():
            state = torch.load(weights, map_location=self.device, weights_only=True)
            if isinstance(state, dict) and isinstance(state.get("model"), dict):
                state = state["model"]
            self.network.load_state_dict(state)
        self.network.eval()
        if "inferer" in parser:
            self.inferer = parser.get_parsed_content("inferer")
        else:
            from monai.inferers import SimpleInferer

            self.inferer = SimpleInferer()
        self.load_keys = self._load_keys()
        self.amp = False
        if "evaluator#amp" in parser:
            self.amp = bool(parser.get_parsed_content("evaluator#amp")) and self.device.type == "cuda"

    def _load_keys(self) -> tuple[str, ...]:
        """The keys the bundle's first dictionary transform (its loader) reads.

        ``("image",)`` for a model-zoo ``LoadImaged(keys="image")``, one key per modality for
        per-modality loaders, ``("kspace",)`` for a k-space loader.
        """
        from monai.transforms import MapTransform

        preprocessing = self.parser.get_parsed_content("preprocessing", lazy=False)
        for transform in getattr(preprocessing, "transforms", [preprocessing]):
            if isinstance(transform, MapTransform):
                return tuple(transform.keys)
        return (self.spec.input_key,)

    def make_item(self, inputs: dict[str, str], case_id: str) -> dict:
        """The dataset item for one case, in the form the bundle's ``preprocessing`` loads.

        Args:
            inputs: bundle input (channel) name -> file path.
            case_id: the case id (model-zoo data lists carry it as ``"case_id"``).

        Returns:
            ``{"case_id", <load key>: path(s)}``: one key holding the paths in channel order when
            the bundle loads a single key, else one key per modality.

        Raises:
            ValueError: when the bundle loads a key that is none of its inputs.
        """
        from medpipe.batch.series_rules import canonical_channel

        if len(self.load_keys) == 1:
            paths = [str(inputs[c]) for c in self.spec.channels]
            return {"case_id": case_id, self.load_keys[0]: paths if len(paths) > 1 else paths[0]}
        item = {"case_id": case_id}
        for key in self.load_keys:
            channel = canonical_channel(key)
            if channel not in inputs:
                raise ValueError(f"the bundle's LoadImaged key must name one of its inputs {list(self.spec.channels)}, got {key!r}")
            item[key] = str(inputs[channel])
        return item

    def run_case(self, item: dict, output_dir: Path) -> dict:
        """Run the bundle's pipeline on one dataset item, writing under ``output_dir``.

        Args:
            item: the dataset item, e.g. ``{"image": ["t1.nii.gz", "t1ce.nii.gz", ...]}``.
            output_dir: an existing empty folder that receives what ``postprocessing`` writes.

        Returns:
            ``{"files": [written paths], "output": post-processed dict, "inference_s": float,
            "pipeline_s": float}``.

        Raises:
            RuntimeError: when the bundle wrote nothing into ``output_dir``.
        """
        from monai.data import DataLoader, Dataset
        from monai.engines import SupervisedEvaluator

        start = time.perf_counter()
        self.parser["output_dir"] = str(output_dir)
        # One parse: postprocessing's Invertd must hold the same preprocessing object the dataset uses.
        postprocessing = self.parser.get_parsed_content("postprocessing", lazy=False)
        preprocessing = self.parser.get_parsed_content("preprocessing")
        loader = DataLoader(Dataset([item], transform=preprocessing), batch_size=1, num_workers=0)
        inferer = _TimedInferer(self.inferer)
        evaluator = SupervisedEvaluator(
            device=self.device,
            val_data_loader=loader,
            network=self.network,
            inferer=inferer,
            postprocessing=postprocessing,
            amp=self.amp,
        )
        evaluator.run()
        files = sorted(p for p in Path(output_dir).rglob("*") if p.is_file())
        if not files:
            raise RuntimeError(
                "the bundle's postprocessing wrote no file under @output_dir; its SaveImaged must use output_dir='@output_dir'"
            )
        output = evaluator.state.output[0] if isinstance(evaluator.state.output, list) else evaluator.state.output
        return {
            "files": files,
            "output": output,
            "inference_s": inferer.seconds,
            "pipeline_s": time.perf_counter() - start,
        }
