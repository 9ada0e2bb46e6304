"""MRI reconstruction: zero-filled, compressed sensing and the learned models, side by side.

On held-out synthetic multi-coil phantoms (:func:`medpipe.synthetic.kspace_phantom`, seeds from
``TEST_SEED`` on, never used for training or for tuning) undersampled at 4x and 8x with fastMRI
equispaced and random column masks (centre fractions 0.08 and 0.04, masks seeded from the case id),
it reports SSIM, PSNR and NMSE against the fully sampled RSS (fastMRI conventions,
:mod:`medpipe.metrics.reconstruction`) and the median wall time per slice of:

* zero-filled (RSS of the inverse FFT);
* compressed sensing: ESPIRiT maps + L1-wavelet (sigpy FISTA, CPU); ``relative_lambda`` is chosen per
  mask type and acceleration from ``LAMBDA_GRID`` by SSIM on a separate validation phantom
  (``VALIDATION_SEED``), then frozen for the test phantoms;
* every learned model of ``LEARNED_MODELS`` whose bundle ships weights: the bundle's
  ``network_def`` (from ``configs/inference.json``, with the entry's overrides) loaded from its
  weights file and called on the undersampled k-space channels, sensitivity estimation included in
  its time. Entries whose bundle or weights are absent are skipped with a printed note.

Goals (issue 6): every learned model beats zero-filled and CS in SSIM at 4x (the smallest margin over
the better of the two, over all models and both 4x settings, must be > 0; null and not met while
any registered model is absent); the
IndRNN RIM's inference is at least 3x faster than CS (time ratio, the paper's 68% reduction); the
IndRNN cell is faster than the GRU cell at the same width (RIM at the paper's 64 features, random
weights: speed does not depend on the weights).

All timings run on one CPU thread (the machine is shared), alternating methods slice by slice.

Usage: ``python benchmarks/recon.py [--quick] [--output benchmarks/results/recon.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from medpipe.metrics.reconstruction import nmse, psnr, ssim
from medpipe.mri import cs_reconstruction, make_mask, zero_filled
from medpipe.synthetic import kspace_phantom

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "recon.json"

#: Phantom matrix (H, W): W = 104 keeps 4 fully sampled columns at 8x (0.04) for calibration.
SHAPE = (96, 104)
NUM_COILS = 8
NOISE_STD = 0.002
TEST_SEED = 9001
VALIDATION_SEED = 8001
#: (mask type, acceleration, centre fraction), fastMRI's settings.
SETTINGS = [("equispaced", 4, 0.08), ("random", 4, 0.08), ("equispaced", 8, 0.04), ("random", 8, 0.04)]
LAMBDA_GRID = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3)
CS_ITERATIONS = 60

#: Learned models: the bundle folder, the weights file in it, and overrides of ``inference.json``
#: ids applied before ``network_def`` is built. The recon-network helper extends this list.
LEARNED_MODELS: list[dict] = [
    {"name": "RIM-IndRNN", "bundle": "mri_rim_reconstruction", "weights": "models/model.pt", "overrides": {}},
    {
        "name": "RIM-GRU",
        "bundle": "mri_rim_reconstruction",
        "weights": "models/model_gru.pt",
        "overrides": {"network_def#network#cell": "gru"},
    },
    {
        "name": "RIM-MGU",
        "bundle": "mri_rim_reconstruction",
        "weights": "models/model_mgu.pt",
        "overrides": {"network_def#network#cell": "mgu"},
    },
    {"name": "CIRIM", "bundle": "mri_cirim_reconstruction", "weights": "models/model.pt", "overrides": {}},
    {
        "name": "RecurrentVarNet",
        "bundle": "mri_recurrentvarnet_reconstruction",
        "weights": "models/model.pt",
        "overrides": {},
    },
]


def load_learned_model(entry: dict) -> tuple[Callable[[torch.Tensor], torch.Tensor] | None, str]:
    """The entry's network (eval mode) as ``kspace channels (1, 2C, H, W) -> magnitude (1, 1, H, W)``,
    or ``None`` and the reason it is skipped."""
    bundle = REPO / "bundles" / entry["bundle"]
    config, weights = bundle / "configs" / "inference.json", bundle / entry["weights"]
    if not config.is_file():
        return None, f"{config.relative_to(REPO)} not found"
    if not weights.is_file():
        return None, f"{weights.relative_to(REPO)} not found"
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(config))
    parser["bundle_root"] = str(bundle)
    for key, value in entry["overrides"].items():
        parser[key] = value
    network = parser.get_parsed_content("network_def", instantiate=True)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    network.load_state_dict(state)
    network.eval()

    def run(channels: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return network(channels)

    return run, f"{entry['bundle']}/{entry['weights']}"


def phantoms(seed: int, count: int, slices: int) -> list:
    return [kspace_phantom(SHAPE, NUM_COILS, num_slices=slices, seed=seed + i, noise_std=NOISE_STD) for i in range(count)]


def undersample(phantom, mask_type: str, acceleration: float, center_fraction: float, case_id: str):
    mask = make_mask(mask_type, SHAPE, acceleration=acceleration, center_fraction=center_fraction, seed=case_id)
    return torch.from_numpy(phantom.kspace) * mask, mask


def timed(function: Callable, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def tune_lambda(mask_type: str, acceleration: float, center_fraction: float, max_iter: int) -> dict:
    phantom = phantoms(VALIDATION_SEED, 1, 1)[0]
    kspace, mask = undersample(phantom, mask_type, acceleration, center_fraction, f"validation-{VALIDATION_SEED}")
    scores = {}
    for relative_lambda in LAMBDA_GRID:
        image = cs_reconstruction(kspace, mask=mask, relative_lambda=relative_lambda, max_iter=max_iter).abs()
        scores[relative_lambda] = ssim(image.numpy(), phantom.reconstruction_rss)
    best = max(scores, key=scores.get)
    return {"relative_lambda": best, "validation_ssim": {str(k): round(v, 4) for k, v in scores.items()}}


def evaluate(methods: dict[str, Callable], test_phantoms: list, setting: tuple) -> dict:
    """Metrics per volume averaged over volumes, and the median time per slice, for every method."""
    mask_type, acceleration, center_fraction = setting
    figures = {name: {"ssim": [], "psnr": [], "nmse": [], "seconds": []} for name in methods}
    for index, phantom in enumerate(test_phantoms):
        kspace, mask = undersample(phantom, mask_type, acceleration, center_fraction, f"test-{TEST_SEED + index}")
        outputs = {name: [] for name in methods}
        for slice_index in range(kspace.shape[0]):
            for name, method in methods.items():  # alternate methods slice by slice
                image, seconds = timed(method, kspace[slice_index], mask)
                outputs[name].append(image)
                figures[name]["seconds"].append(seconds)
        for name, images in outputs.items():
            volume = torch.stack(images).numpy()
            figures[name]["ssim"].append(ssim(volume, phantom.reconstruction_rss))
            figures[name]["psnr"].append(psnr(volume, phantom.reconstruction_rss))
            figures[name]["nmse"].append(nmse(volume, phantom.reconstruction_rss))
    return {
        name: {
            "ssim": round(float(np.mean(f["ssim"])), 4),
            "psnr": round(float(np.mean(f["psnr"])), 3),
            "nmse": round(float(np.mean(f["nmse"])), 5),
            "seconds_per_slice": round(statistics.median(f["seconds"]), 4),
        }
        for name, f in figures.items()
    }


def cell_speed(quick: bool) -> dict:
    """Median forward time of RIM with GRU and IndRNN cells at 64 features on one slice."""
    from medpipe.mri import estimate_sensitivities
    from medpipe.networks import RIM

    phantom = phantoms(TEST_SEED, 1, 1)[0]
    kspace, mask = undersample(phantom, "equispaced", 4, 0.08, "cell-speed")
    sens = estimate_sensitivities(kspace)
    networks = {cell: RIM(hidden_channels=64, num_layers=2, num_steps=8, cell=cell).eval() for cell in ("gru", "indrnn")}
    times: dict[str, list[float]] = {cell: [] for cell in networks}
    with torch.inference_mode():
        for net in networks.values():  # warm-up
            net(kspace, mask, sens)
        for _ in range(3 if quick else 7):
            for cell, net in networks.items():
                times[cell].append(timed(net, kspace, mask, sens)[1])
    return {cell: round(statistics.median(t), 4) for cell, t in times.items()}


def machine() -> dict:
    versions = {}
    for package in ("numpy", "torch", "monai", "sigpy", "PyWavelets", "scikit-image"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "versions": versions,
    }


def goal(value: float | None, target: str, met: bool) -> dict:
    return {"value": None if value is None else round(float(value), 4), "target": target, "met": bool(met and value is not None)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 test phantoms x 2 slices, 3 timing repeats")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    volumes, slices = (2, 2) if args.quick else (4, 4)
    max_iter = CS_ITERATIONS

    learned: dict[str, Callable] = {}
    skipped: dict[str, str] = {}
    for entry in LEARNED_MODELS:
        model, note = load_learned_model(entry)
        if model is None:
            skipped[entry["name"]] = note
            print(f"note: skipping {entry['name']}: {note}")
        else:
            learned[entry["name"]] = lambda k, m, model=model: model(torch.cat([k.real, k.imag])[None])[0, 0]
            print(f"loaded {entry['name']} from {note}")

    test_phantoms = phantoms(TEST_SEED, volumes, slices)
    results, lambdas = {}, {}
    for setting in SETTINGS:
        mask_type, acceleration, center_fraction = setting
        key = f"{mask_type}_{acceleration}x"
        lambdas[key] = tune_lambda(mask_type, acceleration, center_fraction, max_iter)
        relative_lambda = lambdas[key]["relative_lambda"]
        methods = {
            "zero_filled": lambda k, m: zero_filled(k),
            "cs": lambda k, m, rl=relative_lambda: cs_reconstruction(k, mask=m, relative_lambda=rl, max_iter=max_iter).abs(),
            **learned,
        }
        results[key] = evaluate(methods, test_phantoms, setting)

    header = f"{'setting':<16}{'method':<18}{'SSIM':>8}{'PSNR':>8}{'NMSE':>9}{'s/slice':>9}{'x CS time':>10}"
    print(header)
    print("-" * len(header))
    for key, methods in results.items():
        cs_time = methods["cs"]["seconds_per_slice"]
        for name, f in methods.items():
            ratio = cs_time / f["seconds_per_slice"] if f["seconds_per_slice"] > 0 else float("inf")
            print(f"{key:<16}{name:<18}{f['ssim']:>8.4f}{f['psnr']:>8.2f}{f['nmse']:>9.4f}{f['seconds_per_slice']:>9.3f}{ratio:>10.1f}")

    cells = cell_speed(args.quick)
    print(f"RIM 64 features, 8 steps, one slice: GRU {cells['gru']:.3f} s, IndRNN {cells['indrnn']:.3f} s")

    four = [key for key in results if key.endswith("_4x")]
    margins = []
    for name in learned:
        for key in four:
            baseline = max(results[key]["zero_filled"]["ssim"], results[key]["cs"]["ssim"])
            margins.append(results[key][name]["ssim"] - baseline)
    all_present = not skipped and bool(learned)
    smallest_margin = min(margins) if margins and all_present else None
    indrnn = "RIM-IndRNN" in learned
    speedup = (
        statistics.mean(results[k]["cs"]["seconds_per_slice"] / results[k]["RIM-IndRNN"]["seconds_per_slice"] for k in results)
        if indrnn
        else None
    )
    cell_ratio = cells["gru"] / cells["indrnn"]
    cs_median = statistics.median(results[k]["cs"]["seconds_per_slice"] for k in results)
    print(f"CS median {cs_median:.3f} s/slice; RIM-IndRNN at the paper's 64 features (random weights) is "
          f"{cs_median / cells['indrnn']:.1f}x faster")
    goals = {
        "learned_models_beat_zero_filled_and_cs_ssim_4x": goal(
            smallest_margin, "> 0 (smallest SSIM margin of any learned model at 4x)", smallest_margin is not None and smallest_margin > 0
        ),
        "rim_indrnn_speedup_over_cs": goal(speedup, ">= 3 (CS time / RIM-IndRNN time per slice)", speedup is not None and speedup >= 3),
        "indrnn_faster_than_gru_same_width": goal(cell_ratio, "> 1 (GRU time / IndRNN time, 64 features)", cell_ratio > 1),
    }
    report = {
        "benchmark": "recon",
        "quick": args.quick,
        "data": {
            "phantom": "medpipe.synthetic.kspace_phantom",
            "shape": list(SHAPE),
            "num_coils": NUM_COILS,
            "noise_std": NOISE_STD,
            "test_seeds": [TEST_SEED + i for i in range(volumes)],
            "slices_per_volume": slices,
            "validation_seed": VALIDATION_SEED,
            "settings": [list(s) for s in SETTINGS],
            "reference": "reconstruction_rss (RSS of the fully sampled, noisy k-space)",
        },
        "cs": {"max_iter": max_iter, "lambda_grid": list(LAMBDA_GRID), "tuned": lambdas},
        "results": results,
        "rim_cell_seconds_per_slice": cells,
        "cs_over_rim_indrnn_64_time_ratio": round(cs_median / cells["indrnn"], 3),
        "skipped_models": skipped,
        "machine": machine(),
        "goals": goals,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    met = sum(g["met"] for g in goals.values())
    for name, g in goals.items():
        print(f"{name}: {g['value']} (target {g['target']}) {'met' if g['met'] else 'NOT met'}")
    print(f"goals met: {met}/{len(goals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
