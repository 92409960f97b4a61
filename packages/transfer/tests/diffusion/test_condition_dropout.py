"""Text dropout, hint sub-condition selection and hint encoding."""

from __future__ import annotations

import pytest
import torch
from cosmos_transfer.diffusion.condition_dropout import drop_text_embeddings, select_hint_conditions
from cosmos_transfer.diffusion.hint import encode_hint


def test_text_dropout_zeroes_whole_samples_at_rate_0_2():
    embeddings = torch.ones(10_000, 3, 4)
    dropped = drop_text_embeddings(embeddings, generator=torch.Generator().manual_seed(0))
    per_sample = dropped.sum(dim=(1, 2))
    assert set(per_sample.unique().tolist()) == {0.0, 12.0}  # a sample is kept or zeroed whole
    assert (per_sample == 0).float().mean().item() == pytest.approx(0.2, abs=0.015)
    assert torch.equal(drop_text_embeddings(embeddings[:5], rate=0.0), embeddings[:5])


def test_single_modality_hints_are_never_dropped():
    generator = torch.Generator().manual_seed(0)
    assert all(select_hint_conditions(1, training=True, generator=generator) == [True] for _ in range(100))


def test_multi_condition_hints_drop_at_rate_0_3_keeping_at_least_one():
    generator = torch.Generator().manual_seed(0)
    draws = [select_hint_conditions(3, training=True, generator=generator) for _ in range(4000)]
    assert all(any(draw) for draw in draws)
    kept = sum(sum(draw) for draw in draws) / (3 * len(draws))
    # P(keep) = 0.7, plus the forced keep when all three were dropped (0.3^3, one of three).
    assert kept == pytest.approx(0.7 + 0.027 / 3, abs=0.015)
    assert select_hint_conditions(2, training=False, hint_mask=[False, True]) == [False, True]
    assert select_hint_conditions(2, training=False) == [True, True]
    with pytest.raises(ValueError, match="hint_mask"):
        select_hint_conditions(2, training=False, hint_mask=[True])


def test_encode_hint_encodes_each_condition_and_scales_by_sigma_data():
    calls = []

    def encode(rgb):
        calls.append(rgb.clone())
        return rgb[:, :1, ::2] * 10  # a fake tokenizer: 1 "latent" channel, 2x temporal

    hint = torch.stack([torch.full((2, 5, 4, 4), float(v)) for v in (0.1, 0.2, 0.3, -0.5, 0.5, 1.0)], dim=1)
    latent = encode_hint(encode, hint, [True, False])
    assert latent.shape == (2, 2, 3, 4, 4)
    torch.testing.assert_close(calls[0], hint[:, :3])
    assert calls[1].abs().max() == 0  # dropped condition: zeros
    torch.testing.assert_close(latent[:, 0], torch.full((2, 3, 4, 4), 0.1 * 10 * 0.5))
    gray = encode_hint(encode, hint[:, :3], [True], grayscale=True)
    torch.testing.assert_close(gray[:, 0], torch.full((2, 3, 4, 4), 0.2 * 10 * 0.5))
    with pytest.raises(ValueError, match="3-channel"):
        encode_hint(encode, hint[:, :4], [True])
