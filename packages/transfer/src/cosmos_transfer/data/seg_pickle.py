"""The SAM2-format segmentation pickle: one run-length-encoded (T, H, W) mask per detected object.

File (``seg/<clip>.pickle``; the reference's ``auxiliary/sam2/sam2_model.py::rle_encode`` writes it,
``datasets/augmentors/control_input.py::AddControlInputSeg`` reads it)::

    [{"phrase": "box",
      "segmentation_mask_rle": {"data": {"size": [T*H*W, 1], "counts": b"..."},
                                "mask_shape": (T, H, W)}},
     ...]

The whole video's mask of one object, at the video's own resolution, is flattened in C order to one
column and encoded with pycocotools (whose encoder wants that column Fortran-ordered). Masks too large
to decode whole (over :data:`PARTIAL_DECODE_MB`) are decoded only over the frames a sample needs.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from cosmos_core.io import write_atomically

from cosmos_transfer.data.errors import PickleFormatError
from cosmos_transfer.data.safe_pickle import load_pickle

PARTIAL_DECODE_MB = 256
"""Masks whose T*H*W exceeds this many MiB are decoded frame range by frame range (the reference's
``thres_mb_python_decode``), so a worker never holds a whole long 1080p video mask."""


def _mask_utils() -> Any:
    import pycocotools.mask

    return pycocotools.mask


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """``{"data": RLE, "mask_shape": (T, H, W)}`` of a boolean or 0/1 mask ``[T, H, W]``."""
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"a segmentation mask is [T, H, W], got shape {mask.shape}")
    column = np.asfortranarray(mask.astype(np.uint8, copy=False).reshape(-1, 1))
    return {"data": _mask_utils().encode(column), "mask_shape": tuple(int(v) for v in mask.shape)}


def write_seg_pickle(path: str | os.PathLike[str], objects: Sequence[tuple[str, np.ndarray]]) -> Path:
    """Store ``(phrase, mask [T, H, W])`` pairs in the SAM2 format."""
    detections = [{"phrase": str(phrase), "segmentation_mask_rle": encode_mask(mask)} for phrase, mask in objects]
    return write_atomically(Path(path), lambda handle: pickle.dump(detections, handle))


def read_seg_pickle(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The detections of a segmentation pickle, with their structure checked."""
    path = Path(path)
    detections = load_pickle(path)
    if not isinstance(detections, list):
        raise PickleFormatError(
            f"{path}: a segmentation pickle is a list of detections, found {type(detections).__name__}"
        )
    for number, detection in enumerate(detections):
        _check_detection(detection, f"{path}: detection {number}")
    return detections


def _check_detection(detection: Any, where: str) -> None:
    problem = None
    if not isinstance(detection, dict) or "segmentation_mask_rle" not in detection:
        problem = "is not a dict with 'phrase' and 'segmentation_mask_rle'"
    else:
        rle = detection["segmentation_mask_rle"]
        data = rle.get("data") if isinstance(rle, dict) else None
        shape = rle.get("mask_shape") if isinstance(rle, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("counts"), bytes | str) or "size" not in data:
            problem = "has no pycocotools RLE ({'size', 'counts'}) under segmentation_mask_rle.data"
        elif not isinstance(shape, tuple | list) or len(shape) != 3:
            problem = f"has mask_shape {shape!r}; it must be the (T, H, W) of the whole video"
        elif list(data["size"]) != [int(np.prod(shape)), 1]:
            problem = f"has RLE size {list(data['size'])} for mask_shape {tuple(shape)} (expected [T*H*W, 1])"
    if problem:
        raise PickleFormatError(f"{where} {problem}")


def mask_shape(detection: dict[str, Any]) -> tuple[int, int, int]:
    shape = detection["segmentation_mask_rle"]["mask_shape"]
    return int(shape[0]), int(shape[1]), int(shape[2])


def decode_mask(detection: dict[str, Any], frame_start: int, frame_end: int) -> np.ndarray:
    """Frames ``[frame_start, frame_end)`` of a detection's mask, uint8 0/1 ``[T', H, W]``."""
    frames, height, width = mask_shape(detection)
    data = detection["segmentation_mask_rle"]["data"]
    per_frame = height * width
    if frames * per_frame / 2**20 > PARTIAL_DECODE_MB:
        flat = decode_rows(data, frame_start * per_frame, frame_end * per_frame)
    else:
        with warnings.catch_warnings():  # pycocotools 2.0 under numpy 2 warns about __array__(copy=...) on every call
            warnings.simplefilter("ignore", DeprecationWarning)
            decoded = _mask_utils().decode(data)
        flat = decoded.reshape(-1)[frame_start * per_frame : frame_end * per_frame]
    return flat.reshape(frame_end - frame_start, height, width)


def _run_lengths(counts: bytes, stop: int) -> list[int]:
    """The run lengths of a pycocotools compressed ``counts`` string until they cover ``stop`` cells.

    Each count is a little-endian base-32 number in characters ``48 + 6 bits`` (bit 5: more
    characters follow, bit 4 of the last: negative); from the third count on, the stored number is
    the difference to the count two places back.
    """
    runs: list[int] = []
    covered = 0
    position = 0
    while position < len(counts) and covered <= stop:
        value = 0
        shift = 0
        while True:
            char = counts[position] - 48
            position += 1
            value |= (char & 0x1F) << shift
            shift += 5
            if not char & 0x20:
                if char & 0x10:
                    value |= -1 << shift
                break
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
        covered += value
    return runs


def decode_rows(data: dict[str, Any], start: int, stop: int) -> np.ndarray:
    """Cells ``[start, stop)`` of a width-1 RLE column as uint8 0/1, decoding no more runs than needed."""
    counts = data["counts"]
    counts = counts.encode("ascii") if isinstance(counts, str) else counts
    total = int(data["size"][0])
    if not 0 <= start < stop <= total:
        raise ValueError(f"rows {start}..{stop} are outside the mask's {total} cells")
    out = np.zeros(stop - start, dtype=np.uint8)
    cursor = 0
    for number, run in enumerate(_run_lengths(counts, stop)):
        end = cursor + run
        if number % 2 and end > start and cursor < stop:  # odd runs are ones
            out[max(cursor, start) - start : min(end, stop) - start] = 1
        cursor = end
        if cursor >= stop:
            break
    return out
