"""The DiT's building blocks against hand computations of the reference's formulas."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from cosmos_transfer.model.attention import Attention
from cosmos_transfer.model.blocks import MLPSubBlock
from cosmos_transfer.model.config import BASE_7B, BASE_TINY, CONTROL_7B
from cosmos_transfer.model.dit import VideoDiT
from cosmos_transfer.model.embeddings import PatchEmbed, SinusoidalTimesteps
from cosmos_transfer.model.position import LearnablePosEmbAxis, VideoRope3D, apply_rotary


def _rope(config, **kwargs) -> VideoRope3D:
    return VideoRope3D(
        head_dim=config.head_dim,
        len_h=120,
        len_w=120,
        len_t=128,
        h_extrapolation_ratio=config.rope_h_extrapolation_ratio,
        w_extrapolation_ratio=config.rope_w_extrapolation_ratio,
        t_extrapolation_ratio=config.rope_t_extrapolation_ratio,
        **kwargs,
    )


def test_patch_embed_is_a_strided_conv_with_the_reference_feature_order():
    # "(c r m n)" flattening = a Conv3d whose kernel is the Linear weight viewed as [out, c, r, m, n].
    embed = PatchEmbed(in_channels=5, out_channels=7, spatial=2, temporal=1)
    x = torch.randn(2, 5, 3, 4, 6)
    weight = embed.proj[1].weight.reshape(7, 5, 1, 2, 2)
    expected = F.conv3d(x, weight, stride=(1, 2, 2)).permute(0, 2, 3, 4, 1)
    torch.testing.assert_close(embed(x), expected)


def test_unpatchify_reads_features_as_p1_p2_t_c():
    net = VideoDiT(BASE_TINY)
    t, h, w = 2, 3, 4
    p1, p2, c = torch.meshgrid(torch.arange(2), torch.arange(2), torch.arange(16), indexing="ij")
    feature_code = (p1 * 1000 + p2 * 100 + c).flatten().float()  # the (p1 p2 t C) order, t = 1
    tokens = torch.arange(t * h * w).float()[:, None] * 10_000 + feature_code[None, :]
    video = net.unpatchify(tokens[None], (t, h, w))
    assert video.shape == (1, 16, t, 2 * h, 2 * w)
    # Output pixel (c, t, 2h'+p1, 2w'+p2) comes from token (t, h', w') and feature (p1, p2, c).
    token = (1 * h + 2) * w + 3
    assert video[0, 5, 1, 2 * 2 + 1, 2 * 3 + 0] == token * 10_000 + 1 * 1000 + 0 * 100 + 5


def test_rope_frequencies_ntk_scaling_and_fps():
    base, control = _rope(BASE_7B), _rope(CONTROL_7B)
    assert (base.dim_t, base.dim_h, base.dim_w) == (44, 42, 42)
    assert base.t_ntk_factor == pytest.approx(2 ** (44 / 42)) and control.t_ntk_factor == 1.0
    assert 10000 * base.t_ntk_factor == pytest.approx(20671, abs=1)  # layout §1
    angles = base(4, 3, 5, fps=torch.tensor([24.0]))
    assert angles.shape == (4 * 3 * 5, 128)
    t, h, w = 3, 2, 4
    row = angles[(t * 3 + h) * 5 + w]
    theta_t = 10000 * 2 ** (44 / 42)
    expected_t = torch.tensor([t / theta_t ** (2 * i / 44) for i in range(22)])
    expected_h = torch.tensor([h / 10000 ** (2 * i / 42) for i in range(21)])
    expected_w = torch.tensor([w / 10000 ** (2 * i / 42) for i in range(21)])
    half = torch.cat([expected_t, expected_h, expected_w])
    torch.testing.assert_close(row, torch.cat([half, half]), rtol=1e-5, atol=1e-6)
    # fps 12 doubles temporal positions (t * 24 / fps); spatial angles are unchanged.
    slow = base(4, 3, 5, fps=torch.tensor([12.0]))
    torch.testing.assert_close(slow[(t * 3 + h) * 5 + w, :22], 2 * expected_t, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(slow[:, 22:64], angles[:, 22:64])
    with pytest.raises(ValueError, match="one fps"):
        base(4, 3, 5, fps=torch.tensor([24.0, 12.0]))
    with pytest.raises(ValueError, match="exceeds"):
        base(4, 121, 5)


def test_rotary_rotates_dim_pairs_i_and_i_plus_half():
    x = torch.randn(1, 3, 2, 8)
    angles = torch.randn(3, 4).repeat(1, 2)
    out = apply_rotary(x, angles)
    i = 1
    cos, sin = angles[:, i].cos(), angles[:, i].sin()
    a, b = x[0, :, :, i], x[0, :, :, i + 4]
    torch.testing.assert_close(out[0, :, :, i], a * cos[:, None] - b * sin[:, None])
    torch.testing.assert_close(out[0, :, :, i + 4], b * cos[:, None] + a * sin[:, None])


def test_attention_is_qk_rmsnormed_rotary_softmax_attention():
    torch.manual_seed(0)
    attention = Attention(query_dim=16, context_dim=None, heads=2, head_dim=8)
    for norm in (attention.to_q[1], attention.to_k[1]):
        torch.nn.init.uniform_(norm.weight, 0.5, 1.5)
    x = torch.randn(2, 5, 16)
    angles = torch.randn(5, 4).repeat(1, 2)

    def heads(t):
        return t.reshape(2, 5, 2, 8)

    def rms(t, weight):
        return t / torch.sqrt(t.pow(2).mean(-1, keepdim=True) + 1e-6) * weight

    q = apply_rotary(rms(heads(x @ attention.to_q[0].weight.T), attention.to_q[1].weight), angles)
    k = apply_rotary(rms(heads(x @ attention.to_k[0].weight.T), attention.to_k[1].weight), angles)
    v = heads(x @ attention.to_v[0].weight.T)
    scores = torch.einsum("blhd,bmhd->bhlm", q, k) / math.sqrt(8)
    out = torch.einsum("bhlm,bmhd->blhd", scores.softmax(-1), v).reshape(2, 5, 16)
    torch.testing.assert_close(attention(x, rope_angles=angles), out @ attention.to_out[0].weight.T)


def test_cross_attention_ignores_rotary_angles():
    attention = Attention(query_dim=16, context_dim=12, heads=2, head_dim=8)
    x, context = torch.randn(1, 5, 16), torch.randn(1, 7, 12)
    torch.testing.assert_close(attention(x, context, torch.randn(5, 8)), attention(x, context))


def test_learnable_axis_embedding_is_unit_rms_sum_of_the_cropped_tables():
    embedding = LearnablePosEmbAxis(model_channels=32, len_h=6, len_w=6, len_t=4)
    out = embedding(2, 3, 4)
    assert out.shape == (1, 24, 32)
    torch.testing.assert_close(out.pow(2).mean(-1), torch.ones(1, 24), rtol=1e-4, atol=1e-4)
    raw = embedding.pos_emb_t[1] + embedding.pos_emb_h[2] + embedding.pos_emb_w[3]
    torch.testing.assert_close(out[0, (1 * 3 + 2) * 4 + 3], raw / (1e-6 + raw.norm() / math.sqrt(32)))


def test_sinusoidal_timesteps():
    out = SinusoidalTimesteps(8)(torch.tensor([0.5, -2.0]))
    frequencies = torch.exp(-math.log(10000) * torch.arange(4) / 4)
    torch.testing.assert_close(out[1], torch.cat([torch.cos(-2.0 * frequencies), torch.sin(-2.0 * frequencies)]))


def test_gated_sub_block_formula():
    torch.manual_seed(0)
    block = MLPSubBlock(model_channels=8, hidden=32, lora_dim=4)
    torch.nn.init.normal_(block.adaLN_modulation[2].weight)
    x, emb, lora = torch.randn(2, 5, 8), torch.randn(2, 8), torch.randn(2, 24)
    shift, scale, gate = (block.adaLN_modulation(emb) + lora).chunk(3, dim=1)
    normed = F.layer_norm(x, (8,), eps=1e-6) * (1 + scale[:, None]) + shift[:, None]
    mlp = F.gelu(normed @ block.block.layer1.weight.T) @ block.block.layer2.weight.T
    torch.testing.assert_close(block(x, emb, lora, None, None), x + gate[:, None] * mlp)
