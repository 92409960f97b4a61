"""Processes, devices and collectives: what data-parallel training needs from ``torch.distributed``.

Multi-process runs are started by PyTorch's own elastic launcher (``torch.distributed.run``, i.e.
torchrun); this module only builds its command line (:func:`torchrun_command`), re-launches the
current command under it when more than one GPU is asked for (:func:`maybe_relaunch`), and joins the
process group it sets up (:func:`init_distributed`). Every helper is a no-op in a single process, so
the same training code runs with or without a process group.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import attrs
import torch
import torch.distributed as dist
from torch import nn

logger = logging.getLogger("cosmos.distributed")

TORCHRUN_ENV = ("TORCHELASTIC_RUN_ID", "LOCAL_RANK")
"""Variables torchrun sets in its workers; either one means we already run under it."""


@attrs.frozen
class DistInfo:
    """Where this process sits in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def select_device(num_gpus: int, gpu_ids: Sequence[int] = (0,)) -> torch.device:
    """The device of a single-process run: ``num_gpus == 0`` → CPU, else the first of ``gpu_ids``.

    Asking for GPUs on a machine without CUDA runs on CPU with one warning instead of failing, so a
    spec written for a GPU server still runs (slowly) on a laptop.
    """
    if num_gpus == 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        logger.warning(
            "train.num_gpus=%d asks for GPUs but CUDA is not available; running on CPU "
            "(set num_gpus=0 to silence this warning)",
            num_gpus,
        )
        return torch.device("cpu")
    index = gpu_ids[0] if gpu_ids else 0
    count = torch.cuda.device_count()
    if not 0 <= index < count:
        raise ValueError(f"gpu_ids={list(gpu_ids)} names GPU {index}, but only {count} GPU(s) are visible")
    return torch.device("cuda", index)


def init_distributed(num_gpus: int = 1, gpu_ids: Sequence[int] = (0,)) -> DistInfo:
    """Join the process group torchrun described in the environment (WORLD_SIZE, RANK, LOCAL_RANK).

    Without WORLD_SIZE (or with WORLD_SIZE=1) nothing is initialised and the device comes from
    :func:`select_device`. Under torchrun each process uses ``cuda:LOCAL_RANK`` with NCCL, or the CPU
    with gloo when CUDA is absent or ``num_gpus == 0``; restrict the GPUs a job may use with
    ``CUDA_VISIBLE_DEVICES``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo(rank=0, world_size=1, local_rank=0, device=select_device(num_gpus, gpu_ids))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if num_gpus != 0 and torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def shutdown_distributed() -> None:
    """Leave the process group (if any) so the process exits cleanly."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0, and in a single process."""
    return get_rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if _active():
        dist.barrier()


def reduce_sum_(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (no-op in a single process)."""
    if _active():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj``, indexed by rank (``[obj]`` in a single process)."""
    if not _active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


class _AllGatherWithGrad(torch.autograd.Function):
    """Concatenate every rank's rows; the backward pass sums gradients over ranks, keeps our rows.

    Each rank computes the same loss on the gathered batch, so the gradient reaching rank ``r``'s
    rows is the sum of all ranks' (identical) gradients: ``world_size`` times the single-process one.
    DDP then averages parameter gradients over ranks, which divides by ``world_size`` again and leaves
    exactly the gradient a single process would compute on the whole batch.
    """

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        world_size, rank = dist.get_world_size(), dist.get_rank()
        tensor = tensor.contiguous()
        sizes = _gather_row_counts(tensor, world_size)
        ctx.row_start = sum(sizes[:rank])
        ctx.rows = sizes[rank]
        largest = max(sizes)
        if tensor.shape[0] < largest:  # all_gather needs equal shapes: pad, then cut the padding off
            padding = tensor.new_zeros((largest - tensor.shape[0], *tensor.shape[1:]))
            tensor = torch.cat([tensor, padding])
        parts = [torch.empty_like(tensor) for _ in range(world_size)]
        dist.all_gather(parts, tensor)
        return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=True)])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.row_start : ctx.row_start + ctx.rows]


