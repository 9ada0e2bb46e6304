"""``medpipe run``: discover cases, shard, run each in isolation (in process or on Dask), record.

The run writes ``OUTPUT/run.json`` (bundle, settings), one folder per finished case, a log per
case under ``OUTPUT/logs/``, ``OUTPUT/manifest.csv`` (or ``manifest.part-K-of-N.csv`` for a shard)
and, unsharded, ``OUTPUT/report.html``. Manifest rows are appended as cases finish, so a killed
run keeps what it finished; the rerun skips those cases by their resume hash.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medpipe.batch.discovery import Case, discover_cases
from medpipe.batch.engine import BundleSpec, bundle_digest, resolve_bundle
from medpipe.batch.manifest import ManifestWriter, Row, part_name
from medpipe.batch.process import CaseResult, RunConfig, clean_stale_temporaries, expected_hash, get_engine, process_case
from medpipe.batch.report import build_report
from medpipe.batch.resume import is_up_to_date
from medpipe.batch.series_rules import default_rules, load_rules
from medpipe.batch.sharding import resolve_part, select_part

__all__ = ["RunOptions", "RunSummary", "prepare", "plan", "run_batch", "dry_run_lines"]


@dataclass
class RunOptions:
    """The options of ``medpipe run`` (see DESIGN.md's CLI contract)."""

    bundle: str
    input: str
    output: str
    device: str = "cpu"
    dicom_seg: bool = False
    keep_phi: bool = False
    series_map: str | None = None
    part_id: int | None = None
    num_parts: int | None = None
    scheduler: str | None = None
    dask_workers: int | None = None
    progress: bool = True


@dataclass
class RunSummary:
    """What a run did: its rows, per-case timings and the exit code (0 ok, 2 some failed)."""

    rows: list[Row]
    timings: dict = field(default_factory=dict)
    manifest: Path | None = None
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        return 2 if any(r.status == "failed" for r in self.rows) else 0


def prepare(options: RunOptions) -> tuple[RunConfig, list[Case], tuple[int, int] | None]:
    """Resolve the bundle and rules, discover and shard the cases.

    Raises:
        ValueError: on any usage error (unknown bundle, missing input folder, bad rules or shard).
    """
    if options.scheduler and options.dask_workers:
        raise ValueError(f"`--scheduler` and `--dask-workers` must not be combined, got {options.scheduler!r} and {options.dask_workers}")
    if options.dask_workers is not None and options.dask_workers < 1:
        raise ValueError(f"`--dask-workers` must be >= 1, got {options.dask_workers}")
    spec: BundleSpec = resolve_bundle(options.bundle)
    modality = next(iter(spec.metadata.get("network_data_format", {}).get("inputs", {}).values()), {}).get("modality")
    rules = default_rules(spec.channels, {"MRI": "MR"}.get(modality, modality))
    if options.series_map:
        rules = load_rules(options.series_map, spec.channels, rules)
    part = resolve_part(options.part_id, options.num_parts)
    cases = discover_cases(options.input, spec, rules)
    if part is not None:
        cases = select_part(cases, *part)
    config = RunConfig(spec, str(Path(options.output).resolve()), bundle_digest(spec), options.device,
                       options.dicom_seg, options.keep_phi, rules)
    return config, cases, part


def plan(case: Case, config: RunConfig) -> tuple[str, str]:
    """What a run would do with ``case``: ``("run" | "skip" | "fail", why)``."""
    if case.skip_reason:
        return "skip", case.skip_reason
    if case.problem:
        return "fail", case.problem
    try:
        fresh, why = is_up_to_date(Path(config.output) / case.case_id, expected_hash(case, config))
    except OSError as err:
        return "fail", f"cannot read inputs: {err}"
    return ("skip", "up to date") if fresh else ("run", why)


def dry_run_lines(config: RunConfig, cases: list[Case]) -> list[str]:
    """One block per case: the action, why, the inputs it would use and the series left out."""
    lines = [f"bundle {config.spec.name}: inputs {', '.join(config.spec.channels)}; {len(cases)} case(s)"]
    for case in cases:
        action, why = plan(case, config)
        lines.append(f"{case.case_id}: {action} ({why})")
        for channel, files in case.inputs.items():
            where = case.series.get(channel)
            shown = f"series {where}, {len(files)} file(s) in {Path(files[0]).parent}" if where else ", ".join(files)
            lines.append(f"    {channel}: {shown}")
        if case.label:
            lines.append(f"    ground truth: {case.label}")
        lines += [f"    note: {note}" for note in case.notes]
    return lines


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="case", disable=not (enabled and sys.stderr.isatty()), file=sys.stderr)


def run_batch(options: RunOptions, *, on_result: Callable[[CaseResult], None] | None = None) -> RunSummary:
    """Run a whole batch (or one shard) and write manifest and report.

    Args:
        options: the command-line options.
        on_result: called with every finished case (tests and benchmarks use it).

    Returns:
        The :class:`RunSummary`.

    Raises:
        ValueError: on usage errors (see :func:`prepare`).
    """
    config, cases, part = prepare(options)
    if not (options.scheduler or options.dask_workers) and any(plan(c, config)[0] == "run" for c in cases):
        try:
            with warnings.catch_warnings():  # bundle-instantiation chatter; per-case warnings go to case logs
                warnings.simplefilter("ignore")
                get_engine(config)  # a bundle that cannot load is a usage error, not N failed cases
        except Exception as err:  # noqa: BLE001 - reported as a usage error with its first line
            first = (str(err).strip().splitlines() or [""])[0]
            raise ValueError(f"`bundle` {config.spec.name} must load, got {type(err).__name__}: {first}") from err
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(output)
    info = {"bundle": config.spec.name, "bundle_root": str(config.spec.root), "input": str(Path(options.input).resolve()),
            "device": config.device, "dicom_seg": config.dicom_seg}
    tmp = output / f".run.json.{os.getpid()}"
    tmp.write_text(json.dumps(info, indent=1))
    os.replace(tmp, output / "run.json")  # shards write the same content; the rename keeps it whole
    manifest_path = output / (part_name(*part) if part else "manifest.csv")
    writer = ManifestWriter(manifest_path)
    timings: dict = {}
    bar = _progress(len(cases), options.progress)

    def record(result: CaseResult) -> None:
        writer.add(result.row)
        timings[result.row.case_id] = result.timings
        bar.update(1)
        bar.set_postfix_str(f"{result.row.case_id}: {result.row.status}", refresh=False)
        if on_result is not None:
            on_result(result)

    try:
        if options.scheduler or options.dask_workers:
            from medpipe.batch.dask_backend import run_on_dask

            run_on_dask(cases, config, record, scheduler=options.scheduler, workers=options.dask_workers)
        else:
            for case in cases:
                record(process_case(case, config))
    finally:
        bar.close()
    rows = writer.close()
    report = None if part else build_report(output, rows)
    return RunSummary(rows, timings, manifest_path, report)
