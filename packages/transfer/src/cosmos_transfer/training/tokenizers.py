"""The experiment's video tokenizer: the released TorchScript tokenizer folder, or a cosmos-run autoencoder file.

``model.tokenizer.path`` names either a folder holding ``encoder.jit``, ``decoder.jit`` and
``mean_std.pt`` (Cosmos-Tokenize1-CV8x8x8-720p), or a ``.pt`` file written by :func:`save_autoencoder`
(``cosmos-run cosmos-transfer1 train_tokenizer``): the small autoencoder of the tiny experiments with
its architecture settings and latent statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from cosmos_core.errors import UserInputError
from cosmos_core.training.checkpoint import atomic_save

from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder
from cosmos_transfer.tokenizer.interface import VideoTokenizer

AUTOENCODER_FORMAT = "cosmos-run/video-autoencoder/v1"


class TokenizerNotFoundError(UserInputError, FileNotFoundError):
    """``model.tokenizer.path`` names nothing usable."""


def save_autoencoder(model: VideoAutoencoder, path: Path) -> Path:
    """The autoencoder's settings and weights (latent statistics included), written atomically."""
    settings = {
        "latent_channels": model.latent_channels,
        "spatial_compression": model.spatial_compression,
        "temporal_compression": model.temporal_compression,
        "width": model.width,
    }
    return atomic_save({"format": AUTOENCODER_FORMAT, "settings": settings, "state_dict": model.state_dict()}, path)


def load_autoencoder(path: Path) -> VideoAutoencoder:
    payload: Any = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != AUTOENCODER_FORMAT:
        raise TokenizerNotFoundError(
            f"model.tokenizer.path: {path} is not a cosmos-run video autoencoder (train one with "
            "'cosmos-run cosmos-transfer1 train_tokenizer')"
        )
    model = VideoAutoencoder(**payload["settings"])
    model.load_state_dict(payload["state_dict"], strict=True)
    return model.eval()


def load_tokenizer(path: str, device: torch.device, *, bf16: bool) -> VideoTokenizer:
    """The frozen tokenizer of ``model.tokenizer.path`` on ``device``."""
    location = Path(path)
    if location.is_dir():
        from cosmos_transfer.tokenizer.jit import JITVideoTokenizer

        dtype = torch.bfloat16 if bf16 else torch.float32
        return JITVideoTokenizer.from_directory(location, device=device, dtype=dtype)
    if location.is_file():
        model = load_autoencoder(location).to(device)
        return model.requires_grad_(False)
    raise TokenizerNotFoundError(
        f"model.tokenizer.path: {location} does not exist. Download nvidia/Cosmos-Tokenize1-CV8x8x8-720p "
        "there (encoder.jit, decoder.jit, mean_std.pt), or for the tiny experiments train the small "
        "autoencoder: cosmos-run cosmos-transfer1 train_tokenizer --dataset_path DATASET --output " + str(location)
    )
