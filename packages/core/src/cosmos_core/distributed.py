"""Processes, devices, device meshes and collectives.

Multi-process runs are started by PyTorch's own elastic launcher (``torch.distributed.run``, i.e.
torchrun); this module only builds its command line (:func:`torchrun_command`), re-launches the
current command under it when more than one GPU is asked for (:func:`maybe_relaunch`), and joins the
process group it sets up (:func:`init_distributed`), arranging the processes on a
:class:`~torch.distributed.device_mesh.DeviceMesh` with the dimensions of :data:`MESH_DIMS`.
Every helper is a no-op in a single process, so the same code runs with or without a process group.

The mesh is row-major over ``(dp_replicate, dp_shard, tp)``: the ranks of one tensor-parallel group
are neighbours (``rank // tp`` is the data-parallel rank, ``rank % tp`` the tensor-parallel one), so
on a node of 8 GPUs a TP group never crosses nodes, as torchtitan arranges it.
"""

from __future__ import annotations

import gc
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

from cosmos_core.config.loader import ConfigError
from cosmos_core.family import DeviceRequest, ParallelDims

logger = logging.getLogger("cosmos.distributed")

TORCHRUN_ENV = ("TORCHELASTIC_RUN_ID", "LOCAL_RANK")
"""Variables torchrun sets in its workers; either one means we already run under it."""

MESH_DIMS = ("dp_replicate", "dp_shard", "tp")
"""Names of the device mesh's dimensions: replicated data parallel (DDP, or HSDP's replicas), sharded
data parallel (FSDP2 ``fully_shard``), tensor parallel (DTensor)."""

DATA_PARALLEL_DIMS = ("dp_replicate", "dp_shard")

SINGLE_PROCESS = ParallelDims(dp_replicate=1, dp_shard=1, tp=1)

CUDA_BACKENDS = "cpu:gloo,cuda:nccl"
"""The process group's backends on GPUs: NCCL for device tensors, gloo beside it for host values
(:func:`host_sum`), so that a count the host already knows is not queued behind the kernels in flight
(torchtitan pairs the two the same way for CPU-side collectives)."""


@attrs.frozen
class DistInfo:
    """Where this process sits in the job: its rank, its device and the job's device mesh.

    ``mesh`` is None in a single process (no process group exists); the rank properties then
    describe the one process.
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    dims: ParallelDims = SINGLE_PROCESS
    """The resolved layout: ``dp_replicate * dp_shard * tp == world_size``."""
    mesh: Any = None
    """The :class:`~torch.distributed.device_mesh.DeviceMesh` over :data:`MESH_DIMS` (None in one process)."""
    dp_mesh: Any = None
    """The data-parallel dimensions flattened into one 1-D mesh ``"dp"`` (None in one process)."""

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def tp_size(self) -> int:
        return self.dims.tp

    @property
    def tp_rank(self) -> int:
        return self.rank % self.dims.tp

    @property
    def dp_size(self) -> int:
        """Data-parallel ranks (replicas times shards): how many different batches a step sees."""
        return self.dims.dp_replicate * self.dims.dp_shard

    @property
    def dp_rank(self) -> int:
        """This process's data-parallel rank: ranks of one tensor-parallel group share it (and so
        their batches, sampling and random draws)."""
        return self.rank // self.dims.tp

    @property
    def dp_group(self) -> Any:
        """The process group of this rank's data-parallel peers (None: the whole world, or no group)."""
        return None if self.dp_mesh is None or self.dims.tp == 1 else self.dp_mesh.get_group()

    @property
    def tp_group(self) -> Any:
        """The process group of this rank's tensor-parallel peers (None without a mesh)."""
        return None if self.mesh is None else self.mesh["tp"].get_group()


