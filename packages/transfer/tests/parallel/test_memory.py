"""The memory estimate: weights from exact counts, activations against what autograd really saves (tiny,
fp32, CPU), and the 7B single-GPU layout under 80 GiB when the network runs in bf16."""

from __future__ import annotations

import contextlib

import pytest
import torch
from cosmos_transfer.diffusion.denoise import denoising_loss
from cosmos_transfer.model.config import preset
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.parallel.memory import (
    AUTOCAST_FP32_MASTER,
    BF16_NETWORK,
    FP32,
    GIB,
    MemoryLayout,
    estimate_memory,
    format_memory,
)

TINY_CLIP = (25, 128, 128)  # 4 latent frames x 16 x 16 -> 4 x 8 x 8 = 256 tokens
CONTEXT = 32
LD = 256 * 256 * 4  # one fp32 [tokens, width] tensor of the tiny nets at TINY_CLIP


@contextlib.contextmanager
def saved_bytes():
    """Bytes of the distinct tensors autograd saves for backward inside the block (parameters and buffers
    not counted): ``with saved_bytes() as total: ...; total()``."""
    seen: dict[int, int] = {}
    exclude: set[int] = set()

    def pack(tensor):
        pointer = tensor.untyped_storage().data_ptr()
        if pointer not in exclude:
            seen.setdefault(pointer, tensor.untyped_storage().nbytes())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield lambda: sum(seen.values()), exclude


def tiny_networks() -> TransferNetworks:
    torch.manual_seed(0)
    networks = TransferNetworks(*preset("tiny"))
    networks.initialize_control_from_base()
    networks.freeze_base()
    return networks


def measured_step(checkpointing: bool) -> int:
    networks = tiny_networks()
    networks.net.activation_checkpointing = networks.base_net.activation_checkpointing = checkpointing
    generator = torch.Generator().manual_seed(1)
    x0 = torch.randn(1, 16, 4, 16, 16, generator=generator)
    context = torch.randn(1, CONTEXT, 1024, generator=generator)
    hint = torch.randn(1, 16, 4, 16, 16, generator=generator)
    with saved_bytes() as (total, exclude):
        exclude.update(t.untyped_storage().data_ptr() for t in [*networks.parameters(), *networks.buffers()])

        def network(x, c_noise, mask):
            return networks(x, c_noise, context, hint, condition_video_input_mask=mask)

        denoising_loss(network, x0, logvar_head=networks.logvar, num_condition_frames=1, generator=generator)
        return total()


def tiny_estimate(checkpointing: bool):
    base, control = preset("tiny")
    layout = MemoryLayout(activation_checkpointing=checkpointing)
    return estimate_memory(base, control, layout, *TINY_CLIP, precision=FP32, context_tokens=CONTEXT)


def test_tiny_weights_and_state_by_hand():
    networks = tiny_networks()
    base_parameters = sum(p.numel() for p in networks.base_model.parameters())  # base DiT + logvar head
    control_parameters = sum(p.numel() for p in networks.net.parameters())
    estimate = tiny_estimate(False)
    assert estimate.tokens == 4 * 8 * 8
    assert estimate.frozen_weights == base_parameters * 4
    assert (estimate.control_weights, estimate.gradients, estimate.ema) == (control_parameters * 4,) * 3
    assert estimate.optimizer == 2 * control_parameters * 4
    assert estimate.compute_copy == 0 and estimate.fsdp_buffers == 0  # fp32: no second copy, no FSDP


def test_tiny_trainable_block_by_hand():
    """One branch block at 256 tokens x width 256 (fp32, no autocast), in units of one [L, D] tensor."""
    estimate = tiny_estimate(True)
    stream = 3 * 2 + 3  # LayerNorm input and output per sub-block; attention/MLP outputs for the gates
    linears = 3 + 2  # the q/k/v input once, the MLP input and the out projections' inputs
    qk_norms = 3 * 2  # FA q, k and CA q: input and normalised
    attention = 4 + 2  # FA q, k, v, out; CA q, out
    mlp = 2 * 4  # GELU input and layer2 input, 4 x wider
    context = CONTEXT * 1024 * 4 + 2 * CONTEXT * 256 * 4  # CA k/v input (the T5 context), k and v
    rope = 4 * 256 * 128 * 4  # cos and sin of q and k
    log_sum_exp = 2 * 2 * 256 * 4
    assert estimate.recompute == (stream + linears + qk_norms + attention + mlp) * LD + context + rope + log_sum_exp


