"""Process one case in isolation: resume check, staging, the bundle, outputs, atomic rename.

Everything a case writes goes to ``OUTPUT/.tmp/<case>-<pid>/`` first; the finished folder is
renamed to ``OUTPUT/<case_id>/`` in one step, so an interrupted run never leaves a half-written
case folder that looks finished. Any exception becomes a ``failed`` row with a one-line reason;
the full traceback goes to ``OUTPUT/logs/<case_id>.log``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from medpipe.batch.discovery import Case
from medpipe.batch.engine import BundleEngine, BundleSpec
from medpipe.batch.manifest import Row
from medpipe.batch.phi import PhiScrubber, phi_values
from medpipe.batch.resume import RECORD_NAME, case_hash, is_up_to_date
from medpipe.batch.outputs import write_case_outputs

__all__ = ["RunConfig", "CaseResult", "clean_stale_temporaries", "case_input_files", "expected_hash", "process_case", "get_engine"]

_ENGINES: dict = {}


@dataclass(frozen=True)
class RunConfig:
    """What every case of a run shares (picklable, sent to Dask workers)."""

    spec: BundleSpec
    output: str
    bundle_digest: str
    device: str = "cpu"
    dicom_seg: bool = False
    keep_phi: bool = False
    rules: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CaseResult:
    """A manifest row plus where the seconds went (``inference_s``, ``total_s``)."""

    row: Row
    timings: dict = field(default_factory=dict)


def get_engine(config: RunConfig) -> BundleEngine:
    """The bundle engine of this process, loaded on first use (one per bundle, device, digest)."""
    key = (str(config.spec.root), config.device, config.bundle_digest)
    if key not in _ENGINES:
        _ENGINES[key] = BundleEngine(config.spec, config.device)
    return _ENGINES[key]


def case_input_files(case: Case) -> list[str]:
    """Every file the case reads, in input order, then the label."""
    files = [f for channel in case.inputs for f in case.inputs[channel]]
    return files + ([case.label] if case.label else [])


def expected_hash(case: Case, config: RunConfig) -> str:
    """The resume hash of ``case`` under ``config`` (see :mod:`medpipe.batch.resume`)."""
    settings = {"outputs_version": 1, "channels": list(config.spec.channels)}
    if case.layout == "dicom":
        settings.update(dicom_seg=config.dicom_seg, rules=config.rules, keep_phi=config.keep_phi)
    return case_hash(case_input_files(case), config.bundle_digest, settings)


def _one_line(err: BaseException) -> str:
    """The innermost cause's type and first line (MONAI wraps errors in "applying transform ...")."""
    seen = {id(err)}
    while (err.__cause__ or err.__context__) is not None and id(err.__cause__ or err.__context__) not in seen:
        err = err.__cause__ or err.__context__
        seen.add(id(err))
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]):
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@contextlib.contextmanager
def _captured(lines: list[str]):
    """Route MONAI/ignite log records and warnings of one case into its log instead of the console."""
    import monai.data.image_writer  # noqa: F401 - create MONAI's loggers before redirecting them
    import monai.engines  # noqa: F401

    handler = _ListHandler(lines)
    names = [""] + [n for n in logging.Logger.manager.loggerDict if n.split(".")[0] in ("monai", "ignite", "py")]
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg, lg.handlers[:], lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.handlers = [handler] if lg is logging.getLogger() or not lg.propagate else []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        lines += [f"warning: {w.category.__name__}: {w.message}" for w in caught]
    finally:
        for lg, handlers, propagate in saved:
            lg.handlers, lg.propagate = handlers, propagate


def _write_log(output: Path, case_id: str, lines: list[str], scrub) -> None:
    logs = output / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tmp = logs / f".{case_id}.log.tmp"
    tmp.write_text(scrub("\n".join(lines) + "\n"), encoding="utf-8")
    os.replace(tmp, logs / f"{case_id}.log")


def _stage_dicom(case: Case, folder: Path) -> dict[str, Path]:
    """Load each chosen DICOM series with :func:`medpipe.io.load_series` and write it as NIfTI.

    The series must pass :func:`medpipe.io.find_series`'s checks (one stack, no missing slices);
    otherwise its reason becomes the case's failure.
    """
    from medpipe.io import find_series, load_series, write_nifti

    folder.mkdir(parents=True, exist_ok=True)
    staged = {}
    for channel, files in case.inputs.items():
        wanted = {Path(f).resolve() for f in files}
        candidates = [s for s in find_series(Path(files[0]).parent) if wanted & {Path(f).resolve() for f in s.files}]
        if len(candidates) != 1:
            raise ValueError(f"series for input {channel!r} must be one stack, got {len(candidates)} after header checks")
        series = candidates[0]
        if series.status != "ok":
            raise ValueError(f"series for input {channel!r} must load, got {series.status}: {series.reason}")
        loaded = load_series(series)
        if loaded.array.ndim != 3:
            raise ValueError(f"series for input {channel!r} must be 3-D, got shape {loaded.array.shape}")
        staged[channel] = write_nifti(folder / f"{case.case_id}_{channel}.nii.gz", loaded.array, loaded.affine)
    return staged


