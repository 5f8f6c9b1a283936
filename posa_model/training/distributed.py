"""DDP set-up for ``torchrun`` and the batch plan that makes N ranks equal one process.

Every rank draws the same seeded permutation of the training set for an epoch and cuts it into
the same global batches of ``batch_size``; rank r takes the r-th contiguous slice
(``torch.tensor_split``) of each global batch. The union of the ranks' slices is therefore the
single-process batch, sample for sample, whatever the world size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ..device import resolve_device


@dataclass(frozen=True)
class DistContext:
    """Where this process runs: rank / world_size (1 without torchrun) and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over ranks (in place; a no-op in one process). Returns ``tensor``."""
        if self.distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor


def setup_distributed(device: str = "auto") -> DistContext:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1): NCCL on CUDA, gloo on
    CPU; each rank uses cuda:LOCAL_RANK. Without torchrun: rank 0 of 1 on ``device``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = resolve_device(device)
    if world <= 1:
        return DistContext(0, 1, 0, dev)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistContext(rank, world, local_rank, dev)


def teardown_distributed(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


@dataclass(frozen=True)
class StepPlan:
    """One optimiser step for one rank.

    indices: (b,) rows of the training set this rank reads; start/stop: its slice of the global
    batch (of ``global_size`` bodies). ``dummy``: the rank's slice is empty (the last global
    batch has fewer bodies than ranks); it then runs body ``indices`` with zero loss weight so
    that DDP's gradient all-reduce still has every rank.
    """

    indices: np.ndarray
    start: int
    stop: int
    global_size: int
    dummy: bool


def epoch_permutation(num_items: int, seed: int, epoch: int) -> np.ndarray:
    """The seeded shuffle of epoch ``epoch`` (1-based), identical on every rank and on resume."""
    generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(num_items, generator=generator).numpy()


def epoch_plan(num_items: int, batch_size: int, seed: int, epoch: int, rank: int = 0,
               world_size: int = 1) -> list[StepPlan]:
    """This rank's steps of one epoch (the last global batch may be smaller; none is dropped)."""
    order = epoch_permutation(num_items, seed, epoch)
    plans = []
    for begin in range(0, num_items, batch_size):
        global_batch = order[begin:begin + batch_size]
        bounds = np.cumsum([0] + [len(p) for p in np.array_split(global_batch, world_size)])
        start, stop = int(bounds[rank]), int(bounds[rank + 1])
        if stop > start:
            plans.append(StepPlan(global_batch[start:stop], start, stop, len(global_batch), False))
        else:
            plans.append(StepPlan(global_batch[:1], 0, 1, len(global_batch), True))
    return plans


def shard(num_items: int, rank: int, world_size: int) -> np.ndarray:
    """Contiguous shard of range(num_items) for evaluation (sizes differ by at most one)."""
    return np.array_split(np.arange(num_items), world_size)[rank]
