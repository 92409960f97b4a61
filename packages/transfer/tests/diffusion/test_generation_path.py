"""Sampling through the tiny Transfer1 networks: condition frames at inference, control weight, guidance."""

from __future__ import annotations

import pytest
import torch
from cosmos_transfer.diffusion.denoise import inference_x0_fn
from cosmos_transfer.diffusion.sampler import guided_x0_fn, sample
from cosmos_transfer.diffusion.video_conditioning import condition_frames
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY
from cosmos_transfer.model.networks import TransferNetworks
from torch import nn


@pytest.fixture(scope="module")
def networks() -> TransferNetworks:
    torch.manual_seed(0)
    networks = TransferNetworks(BASE_TINY, CONTROL_TINY)
    networks.initialize_control_from_base()
    for linear in [*networks.net.zero_blocks.values(), networks.net.input_hint_block[-1]]:
        nn.init.normal_(linear.weight, std=0.05)  # a "trained" branch: non-zero residuals
    return networks.eval()


def _network(networks, context, hint, control_weight):
    def network(x, c_noise, mask):
        fps = torch.full((x.shape[0],), 24.0)
        return networks(
            x, c_noise, context, hint, fps=fps, condition_video_input_mask=mask, control_weight=control_weight
        )

    return network


@pytest.fixture
def inputs():
    generator = torch.Generator().manual_seed(0)
    return {
        "context": torch.randn(1, 8, 1024, generator=generator),
        "hint": torch.randn(1, 16, 3, 8, 8, generator=generator),
        "gt": torch.randn(1, 16, 3, 8, 8, generator=generator) * 0.5,
        "noise": torch.randn(1, 16, 3, 8, 8, generator=generator) * 80,
    }


def test_sampling_keeps_the_condition_frame_and_uses_the_control_weight(networks, inputs):
    frames = condition_frames(inputs["gt"], 1)
    augment_noise = torch.zeros_like(inputs["gt"])

    def run(control_weight, hint=inputs["hint"]):
        network = _network(networks, inputs["context"], hint, control_weight)
        x0_fn = inference_x0_fn(network, frames, augment_noise=augment_noise)
        return sample(x0_fn, inputs["noise"], num_steps=4)

    controlled, off, no_hint = run(1.0), run(0.0), run(1.0, hint=None)
    assert controlled.shape == (1, 16, 3, 8, 8) and torch.isfinite(controlled).all()
    # sigma never falls to the augment sigma (0.001 < 0.002), so the condition frame is the clean latent.
    torch.testing.assert_close(controlled[:, :, :1], inputs["gt"][:, :, :1])
    torch.testing.assert_close(off, no_hint)
    assert (controlled - off)[:, :, 1:].abs().max() > 1e-3
    with pytest.raises(ValueError, match="augment_noise"):
        inference_x0_fn(_network(networks, inputs["context"], inputs["hint"], 1.0), frames)


def test_guidance_mixes_the_text_and_no_text_predictions(networks, inputs):
    frames = condition_frames(torch.zeros_like(inputs["gt"]), 0)  # pure generation, as transfer.py without video
    noise = torch.zeros_like(inputs["gt"])
    cond = inference_x0_fn(_network(networks, inputs["context"], inputs["hint"], 1.0), frames, augment_noise=noise)
    uncond_network = _network(networks, torch.zeros_like(inputs["context"]), inputs["hint"], 1.0)
    uncond = inference_x0_fn(uncond_network, frames, augment_noise=noise)
    x, sigma = inputs["noise"], torch.full((1,), 80.0)
    with torch.no_grad():
        guided = guided_x0_fn(cond, uncond, guidance=5.0)(x, sigma)
        torch.testing.assert_close(guided, 6 * cond(x, sigma) - 5 * uncond(x, sigma))
