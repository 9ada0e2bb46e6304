"""The shared bundle harness: every folder in ``bundles/`` gets the same checks.

What each bundle must provide to plug in is described in ``bundle_specs/__init__.py``. The
checks follow the "Bundle checks" of issues 5 and 6 and DESIGN.md:

- the folder has the MONAI bundle files, and no ``scripts/`` (custom code lives in medpipe);
- ``metadata.json`` is valid against the shipped 2024-07-25 schema (offline), with
  ``required_packages_version``, ``inputs.image`` and ``outputs.pred``;
- ``train.json`` / ``inference.json`` define the properties MONAI's workflows require;
- ``network_def`` instantiates from ``inference.json`` and from every ``configs/paper*.json``
  overlay (on ``train.json``), from ``medpipe.networks``;
- ``models/model.pt`` loads with ``torch.load(weights_only=True)`` into ``network_def``;
- ``verify_net_in_out`` passes;
- ``python -m monai.bundle run --config_file configs/inference.json`` (a subprocess started in a
  temporary folder, so hidden ``sys.path`` assumptions fail) writes the promised outputs;
- one training iteration of ``train.json``, on the tiny data and on each real dataset layout;
- ``['train.json', 'evaluate.json']`` writes its metric files;
- ``ckpt_export`` gives a TorchScript model with the same output;
- the shipped weights reach the threshold their spec states on fresh synthetic data.

Everything runs in the default suite: about 65 s per bundle on 2 lightly loaded cores (the
brats bundle), most of it the inference subprocess and the first training iteration. If the
suite outgrows its budget, mark the real-layout trainings and ``ckpt_export`` ``slow`` first.

Only the inference run is a subprocess (an ``import monai`` costs seconds on a busy machine); the
rest call the same ``monai.bundle`` functions in-process after changing into a temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.bundles.workflows import bundle_configs, bundle_workflow

REPO = Path(__file__).resolve().parents[2]
BUNDLES_DIR = REPO / "bundles"
SPECS_DIR = Path(__file__).resolve().parent / "bundle_specs"
REQUIRED_FILES = [
    "configs/metadata.json",
    "configs/inference.json",
    "configs/train.json",
    "configs/evaluate.json",
    "configs/multi_gpu_train.json",
    "configs/logging.conf",
    "models/model.pt",
    "docs/README.md",
    "LICENSE",
]
TARGET_PREFIXES = ("medpipe.", "torch.", "monai.", "ignite.")
MAX_WEIGHTS_BYTES = 20 * 2**20


def _bundle_names() -> list[str]:
    if not BUNDLES_DIR.is_dir():
        return []
    return sorted(p.name for p in BUNDLES_DIR.iterdir() if (p / "configs" / "metadata.json").is_file())


def _metadata(name: str) -> dict:
    return json.loads((BUNDLES_DIR / name / "configs" / "metadata.json").read_text())


def _paper_overlays(name: str) -> list[str]:
    return sorted(p.name for p in (BUNDLES_DIR / name / "configs").glob("paper*.json"))


def _datasets(name: str) -> list[str]:
    return list(_metadata(name).get("medpipe", {}).get("datasets", []))


BUNDLES = _bundle_names()
NETWORK_CASES = [(b, c) for b in BUNDLES for c in ["inference.json", *_paper_overlays(b)]]
LAYOUT_CASES = [(b, d) for b in BUNDLES for d in _datasets(b)]


def load_spec(name: str):
    """The ``bundle_specs/<name>.py`` module of a bundle (fails with instructions when missing)."""
    path = SPECS_DIR / f"{name}.py"
    if not path.is_file():
        pytest.fail(
            f"bundle {name!r} has no test spec: add tests/bundles/bundle_specs/{name}.py "
            "(see tests/bundles/bundle_specs/__init__.py for what it provides)"
        )
    module_spec = importlib.util.spec_from_file_location(f"bundle_specs_{name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _network(name: str, config_files: list[str], overrides: dict | None = None) -> torch.nn.Module:
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(config_files)
    parser.read_meta(bundle_configs(name, "metadata.json")[0])
    parser["bundle_root"] = str(BUNDLES_DIR / name)
    for key, value in (overrides or {}).items():
        parser[key] = value
    return parser.get_parsed_content("network_def")


@pytest.fixture(scope="module", params=BUNDLES)
def bundle(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def tiny(bundle, tmp_path_factory):
    """(overrides, case_ids) of the bundle's tiny synthetic dataset, written once per bundle."""
    root = tmp_path_factory.mktemp(f"{bundle}_tiny")
    overrides, case_ids = load_spec(bundle).write_tiny_dataset(root / "data")
    return overrides, case_ids


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """Run from a temporary folder, never from the bundle or the repository."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bundle_folder_layout(bundle):
    root = BUNDLES_DIR / bundle
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    assert not missing, f"{bundle} lacks {missing}"
    assert not (root / "scripts").exists(), "custom code belongs in the medpipe package, not bundles/*/scripts"
    for config in (root / "configs").glob("*.json"):
        text = config.read_text()
        json.loads(text)
        for target in [t for t in _iter_targets(json.loads(text))]:
            assert "." not in target or target.startswith(TARGET_PREFIXES), f"{config.name}: _target_ {target!r}"
        assert "scripts." not in text, f"{config.name} imports from a bundle scripts folder"


def _iter_targets(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_" and isinstance(value, str):
                yield value
            else:
                yield from _iter_targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from _iter_targets(value)


def test_metadata_valid_against_shipped_schema(bundle, elsewhere):
    from monai.bundle import verify_metadata

    from medpipe.bundles import validate_metadata
    from medpipe.schemas import schema_path

    meta = validate_metadata(BUNDLES_DIR / bundle)
    assert isinstance(meta["required_packages_version"], dict)
    # MONAI's own check, offline: an existing --filepath is used without downloading.
    verify_metadata(meta_file=bundle_configs(bundle, "metadata.json")[0], filepath=str(schema_path()))
    section = meta.get("medpipe", {})
    assert section.get("inference_outputs"), "metadata.medpipe.inference_outputs lists the files inference writes"
    assert section.get("evaluation_outputs"), "metadata.medpipe.evaluation_outputs lists the metric files"


def test_workflow_properties(bundle, tiny, elsewhere):
    overrides, _ = tiny
    for config, kind in (("train.json", "train"), ("inference.json", "infer")):
        workflow = bundle_workflow(bundle, bundle_configs(bundle, config), kind, overrides)
        workflow.initialize()
        assert workflow.check_properties() == [], f"{config} lacks MONAI {kind} properties"


@pytest.mark.parametrize("bundle_name, config", NETWORK_CASES, ids=[f"{b}-{c}" for b, c in NETWORK_CASES])
def test_network_def_instantiates(bundle_name, config):
    raw = json.loads((BUNDLES_DIR / bundle_name / "configs" / "inference.json").read_text())
    assert raw["network_def"]["_target_"].startswith("medpipe.networks."), "network classes live in medpipe.networks"
    files = ["inference.json"] if config == "inference.json" else ["train.json", config]
    network = _network(bundle_name, bundle_configs(bundle_name, *files))
    assert isinstance(network, torch.nn.Module)
    assert sum(p.numel() for p in network.parameters()) > 0


def test_model_pt_loads_weights_only(bundle):
    path = BUNDLES_DIR / bundle / "models" / "model.pt"
    assert path.stat().st_size <= MAX_WEIGHTS_BYTES, f"shipped weights should stay small, got {path.stat().st_size} bytes"
    state = torch.load(path, map_location="cpu", weights_only=True)
    network = _network(bundle, bundle_configs(bundle, "inference.json"))
    network.load_state_dict(state, strict=True)


def test_verify_net_in_out(bundle, elsewhere):
    from monai.bundle import verify_net_in_out

    spec = load_spec(bundle)
    verify_net_in_out(
        net_id="network_def",
        meta_file=bundle_configs(bundle, "metadata.json")[0],
        config_file=bundle_configs(bundle, "inference.json")[0],
        bundle_root=str(BUNDLES_DIR / bundle),
        device="cpu",
        **getattr(spec, "VERIFY_NET_IN_OUT", {}),
    )


def _check_outputs(bundle: str, output_dir: Path, case_ids: list[str]) -> None:
    import nibabel as nib

    meta = _metadata(bundle)
    data_format = meta["network_data_format"]
    promise = (data_format.get("post_processed_outputs") or data_format["outputs"])["pred"]
    for pattern in meta["medpipe"]["inference_outputs"]:
        for case_id in case_ids:
            path = output_dir / pattern.format(case_id=case_id)
            assert path.is_file(), f"inference did not write {path.name}; found {sorted(os.listdir(output_dir))}"
            if path.name.endswith((".nii", ".nii.gz")):
                array = np.asarray(nib.load(path).dataobj)
                assert np.isfinite(array).all()
                value_range = promise.get("value_range") or []
                if len(value_range) == 2:
                    assert value_range[0] <= array.min() and array.max() <= value_range[1], (
                        f"{path.name} values [{array.min()}, {array.max()}] outside the promised {value_range}"
                    )


def test_inference_cli_run(bundle, tiny, tmp_path):
    overrides, case_ids = tiny
    output_dir = tmp_path / "out"
    args = {
        "config_file": bundle_configs(bundle, "inference.json")[0],
        "meta_file": bundle_configs(bundle, "metadata.json")[0],
        "logging_file": bundle_configs(bundle, "logging.conf")[0],
        "bundle_root": str(BUNDLES_DIR / bundle),
        "output_dir": str(output_dir),
        **overrides,
    }
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps(args))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "monai.bundle", "run", "--args_file", str(args_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    _check_outputs(bundle, output_dir, case_ids)


def _train_one_iteration(bundle: str, overrides: dict, tmp_path: Path) -> None:
    spec = load_spec(bundle)
    settings = {
        "ckpt_dir": str(tmp_path / "models"),
        "output_dir": str(tmp_path / "out"),
        **overrides,
        **spec.TRAIN_OVERRIDES,
        "train#trainer#max_epochs": 1,
        "train#trainer#epoch_length": 1,
    }
    workflow = bundle_workflow(bundle, bundle_configs(bundle, "train.json"), "train", settings)
    workflow.initialize()
    network = workflow.parser.get_parsed_content("network")
    before = [p.detach().clone() for p in network.parameters()]
    workflow.run()
    trainer = workflow.parser.get_parsed_content("train#trainer")
    workflow.finalize()
    assert trainer.state.iteration == 1
    outputs = trainer.state.output if isinstance(trainer.state.output, list) else [trainer.state.output]
    losses = [float(item["loss"]) for item in outputs]
    assert all(math.isfinite(loss) for loss in losses)
    changed = any(not torch.equal(a, b.detach()) for a, b in zip(before, network.parameters()))
    assert changed, "one optimiser step left every parameter unchanged"


def test_train_one_iteration(bundle, tiny, elsewhere):
    overrides, _ = tiny
    _train_one_iteration(bundle, overrides, elsewhere)


@pytest.mark.parametrize("bundle_name, dataset", LAYOUT_CASES, ids=[f"{b}-{d}" for b, d in LAYOUT_CASES])
def test_train_on_real_dataset_layout(bundle_name, dataset, elsewhere):
    assert (REPO / "data_manifests" / f"{dataset}.json").is_file(), f"data_manifests/{dataset}.json is missing"
    spec = load_spec(bundle_name)
    assert dataset in spec.REAL_LAYOUTS, f"bundle_specs/{bundle_name}.py: REAL_LAYOUTS lacks {dataset!r}"
    overrides = spec.REAL_LAYOUTS[dataset](elsewhere / dataset)
    _train_one_iteration(bundle_name, overrides, elsewhere)


def test_evaluate_writes_metrics(bundle, tiny, elsewhere):
    overrides, _ = tiny
    spec = load_spec(bundle)
    output_dir = elsewhere / "eval"
    settings = {**overrides, **spec.TRAIN_OVERRIDES, "output_dir": str(output_dir)}
    workflow = bundle_workflow(bundle, bundle_configs(bundle, "train.json", "evaluate.json"), None, settings)
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    for name in _metadata(bundle)["medpipe"]["evaluation_outputs"]:
        path = output_dir / name
        assert path.is_file() and path.stat().st_size > 0, f"evaluate.json did not write {name}"


def test_ckpt_export_same_output(bundle, elsewhere):
    from monai.bundle import ckpt_export

    spec = load_spec(bundle)
    export = dict(spec.EXPORT)
    target = elsewhere / "model.ts"
    ckpt_export(
        net_id="network_def",
        filepath=str(target),
        ckpt_file=str(BUNDLES_DIR / bundle / "models" / "model.pt"),
        meta_file=bundle_configs(bundle, "metadata.json")[0],
        config_file=bundle_configs(bundle, "inference.json")[0],
        bundle_root=str(BUNDLES_DIR / bundle),
        **export,
    )
    exported = torch.jit.load(str(target), map_location="cpu")
    network = _network(bundle, bundle_configs(bundle, "inference.json"))
    network.load_state_dict(torch.load(BUNDLES_DIR / bundle / "models" / "model.pt", weights_only=True))
    network.eval()
    x = torch.randn(*export["input_shape"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(exported(x), network(x), rtol=1e-4, atol=1e-4)


def test_shipped_weights_meaningful(bundle, elsewhere):
    def run_inference(overrides: dict) -> None:
        workflow = bundle_workflow(bundle, bundle_configs(bundle, "inference.json"), "infer", overrides)
        workflow.initialize()
        workflow.run()
        workflow.finalize()

    what, value, threshold = load_spec(bundle).check_quality(elsewhere, run_inference)
    assert value >= threshold, f"{bundle}: {what} = {value:.3f}, below the stated threshold {threshold}"
