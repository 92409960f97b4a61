"""Filling the networks of an experiment: random init, the frozen base, and the control branch's start.

- ``model.base_load_from``: ``base_model.pt``, or its tensor-parallel split with ``*`` standing for the
  TP rank (``checkpoints_tp/base_model_model_mp_*.pt``, as the reference); empty leaves the base at its
  random init (the tiny experiments, which train it).
- ``checkpoint.load_path`` (post-training): the control checkpoint. As in the reference, a path
  ``.../checkpoints_tp/<name>.pt`` is read as ``<name>_model_mp_{rank}.pt``; a file that exists itself
  (a consolidated ``<mod>_control.pt``) is read as it is. Empty (pretraining): the branch starts as a
  copy of the base's first blocks.

Every load is strict (:mod:`cosmos_transfer.model.loading`): a missing or unexpected key stops the run
with the keys listed, before training. A missing file names the path and the step that makes it.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from cosmos_core.distributed import DistInfo
from cosmos_core.errors import UserInputError

from cosmos_transfer.diffusion.logvar import LogVarHead
from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.model.loading import load_base_checkpoint, load_control_checkpoint
from cosmos_transfer.model.networks import TransferNetworks

logger = logging.getLogger("cosmos.transfer")

TP_SHARD_SUFFIX = "_model_mp_{rank}.pt"


class WeightsNotFoundError(UserInputError, FileNotFoundError):
    """A weights file an experiment names does not exist."""


def shard_path(path: str, tp_rank: int) -> Path:
    """``base_model_model_mp_*.pt`` → ``..._mp_<rank>.pt``."""
    return Path(path.replace("*", str(tp_rank)))


def control_path(path: str, tp_rank: int) -> Path:
    """The file the control branch of TP rank ``tp_rank`` is read from (see the module docstring)."""
    given = Path(path)
    if given.is_file():
        return given
    return given.with_name(given.stem + TP_SHARD_SUFFIX.format(rank=tp_rank))


def _conversion_hint(original: Path, tp_size: int) -> str:
    return (
        f"download it, then split it for tensor parallelism {tp_size}: cosmos-run cosmos-transfer1 convert_tp "
        f"{original} --tp {tp_size}"
    )


def _released_file(path: Path) -> Path:
    """``.../checkpoints_tp/<name>_model_mp_K.pt`` or ``.../checkpoints_tp/<name>.pt`` → ``.../<name>.pt``."""
    name = path.name.split("_model_mp_")[0].removesuffix(".pt") + ".pt"
    parent = path.parent.parent if path.parent.name == "checkpoints_tp" else path.parent
    return parent / name


@torch.no_grad()
def init_logvar(logvar: LogVarHead) -> None:
    """Fresh Fourier features and Linear weights (the logvar head has no init of its own)."""
    features, linear = logvar[0], logvar[1]
    features.freqs.copy_(2 * math.pi * torch.randn_like(features.freqs))
    features.phases.copy_(2 * math.pi * torch.rand_like(features.phases))
    linear.reset_parameters()


def _sharded(dist: DistInfo) -> bool:
    """Parameters are DTensors (TP or FSDP): each rank loads its own shard into them."""
    return dist.tp_size > 1 or dist.dims.dp_shard > 1


def load_base(config: TransferExperiment, networks: TransferNetworks, dist: DistInfo) -> None:
    source = config.model.base_load_from
    if not source:
        logger.info("model.base_load_from is empty: the base DiT starts from its random init")
        return
    path = shard_path(source, dist.tp_rank)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"model.base_load_from: {path} not found; {_conversion_hint(_released_file(path), dist.tp_size)}"
        )
    if _sharded(dist):
        from cosmos_transfer.parallel.shard_loading import load_base_shards

        report = load_base_shards(networks, path, dist)
    else:
        report = load_base_checkpoint(path, networks.base_net, networks.logvar)
    logger.info("loaded the base (%d tensors, %s weights) from %s", report.loaded, report.source, path)


def load_control(config: TransferExperiment, networks: TransferNetworks, dist: DistInfo) -> None:
    source = config.checkpoint.load_path
    if not source:
        copied = networks.initialize_control_from_base()
        logger.info("control branch initialised from the base's blocks (%d control-only tensors new)", len(copied))
        return
    path = control_path(source, dist.tp_rank)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"checkpoint.load_path: {path} not found; {_conversion_hint(_released_file(path), dist.tp_size)}"
        )
    if _sharded(dist):
        from cosmos_transfer.parallel.shard_loading import load_control_shards

        report = load_control_shards(networks, path, dist)
    else:
        report = load_control_checkpoint(path, networks.net)
    logger.info("loaded the control branch (%d tensors, %s weights) from %s", report.loaded, report.source, path)


def init_random(networks: TransferNetworks) -> None:
    """The reference's random init of both networks and the logvar head, in place."""
    networks.base_net.init_weights()
    networks.net.init_weights()
    init_logvar(networks.logvar)


@torch.no_grad()
def init_from_whole_copy(networks: TransferNetworks) -> None:
    """Random init of DTensor-sharded networks equal to the init of whole ones: initialising a DTensor in
    place draws every rank's shard from the same generator state (DTensor has no random-number tracker on
    CPU), so identical shards would make up each tensor. Builds the whole networks on the CPU (the tiny
    experiments: a released base is loaded instead) and distributes each tensor."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    whole = TransferNetworks(networks.base_net.config, networks.net.config)
    init_random(whole)
    whole_state = whole.state_dict()
    for name, tensor in networks.state_dict().items():
        value = whole_state[name].to(tensor.dtype)
        if isinstance(tensor, DTensor):
            value = distribute_tensor(value.to(tensor.device_mesh.device_type), tensor.device_mesh, tensor.placements)
        tensor.copy_(value)


def materialiser(config: TransferExperiment, dist: DistInfo, *, load_weights: bool = True):
    """What the training module's ``init_weights`` runs after the meta-built networks got storage: random
    init, then (``load_weights``) the experiment's base and control weights."""

    def materialise(module) -> None:
        networks: TransferNetworks = module.networks
        if _sharded(dist) and not config.model.base_load_from:
            init_from_whole_copy(networks)
        else:  # sharded parameters get overwritten by the loaded base (and the branch copies it)
            init_random(networks)
        if load_weights:
            load_base(config, networks, dist)
            load_control(config, networks, dist)

    return materialise
