"""parallelize_networks in one process (the single-GPU layout) and the data-parallel refusals."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.distributed import DistInfo
from cosmos_core.family import ParallelDims
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.parallel.data_parallel import DataParallelLayoutError, apply_data_parallel
from cosmos_transfer.parallel.parallelize import parallelize_networks

ONE = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


def tiny() -> TransferNetworks:
    torch.manual_seed(0)
    networks = TransferNetworks(BASE_TINY, CONTROL_TINY)
    networks.initialize_control_from_base()
    networks.freeze_base()
    return networks


def test_one_gpu_layout_bf16_base_checkpointed_trains_the_branch_under_autocast():
    networks = parallelize_networks(tiny(), ONE, activation_checkpointing=True, frozen_base_dtype=torch.bfloat16)
    assert {p.dtype for p in networks.base_model.parameters()} == {torch.bfloat16}  # base DiT and logvar head
    assert {p.dtype for p in networks.net.parameters()} == {torch.float32}
    assert networks.net.activation_checkpointing and networks.base_net.activation_checkpointing
    assert {type(p) for p in networks.parameters()} == {torch.nn.Parameter}  # nothing distributed in one process
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 16, 3, 8, 8, generator=generator)
    mask = torch.zeros(1, 1, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = networks(x, torch.tensor([0.2]), torch.randn(1, 8, 1024), x, condition_video_input_mask=mask)
    out.float().square().mean().backward()
    assert all(p.grad is None for p in networks.base_model.parameters())
    assert all(p.grad is not None for p in networks.net.zero_blocks.parameters())


def test_one_gpu_layout_bf16_network_keeps_every_activation_in_bf16_and_steps_fp32_masters():
    from cosmos_core.training.master_weights import with_master_weights

    networks = parallelize_networks(tiny(), ONE, activation_checkpointing=True, network_dtype=torch.bfloat16)
    assert {p.dtype for p in networks.parameters()} == {torch.bfloat16}  # base, branch and logvar heads
    linear_inputs = []
    for module in networks.modules():
        if isinstance(module, torch.nn.Linear):
            module.register_forward_hook(lambda _m, args, _out: linear_inputs.append(args[0].dtype))
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 16, 3, 8, 8, generator=generator).to(torch.bfloat16)
    mask = torch.zeros(1, 1, 3, 8, 8, dtype=torch.bfloat16)
    text = torch.randn(1, 8, 1024).to(torch.bfloat16)
    out = networks(x, torch.tensor([0.2], dtype=torch.bfloat16), text, x, condition_video_input_mask=mask)
    assert out.dtype == torch.bfloat16 and set(linear_inputs) == {torch.bfloat16}  # no autocast needed
    trainable = [p for p in networks.parameters() if p.requires_grad]
    optimizer = with_master_weights(torch.optim.AdamW)(trainable, lr=1e-3)
    before = [p.detach().clone() for p in networks.base_model.parameters()]
    out.float().square().mean().backward()
    assert {p.grad.dtype for p in networks.net.zero_blocks.parameters()} == {torch.bfloat16}
    optimizer.step()
    assert {master.dtype for _, master in optimizer.master_pairs} == {torch.float32}
    assert all(torch.equal(p, m.to(torch.bfloat16)) for p, m in optimizer.master_pairs)
    assert all(torch.equal(a, b) for a, b in zip(before, networks.base_model.parameters(), strict=True))


def _two_ranks(dp_shard: int) -> DistInfo:
    """A DistInfo whose mesh is only looked up by name (the refusals come before any collective)."""
    dims = ParallelDims(dp_replicate=2 // dp_shard, dp_shard=dp_shard, tp=1)
    mesh = {"dp_shard": "1-D mesh", ("dp_replicate", "dp_shard"): "2-D mesh"}
    return DistInfo(rank=0, world_size=2, local_rank=0, device=torch.device("cpu"), dims=dims, mesh=mesh)


def test_sharded_data_parallel_needs_fsdp():
    with pytest.raises(DataParallelLayoutError, match="over dp_shard=2 ranks, which needs FSDP"):
        apply_data_parallel(tiny(), _two_ranks(2), fsdp=False)


def test_a_trainable_base_is_refused_with_data_parallelism():
    networks = tiny()
    networks.base_net.final_layer.requires_grad_(True)
    with pytest.raises(DataParallelLayoutError, match="the base model has trainable parameters"):
        apply_data_parallel(networks, _two_ranks(1), fsdp=False)
