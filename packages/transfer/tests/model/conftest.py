"""Shared builders: the 7B nets on the meta device (never allocated), tiny nets and inputs on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cosmos_transfer.model.config import BASE_7B, BASE_TINY, CONTROL_7B, CONTROL_TINY
from cosmos_transfer.model.control import ControlDiT
from cosmos_transfer.model.dit import VideoDiT
from cosmos_transfer.model.networks import TransferNetworks

MANIFESTS = Path(__file__).parent / "manifests"


@pytest.fixture(scope="session")
def manifests() -> dict[str, dict[str, list[int]]]:
    """``{"base_keys" | "ctrl_keys": {key: shape}}`` of ``transfer1_keys/`` (keys start with ``net.``)."""
    return {name: json.loads((MANIFESTS / f"{name}.json").read_text()) for name in ("base_keys", "ctrl_keys")}


@pytest.fixture(scope="module")
def base_7b() -> VideoDiT:
    with torch.device("meta"):
        return VideoDiT(BASE_7B)


@pytest.fixture(scope="module")
def control_7b() -> ControlDiT:
    with torch.device("meta"):
        return ControlDiT(CONTROL_7B)


@pytest.fixture(scope="module")
def networks_7b() -> TransferNetworks:
    with torch.device("meta"):
        networks = TransferNetworks(BASE_7B, CONTROL_7B)
    networks.freeze_base()
    return networks


@pytest.fixture
def tiny_networks() -> TransferNetworks:
    torch.manual_seed(0)
    networks = TransferNetworks(BASE_TINY, CONTROL_TINY)
    networks.initialize_control_from_base()
    networks.freeze_base()
    return networks


@pytest.fixture
def tiny_inputs() -> dict[str, torch.Tensor]:
    """A batch of 2 for the tiny nets: latent 16x3x8x8 (48 tokens), 2 condition frames, T5 context of 32
    tokens, a 16-channel hint, one partly padded sample, fps 24."""
    generator = torch.Generator().manual_seed(1)
    batch, t, h, w = 2, 3, 8, 8
    mask = torch.zeros(batch, 1, t, h, w)
    mask[:, :, :2] = 1
    padding = torch.zeros(batch, 1, 64, 64)
    padding[1, :, :, 40:] = 1
    return {
        "x": torch.randn(batch, 16, t, h, w, generator=generator),
        "timesteps": torch.randn(batch, generator=generator),
        "crossattn_emb": torch.randn(batch, 32, 1024, generator=generator),
        "hint": torch.randn(batch, 16, t, h, w, generator=generator),
        "fps": torch.tensor([24.0, 24.0]),
        "padding_mask": padding,
        "condition_video_input_mask": mask,
    }
