"""Training the built-in ``VideoAutoencoder`` on a few clips (the generated sample videos) and fitting its
latent normalisation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder

LEARNING_RATE = 3e-3
BATCH_SIZE = 4


def train_autoencoder(
    model: VideoAutoencoder,
    videos: torch.Tensor,
    steps: int,
    *,
    batch_size: int = BATCH_SIZE,
    learning_rate: float = LEARNING_RATE,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Adam on the pixel MSE of ``decode(encode(clip))`` over random batches of ``videos [N, 3, T, H, W]``
    in [-1, 1]; then fits the latent statistics. Returns the per-step losses."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    losses = []
    for _ in range(steps):
        batch = videos[torch.randint(videos.shape[0], (batch_size,), generator=generator)]
        loss = F.mse_loss(model.decode_raw(model.encode_raw(batch)), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    fit_latent_statistics(model, videos, batch_size=batch_size)
    return losses


@torch.no_grad()
def fit_latent_statistics(model: VideoAutoencoder, videos: torch.Tensor, *, batch_size: int = BATCH_SIZE) -> None:
    """Set ``latent_mean`` / ``latent_std`` to the per-channel statistics of the raw latents of ``videos``,
    so encoded latents have zero mean and unit variance per channel (what sigma_data = 0.5 assumes)."""
    latents = torch.cat([model.encode_raw(part) for part in videos.split(batch_size)])
    per_channel = latents.transpose(0, 1).reshape(model.latent_channels, -1)
    model.latent_mean.copy_(per_channel.mean(dim=1).reshape_as(model.latent_mean))
    model.latent_std.copy_(per_channel.std(dim=1).clamp_min(1e-6).reshape_as(model.latent_std))


@torch.no_grad()
def reconstruction_error(model: VideoAutoencoder, videos: torch.Tensor, *, batch_size: int = BATCH_SIZE) -> float:
    """Mean squared pixel error of ``decode(encode(videos))`` in [-1, 1] units."""
    total = 0.0
    for part in videos.split(batch_size):
        total += F.mse_loss(model.decode(model.encode(part)), part, reduction="sum").item()
    return total / videos.numel()
