"""Gradient norms and clipping that are right under data, tensor and fully-sharded parallelism.

The one clipping path of the loop (``LoopSettings.clip_grad_norm`` and the ``gradient_clip``
callback both call :func:`clip_grad_norm_`) and of the norm monitors.

Plain gradients are whole on every rank (a single process, or DDP after its all-reduce), so they are
counted once. A :class:`~torch.distributed.tensor.DTensor` gradient holds only this rank's shard on
the mesh dimensions where it is ``Shard``-ed (tensor parallel, FSDP): its local sum of squares is
summed over exactly those dimensions' process groups; dimensions where it is replicated are not
summed (that would count the same values several times). Every rank ends with the same norms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.distributed as dist


def _dtensor_type() -> type | None:
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # a build without distributed support
        return None
    return DTensor


def squared_norms(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """The squared L2 norm of each whole gradient (fp32, one entry per gradient, same on all ranks)."""
    if not grads:
        return torch.zeros(0)
    dtensor = _dtensor_type()
    device = _local(grads[0], dtensor).device
    squares = torch.zeros(len(grads), dtype=torch.float32, device=device)
    by_dims: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    meshes = {}
    for index, grad in enumerate(grads):
        if dtensor is not None and isinstance(grad, dtensor):
            grad = _without_partial(grad)
            sharded = tuple(dim for dim, placement in enumerate(grad.placements) if placement.is_shard())
            key = (id(grad.device_mesh), sharded)
            meshes[key] = grad.device_mesh
            if sharded:
                by_dims.setdefault(key, []).append(index)
            local = grad.to_local()
        else:
            local = grad
        squares[index] = local.detach().float().pow(2).sum()
    for key, indices in by_dims.items():
        mesh, sharded = meshes[key], key[1]
        part = squares[indices]
        for mesh_dim in sharded:
            dist.all_reduce(part, op=dist.ReduceOp.SUM, group=mesh.get_group(mesh_dim))
        squares[indices] = part
    return squares


def total_norm(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """The L2 norm of all ``grads`` together, as one fp32 scalar tensor."""
    return squared_norms(grads).sum().sqrt()


def clip_grad_norm_(parameters: Iterable[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale the gradients of ``parameters`` in place so that their total norm is at most ``max_norm``.

    Returns the total norm before clipping (non-finite when a gradient overflowed; the gradients are
    then left as they are, and the caller decides: fp16's scaler skips such a step).
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = total_norm(grads)
    if not grads or not torch.isfinite(norm):
        return norm
    coefficient = min(float(max_norm) / (float(norm) + 1e-6), 1.0)
    if coefficient < 1.0:
        dtensor = _dtensor_type()
        with torch.no_grad():
            for grad in grads:
                _local(grad, dtensor).mul_(coefficient)
    return norm


def _local(tensor: torch.Tensor, dtensor: type | None) -> torch.Tensor:
    return tensor.to_local() if dtensor is not None and isinstance(tensor, dtensor) else tensor


def _without_partial(grad: torch.Tensor) -> torch.Tensor:
    """A gradient still pending a reduction (``Partial``) reduced, so its values are final."""
    if not any(placement.is_partial() for placement in grad.placements):
        return grad
    from torch.distributed.tensor import Replicate

    placements = [Replicate() if p.is_partial() else p for p in grad.placements]
    return grad.redistribute(grad.device_mesh, placements)
