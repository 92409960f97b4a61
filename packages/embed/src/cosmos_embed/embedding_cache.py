"""Embedding caches for ``save_dataset_pkl`` / ``load_dataset_pkl``.

The option names come from TAO, but the file is not a pickle: unpickling a file can run arbitrary
code, and these caches get shared between people. We write a safetensors file (tensors plus a JSON
string of per-item records), which loads without executing anything. Each cache carries a
fingerprint of the model (network config and weights) and of the dataset config that produced it;
a cache whose fingerprint differs from the current run is refused instead of silently giving wrong
search results.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
from cosmos_core.errors import UserInputError

FORMAT = "cosmos-run-embedding-cache/1"


class EmbeddingCacheError(UserInputError, ValueError):
    """A cache that cannot be read or does not belong to this model and dataset."""


@attrs.frozen
class EmbeddingCache:
    tensors: dict[str, torch.Tensor]
    records: list[dict[str, Any]]
    """One entry per database row: path, caption, label, …"""
    fingerprint: dict[str, str]
    """``model`` and ``dataset`` digests (see :func:`digest`)."""
    extra: dict[str, Any] = attrs.field(factory=dict)


def digest(data: Any) -> str:
    """A short stable hash of JSON-serialisable data."""
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def weights_digest(state_dict: Mapping[str, torch.Tensor]) -> str:
    """A cheap digest of model weights: names, shapes, dtypes and a strided sample of every tensor."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach()
        h.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        flat = tensor.reshape(-1)
        if flat.numel():
            step = max(1, flat.numel() // 256)
            h.update(flat[::step].float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def save(cache: EmbeddingCache, path: Path) -> Path:
    """Write the cache atomically."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "records": json.dumps(cache.records),
        "fingerprint": json.dumps(cache.fingerprint),
        "extra": json.dumps(cache.extra),
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tensors = {k: v.detach().cpu().contiguous() for k, v in cache.tensors.items()}
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def load(path: Path, expected: Mapping[str, str] | None = None) -> EmbeddingCache:
    """Read a cache; with ``expected``, refuse one whose fingerprint differs in any given part."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    if not path.is_file():
        raise EmbeddingCacheError(f"embedding cache {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as err:
        raise EmbeddingCacheError(
            f"{path} is not a cosmos-run embedding cache ({err}). Caches written by other tools "
            "(for example pickles) are not loaded, because unpickling can run code; delete it and "
            "let this run rebuild it with save_dataset_pkl."
        ) from None
    if metadata.get("format") != FORMAT:
        raise EmbeddingCacheError(f"{path} has format {metadata.get('format')!r}, expected {FORMAT!r}")
    cache = EmbeddingCache(
        tensors=tensors,
        records=json.loads(metadata["records"]),
        fingerprint=json.loads(metadata["fingerprint"]),
        extra=json.loads(metadata.get("extra", "{}")),
    )
    if expected:
        differing = [part for part, value in expected.items() if cache.fingerprint.get(part) != value]
        if differing:
            raise EmbeddingCacheError(
                f"embedding cache {path} was built by a different {' and '.join(differing)} "
                f"(cache {_show(cache.fingerprint, differing)}, this run {_show(expected, differing)}). "
                "Its embeddings would give wrong results: remove load_dataset_pkl to re-encode, or "
                "point it at a cache built with this checkpoint and dataset config."
            )
    return cache


def _show(fingerprint: Mapping[str, str], parts: list[str]) -> str:
    return ", ".join(f"{part}={fingerprint.get(part)}" for part in parts)
