from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from cosmos_embed.losses import (
    LOGIT_SCALE_MAX,
    captioning_loss,
    clip_loss,
    contrastive_loss,
    matching_loss,
    siglip_loss,
)
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset

DEC, PAD = 545, 0


def _unit(rows: int, dim: int = 8, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_logit_scale_ceiling():
    assert pytest.approx(math.log(100)) == LOGIT_SCALE_MAX


def test_clip_loss_matches_a_hand_computed_reference():
    video, text = _unit(4, seed=0), _unit(4, seed=1)
    scale = torch.tensor(math.log(1 / 0.07))
    logits = [[math.exp(scale.item()) * float(video[i] @ text[j]) for j in range(4)] for i in range(4)]

    def nll(row: list[float], target: int) -> float:
        return -(row[target] - math.log(sum(math.exp(x) for x in row)))

    v2t = sum(nll(logits[i], i) for i in range(4)) / 4
    t2v = sum(nll([logits[j][i] for j in range(4)], i) for i in range(4)) / 4
    assert clip_loss(video, text, scale).item() == pytest.approx((v2t + t2v) / 2, rel=1e-5)


def test_siglip_sign_convention_and_formula():
    text = _unit(4, seed=1)
    scale, bias = torch.tensor(math.log(10.0)), torch.tensor(-10.0)
    matched = siglip_loss(text.clone(), text, scale, bias)
    shuffled = siglip_loss(text[[1, 2, 3, 0]], text, scale, bias)
    assert matched < shuffled  # aligned pairs are rewarded, mismatched ones punished
    logits = 10.0 * text @ text.t() - 10.0
    signs = 2 * torch.eye(4) - 1
    reference = -sum(math.log(torch.sigmoid(signs[i, j] * logits[i, j]).item()) for i in range(4) for j in range(4)) / 4
    assert matched.item() == pytest.approx(reference, rel=1e-5)


def test_losses_take_the_best_query_for_identity_pooling():
    text = _unit(3, seed=1)
    video = torch.stack([_unit(4, seed=5 + i) for i in range(3)])  # [B, Q, E]
    video[:, 2] = text  # one query per video matches its caption exactly
    best = clip_loss(video, text, torch.tensor(math.log(50.0)))
    assert best < clip_loss(video[:, :2], text, torch.tensor(math.log(50.0)))


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_gathered_loss_equals_the_full_batch_loss_and_gradient(kind):
    """Two simulated ranks: each sees its half locally and the all-gathered batch through ``gather``."""
    torch.manual_seed(0)
    encoder = torch.nn.Linear(6, 8)
    video_in, text_in = torch.randn(6, 6), torch.randn(6, 6)
    scale, bias = torch.tensor(2.0, requires_grad=True), torch.tensor(-1.0, requires_grad=True)

    def features(x: torch.Tensor) -> torch.Tensor:
        return F.normalize(encoder(x), dim=-1)

    wrt = [encoder.weight, encoder.bias, scale] + ([bias] if kind == "siglip" else [])
    full = contrastive_loss(kind, features(video_in), features(text_in), scale, bias)
    full_grads = torch.autograd.grad(full, wrt)

    world = 2
    video_parts, text_parts = features(video_in).chunk(world), features(text_in).chunk(world)
    rank_losses = []
    for rank in range(world):

        def gather(local: torch.Tensor, rank: int = rank) -> torch.Tensor:
            # all_gather with gradient: rank order, this rank's own tensor in its slot; the other slots
            # carry the other ranks' graphs, standing in for the reduce-scatter of the backward pass.
            parts = video_parts if any(local is p for p in video_parts) else text_parts
            return torch.cat([local if i == rank else parts[i] for i in range(world)])

        rank_losses.append(contrastive_loss(kind, video_parts[rank], text_parts[rank], scale, bias, gather))
    for loss in rank_losses:
        assert loss.item() == pytest.approx(full.item(), rel=1e-6)
    ddp_mean = torch.stack(rank_losses).mean()  # DDP averages the ranks' gradients
    ddp_grads = torch.autograd.grad(ddp_mean, wrt)
    for got, expected in zip(ddp_grads, full_grads, strict=True):
        torch.testing.assert_close(got, expected)


def test_identity_gather_changes_nothing():
    video, text = _unit(5, seed=2), _unit(5, seed=3)
    scale = torch.tensor(3.0)
    assert clip_loss(video, text, scale, gather=lambda t: t) == clip_loss(video, text, scale)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = CosmosEmbed1(preset("tiny")).eval()
    generator = torch.Generator().manual_seed(3)
    videos = torch.randint(0, 256, (3, 8, 3, 64, 64), dtype=torch.uint8, generator=generator)
    input_ids = torch.randint(5, 545, (3, 32), generator=generator)
    input_ids[:, 0] = 2
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 10:] = 0
    input_ids[2, 10:] = PAD
    return model, videos, input_ids, attention_mask


