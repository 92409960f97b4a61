"""The TorchScript tokenizer wrapper, with a small scripted encoder/decoder pair saved by the test."""

from __future__ import annotations

import pytest
import torch
from cosmos_transfer.tokenizer.interface import VideoTokenizer
from cosmos_transfer.tokenizer.jit import JITVideoTokenizer, TokenizerFilesError
from torch import nn

CHUNK = 9  # 1 + 8: a chunk of 9 pixel frames is 2 latent frames


class ScriptedEncoder(nn.Module):
    """Causal 8x8x8 average pooling, a fixed 1x1x1 projection to 16 channels; returns a tuple, like the
    released encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv3d(3, 16, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        padded = torch.cat([x[:, :, :1].expand(-1, -1, 7, -1, -1), x], dim=2)
        b, c, t, h, w = padded.shape
        pooled = padded.reshape(b, c, t // 8, 8, h // 8, 8, w // 8, 8).mean(dim=(3, 5, 7))
        latent = self.proj(pooled)
        return latent, torch.zeros_like(latent)


class ScriptedDecoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv3d(16, 3, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        up = self.proj(z).repeat_interleave(8, dim=2).repeat_interleave(8, dim=3).repeat_interleave(8, dim=4)
        return up[:, :, 7:]


@pytest.fixture
def tokenizer_dir(tmp_path):
    torch.manual_seed(0)
    torch.jit.script(ScriptedEncoder()).save(str(tmp_path / "encoder.jit"))
    torch.jit.script(ScriptedDecoder()).save(str(tmp_path / "decoder.jit"))
    # Per channel and latent-frame index, more frames than one chunk needs (the loader cuts them).
    mean = torch.arange(16 * 5, dtype=torch.float32).reshape(16, 5) / 100
    std = 1 + torch.arange(16 * 5, dtype=torch.float32).reshape(16, 5) / 50
    torch.save((mean.flatten(), std.flatten()), tmp_path / "mean_std.pt")
    return tmp_path


def _load(directory, **kwargs) -> JITVideoTokenizer:
    return JITVideoTokenizer.from_directory(directory, pixel_chunk_duration=CHUNK, dtype=torch.float32, **kwargs)


def test_encode_chunks_and_normalises_per_channel_and_frame(tokenizer_dir):
    tokenizer = _load(tokenizer_dir)
    assert isinstance(tokenizer, VideoTokenizer)
    assert tokenizer.latent_chunk_duration == 2 and tokenizer.latent_num_frames(2 * CHUNK) == 4
    video = torch.rand(2, 3, 2 * CHUNK, 16, 24) * 2 - 1
    latent = tokenizer.encode(video)
    assert latent.shape == (2, 16, 4, 2, 3)
    encoder = torch.jit.load(str(tokenizer_dir / "encoder.jit"))
    mean, std = torch.load(tokenizer_dir / "mean_std.pt")
    mean, std = mean.reshape(16, 5)[:, :2], std.reshape(16, 5)[:, :2]
    for chunk in range(2):
        raw = encoder(video[:, :, chunk * CHUNK : (chunk + 1) * CHUNK])[0]
        expected = (raw - mean[None, :, :, None, None]) / std[None, :, :, None, None]
        torch.testing.assert_close(latent[:, :, 2 * chunk : 2 * chunk + 2], expected)


def test_decode_inverts_the_normalisation_chunk_by_chunk(tokenizer_dir):
    tokenizer = _load(tokenizer_dir)
    latent = torch.randn(1, 16, 4, 2, 3)
    video = tokenizer.decode(latent)
    assert video.shape == (1, 3, 2 * CHUNK, 16, 24)
    decoder = torch.jit.load(str(tokenizer_dir / "decoder.jit"))
    expected = decoder(latent[:, :, 2:] * tokenizer.latent_std + tokenizer.latent_mean)
    torch.testing.assert_close(video[:, :, CHUNK:], expected)


def test_batches_are_split_as_configured(tokenizer_dir):
    tokenizer = _load(tokenizer_dir)
    tokenizer.max_encode_batch = tokenizer.max_decode_batch = 1
    video = torch.rand(2, 3, 2 * CHUNK, 8, 8)
    torch.testing.assert_close(tokenizer.encode(video), _load(tokenizer_dir).encode(video))


def test_frozen_in_the_configured_dtype(tokenizer_dir):
    tokenizer = JITVideoTokenizer.from_directory(tokenizer_dir, pixel_chunk_duration=CHUNK)
    assert all(p.dtype == torch.bfloat16 and not p.requires_grad for p in tokenizer.encoder.parameters())
    assert tokenizer.latent_mean.dtype == torch.bfloat16
    assert tokenizer.encode(torch.rand(1, 3, CHUNK, 8, 8)).dtype == torch.float32


def test_missing_files_and_bad_frame_counts(tmp_path, tokenizer_dir):
    (tmp_path / "partial").mkdir()
    with pytest.raises(TokenizerFilesError, match="encoder.jit, decoder.jit, mean_std.pt"):
        _load(tmp_path / "partial")
    with pytest.raises(ValueError, match="multiple"):
        _load(tokenizer_dir).encode(torch.rand(1, 3, CHUNK + 1, 8, 8))
