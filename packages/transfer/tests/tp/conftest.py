"""Tiny Transfer1 state dicts in the released layouts, written where a test wants them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY
from cosmos_transfer.model.networks import TransferNetworks


@pytest.fixture(scope="session")
def tiny_state() -> dict[str, torch.Tensor]:
    """``TransferNetworks.state_dict()`` of the tiny preset: ``net.*``, ``logvar.*``, ``base_model.*``."""
    torch.manual_seed(0)
    networks = TransferNetworks(BASE_TINY, CONTROL_TINY)
    networks.freeze_base()
    return {key: value.clone() for key, value in networks.state_dict().items()}


@pytest.fixture
def control_state(tiny_state) -> dict[str, torch.Tensor]:
    """``<modality>_control.pt``: the branch's ``net.*`` keys."""
    return {key: value for key, value in tiny_state.items() if key.startswith("net.")}


@pytest.fixture
def base_state(tiny_state) -> dict[str, torch.Tensor]:
    """``base_model.pt``: ``base_model.net.*`` and ``base_model.logvar.*``, in bf16 as released."""
    return {key: value.to(torch.bfloat16) for key, value in tiny_state.items() if key.startswith("base_model.")}


def _save(path: Path, payload) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def _files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


@pytest.fixture
def save():
    """``save(path, payload) -> path``: ``torch.save`` with the folder created."""
    return _save


@pytest.fixture
def files_under():
    """``files_under(folder)``: every file below ``folder``, relative, sorted."""
    return _files_under
