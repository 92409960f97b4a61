"""The built-in video autoencoder: the tokenizer's frame arithmetic, causality, normalisation, and that it
learns to reconstruct the generated sample videos."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cosmos_datasets.samples import SAMPLE_CLASSES, render_clip
from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder
from cosmos_transfer.tokenizer.interface import (
    VideoTokenizer,
    causal_latent_frames,
    causal_pixel_frames,
    uint8_to_unit_range,
    unit_range_to_uint8,
)
from cosmos_transfer.tokenizer.training import fit_latent_statistics, reconstruction_error, train_autoencoder


def test_causal_frame_arithmetic():
    assert causal_latent_frames(121, 8) == 16 and causal_pixel_frames(16, 8) == 121
    assert causal_latent_frames(17, 8) == 3 and causal_latent_frames(1, 8) == 1
    with pytest.raises(ValueError, match="1 \\+ 8k"):
        causal_latent_frames(16, 8)


def test_shapes_match_the_720p_tokenizer_contract():
    torch.manual_seed(0)
    autoencoder = VideoAutoencoder()
    assert isinstance(autoencoder, VideoTokenizer)
    latent = autoencoder.encode(torch.zeros(1, 3, 121, 16, 16))
    assert latent.shape == (1, 16, 16, 2, 2)  # 121 frames -> 16 latent frames, 8x spatial
    assert autoencoder.decode(latent).shape == (1, 3, 121, 16, 16)
    assert autoencoder.encode(torch.zeros(2, 3, 17, 64, 64)).shape == (2, 16, 3, 8, 8)
    with pytest.raises(ValueError, match="multiple of 8"):
        autoencoder.encode(torch.zeros(1, 3, 17, 12, 16))


def test_encoder_is_causal_in_time():
    torch.manual_seed(0)
    autoencoder = VideoAutoencoder()
    video = torch.rand(1, 3, 17, 16, 16)
    later = video.clone()
    later[:, :, 9:] = torch.rand(1, 3, 8, 16, 16)
    with torch.no_grad():
        a, b = autoencoder.encode(video), autoencoder.encode(later)
    torch.testing.assert_close(a[:, :, :2], b[:, :, :2])  # frames 0 and 1..8 do not see frames 9..16
    assert (a[:, :, 2] - b[:, :, 2]).abs().max() > 0


def test_latent_statistics_normalise_and_are_saved():
    torch.manual_seed(0)
    autoencoder = VideoAutoencoder()
    videos = torch.rand(3, 3, 9, 16, 16) * 2 - 1
    fit_latent_statistics(autoencoder, videos)
    with torch.no_grad():
        latent = autoencoder.encode(videos)
    per_channel = latent.transpose(0, 1).reshape(16, -1)
    torch.testing.assert_close(per_channel.mean(1), torch.zeros(16), atol=1e-4, rtol=0)
    torch.testing.assert_close(per_channel.std(1), torch.ones(16), atol=1e-4, rtol=0)
    with torch.no_grad():
        torch.testing.assert_close(autoencoder.decode(latent), autoencoder.decode_raw(autoencoder.encode_raw(videos)))
    restored = VideoAutoencoder()
    restored.load_state_dict(autoencoder.state_dict())
    assert torch.equal(restored.latent_std, autoencoder.latent_std)


def test_unit_range_conversions():
    frames = torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)
    assert uint8_to_unit_range(frames)[0] == -1 and uint8_to_unit_range(frames)[-1] == 1
    assert torch.equal(unit_range_to_uint8(uint8_to_unit_range(frames)), frames)


def test_learns_to_reconstruct_the_sample_videos():
    rng = np.random.default_rng(0)
    clips = np.stack([render_clip(cls, frames=9, size=(32, 32), rng=rng) for cls in SAMPLE_CLASSES for _ in range(2)])
    videos = uint8_to_unit_range(torch.from_numpy(clips).permute(0, 4, 1, 2, 3))
    # What a model that only knew each clip's average colour would score.
    colour_only = (videos - videos.mean(dim=(2, 3, 4), keepdim=True)).pow(2).mean().item()
    torch.manual_seed(0)
    autoencoder = VideoAutoencoder()
    before = reconstruction_error(autoencoder, videos)
    losses = train_autoencoder(autoencoder, videos, steps=150, generator=torch.Generator().manual_seed(0))
    after = reconstruction_error(autoencoder, videos)
    assert len(losses) == 150
    assert after < 0.25 * before
    assert after < colour_only  # it reconstructs where the shape is, not just the colours