@pytest.mark.parametrize("checkpointing", [False, True])
def test_tiny_activations_are_what_autograd_saves(checkpointing):
    measured = measured_step(checkpointing)
    estimated = tiny_estimate(checkpointing).activations
    assert measured == pytest.approx(estimated, rel=0.1)


def test_one_recomputed_block_is_what_autograd_saves_for_a_branch_block():
    networks = tiny_networks()
    block = networks.net.blocks["block1"]
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(1, 256, 256, generator=generator, requires_grad=True)
    emb, adaln_lora = torch.randn(1, 256, generator=generator), torch.randn(1, 768, generator=generator)
    context = torch.randn(1, CONTEXT, 1024, generator=generator)
    rope = networks.net.pos_embedder(4, 8, 8)
    extra = torch.randn(1, 256, 256, generator=generator)
    with saved_bytes() as (total, exclude):
        exclude.update(t.untyped_storage().data_ptr() for t in [*networks.parameters(), x, extra])
        block(x, emb, adaln_lora, context, rope, extra)
        measured = total()
    assert measured == pytest.approx(tiny_estimate(True).recompute, rel=0.1)


def test_7b_one_gpu_with_checkpointing_fits_80_gib_when_the_network_runs_in_bf16():
    base, control = preset("7b")
    layout = MemoryLayout(tp=1, activation_checkpointing=True)
    estimate = estimate_memory(base, control, layout, 121, 704, 1280, precision=BF16_NETWORK)
    assert estimate.tokens == 16 * 44 * 80
    assert estimate.frozen_weights == (7_236_208_640 + 128) * 2  # bf16 base DiT + logvar head
    assert estimate.control_weights == 893_497_120 * 4
    assert estimate.total < 80 * GIB
    assert estimate.activations_without_checkpointing > 200 * GIB  # why checkpointing is needed
    # fp32 weights under autocast keep the stream and norms in fp32: the same layout does not fit.
    autocast = estimate_memory(base, control, layout, 121, 704, 1280, precision=AUTOCAST_FP32_MASTER)
    assert autocast.total > 80 * GIB


def test_the_reference_layout_tp8_without_checkpointing_fits_80_gib():
    """The reference post-trains at TP 8 + SP on 8 x 80 GB without checkpointing: the estimate agrees."""
    base, control = preset("7b")
    estimate = estimate_memory(base, control, MemoryLayout(tp=8), 121, 704, 1280)
    assert estimate.frozen_weights == (1_276_102_656 + 128) * 2
    assert estimate.control_weights == 254_914_336 * 4
    assert estimate.total < 80 * GIB


def test_fsdp_divides_the_trainable_state():
    base, control = preset("7b")
    alone = estimate_memory(base, control, MemoryLayout(tp=2), 121, 704, 1280)
    sharded = estimate_memory(base, control, MemoryLayout(tp=2, dp_shard=4), 121, 704, 1280)
    per_rank = alone.optimizer // 8  # AdamW: 2 fp32 moments per trainable parameter
    assert sharded.optimizer == 8 * -(-per_rank // 4) and sharded.gradients == 4 * -(-per_rank // 4)
    assert sharded.frozen_weights == alone.frozen_weights and sharded.fsdp_buffers > 0


def test_the_table():
    base, control = preset("7b")
    text = format_memory(estimate_memory(base, control, MemoryLayout(activation_checkpointing=True), 121, 704, 1280))
    lines = text.splitlines()
    assert lines[0].startswith("memory per GPU (estimate): tp 1 + sequence parallel, FSDP 1, batch 1 x 56320 tokens")
    assert lines[1].split() == ["frozen", "base", "weights", "(bfloat16)", "13.48", "GiB"]
    assert any(line.split()[:3] == ["activations,", "checkpointing", "on"] for line in lines)
    assert lines[-2].split()[0] == "total" and lines[-1].startswith("  (activations without checkpointing ")
