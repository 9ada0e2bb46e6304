"""Sharding: deterministic, disjoint, covering; from flags, torchrun or SLURM array variables."""

import pytest

from medpipe.batch.sharding import resolve_part, select_part


def test_parts_are_disjoint_and_cover_everything_in_any_input_order():
    ids = [f"case{i:02d}" for i in range(11)]
    parts = [select_part(ids[::-1], k, 3, key=str) for k in range(3)]
    assert sorted(sum(parts, [])) == ids
    assert parts[0] == ["case00", "case03", "case06", "case09"]
    assert select_part(ids, 1, 3, key=str) == parts[1]


@pytest.mark.parametrize(
    "flags, environ, expected",
    [
        ((1, 4), {"RANK": "3", "WORLD_SIZE": "8"}, (1, 4)),
        ((None, None), {"RANK": "3", "WORLD_SIZE": "8"}, (3, 8)),
        ((None, None), {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5"}, (2, 5)),
        ((None, None), {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "5", "SLURM_ARRAY_TASK_MIN": "1"}, (4, 5)),
        ((None, None), {}, None),
        ((0, 1), {}, None),
        ((None, None), {"RANK": "0", "WORLD_SIZE": "1"}, None),
    ],
)
def test_resolve_part(flags, environ, expected):
    assert resolve_part(*flags, environ=environ) == expected


def test_resolve_part_errors():
    with pytest.raises(ValueError, match="`--part-id` and `--num-parts` must be given together"):
        resolve_part(1, None, environ={})
    with pytest.raises(ValueError, match=r"`part_id` \(--part-id/--num-parts\) must be in \[0, 2\), got 2"):
        resolve_part(2, 2, environ={})
    with pytest.raises(ValueError, match=r"`num_parts` .* must be >= 1, got 0"):
        resolve_part(0, 0, environ={})
    with pytest.raises(ValueError, match="environment variable `WORLD_SIZE` must be an integer"):
        resolve_part(None, None, environ={"WORLD_SIZE": "two"})
    with pytest.raises(ValueError, match=r"`part_id` \(RANK/WORLD_SIZE\) must be in"):
        resolve_part(None, None, environ={"RANK": "4", "WORLD_SIZE": "4"})