def _gather_row_counts(tensor: torch.Tensor, world_size: int) -> list[int]:
    count = torch.tensor([tensor.shape[0]], device=tensor.device, dtype=torch.long)
    counts = [torch.empty_like(count) for _ in range(world_size)]
    dist.all_gather(counts, count)
    return [int(c.item()) for c in counts]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All ranks' ``tensor`` concatenated along dim 0 in rank order, differentiable.

    Ranks may hold different numbers of rows. In a single process the tensor is returned unchanged.
    """
    if not _active():
        return tensor
    return _AllGatherWithGrad.apply(tensor)


def wrap_ddp(module: nn.Module, info: DistInfo, *, find_unused_parameters: bool = False) -> nn.Module:
    """``module`` in DistributedDataParallel when the job has more than one process, else unchanged."""
    if not info.is_distributed:
        return module
    device_ids = [info.device.index] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        module, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )


# -------------------------------------------------------------------------------------------------
# Launching through torchrun
# -------------------------------------------------------------------------------------------------


def torchrun_command(num_gpus: int, num_nodes: int, argv: Sequence[str]) -> list[str]:
    """The torchrun command line that runs ``cosmos-run *argv`` on ``num_gpus`` processes per node.

    ``num_gpus == -1`` means every visible GPU. A single node uses torchrun's ``--standalone``
    rendezvous (a free local port); several nodes take NODE_RANK, MASTER_ADDR and MASTER_PORT
    (default 29500) from the environment, as with any torchrun job.
    """
    nproc = torch.cuda.device_count() if num_gpus == -1 else num_gpus
    if nproc < 1:
        raise ValueError(f"torchrun needs at least one process per node, got num_gpus={num_gpus}")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc)]
    command += ["--nnodes", str(num_nodes)]
    if num_nodes > 1:
        missing = [name for name in ("NODE_RANK", "MASTER_ADDR") if not os.environ.get(name)]
        if missing:
            raise ValueError(
                f"train.num_nodes={num_nodes} needs {' and '.join(missing)} in the environment "
                "(this node's index and the address of node 0), plus MASTER_PORT if not 29500"
            )
        command += ["--node_rank", os.environ["NODE_RANK"], "--master_addr", os.environ["MASTER_ADDR"]]
        command += ["--master_port", os.environ.get("MASTER_PORT", "29500")]
    else:
        command.append("--standalone")
    return [*command, "-m", "cosmos_core.cli", *argv]


def under_torchrun() -> bool:
    return any(name in os.environ for name in TORCHRUN_ENV)


def maybe_relaunch(num_gpus: int, num_nodes: int, argv: Sequence[str]) -> int | None:
    """Run ``cosmos-run *argv`` under torchrun when the job needs several processes.

    Returns torchrun's exit code, or None when the caller should run in this process: one GPU or
    CPU (``num_gpus`` 0 or 1 on one node), already inside torchrun, or fewer than two visible GPUs
    on a single node (then :func:`select_device` takes over, warning when no GPU is present).
    More GPUs asked for than are visible runs on the visible ones, with a warning.
    """
    if under_torchrun() or num_gpus == 0 or (num_gpus == 1 and num_nodes <= 1):
        return None
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    requested = visible if num_gpus == -1 else num_gpus
    if requested > visible > 0:
        logger.warning("train.num_gpus=%d but only %d GPU(s) are visible; using %d", num_gpus, visible, visible)
    nproc = min(requested, visible)
    if nproc < 1 or (nproc == 1 and num_nodes <= 1):
        return None
    command = torchrun_command(nproc, num_nodes, argv)
    logger.info("re-launching under torchrun: %s", " ".join(command))
    process = subprocess.Popen(command)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # torchrun received the same SIGINT and stops its workers (which save their latest
        # checkpoint); wait for that to finish instead of killing it half-way.
        process.wait()
        raise