def test_captioning_loss_replaces_cls_and_ignores_padding(tiny):
    model, videos, input_ids, attention_mask = tiny
    queries = model.get_video_embeddings(videos).visual_query_output
    loss = captioning_loss(model, queries, input_ids, attention_mask, DEC, PAD)
    assert torch.isfinite(loss)
    other_first = input_ids.clone()
    other_first[:, 0] = 7  # replaced by [DEC] anyway
    assert captioning_loss(model, queries, other_first, attention_mask, DEC, PAD) == loss

    decoder_ids = input_ids.clone()
    decoder_ids[:, 0] = DEC
    logits = model.caption_logits(queries, decoder_ids, attention_mask)
    keep = attention_mask[:, 1:].bool()
    reference = F.cross_entropy(logits[:, :-1][keep], decoder_ids[:, 1:][keep], label_smoothing=0.1)
    torch.testing.assert_close(loss, reference)


def test_captioning_is_causal(tiny):
    model, videos, input_ids, attention_mask = tiny
    queries = model.get_video_embeddings(videos).visual_query_output
    changed = input_ids.clone()
    changed[:, 20] = 9
    before = model.caption_logits(queries, input_ids, attention_mask)
    after = model.caption_logits(queries, changed, attention_mask)
    torch.testing.assert_close(before[:, :20], after[:, :20])  # earlier positions cannot see token 20
    assert not torch.allclose(before[:, 20:], after[:, 20:])


def test_matching_loss_is_finite_with_gradients(tiny):
    model, videos, input_ids, attention_mask = tiny
    out = model(videos, input_ids, attention_mask)
    loss = matching_loss(
        model,
        out.visual_query_output,
        input_ids,
        attention_mask,
        out.visual_proj,
        out.text_proj,
        model.logit_scale,
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.isfinite(loss)
    loss.backward()
    assert model.itm_proj.weight.grad is not None and model.itm_proj.weight.grad.abs().sum() > 0
    model.zero_grad()
    with pytest.raises(ValueError, match="at least 2"):
        matching_loss(
            model,
            out.visual_query_output[:1],
            input_ids[:1],
            attention_mask[:1],
            out.visual_proj[:1],
            out.text_proj[:1],
            model.logit_scale,
        )


def test_contrastive_losses_have_gradients(tiny):
    model, videos, input_ids, attention_mask = tiny
    for kind in ("clip", "siglip"):
        model.zero_grad()
        out = model(videos, input_ids, attention_mask)
        loss = contrastive_loss(kind, out.visual_proj, out.text_proj, model.logit_scale, model.logit_bias)
        assert torch.isfinite(loss)
        loss.backward()
        assert model.logit_scale.grad is not None and model.vision_proj.weight.grad.abs().sum() > 0
        assert (model.logit_bias.grad is not None) == (kind == "siglip")
    with pytest.raises(ValueError, match="clip or siglip"):
        contrastive_loss("triplet", out.visual_proj, out.text_proj, model.logit_scale, model.logit_bias)
