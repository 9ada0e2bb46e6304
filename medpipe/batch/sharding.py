"""Deterministic sharding of cases over independent processes (torchrun, SLURM arrays, by hand).

Part ``K`` of ``N`` takes the cases at positions ``K, K + N, K + 2N, ...`` of the case list sorted
by case id, so every part sees the same split whatever machine it runs on, and parts are
disjoint and cover all cases.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TypeVar

__all__ = ["resolve_part", "select_part"]

T = TypeVar("T")


def _env_int(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable `{name}` must be an integer, got {value!r}") from None


def resolve_part(part_id: int | None, num_parts: int | None, environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """The ``(K, N)`` this process handles, or ``None`` for an unsharded run.

    ``--part-id``/``--num-parts`` win; otherwise torchrun's ``RANK``/``WORLD_SIZE``, then a SLURM
    array's ``SLURM_ARRAY_TASK_ID``/``SLURM_ARRAY_TASK_COUNT`` (minus ``SLURM_ARRAY_TASK_MIN``,
    so arrays numbered from 1 work). ``N == 1`` is an unsharded run.

    Raises:
        ValueError: when only one of ``part_id``/``num_parts`` is given, or ``K`` is not in ``[0, N)``.
    """
    environ = os.environ if environ is None else environ
    if (part_id is None) != (num_parts is None):
        raise ValueError(f"`--part-id` and `--num-parts` must be given together, got part_id={part_id}, num_parts={num_parts}")
    source = "--part-id/--num-parts"
    if part_id is None:
        if _env_int(environ, "WORLD_SIZE") is not None:
            part_id, num_parts, source = _env_int(environ, "RANK") or 0, _env_int(environ, "WORLD_SIZE"), "RANK/WORLD_SIZE"
        elif _env_int(environ, "SLURM_ARRAY_TASK_COUNT") is not None:
            first = _env_int(environ, "SLURM_ARRAY_TASK_MIN") or 0
            part_id = (_env_int(environ, "SLURM_ARRAY_TASK_ID") or 0) - first
            num_parts, source = _env_int(environ, "SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT"
        else:
            return None
    if num_parts < 1:
        raise ValueError(f"`num_parts` ({source}) must be >= 1, got {num_parts}")
    if not 0 <= part_id < num_parts:
        raise ValueError(f"`part_id` ({source}) must be in [0, {num_parts}), got {part_id}")
    return None if num_parts == 1 else (part_id, num_parts)


def select_part(cases: Sequence[T], part_id: int, num_parts: int, key=lambda c: c.case_id) -> list[T]:
    """The cases of part ``part_id`` out of ``num_parts`` (round robin over the sorted ids)."""
    return sorted(cases, key=key)[part_id::num_parts]
