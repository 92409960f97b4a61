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
from collections.abc import Collection, Mapping
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


def load(
    path: Path, expected: Mapping[str, str] | None = None, *, needs: Collection[str] = ("videos",)
) -> EmbeddingCache:
    """Read a cache; with ``expected``, refuse one whose fingerprint differs in any given part.

    The file must be what :func:`save` writes, whole and self-consistent (see :func:`_check`), holding
    the tensors ``needs`` names (evaluation needs ``class_texts`` too); a hand-edited or foreign file is
    an :class:`EmbeddingCacheError` that says so, never a ``KeyError`` or a shape error later.
    """
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
        found = f"format {metadata['format']!r}" if "format" in metadata else "no cosmos-run format mark"
        raise _foreign(path, f"it has {found}, expected {FORMAT!r}")
    cache = EmbeddingCache(
        tensors=tensors,
        records=_json_field(path, metadata, "records", list),
        fingerprint=_json_field(path, metadata, "fingerprint", dict),
        extra=_json_field(path, metadata, "extra", dict, default="{}"),
    )
    _check(path, cache, needs)
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


def _foreign(path: Path, problem: str) -> EmbeddingCacheError:
    return EmbeddingCacheError(
        f"{path} is not a cosmos-run embedding cache built by save_dataset_pkl: {problem}. It was edited or "
        "written by another tool; delete it (or point load_dataset_pkl elsewhere) and rerun with "
        "save_dataset_pkl to rebuild it."
    )


def _json_field(path: Path, metadata: Mapping[str, str], key: str, kind: type, default: str | None = None) -> Any:
    text = metadata.get(key, default)
    if text is None:
        raise _foreign(path, f"its header has no {key!r}")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _foreign(path, f"its {key!r} header is not valid JSON") from None
    if not isinstance(value, kind):
        raise _foreign(path, f"its {key!r} header is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _check(path: Path, cache: EmbeddingCache, needs: Collection[str]) -> None:
    """What the tasks rely on: the needed tensors, one 2-D float ``videos`` row per record, every record
    with a ``path`` and an integer ``label``, and ``class_texts`` rows matching ``class_names``."""
    missing = [name for name in needs if name not in cache.tensors]
    if missing:
        held = ", ".join(sorted(cache.tensors)) or "none"
        raise _foreign(path, f"it has no {' or '.join(map(repr, missing))} tensor (tensors: {held})")
    for name, tensor in cache.tensors.items():
        if tensor.ndim != 2 or not tensor.is_floating_point():
            raise _foreign(path, f"tensor {name!r} is {tensor.dtype} of shape {tuple(tensor.shape)}, not 2-D floats")
    videos = cache.tensors.get("videos")
    if videos is not None and videos.shape[0] != len(cache.records):
        raise _foreign(path, f"it has {videos.shape[0]} video embeddings but {len(cache.records)} records")
    for position, record in enumerate(cache.records):
        if not isinstance(record, dict):
            raise _foreign(path, f"record {position} is not an object")
        label = record.get("label")
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            raise _foreign(path, f"record {position} has no integer 'label' (got {label!r})")
        if not isinstance(record.get("path"), str):
            raise _foreign(path, f"record {position} has no 'path'")
    _check_classes(path, cache)


def _check_classes(path: Path, cache: EmbeddingCache) -> None:
    """``class_names`` (a list of texts) covers every label, and ``class_texts`` has a row per name."""
    names = cache.extra.get("class_names")
    texts = cache.tensors.get("class_texts")
    if names is None:
        if texts is not None:
            raise _foreign(path, "it has a 'class_texts' tensor but no 'class_names' list")
        return
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _foreign(path, "its 'class_names' is not a list of texts")
    beyond = [r["label"] for r in cache.records if r["label"] >= len(names)]
    if beyond:
        raise _foreign(path, f"record label {beyond[0]} has no class name (there are {len(names)})")
    if texts is None:
        return
    if texts.shape[0] != len(names):
        raise _foreign(path, f"it has {texts.shape[0]} class text embeddings for {len(names)} class names")
    videos = cache.tensors.get("videos")
    if videos is not None and texts.shape[1] != videos.shape[1]:
        raise _foreign(path, f"class texts are {texts.shape[1]}-d, video embeddings {videos.shape[1]}-d")


def _show(fingerprint: Mapping[str, str], parts: list[str]) -> str:
    return ", ".join(f"{part}={fingerprint.get(part)}" for part in parts)
