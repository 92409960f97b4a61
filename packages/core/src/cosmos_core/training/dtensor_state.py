"""State dicts with DTensors ↔ plain tensors that a checkpoint file can hold.

A checkpoint keeps each tensor sharded only along the mesh dimensions its layout names (the sharded
checkpointer keeps ``tp``: one file per tensor-parallel rank, as the reference writes them; the
single-file checkpointer keeps none: whole tensors). Every other sharding (FSDP's ``dp_shard``) is
gathered before saving, so the files do not depend on the data-parallel layout, and a run of another
world size can load them. Loading reverses it, with the live state as the template of where each
tensor goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from cosmos_core.training.master_weights import MASTER_KEY


def _dtensor() -> Any:
    from torch.distributed.tensor import DTensor

    return DTensor


def _is_dtensor(value: Any) -> bool:
    try:
        return isinstance(value, _dtensor())
    except ImportError:
        return False


def _kept_placements(tensor: Any, keep: Iterable[str]) -> list[Any]:
    from torch.distributed.tensor import Replicate

    names = tensor.device_mesh.mesh_dim_names or ()
    kept = set(keep)
    return [
        placement if (index < len(names) and names[index] in kept and placement.is_shard()) else Replicate()
        for index, placement in enumerate(tensor.placements)
    ]


def localize(tree: Any, keep: Iterable[str] = ()) -> Any:
    """``tree`` with every DTensor turned into the plain tensor of this rank's part, sharded only
    along the mesh dimensions named in ``keep`` (collective: every rank of the mesh must call)."""
    keep = tuple(keep)
    if _is_dtensor(tree):
        gathered = tree.redistribute(tree.device_mesh, _kept_placements(tree, keep))
        return gathered.to_local().detach().clone()
    if isinstance(tree, Mapping):
        return {key: localize(value, keep) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(localize(value, keep) for value in tree)
    return tree


def has_dtensors(tree: Any) -> bool:
    if _is_dtensor(tree):
        return True
    if isinstance(tree, Mapping):
        return any(has_dtensors(value) for value in tree.values())
    if isinstance(tree, (list, tuple)):
        return any(has_dtensors(value) for value in tree)
    return False


def like(saved: torch.Tensor, template: Any, keep: Iterable[str] = ()) -> Any:
    """``saved`` (written by :func:`localize` with the same ``keep``) placed as ``template`` is: a
    DTensor with the template's mesh and placements, or the plain tensor itself."""
    if not _is_dtensor(template):
        return saved
    from torch.distributed.tensor import DTensor

    kept = _kept_placements(template, keep)
    local = saved.to(template.device_mesh.device_type)
    placed = DTensor.from_local(local, template.device_mesh, kept, run_check=False)
    return placed.redistribute(template.device_mesh, template.placements)


def restore_model_state(saved: Mapping[str, Any], live: Mapping[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
    """A model state dict for ``load_state_dict`` from saved plain tensors, shaped like ``live``'s."""
    keep = tuple(keep)
    return {key: like(value, live[key], keep) if key in live else value for key, value in saved.items()}


def restore_optimizer_state(
    saved: Mapping[str, Any], optimizer: torch.optim.Optimizer, keep: Iterable[str] = ()
) -> dict[str, Any]:
    """An optimizer state dict for ``load_state_dict``: each parameter's state tensors are placed like
    the parameter itself (the optimizer may hold no state yet, so the parameters are the template)."""
    keep = tuple(keep)
    params = [param for group in optimizer.param_groups for param in group["params"]]
    state = {}
    for index, entries in saved.get("state", {}).items():
        param = params[int(index)] if int(index) < len(params) else None
        state[index] = {
            name: like(value, param, keep)
            if isinstance(value, torch.Tensor) and param is not None and value.dim() > 0
            else value
            for name, value in entries.items()
        }
    restored = {**saved, "state": state}
    masters = saved.get(MASTER_KEY)
    pairs = getattr(optimizer, "master_pairs", None)
    if masters is not None and pairs is not None and len(masters) == len(pairs):  # else load_state_dict says why
        restored[MASTER_KEY] = [like(value, master, keep) for value, (_, master) in zip(masters, pairs, strict=True)]
    return restored
