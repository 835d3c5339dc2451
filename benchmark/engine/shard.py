"""Shards: one run's cells split across machines that a scheduler starts (Slurm, Kubernetes).

The plan's distinct requests (cache keys, ``Request.key``, which every machine computes alike from
the same suite files and options) are put in the order of a digest of the key — no list position,
no Python ``hash()`` (salted per process) — and dealt round-robin: shard ``i`` of ``n`` gets the
requests at ranks ``i``, ``i + n``, …. Shards are therefore disjoint, together they cover every
cell, they differ in size by one request at most (a digest modulo ``n`` alone leaves a 360-cell
plan's 7 shards between 29 and 61 cells, and the slowest machine sets the pace), and two cells that
ask the very same request (a locale variant that inherits its parent's text) fall in the same
shard, so no request is asked on two machines. Every machine must build the same plan (same suite
files, same options); where they did not, ``gvs store merge`` reports the cells that disagree and
leaves the merged run incomplete.

Indexes are 0-based, ``0 <= i < n``, as Kubernetes' ``JOB_COMPLETION_INDEX`` is and as Slurm's
array ids become once the array's first id is subtracted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from benchmark.errors import GvsError

# Part of what the partition is: changing it moves cells between shards, so a new scheme gets a new name.
# 2: the keys it ranks are in base 62 (store migration m016), so the same requests deal otherwise than
# under 1 (hex keys): a shard recorded under 1 is not resumed as if it held the same requests.
SCHEME = "gvs-shard/2"


class ShardError(GvsError):
    """A bad ``--shard``/``--shard-count`` value or scheduler environment; the message names the option."""


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


class _Requesting(Protocol):
    @property
    def request(self) -> _Keyed: ...


C = TypeVar("C", bound=_Requesting)  # anything with ``.request.key``, e.g. runner.Cell


def _digest(key: str) -> bytes:
    return hashlib.sha256(f"{SCHEME}\0{key}".encode()).digest()


def assign(keys: Iterable[str], count: int) -> dict[str, int]:
    """Each distinct cache key's 0-based shard among ``count``: the same in every process and on every
    machine for the same set of keys."""
    return {key: rank % count for rank, key in enumerate(sorted(set(keys), key=_digest))}


@dataclass(frozen=True)
class Shard:
    index: int  # 0-based
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ShardError(f"--shard: the shard count must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ShardError(
                f"--shard: index {self.index} is out of range for {self.count} shards "
                f"(indexes are 0-based: 0 to {self.count - 1})"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def spec(self) -> dict:
        """How a run records its shard (``"shard"`` in its spec)."""
        return {"index": self.index, "count": self.count, "scheme": SCHEME}

    def select(self, cells: Sequence[C]) -> list[C]:
        """The cells of this shard among all the cells of a plan, in their order."""
        owner = assign((c.request.key for c in cells), self.count)
        return [c for c in cells if owner[c.request.key] == self.index]


def _int(value: str, what: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ShardError(f"--shard: {what} must be a whole number, not {value!r}") from None


def parse(spec: str, count: int | None = None, environ: Mapping[str, str] | None = None) -> Shard:
    """``"i/n"`` (0-based), or ``"auto"``: the index and count from a Slurm job array
    (``SLURM_ARRAY_TASK_ID`` less ``SLURM_ARRAY_TASK_MIN``, over ``SLURM_ARRAY_TASK_STEP``, of
    ``SLURM_ARRAY_TASK_COUNT``) or a Kubernetes Indexed Job (``JOB_COMPLETION_INDEX``, with ``count``
    from ``--shard-count`` since Kubernetes exports no count). Slurm wins when both are set.

    Raises ShardError naming ``--shard`` or ``--shard-count`` for anything else."""
    text = spec.strip()
    if text.lower() != "auto":
        if count is not None:
            raise ShardError("--shard-count goes with --shard auto (with --shard i/n, n is the count)")
        parts = text.split("/")
        if len(parts) != 2:
            raise ShardError(f"--shard takes i/n (0-based, e.g. 0/4) or auto, not {spec!r}")
        return Shard(_int(parts[0], "the index i of i/n"), _int(parts[1], "the count n of i/n"))
    env = os.environ if environ is None else environ
    if count is not None and count < 1:
        raise ShardError(f"--shard-count must be at least 1, not {count}")
    if env.get("SLURM_ARRAY_TASK_ID", "").strip():
        return _slurm(env, count)
    if env.get("JOB_COMPLETION_INDEX", "").strip():
        if count is None:
            raise ShardError(
                "--shard auto in a Kubernetes Indexed Job needs --shard-count N (the Job's completions): "
                "Kubernetes sets JOB_COMPLETION_INDEX but no count"
            )
        index = _env_int(env, "JOB_COMPLETION_INDEX")
        if index >= count:
            raise ShardError(f"--shard auto: JOB_COMPLETION_INDEX={index} is not below --shard-count {count}")
        return Shard(index, count)
    raise ShardError(
        "--shard auto found neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX "
        "(a Kubernetes Indexed Job) in the environment; pass --shard i/n instead"
    )


def _env_int(env: Mapping[str, str], name: str) -> int:
    value = env[name]
    try:
        number = int(value.strip())
    except ValueError:
        raise ShardError(f"--shard auto: {name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise ShardError(f"--shard auto: {name} must not be negative, not {number}")
    return number


def _slurm(env: Mapping[str, str], count: int | None) -> Shard:
    task = _env_int(env, "SLURM_ARRAY_TASK_ID")
    first = _env_int(env, "SLURM_ARRAY_TASK_MIN") if env.get("SLURM_ARRAY_TASK_MIN", "").strip() else 0
    step = _env_int(env, "SLURM_ARRAY_TASK_STEP") if env.get("SLURM_ARRAY_TASK_STEP", "").strip() else 1
    step = max(step, 1)
    if env.get("SLURM_ARRAY_TASK_COUNT", "").strip():
        tasks = _env_int(env, "SLURM_ARRAY_TASK_COUNT")
    elif env.get("SLURM_ARRAY_TASK_MAX", "").strip():  # Slurm before SLURM_ARRAY_TASK_COUNT existed
        tasks = (_env_int(env, "SLURM_ARRAY_TASK_MAX") - first) // step + 1
    else:
        raise ShardError(
            "--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX"
        )
    offset = task - first
    if offset < 0 or offset % step or offset // step >= tasks:
        raise ShardError(
            f"--shard auto: Slurm array task {task} is not in the range {first}, {first + step}, … of {tasks} tasks; "
            "submit the array as a range (--array=0-N or 1-N, optionally :step)"
        )
    if count is not None and count != tasks:
        raise ShardError(f"--shard-count {count} differs from the Slurm array's {tasks} tasks (SLURM_ARRAY_TASK_COUNT)")
    return Shard(offset // step, tasks)
