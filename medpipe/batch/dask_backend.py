"""Run cases on Dask distributed workers: an existing scheduler, or a ``LocalCluster`` of N processes.

Each task is :func:`medpipe.batch.process.process_case`, so manifest rows, resume and per-case
isolation are the same as in process; every worker process loads the bundle once and keeps it
(:func:`medpipe.batch.process.get_engine`). A worker that dies takes only its case down: the
future's error becomes that case's ``failed`` row. Dask is the optional ``dist`` extra and is
imported only here.
"""

from __future__ import annotations

from collections.abc import Callable

from medpipe.batch.discovery import Case
from medpipe.batch.manifest import Row
from medpipe.batch.process import CaseResult, RunConfig, process_case

__all__ = ["run_on_dask"]


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "`--scheduler`/`--dask-workers` need Dask distributed: pip install 'medpipe[dist]'"
        ) from None
    return distributed


def _process_one_thread(case: Case, config: RunConfig) -> CaseResult:
    import torch

    torch.set_num_threads(1)  # threads_per_worker=1: one core per worker process
    return process_case(case, config)


def run_on_dask(
    cases: list[Case],
    config: RunConfig,
    record: Callable[[CaseResult], None],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
) -> None:
    """Process ``cases`` on Dask and call ``record`` with each result as it completes.

    Args:
        cases: the cases (of this shard).
        config: the run's settings (pickled to the workers).
        record: called in this process for every finished case.
        scheduler: address of a running scheduler (``tcp://host:8786``); or
        workers: number of worker processes of a ``LocalCluster`` (one thread each).

    Raises:
        ImportError: when Dask distributed is not installed.
        ValueError: when neither or both of ``scheduler`` and ``workers`` are given.
    """
    if (scheduler is None) == (workers is None):
        raise ValueError(f"exactly one of `scheduler` and `workers` must be given, got {scheduler!r} and {workers!r}")
    distributed = _import_distributed()
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    try:
        futures = {client.submit(_process_one_thread, case, config, pure=False, key=f"medpipe-{case.case_id}-{id(config)}"): case
                   for case in cases}
        for future in distributed.as_completed(futures):
            case = futures[future]
            try:
                result = future.result()
            except Exception as err:  # noqa: BLE001 - a lost worker fails only its own case
                text = str(err).strip().splitlines()
                result = CaseResult(Row(case.case_id, "failed", f"dask worker: {type(err).__name__}: {text[0] if text else ''}"[:300], 0.0))
            record(result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