def _link_inputs(case: Case, folder: Path) -> dict[str, Path]:
    """Symlink each input as ``<case_id>/<case_id>_<input><ext>`` so bundle writers name outputs by case."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = {}
    for channel, files in case.inputs.items():
        source = Path(files[0]).resolve()
        extension = ".nii.gz" if source.name.lower().endswith(".nii.gz") else source.suffix
        target = folder / f"{case.case_id}_{channel}{extension}"
        os.symlink(source, target)
        staged[channel] = target
    return staged


def clean_stale_temporaries(output: Path) -> list[str]:
    """Remove temporary case folders left by killed runs of this host (their process is gone).

    Folders of live processes, and of other hosts sharing the output folder, are left alone.

    Returns:
        The names removed.
    """
    removed = []
    host = socket.gethostname()
    for folder in sorted((Path(output) / ".tmp").glob("*@*@*")):
        _, folder_host, pid = folder.name.rsplit("@", 2)
        if folder_host != host or not pid.split(".")[0].isdigit():
            continue
        try:
            os.kill(int(pid.split(".")[0]), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


def _atomic_replace(tmp: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = tmp.with_name(tmp.name + ".old")
        os.rename(final, old)
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def process_case(case: Case, config: RunConfig) -> CaseResult:
    """Run one case end to end; never raises (failures become ``failed`` rows).

    Args:
        case: the case as discovered.
        config: the run's shared settings.

    Returns:
        The case's manifest row and timings.
    """
    start = time.perf_counter()
    output = Path(config.output)
    scrub = PhiScrubber(config.keep_phi)
    log = [f"case {case.case_id} ({case.layout}), bundle {config.spec.name}, device {config.device}"]
    log += [f"input {c}: {', '.join(files) if len(files) <= 3 else f'{len(files)} files in {Path(files[0]).parent}'}" for c, files in case.inputs.items()]
    log += [f"series {c}: {d}" for c, d in case.series.items()] + [f"note: {n}" for n in case.notes]

    def finish(status: str, message: str, outputs=(), timings=None) -> CaseResult:
        duration = time.perf_counter() - start
        log.append(f"status {status}: {message} ({duration:.2f} s)")
        if status != "skipped" or not (output / "logs" / f"{case.case_id}.log").is_file():
            _write_log(output, case.case_id, log, scrub)
        row = Row(case.case_id, status, scrub(message), duration, tuple(outputs))
        return CaseResult(row, {"total_s": duration, **(timings or {})})

    if case.skip_reason:
        return finish("skipped", case.skip_reason)
    for path in case.phi_files or [files[0] for files in case.inputs.values()] if case.layout == "dicom" else []:
        scrub.add(phi_values(path))
    if case.problem:
        return finish("failed", case.problem)
    stage = "hashing inputs"
    originals: dict[str, str] = {}  # staged path -> what the user gave, for error messages
    tmp = output / ".tmp" / f"{case.case_id}@{socket.gethostname()}@{os.getpid()}"
    try:
        digest = expected_hash(case, config)
        final = output / case.case_id
        fresh, why = is_up_to_date(final, digest)
        if fresh:
            record = json.loads((final / RECORD_NAME).read_text())
            return finish("skipped", "up to date", record.get("outputs", []))
        log.append(f"recomputing: {why}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        stage = "reading inputs"
        staging = tmp / ".inputs" / case.case_id
        if case.layout == "dicom":
            with _captured(log):
                staged = _stage_dicom(case, staging)
        else:
            staged = _link_inputs(case, staging)
        for channel, path in staged.items():
            files = case.inputs[channel]
            originals[str(path)] = files[0] if len(files) == 1 else f"series {case.series.get(channel, channel)} in {Path(files[0]).parent}"
        stage = "running the bundle"
        engine = get_engine(config)
        item = engine.make_item(staged, case.case_id)
        with _captured(log):
            result = engine.run_case(item, tmp / ".bundle")
            stage = "writing outputs"
            after_bundle = time.perf_counter()
            names = write_case_outputs(case, config, staged, result["files"], tmp, result["output"], scrub)
        outputs = [f"{case.case_id}/{n}" for n in names]
        shutil.rmtree(tmp / ".bundle", ignore_errors=True)
        shutil.rmtree(tmp / ".inputs", ignore_errors=True)
        (tmp / RECORD_NAME).write_text(json.dumps({"hash": digest, "outputs": outputs, "bundle": config.spec.name}, indent=1))
        _atomic_replace(tmp, final)
        timings = {"inference_s": result["inference_s"], "bundle_s": result["pipeline_s"],
                   "outputs_s": time.perf_counter() - after_bundle}
        log.append("timings: " + ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))
        summary = json.loads((final / "metrics.json").read_text()).get("summary", "")
        return finish("ok", summary, outputs, timings)
    except Exception as err:  # noqa: BLE001 - per-case isolation: every error becomes a failed row
        log.append(traceback.format_exc())
        shutil.rmtree(tmp, ignore_errors=True)
        reason = _one_line(err)
        for staged_path, original in originals.items():
            reason = reason.replace(staged_path, original)
        return finish("failed", f"{stage}: {reason}")

