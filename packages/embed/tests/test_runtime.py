"""Devices and mesh layout the Embed1 runtime asks for: multi-GPU evaluate/inference, FSDP and HSDP."""

from __future__ import annotations

import pytest
from cosmos_core.config.loader import ConfigError, apply_overrides, parse_overrides, structure
from cosmos_core.distributed import resolve_parallel_dims
from cosmos_core.family import DeviceRequest, ParallelDims
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.runtime import RUNTIME


def build(*overrides: str) -> ExperimentConfig:
    return structure(ExperimentConfig, apply_overrides({}, parse_overrides(list(overrides))))


def test_evaluate_and_inference_ask_for_their_num_gpus_processes():
    assert RUNTIME.devices(build("evaluate.num_gpus=4"), "evaluate") == DeviceRequest(4, setting="evaluate.num_gpus")
    assert RUNTIME.devices(build("inference.num_gpus=-1"), "inference").num_gpus == -1
    assert RUNTIME.devices(build("evaluate.num_gpus=0"), "evaluate").num_gpus == 0


def test_fsdp_maps_to_the_mesh(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert RUNTIME.parallel(build(), "train") == ParallelDims()  # DDP: every rank a replica
    dims = RUNTIME.parallel(build("model.fsdp.enabled=true"), "train")  # one shard group per node
    assert (dims.dp_replicate, dims.dp_shard) == (-1, 4)
    assert resolve_parallel_dims(dims, 8) == ParallelDims(dp_replicate=2, dp_shard=4)
    hsdp = RUNTIME.parallel(
        build("model.fsdp.enabled=true", "model.fsdp.shard_size=2", "model.fsdp.replica_size=4"), "train"
    )
    assert (hsdp.dp_replicate, hsdp.dp_shard) == (4, 2)
    bad = RUNTIME.parallel(build("model.fsdp.enabled=true", "model.fsdp.shard_size=3"), "train")
    with pytest.raises(ConfigError) as info:
        resolve_parallel_dims(bad, 8)
    assert "dp_shard (model.fsdp.shard_size)=3" in info.value.problems[0]
    assert RUNTIME.parallel(build("model.fsdp.enabled=true"), "evaluate") == ParallelDims()


def test_one_process_has_nothing_to_shard(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert RUNTIME.parallel(build("model.fsdp.enabled=true", "model.fsdp.shard_size=8"), "train") == ParallelDims()
