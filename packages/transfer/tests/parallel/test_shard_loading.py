"""Loading a rank's own shard in one process (TP 1); the multi-rank cases are in test_multirank.py."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.distributed import DistInfo
from cosmos_core.training.checkpoint import ShardedLayout
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY, ControlDiTConfig, DiTConfig
from cosmos_transfer.model.loading import CheckpointKeyMismatchError
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.parallel.shard_loading import (
    ShardLayoutError,
    load_base_shards,
    load_control_shards,
    load_network_shards,
)
from cosmos_transfer.tp.split import plan_split, split_checkpoint

ONE = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


def networks(seed: int, base=BASE_TINY, control=CONTROL_TINY) -> TransferNetworks:
    torch.manual_seed(seed)
    return TransferNetworks(base, control)


def convert(folder, name: str, state: dict, tp: int, output=None):
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / f"{name}.pt")
    plan = plan_split(folder / f"{name}.pt", tp, output_dir=output)
    split_checkpoint(plan, progress=False)
    return plan.trainer_file


@pytest.fixture
def released(tmp_path):
    """A split (TP 1) base_model.pt and edge_control.pt of the tiny nets of seed 1."""
    state = networks(1).state_dict()
    base = convert(tmp_path, "base_model", {k: v for k, v in state.items() if k.startswith("base_model.")}, 1)
    control = convert(tmp_path, "edge_control", {k: v for k, v in state.items() if k.startswith("net.")}, 1)
    return state, base, control


def test_base_and_control_shards_load_into_the_networks(released):
    state, base, control = released
    nets = networks(2)
    base_report = load_base_shards(nets, base, ONE)
    control_report = load_control_shards(nets, control, ONE)
    assert (base_report.path.name, base_report.source, base_report.loaded) == ("base_model_model_mp_0.pt", "model", 94)
    assert (control_report.path.name, control_report.loaded) == ("edge_control_model_mp_0.pt", 94)
    assert control_report.skipped == ()
    for key, value in nets.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_a_training_checkpoint_shard_loads_whole(tmp_path, released):
    state, _, _ = released
    layout = ShardedLayout()
    torch.save({"format": "x", "iteration": 4, "tp_size": 1}, tmp_path / layout.trainer_name(4))
    torch.save(layout.model_payload(dict(state), {}), tmp_path / layout.shard_name(4, "model", 0))
    nets = networks(3)
    report = load_network_shards(nets, tmp_path / layout.trainer_name(4), ONE)
    assert report.loaded == len(state)
    assert all(torch.equal(value, state[key]) for key, value in nets.state_dict().items())


def test_shards_split_for_another_tp_size_are_refused(tmp_path, released):
    state, _, _ = released
    split = convert(tmp_path / "tp2", "edge_control", {k: v for k, v in state.items() if k.startswith("net.")}, 2)
    with pytest.raises(ShardLayoutError, match=r"split into 2 tensor-parallel shards but this run uses tensor par.*1"):
        load_control_shards(networks(2), split, ONE)


def test_mismatches_copy_nothing(tmp_path, released):
    _, base, control = released
    nets = networks(2)
    before = {key: value.clone() for key, value in nets.state_dict().items()}
    with pytest.raises(CheckpointKeyMismatchError, match="does not match this rank's base DiT"):
        load_base_shards(nets, control, ONE)  # the branch's keys: blocks 0..2 only, plus the hint modules
    wider = networks(4, DiTConfig(model_channels=512, num_blocks=4, num_heads=4), CONTROL_TINY)
    state = {k: v for k, v in wider.state_dict().items() if k.startswith("base_model.")}
    other = convert(tmp_path / "wide", "base_model", state, 1)
    with pytest.raises(CheckpointKeyMismatchError, match=r"wrong shape: base_model\.net\.x_embedder\.proj\.1\.weight"):
        load_base_shards(nets, other, ONE)
    two_blocks = ControlDiTConfig(model_channels=256, num_blocks=4, num_heads=2, num_control_blocks=2)
    narrow = networks(5, BASE_TINY, two_blocks)
    state = {k: v for k, v in narrow.state_dict().items() if k.startswith("net.")}
    with pytest.raises(CheckpointKeyMismatchError, match=r"missing: blocks\.block2\."):
        load_control_shards(nets, convert(tmp_path / "two", "edge_control", state, 1), ONE)
    assert all(torch.equal(value, before[key]) for key, value in nets.state_dict().items())