def resolve_parallel_dims(dims: ParallelDims, world_size: int) -> ParallelDims:
    """``dims`` with ``dp_replicate = -1`` filled in, checked against ``world_size``.

    A layout that does not factor the world size is a :class:`ConfigError` naming the config paths of
    ``dims.sources`` and saying which process counts would work.
    """

    def name(field: str) -> str:
        source = dims.sources.get(field)
        return f"{field} ({source})" if source else field

    problems = [
        f"{name(field)} must be >= 1, got {value}"
        for field, value in (("tp", dims.tp), ("dp_shard", dims.dp_shard))
        if value < 1
    ]
    if dims.dp_replicate == 0 or dims.dp_replicate < -1:
        problems.append(f"{name('dp_replicate')} must be >= 1, or -1 for what the other sizes leave")
    if problems:
        raise ConfigError(problems)
    fixed = dims.tp * dims.dp_shard
    if dims.dp_replicate == -1:
        if world_size % fixed:
            raise ConfigError(
                [
                    f"{world_size} process(es) cannot be split into groups of {name('tp')}={dims.tp} x "
                    f"{name('dp_shard')}={dims.dp_shard}: start a multiple of {fixed} processes "
                    f"(torchrun --nproc_per_node), or lower those sizes"
                ]
            )
        return attrs.evolve(dims, dp_replicate=world_size // fixed)
    if dims.dp_replicate * fixed != world_size:
        raise ConfigError(
            [
                f"{name('dp_replicate')}={dims.dp_replicate} x {name('dp_shard')}={dims.dp_shard} x "
                f"{name('tp')}={dims.tp} = {dims.dp_replicate * fixed} processes, but the job has {world_size}: "
                f"start {dims.dp_replicate * fixed} processes or set dp_replicate to -1"
            ]
        )
    return dims


def select_device(num_gpus: int, gpu_ids: Sequence[int] = (0,), setting: str = "num_gpus") -> torch.device:
    """The device of a single-process run: ``num_gpus == 0`` → CPU, else the first of ``gpu_ids``.

    Asking for GPUs on a machine without CUDA runs on CPU with one warning instead of failing, so a
    spec written for a GPU server still runs (slowly) on a laptop. ``setting`` is the config path the
    warning names.
    """
    if num_gpus == 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        logger.warning(
            "%s=%d asks for GPUs but CUDA is not available; running on CPU (set %s=0 to silence this warning)",
            setting,
            num_gpus,
            setting,
        )
        return torch.device("cpu")
    index = gpu_ids[0] if gpu_ids else 0
    count = torch.cuda.device_count()
    if not 0 <= index < count:
        raise ValueError(f"gpu_ids={list(gpu_ids)} names GPU {index}, but only {count} GPU(s) are visible")
    return torch.device("cuda", index)


def init_distributed(devices: DeviceRequest = DeviceRequest(), parallel: ParallelDims | None = None) -> DistInfo:
    """Join the process group torchrun described in the environment (WORLD_SIZE, RANK, LOCAL_RANK)
    and arrange the processes on a device mesh of ``parallel``'s layout (data parallel by default).

    Without WORLD_SIZE (or with WORLD_SIZE=1) no group is created and the device comes from
    :func:`select_device`; a layout that needs several processes is then a config error. Under
    torchrun each process uses ``cuda:LOCAL_RANK`` with NCCL, or the CPU with gloo when CUDA is absent
    or ``num_gpus == 0``. A process group initialised before the call (a test's file store) is used
    as it is.
    """
    parallel = parallel or ParallelDims()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    dims = resolve_parallel_dims(parallel, world_size)
    if world_size <= 1:
        device = select_device(devices.num_gpus, devices.gpu_ids, devices.setting)
        return DistInfo(rank=0, world_size=1, local_rank=0, device=device, dims=dims)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if devices.num_gpus != 0 and torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = CUDA_BACKENDS
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    from torch.distributed.device_mesh import init_device_mesh

    shape = (dims.dp_replicate, dims.dp_shard, dims.tp)
    mesh = init_device_mesh(device.type, shape, mesh_dim_names=MESH_DIMS)
    dp_mesh = mesh[DATA_PARALLEL_DIMS]._flatten("dp")  # every rank takes part in creating its group
    return DistInfo(rank, world_size, local_rank, device, dims=dims, mesh=mesh, dp_mesh=dp_mesh)


def current_dist(device: torch.device | str = "cpu") -> DistInfo:
    """A :class:`DistInfo` for the process group that already exists (every rank data parallel, no
    mesh), or for a single process; for code that drives the trainer without :func:`init_distributed`."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device(device))
    world_size = dist.get_world_size()
    dims = ParallelDims(dp_replicate=world_size, dp_shard=1, tp=1)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    return DistInfo(dist.get_rank(), world_size, local_rank, torch.device(device), dims=dims)


def shutdown_distributed(*, clean: bool = True) -> None:
    """Leave the process group (if any) so the process exits cleanly.

    ``clean``: every rank got here normally, so first wait for all of them (a rank that destroys its
    group while a peer still talks to it aborts the peer); after an error the peers may be stuck or
    gone, so the group is destroyed at once. Callers drop their DDP/FSDP wrappers before this: a
    reducer that outlives the group makes the process abort at exit ("terminate called without an
    active exception").
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if clean and dist.get_world_size() > 1:
        dist.barrier()
    gc.collect()  # wrappers dropped by the caller release their hold on the group here
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


def reduce_sum_(tensor: torch.Tensor, group: Any = None) -> torch.Tensor:
    """Sum ``tensor`` over the ranks of ``group`` (default: all) in place (no-op in a single process)."""
    if _active():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
    return tensor


def host_sum(value: int, group: Any = None) -> int:
    """Sum an integer the host knows over the ranks of ``group`` (default: all) without waiting on the
    device (``value`` itself in a single process).

    Where the group has a CPU backend (every group :func:`init_distributed` creates:
    :data:`CUDA_BACKENDS`), the sum travels through it; a group with only a device backend (one made
    with plain ``"nccl"`` before the run) gets a device tensor, whose read-back waits for the kernels
    launched before it.
    """
    if not _active():
        return value
    device = "cpu"
    if "cpu:" not in dist.get_backend_config(group):
        device = torch.device("cuda", torch.cuda.current_device())
    count = torch.tensor([value], dtype=torch.long, device=device)
    dist.all_reduce(count, op=dist.ReduceOp.SUM, group=group)
    return int(count.item())


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
    """``module`` in DistributedDataParallel over the data-parallel ranks when there are several,
    else unchanged."""
    if info.dp_size <= 1:
        return module
    device_ids = [info.device.index] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        module, device_ids=device_ids, find_unused_parameters=find_unused_parameters, process_group=info.dp_group
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


def maybe_relaunch(devices: DeviceRequest, argv: Sequence[str]) -> int | None:
    """Run ``cosmos-run *argv`` under torchrun when the job needs several processes.

    Returns torchrun's exit code, or None when the caller should run in this process: one GPU or
    CPU (``num_gpus`` 0 or 1 on one node), already inside torchrun, or fewer than two visible GPUs
    on a single node (then :func:`select_device` takes over, warning when no GPU is present).
    More GPUs asked for than are visible runs on the visible ones, with a warning.
    """
    num_gpus, num_nodes = devices.num_gpus, devices.num_nodes
    if under_torchrun() or num_gpus == 0 or (num_gpus == 1 and num_nodes <= 1):
        return None
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    requested = visible if num_gpus == -1 else num_gpus
    if requested > visible > 0:
        logger.warning("%s=%d but only %d GPU(s) are visible; using %d", devices.setting, num_gpus, visible, visible)
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
