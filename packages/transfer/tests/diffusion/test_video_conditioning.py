"""Condition frames of the lvg experiments: indicator, mask channel, augmented input, replacement."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from cosmos_transfer.diffusion.edm import edm_scalings
from cosmos_transfer.diffusion.video_conditioning import (
    augmented_condition_latent,
    compose_network_input,
    condition_frames,
    for_inference_step,
    replace_condition_region,
    sample_augment_sigma,
    sample_num_condition_frames,
)


@pytest.fixture
def latent() -> torch.Tensor:
    return torch.randn(2, 4, 5, 3, 3, generator=torch.Generator().manual_seed(0))


def test_first_n_frames_are_marked(latent):
    frames = condition_frames(latent, 2)
    assert frames.indicator.shape == (1, 1, 5, 1, 1)
    assert frames.indicator.flatten().tolist() == [1, 1, 0, 0, 0]
    assert frames.input_mask.shape == (2, 1, 5, 3, 3)
    assert frames.input_mask[:, :, :2].min() == 1 and frames.input_mask[:, :, 2:].max() == 0
    unconditional = condition_frames(latent, 2, video_cond_bool=False)
    assert unconditional.input_mask.abs().max() == 0 and unconditional.indicator.sum() == 2
    with pytest.raises(ValueError, match="0..5"):
        condition_frames(latent, 6)


def test_number_of_condition_frames_is_uniform_over_0_to_2():
    generator = torch.Generator().manual_seed(0)
    counts = Counter(sample_num_condition_frames(generator=generator) for _ in range(3000))
    assert set(counts) == {0, 1, 2}
    assert all(abs(n / 3000 - 1 / 3) < 0.04 for n in counts.values())


def test_augment_sigma_distribution():
    log_sigma = sample_augment_sigma(40_000, generator=torch.Generator().manual_seed(1)).log()
    assert log_sigma.mean().item() == pytest.approx(-3.0, abs=0.05)
    assert log_sigma.std().item() == pytest.approx(2.0, abs=0.05)


def test_augmented_latent_reads_as_preconditioned_at_its_own_sigma(latent):
    augment_sigma, sigma = torch.tensor([0.05, 1.0]), torch.tensor([3.0, 20.0])
    noise = torch.randn_like(latent)
    out = augmented_condition_latent(latent, augment_sigma, noise, sigma)
    # After the network's c_in(sigma): (gt + sigma_aug * noise) * c_in(sigma_aug).
    c_in = edm_scalings(sigma).c_in.reshape(2, 1, 1, 1, 1)
    expected = (latent + augment_sigma.reshape(2, 1, 1, 1, 1) * noise) / torch.sqrt(
        augment_sigma.reshape(2, 1, 1, 1, 1) ** 2 + 0.25
    )
    torch.testing.assert_close(out * c_in, expected)
    assert out[1, 0, 0, 0, 0].item() == pytest.approx(
        (latent[1, 0, 0, 0, 0] + noise[1, 0, 0, 0, 0]).item() / math.sqrt(1.25) * math.sqrt(400.25), rel=1e-5
    )


def test_compose_and_replace(latent):
    frames = condition_frames(latent, 1)
    augmented, x_t = torch.full_like(latent, 7.0), torch.full_like(latent, -1.0)
    composed = compose_network_input(frames, augmented, x_t)
    assert composed[:, :, 0].unique().tolist() == [7.0] and composed[:, :, 1:].unique().tolist() == [-1.0]
    dropped = compose_network_input(condition_frames(latent, 1, video_cond_bool=False), augmented, x_t)
    assert dropped[:, :, 0].unique().tolist() == [0.0]  # zero_condition_region_condition_mask
    replaced = replace_condition_region(frames, torch.zeros_like(latent))
    torch.testing.assert_close(replaced[:, :, 0], latent[:, :, 0])
    assert replaced[:, :, 1:].abs().max() == 0


def test_inference_drops_the_condition_once_sigma_reaches_the_augment_sigma(latent):
    frames = condition_frames(latent, 2)
    assert for_inference_step(frames, 0.001, torch.tensor([0.5, 0.5])) is frames
    late = for_inference_step(frames, 0.001, torch.tensor([0.001, 0.001]))
    assert late.indicator.abs().max() == 0
    assert torch.equal(late.input_mask, frames.input_mask)  # the mask channel stays, as in the reference
