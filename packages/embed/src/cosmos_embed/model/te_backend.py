"""Optional NVIDIA Transformer Engine for the ViT's linear layers.

Transformer Engine is never imported at module level: it is an optional extra (``cosmos-embed[te]``) and
needs CUDA. When a config asks for it and it cannot be used, the PyTorch path runs instead and one
warning per process says so.
"""

from __future__ import annotations

import logging
from types import ModuleType

import torch

logger = logging.getLogger("cosmos.embed")
_warned = False


def _warn_once(reason: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "model.network.visual_encoder.transformer_engine=true but %s; using the PyTorch ViT "
            "instead (same weights and outputs). Set transformer_engine=false to silence this.",
            reason,
        )


def load_transformer_engine(requested: bool) -> ModuleType | None:
    """``transformer_engine.pytorch`` when requested and usable (installed and CUDA present), else None."""
    if not requested:
        return None
    if not torch.cuda.is_available():
        _warn_once("no CUDA device is available")
        return None
    try:
        import transformer_engine.pytorch as te
    except ImportError as error:
        _warn_once(f"transformer_engine cannot be imported ({error})")
        return None
    return te


def make_linear(te: ModuleType | None, in_features: int, out_features: int) -> torch.nn.Module:
    """A Linear with bias; a ``te.Linear`` (same parameter names and shapes) when ``te`` is given."""
    if te is None:
        return torch.nn.Linear(in_features, out_features)
    default = torch.get_default_device()
    device = default if default.type in ("meta", "cuda") else torch.device("cuda")
    return te.Linear(in_features, out_features, bias=True, device=device)
