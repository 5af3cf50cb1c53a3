"""The process's place in a distributed job, read from torchrun's or Slurm's variables.

Also the two pieces distributed evaluation needs: :class:`ShardSampler` (contiguous,
unpadded shards, so every image is evaluated exactly once and rank order is dataset
order) and :func:`gather_objects` (every rank's picklable object, over a CPU group).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sized
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from wsol.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def dist_info() -> DistInfo:
    """Rank, world size and local rank from ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
    (torchrun) or ``SLURM_PROCID``/``SLURM_NTASKS``/``SLURM_LOCALID`` (srun)."""
    env = os.environ
    if "RANK" in env and "WORLD_SIZE" in env:
        return DistInfo(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)))
    if "SLURM_PROCID" in env and int(env.get("SLURM_NTASKS", 1)) > 1:
        return DistInfo(int(env["SLURM_PROCID"]), int(env["SLURM_NTASKS"]), int(env.get("SLURM_LOCALID", 0)))
    return DistInfo()


def init_distributed(info: DistInfo) -> None:
    """Join the process group of ``info`` (NCCL with GPUs, else gloo); no-op for one process.

    The rendezvous address comes from ``MASTER_ADDR``/``MASTER_PORT``: torchrun sets
    them, under Slurm the job script must (see docs/distributed.md).
    """
    if not info.enabled or dist.is_initialized():
        return
    missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise ConfigError(f"distributed run (world size {info.world_size}) needs {' and '.join(missing)} set")
    if torch.cuda.is_available():
        torch.cuda.set_device(info.local_rank)
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, rank=info.rank, world_size=info.world_size)


def select_device(name: str, info: DistInfo) -> torch.device:
    """``auto`` -> the local rank's GPU if there is one, else the CPU."""
    if name == "auto":
        name = f"cuda:{info.local_rank}" if torch.cuda.is_available() else "cpu"
    elif name == "cuda":
        name = f"cuda:{info.local_rank}"
    return torch.device(name)


def is_main_process() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class ShardSampler(Sampler[int]):
    """Rank ``rank``'s contiguous block of ``range(len(dataset))``, without padding.

    Unlike :class:`~torch.utils.data.DistributedSampler` no index is repeated, so
    accumulators merge exactly; concatenating the ranks' blocks in rank order gives the
    single-process order, so per-image rows (and float sums over them) come out the same.
    """

    def __init__(self, dataset: Sized, world_size: int, rank: int) -> None:
        n = len(dataset)
        self.start, self.stop = rank * n // world_size, (rank + 1) * n // world_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start


_OBJECT_GROUP: Any = None


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` in rank order (``[obj]`` outside a distributed job).

    Goes over a gloo group, so CPU objects are gathered without touching the GPUs.
    """
    if not is_distributed():
        return [obj]
    global _OBJECT_GROUP
    if _OBJECT_GROUP is None:
        _OBJECT_GROUP = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else dist.group.WORLD
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj, group=_OBJECT_GROUP)
    return out


def barrier() -> None:
    """Wait for every rank (no-op outside a distributed job)."""
    if is_distributed():
        dist.barrier()
