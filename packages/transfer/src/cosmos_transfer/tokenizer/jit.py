"""The released Cosmos-Tokenize1-CV8x8x8-720p tokenizer: TorchScript ``encoder.jit`` / ``decoder.jit`` +
``mean_std.pt``.

Reference: ``training/modules/pretrained_vae.py::VideoJITTokenizer`` as configured by
``config/training/tokenizer.py`` (``latent_ch=16``, 8x8x8, ``pixel_chunk_duration=121``, bf16, at most 8
chunks encoded and 4 decoded per call):

- clips are cut into chunks of ``pixel_chunk_duration`` frames (T must be a multiple), encoded separately
  and concatenated, so 121 frames give one 16-frame latent chunk;
- the encoder returns a tensor or a tuple whose first element is the latent;
- ``mean_std.pt`` holds ``(mean, std)``; each is viewed as ``[16, -1]`` and cut to the latent chunk length,
  so the statistics are per channel and per latent-frame index ``[1, 16, 16, 1, 1]``, applied to every
  chunk: encode returns ``(z - mean) / std``, decode takes ``z * std + mean``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from cosmos_core.errors import UserInputError
from torch import nn

from cosmos_transfer.tokenizer.interface import causal_latent_frames

ENCODER_FILE = "encoder.jit"
DECODER_FILE = "decoder.jit"
MEAN_STD_FILE = "mean_std.pt"


class TokenizerFilesError(UserInputError, FileNotFoundError):
    """Tokenizer files missing or unreadable."""


class JITVideoTokenizer(nn.Module):
    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        latent_mean: torch.Tensor,
        latent_std: torch.Tensor,
        *,
        pixel_chunk_duration: int = 121,
        latent_channels: int = 16,
        spatial_compression: int = 8,
        temporal_compression: int = 8,
        dtype: torch.dtype = torch.bfloat16,
        max_encode_batch: int = 8,
        max_decode_batch: int = 4,
    ) -> None:
        super().__init__()
        self.latent_channels = latent_channels
        self.spatial_compression = spatial_compression
        self.temporal_compression = temporal_compression
        self.pixel_chunk_duration = pixel_chunk_duration
        self.latent_chunk_duration = causal_latent_frames(pixel_chunk_duration, temporal_compression)
        self.dtype = dtype
        self.max_encode_batch = max_encode_batch
        self.max_decode_batch = max_decode_batch
        self.encoder = _frozen(encoder, dtype)
        self.decoder = _frozen(decoder, dtype)
        shape = (1, latent_channels, self.latent_chunk_duration, 1, 1)
        self.register_buffer("latent_mean", self._statistic(latent_mean, shape), persistent=False)
        self.register_buffer("latent_std", self._statistic(latent_std, shape), persistent=False)

    def _statistic(self, values: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        per_frame = values.reshape(self.latent_channels, -1)
        if per_frame.shape[1] < self.latent_chunk_duration:
            raise ValueError(
                f"mean_std.pt holds {per_frame.shape[1]} latent frames per channel, the chunk needs "
                f"{self.latent_chunk_duration}"
            )
        return per_frame[:, : self.latent_chunk_duration].reshape(shape).to(self.dtype)

    @classmethod
    def from_directory(
        cls,
        directory: str | Path,
        *,
        pixel_chunk_duration: int = 121,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.bfloat16,
    ) -> JITVideoTokenizer:
        """Load ``encoder.jit``, ``decoder.jit`` and ``mean_std.pt`` from ``directory``."""
        directory = Path(directory)
        missing = [name for name in (ENCODER_FILE, DECODER_FILE, MEAN_STD_FILE) if not (directory / name).is_file()]
        if missing:
            raise TokenizerFilesError(
                f"tokenizer directory {str(directory)!r} lacks {', '.join(missing)} (Cosmos-Tokenize1-CV8x8x8-720p)"
            )
        try:
            encoder = torch.jit.load(str(directory / ENCODER_FILE), map_location=device)
            decoder = torch.jit.load(str(directory / DECODER_FILE), map_location=device)
            statistics = torch.load(directory / MEAN_STD_FILE, map_location=device, weights_only=True)
        except (RuntimeError, ValueError, OSError, pickle.UnpicklingError) as err:
            raise TokenizerFilesError(f"cannot load the tokenizer in {str(directory)!r}: {err}") from err
        if not (isinstance(statistics, tuple | list) and len(statistics) == 2):
            raise TokenizerFilesError(f"{directory / MEAN_STD_FILE} must hold a (mean, std) pair")
        mean, std = statistics
        return cls(encoder, decoder, mean, std, pixel_chunk_duration=pixel_chunk_duration, dtype=dtype)

    def latent_num_frames(self, num_pixel_frames: int) -> int:
        if num_pixel_frames % self.pixel_chunk_duration:
            raise ValueError(f"{num_pixel_frames} frames is not a multiple of the chunk {self.pixel_chunk_duration}")
        return num_pixel_frames // self.pixel_chunk_duration * self.latent_chunk_duration

    @staticmethod
    def _to_chunks(x: torch.Tensor, chunk: int) -> torch.Tensor:
        b, c, t, h, w = x.shape
        if t % chunk:
            raise ValueError(f"{t} frames is not a multiple of the tokenizer chunk {chunk}")
        return x.reshape(b, c, t // chunk, chunk, h, w).transpose(1, 2).reshape(-1, c, chunk, h, w)

    @staticmethod
    def _from_chunks(x: torch.Tensor, batch: int) -> torch.Tensor:
        n, c, t, h, w = x.shape
        return x.reshape(batch, n // batch, c, t, h, w).transpose(1, 2).reshape(batch, c, -1, h, w)

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        dtype = video.dtype
        chunks = self._to_chunks(video, self.pixel_chunk_duration)
        latents = []
        for part in chunks.split(self.max_encode_batch):
            encoded = self.encoder(part.to(self.dtype))
            latent = encoded[0] if isinstance(encoded, tuple | list) else encoded
            latents.append((latent.to(dtype) - self.latent_mean.to(dtype)) / self.latent_std.to(dtype))
        return self._from_chunks(torch.cat(latents), video.shape[0])

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        dtype = latent.dtype
        chunks = self._to_chunks(latent, self.latent_chunk_duration)
        videos = []
        for part in chunks.split(self.max_decode_batch):
            part = part * self.latent_std.to(dtype) + self.latent_mean.to(dtype)
            decoded = self.decoder(part.to(self.dtype)).to(dtype)
            if decoded.shape[2] != self.pixel_chunk_duration:
                raise ValueError(f"decoder returned {decoded.shape[2]} frames, expected {self.pixel_chunk_duration}")
            videos.append(decoded)
        return self._from_chunks(torch.cat(videos), latent.shape[0])


def _frozen(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module.to(dtype)
