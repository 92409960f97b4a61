"""The T5 embedding pickle of a clip, and its padding to the model's fixed text length.

File (``t5_xxl/<clip>.pickle``, written by the reference's ``scripts/get_t5_embeddings.py``): a
Python list holding one float16 array ``[L, 1024]``, L the number of non-pad tokens (``</s>``
included, at most 512); no mask is stored. The AV datasets store ``t5_xxl/<clip>.pkl`` as
``{"pickle": {"ground_truth": {"embeddings": {"t5_xxl": ...}}}}``; both read here.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cosmos_core.io import write_atomically

from cosmos_transfer.data.errors import PickleFormatError
from cosmos_transfer.data.safe_pickle import load_pickle

NUM_TOKENS = 512
"""Text length the model sees (``t5_tokens.num`` of the reference's TextTransformForVideo)."""
EMBED_DIM = 1024
"""Hidden size of the T5-11B encoder."""


def write_t5_pickle(path: str | os.PathLike[str], embedding: np.ndarray) -> Path:
    """Store one caption's embedding ``[L, D]`` as the reference does (a list of one float16 array)."""
    array = np.asarray(embedding, dtype=np.float16)
    if array.ndim != 2:
        raise ValueError(f"a T5 embedding is [L, D], got shape {array.shape}")
    return write_atomically(Path(path), lambda handle: pickle.dump([array], handle))


def _unwrap(obj: Any, path: Path) -> Any:
    if isinstance(obj, dict):  # the AV layout
        try:
            obj = obj["pickle"]["ground_truth"]["embeddings"]["t5_xxl"]
        except (KeyError, TypeError):
            raise PickleFormatError(
                f"{path}: a T5 pickle is a list holding one [L, 1024] array (or, for AV data, a dict with "
                "['pickle']['ground_truth']['embeddings']['t5_xxl']); this dict has neither"
            ) from None
    if isinstance(obj, list | tuple):
        if len(obj) != 1:
            raise PickleFormatError(f"{path}: a T5 pickle holds one array in a list, this list has {len(obj)} items")
        obj = obj[0]
    return obj


def read_t5_embedding(path: str | os.PathLike[str]) -> np.ndarray:
    """The ``[L, D]`` array stored in a T5 pickle (either layout)."""
    path = Path(path)
    array = _unwrap(load_pickle(path), path)
    if not isinstance(array, np.ndarray) or array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        described = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__
        raise PickleFormatError(f"{path}: expected a float array [L, 1024] in the T5 pickle, found {described}")
    return array


def pad_t5(embedding: np.ndarray, num_tokens: int = NUM_TOKENS) -> tuple[torch.Tensor, torch.Tensor]:
    """``(t5_text_embeddings float32 [num_tokens, D], t5_text_mask int64 [num_tokens])``.

    Zero-pads or truncates the tokens as the reference's ``pad_and_resize``; the mask is all ones,
    as its training config sets (``is_mask_all_ones=True``): the model attends to the zero rows too.
    """
    tokens = torch.from_numpy(np.asarray(embedding, dtype=np.float32)[:num_tokens])
    padded = torch.zeros((num_tokens, tokens.shape[1]), dtype=torch.float32)
    padded[: tokens.shape[0]] = tokens
    return padded, torch.ones(num_tokens, dtype=torch.int64)
