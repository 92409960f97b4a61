"""What makes two embeddings comparable: the checkpoint's weights and the clip preprocessing."""

from __future__ import annotations

from typing import Any

from cosmos_datasets.config import SingleDatasetConfig

from cosmos_embed.embedding_cache import weights_digest
from cosmos_embed.model.loading import export_state_dict


def preprocessing(cfg: SingleDatasetConfig) -> dict[str, Any]:
    """The sampling settings that change a clip's embedding (``cfg`` after ``frames_for``)."""
    return {
        "num_video_frames": cfg.num_video_frames,
        "resolution": list(cfg.resolution),
        "decode_backend": cfg.decode_backend,
    }


def model_digest(network: Any) -> str:
    """The digest of a network's weights in the released key layout (what an index row was embedded with)."""
    return weights_digest(export_state_dict(network))


def index_fingerprint(network: Any, cfg: SingleDatasetConfig) -> dict[str, Any]:
    return {"model": model_digest(network), "preprocessing": preprocessing(cfg)}
