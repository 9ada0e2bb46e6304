"""Training memory and time of the reversible RevUNet against its ordinary-autograd twin.

Issue 5's claim to reproduce ("Memory Efficient 3D U-Net with Reversible Mobile Inverted
Bottlenecks", Pendse et al., 2020): under a fixed memory budget a reversible MBConv U-Net trains
volumes up to 3x larger than the same network without reversibility.

A measurement is one training step (forward, BCE-with-logits loss, backward, SGD update) of
``RevUNet(reversible=True)`` or of its twin ``RevUNet(reversible=False)`` (same architecture and
parameters) on one ``(1, 4, s, s, s)`` cube, each in a FRESH Python subprocess.

Memory (one subprocess per variant and configuration):

* CPU: peak resident set size ``VmHWM`` from ``/proc/self/status``. The worker first runs one
  step of the same network on a tiny cube (so that lazy imports and the library code pages that
  the kernels touch are not counted), resets the high-water mark (``echo 5 >
  /proc/self/clear_refs``) and reads ``VmRSS`` as its baseline. ``step MiB = VmHWM after the step
  - baseline``: parameters, input, activations, gradients and temporaries of one step -- the
  analogue of ``max_memory_allocated`` on a GPU. (If the reset is refused, the baseline is the
  ``VmHWM`` at that point and the JSON says ``hwm_reset: false``.)
* The memory subprocesses run with ``MALLOC_MMAP_THRESHOLD_=65536``. With glibc's default,
  the mmap threshold grows to the size of the largest freed block (up to 32 MiB), after which
  freed tensors stay in the heap and the RSS measures the allocator's cache rather than what the
  step needs. The fixed threshold makes every tensor above 64 KiB its own mapping, returned on
  free. The table also shows the 8-block configuration under the default allocator, for
  comparison (``--no-fixed-mmap`` measures everything that way).
* ``saved MiB``: the distinct storages that autograd keeps from the forward for the backward
  (counted with ``torch.autograd.graph.saved_tensors_hooks``; the weights that convolutions
  save are included), independent of any allocator.
* GPU (``--device cuda``, not run on the CPU-only machine this file was committed from):
  ``torch.cuda.max_memory_allocated`` over the step; results go to ``revunet_memory.gpu.json``.

Time (one more subprocess per configuration, default allocator): both variants with the same
weights, their steps alternated after one warm-up step each, so that load from other processes
hits both alike; the figure is the median over ``--repeats`` steps. ``--threads`` torch threads
(1 by default: the machine is shared).

Budget search: for a budget ``B`` (``--budget-gib``; 4 GiB, or 0.25 GiB with ``--quick``) the
largest cube side ``s``, a multiple of ``2^(levels-1)``, whose step memory is ``<= B``, for each
variant at 8 blocks per level. A fit of ``a + b s^3`` to the table predicts a start; fresh
subprocesses then step by one multiple until the boundary is bracketed.

Goals (issue 5), each the worst case over what was measured:

* ``memory_ratio_8_blocks``: step memory reversible / twin at 8 blocks per level, largest ratio
  over the table's sides, target ``<= 0.4``;
* ``volume_ratio_at_budget``: (largest reversible side / largest twin side)^3 under the budget,
  target ``>= 3`` (side ratio ``>= 1.44``);
* ``time_ratio``: median time per step reversible / twin, largest over the table, ``<= 2``.

Usage::

    python benchmarks/revunet_memory.py --quick     # 1 thread, sides 16 and 32, 0.25 GiB budget
    python benchmarks/revunet_memory.py             # sides 32, 48, 64 and a 4 GiB budget
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 2**20
NETWORK = {
    "spatial_dims": 3, "in_channels": 4, "out_channels": 3, "channels": [16, 32, 64],
    "expansion": 4, "kernel_size": 3, "norm": "instance",
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _training_step(network: dict, reversible: bool, side: int, device, state=None):
    """A closure running one SGD step of a fresh RevUNet on a fixed random cube and target."""
    import torch

    from medpipe.networks.rev_unet import RevUNet

    torch.manual_seed(0)
    model = RevUNet(**network, reversible=reversible).to(device)
    if state is not None:
        model.load_state_dict(state)
    image = torch.randn((1, model.in_channels, side, side, side), device=device)
    target = (torch.rand((1, model.out_channels, side, side, side), device=device) > 0.5).float()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step(saved: dict[int, int] | None = None) -> float:
        """One step; ``saved`` collects {storage address: bytes} that the forward keeps for backward."""

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            storage = tensor.untyped_storage()
            saved[storage.data_ptr()] = storage.nbytes()
            return tensor

        optimizer.zero_grad(set_to_none=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t) if saved is not None else nullcontext():
            loss = loss_fn(model(image), target)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return float(loss.detach())

    return step, model


def memory_worker(config: dict) -> dict:
    """Peak memory of one training step; meant to run in a fresh process."""
    import torch

    torch.set_num_threads(config["threads"])
    device = torch.device(config["device"])
    network, reversible = config["network"], config["reversible"]
    _training_step(network, reversible, 2 * 2 ** (len(network["channels"]) - 1), device)[0]()
    gc.collect()
    hwm_reset = _reset_hwm()
    baseline_kib = _status_kib("VmRSS") if hwm_reset else _status_kib("VmHWM")
    step, _ = _training_step(network, reversible, config["side"], device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    saved: dict[int, int] = {}
    start = time.perf_counter()
    loss = step(saved)
    elapsed = time.perf_counter() - start
    peak_kib = _status_kib("VmHWM")
    result = {
        "side": config["side"], "reversible": reversible, "loss": loss, "hwm_reset": hwm_reset,
        "baseline_mib": baseline_kib / 1024, "peak_hwm_mib": peak_kib / 1024,
        "step_mib": (peak_kib - baseline_kib) / 1024, "saved_mib": sum(saved.values()) / MIB,
        "step_s": elapsed,
    }
    if device.type == "cuda":
        result["step_mib"] = torch.cuda.max_memory_allocated(device) / MIB
    return result


def timing_worker(config: dict) -> dict:
    """Median step time of both variants, steps alternated; meant to run in a fresh process."""
    import torch

    torch.set_num_threads(config["threads"])
    device = torch.device(config["device"])
    twin_step, twin = _training_step(config["network"], False, config["side"], device)
    rev_step, _ = _training_step(config["network"], True, config["side"], device, twin.state_dict())
    times: dict[str, list[float]] = {"twin": [], "reversible": []}
    for repeat in range(config["repeats"] + 1):
        for name, step in (("twin", twin_step), ("reversible", rev_step)):
            start = time.perf_counter()
            step()
            if repeat:  # the first round is a warm-up
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()} | {"all": times}


def _subprocess(mode: str, config: dict, fixed_mmap: bool) -> dict:
    env = dict(os.environ)
    if fixed_mmap:
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", mode, json.dumps(config)],
        capture_output=True, text=True, check=False, env=env,
    )
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-1:] or [f"exit code {completed.returncode}"]
        return {"error": tail[0]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def largest_side(base: dict, reversible: bool, budget_mib: float, multiple: int,
                 known: dict[int, float], fixed_mmap: bool) -> dict:
    """Largest cube side (a multiple of ``multiple``) whose step memory fits ``budget_mib``."""
    known = dict(known)
    sides = sorted(known)
    s0, s1 = sides[-2], sides[-1]
    slope = (known[s1] - known[s0]) / (s1**3 - s0**3)
    intercept = known[s1] - slope * s1**3
    guess = s1
    if slope > 0 and budget_mib > intercept:
        guess = max(multiple, int(((budget_mib - intercept) / slope) ** (1 / 3)) // multiple * multiple)
    probes = []

    def fits(side: int) -> bool:
        if side not in known:
            result = _subprocess("memory", {**base, "side": side, "reversible": reversible}, fixed_mmap)
            probes.append({"side": side, **result})
            known[side] = result.get("step_mib", float("inf"))
        return known[side] <= budget_mib

    side = guess
    if fits(side):
        while fits(side + multiple):
            side += multiple
    else:
        while side > multiple and not fits(side - multiple):
            side -= multiple
        side -= multiple
    return {"side": side, "step_mib": known.get(side), "predicted_side": guess, "probes": probes}


def machine() -> dict:
    import monai
    import torch

    info = {
        "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__, "monai": monai.__version__,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sides 16 and 32, a 0.25 GiB budget")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--budget-gib", type=float, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per variant")
    parser.add_argument("--no-fixed-mmap", action="store_true", help="glibc's default allocator")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        mode, config = args.worker
        work = memory_worker if mode == "memory" else timing_worker
        print(json.dumps(work(json.loads(config))))
        return 0

    fixed_mmap = not args.no_fixed_mmap and args.device == "cpu"
    multiple = 2 ** (len(NETWORK["channels"]) - 1)
    depths = (2, 4, 8)
    sides = (16, 32) if args.quick else (32, 48, 64)
    budget_gib = args.budget_gib if args.budget_gib is not None else (0.25 if args.quick else 4.0)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 3)
    started = time.perf_counter()

    rows = []
    print(f"RevUNet channels {NETWORK['channels']}, expansion {NETWORK['expansion']}, "
          f"{args.threads} thread(s), {args.device}; step memory in MiB, time in s")
    print(f"{'blocks':>6} {'side':>5} {'twin MiB':>9} {'rev MiB':>8} {'mem ratio':>9} "
          f"{'saved twin':>10} {'saved rev':>9} {'twin s':>7} {'rev s':>7} {'time ratio':>10}", flush=True)
    for depth in depths:
        network = {**NETWORK, "blocks_per_level": [depth] * len(NETWORK["channels"])}
        for side in sides:
            base = {"network": network, "threads": args.threads, "device": args.device, "side": side}
            row = {
                "blocks_per_level": depth, "side": side,
                "twin": _subprocess("memory", {**base, "reversible": False}, fixed_mmap),
                "reversible": _subprocess("memory", {**base, "reversible": True}, fixed_mmap),
                "timing": _subprocess("timing", {**base, "repeats": repeats}, False),
            }
            rows.append(row)
            failed = [row[k]["error"] for k in ("twin", "reversible", "timing") if "error" in row[k]]
            if failed:
                print(f"{depth:>6} {side:>5} failed: {failed[0]}", flush=True)
                continue
            row["memory_ratio"] = row["reversible"]["step_mib"] / row["twin"]["step_mib"]
            row["time_ratio"] = row["timing"]["reversible"] / row["timing"]["twin"]
            print(f"{depth:>6} {side:>5} {row['twin']['step_mib']:>9.1f} "
                  f"{row['reversible']['step_mib']:>8.1f} {row['memory_ratio']:>9.3f} "
                  f"{row['twin']['saved_mib']:>10.1f} {row['reversible']['saved_mib']:>9.1f} "
                  f"{row['timing']['twin']:>7.2f} {row['timing']['reversible']:>7.2f} "
                  f"{row['time_ratio']:>10.3f}", flush=True)

    deep = {"network": {**NETWORK, "blocks_per_level": [8] * len(NETWORK["channels"])},
            "threads": args.threads, "device": args.device}
    allocator = None
    if fixed_mmap:
        config = {**deep, "side": sides[-1]}
        twin = _subprocess("memory", {**config, "reversible": False}, False)
        rev = _subprocess("memory", {**config, "reversible": True}, False)
        allocator = {"side": sides[-1], "twin": twin, "reversible": rev}
        if "error" not in twin and "error" not in rev:
            allocator["memory_ratio"] = rev["step_mib"] / twin["step_mib"]
            print(f"glibc default allocator, 8 blocks, side {sides[-1]}: twin {twin['step_mib']:.1f} "
                  f"MiB, reversible {rev['step_mib']:.1f} MiB, ratio {allocator['memory_ratio']:.3f}")

    budget_mib = budget_gib * 1024
    budget = {"budget_gib": budget_gib, "blocks_per_level": 8, "side_multiple": multiple}
    for name, reversible in (("twin", False), ("reversible", True)):
        known = {r["side"]: r[name]["step_mib"] for r in rows
                 if r["blocks_per_level"] == 8 and "step_mib" in r[name]}
        budget[name] = largest_side(deep, reversible, budget_mib, multiple, known, fixed_mmap)
    side_ratio = budget["reversible"]["side"] / budget["twin"]["side"]
    budget.update(side_ratio=side_ratio, volume_ratio=side_ratio**3)
    print(f"budget {budget_gib:g} GiB at 8 blocks per level, largest cube side: twin "
          f"{budget['twin']['side']}, reversible {budget['reversible']['side']} "
          f"(side x{side_ratio:.2f}, volume x{side_ratio**3:.2f})")

    measured = [r for r in rows if "memory_ratio" in r]
    memory_8 = max(r["memory_ratio"] for r in measured if r["blocks_per_level"] == 8)
    time_ratio = max(r["time_ratio"] for r in measured)
    goals = {
        "memory_ratio_8_blocks": {"value": memory_8, "target": "<= 0.4", "met": memory_8 <= 0.4},
        "volume_ratio_at_budget": {"value": budget["volume_ratio"], "target": ">= 3",
                                   "met": budget["volume_ratio"] >= 3},
        "time_ratio": {"value": time_ratio, "target": "<= 2", "met": time_ratio <= 2},
    }
    print(f"step memory at 8 blocks, reversible/twin, worst over sides: {memory_8:.3f} (<= 0.4)")
    print(f"time per step, reversible/twin, worst over the table: {time_ratio:.3f} (<= 2)")

    output = args.output or RESULTS / ("revunet_memory.gpu.json" if args.device == "cuda" else "revunet_memory.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "revunet_memory", "quick": args.quick, "device": args.device,
        "threads": args.threads, "fixed_mmap_threshold": fixed_mmap,
        "measured": "memory: one training step in a fresh subprocess; CPU: VmHWM after the step "
        "minus VmRSS after a warm-up step and a high-water-mark reset (parameters, input, "
        "activations, gradients); GPU: torch.cuda.max_memory_allocated. time: median of "
        "alternated steps of both variants in one subprocess.",
        "network": NETWORK, "machine": machine(), "wall_s": time.perf_counter() - started,
        "table": rows, "default_allocator": allocator, "budget": budget, "goals": goals,
    }
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {output}")
    print(f"goals met: {sum(goal['met'] for goal in goals.values())}/{len(goals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
