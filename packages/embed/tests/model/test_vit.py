"""The ViT block's fused inference path (PyTorch's native encoder-layer kernel) computes what the
composed block computes, and is used only where it may be."""

from __future__ import annotations

import pytest
import torch
from cosmos_embed.model.dims import ViTDims
from cosmos_embed.model.vit import Block

DIMS = ViTDims(patch_size=8, width=64, depth=1, num_heads=4, mlp_dim=256, layer_norm_eps=1e-6, init_std=0.02)


@pytest.fixture
def block():
    torch.manual_seed(0)
    block = Block(DIMS, None, False).eval()
    for parameter in block.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    return block


def composed(block: Block, x: torch.Tensor) -> torch.Tensor:
    x = x + block.attn(block.norm1(x))
    return x + block.mlp(block.norm2(x))


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16"])
def test_fused_inference_matches_the_composed_block(block, autocast):
    x = torch.randn(3, 17, DIMS.width)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        assert block.fused_inference(x)
        fused, reference = block(x), composed(block, x)
    if autocast:
        cosine = torch.nn.functional.cosine_similarity(fused.float(), reference.float(), dim=-1)
        assert cosine.min() >= 0.999
    else:
        torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-5)


def test_training_autograd_and_wrapped_linears_take_the_composed_path(block):
    x = torch.randn(2, 5, DIMS.width)
    assert not block.fused_inference(x)  # grad enabled
    with torch.no_grad():
        assert not block.train().fused_inference(x)
        block.eval()
        block.mlp.fc1 = torch.nn.Sequential(block.mlp.fc1)  # e.g. an adapter around the layer
        assert not block.fused_inference(x)


@pytest.mark.gpu
def test_the_released_size_attention_runs_on_the_flash_or_memory_efficient_kernels_on_cuda():
    """EVA-ViT-g's heads (16 of width 88) under bf16 autocast qualify for SDPA's flash or
    memory-efficient kernels: with the math kernel ruled out, a kernel that cannot take them raises."""
    from cosmos_embed.model.dims import FULL_VIT
    from torch.nn.attention import SDPBackend, sdpa_kernel

    torch.manual_seed(0)
    block = Block(FULL_VIT, None, False).cuda().eval()
    x = torch.randn(2, 257, FULL_VIT.width, device="cuda")
    with torch.no_grad():
        reference = composed(block, x)  # fp32
        with torch.autocast("cuda", dtype=torch.bfloat16):
            assert not block.fused_inference(x)  # the composed forward, whose attention is SDPA
            with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
                fast = block(x)
    cosine = torch.nn.functional.cosine_similarity(fast.float(), reference, dim=-1)
    assert cosine.min() >= 0.999
