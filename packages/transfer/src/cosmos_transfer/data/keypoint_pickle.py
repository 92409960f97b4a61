"""The human keypoint pickle: per frame, the people in it with their COCO-WholeBody keypoints.

File (``keypoint/<clip>.pickle``; format of the reference's
``examples/process_control_input_data_for_training.md``, read by ``AddControlInputKeypoint``)::

    {frame_id: [{"human-bbox": f16 [5] (x1, y1, x2, y2, score) normalised,
                 "human-bbox-abs": f16 [5] in pixels,
                 "body-keypoints": f16 [133, 3] (x/W, y/H, confidence),
                 "body-keypoints-abs": f16 [133, 3] in pixels,
                 "hand-keypoints": f16 [42, 3] = body-keypoints[91:133],
                 "face-bbox": f16 [4] (x1, y1, width, height) normalised,
                 "face-bbox-abs": int16 [4] in pixels},
                ...],       # one entry per person, possibly none
     ...}                   # one entry per frame of the video

Training draws only ``body-keypoints`` and ``hand-keypoints`` and needs an entry for every frame of
the window it samples.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from cosmos_core.io import write_atomically

from cosmos_transfer.data.errors import PickleFormatError
from cosmos_transfer.data.safe_pickle import load_pickle

BODY_POINTS = 133
HAND_POINTS = 42
HAND_START = 91
"""COCO-WholeBody: 17 body, 6 feet, 68 face (23..90), 21 + 21 hand points (91..132)."""
FACE_POINTS = slice(23, 91)

DRAWN_KEYS = ("body-keypoints", "hand-keypoints")


def person_record(
    keypoints: np.ndarray,
    scores: np.ndarray,
    box: Sequence[float],
    image_size: tuple[int, int],
    *,
    face_thr: float = 0.3,
) -> dict[str, np.ndarray]:
    """One person's entry from pixel keypoints ``[133, 2]``, their scores ``[133]`` and a pixel box.

    ``box`` is ``(x1, y1, x2, y2, score)``; ``image_size`` is the frame's ``(H, W)``. The face box
    spans the face points scored at least ``face_thr`` (zeros when none is).
    """
    height, width = image_size
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(BODY_POINTS, 2)
    scores = np.asarray(scores, dtype=np.float64).reshape(BODY_POINTS)
    absolute = np.concatenate([keypoints, scores[:, None]], axis=1)
    normalised = absolute / np.array([width, height, 1.0])
    x1, y1, x2, y2, score = (float(v) for v in box)
    bbox_abs = np.array([x1, y1, x2, y2, score])
    bbox = bbox_abs / np.array([width, height, width, height, 1.0])
    face = keypoints[FACE_POINTS][scores[FACE_POINTS] >= face_thr]
    if len(face):
        fx1, fy1 = face.min(axis=0)
        fx2, fy2 = face.max(axis=0)
        face_abs = np.array([fx1, fy1, fx2 - fx1, fy2 - fy1])
    else:
        face_abs = np.zeros(4)
    return {
        "human-bbox": bbox.astype(np.float16),
        "human-bbox-abs": bbox_abs.astype(np.float16),
        "body-keypoints": normalised.astype(np.float16),
        "body-keypoints-abs": absolute.astype(np.float16),
        "hand-keypoints": normalised[HAND_START:].astype(np.float16),
        "face-bbox": (face_abs / np.array([width, height, width, height])).astype(np.float16),
        "face-bbox-abs": np.round(face_abs).astype(np.int16),
    }


def write_keypoint_pickle(path: str | os.PathLike[str], frames: Mapping[int, list[dict[str, np.ndarray]]]) -> Path:
    """Store per-frame person lists (int frame ids as keys)."""
    data = {int(frame): list(people) for frame, people in frames.items()}
    return write_atomically(Path(path), lambda handle: pickle.dump(data, handle))


def read_keypoint_pickle(path: str | os.PathLike[str]) -> dict[int, list[dict[str, Any]]]:
    """The per-frame person lists of a keypoint pickle, with every drawn array's shape checked."""
    path = Path(path)
    data = load_pickle(path)
    if not isinstance(data, dict) or not data:
        raise PickleFormatError(f"{path}: a keypoint pickle is a non-empty dict of frame id -> list of people")
    for frame, people in data.items():
        if isinstance(frame, bool) or not isinstance(frame, int | np.integer):
            raise PickleFormatError(f"{path}: frame ids must be integers, found {frame!r}")
        if not isinstance(people, list):
            raise PickleFormatError(f"{path}: frame {frame} holds {type(people).__name__}, not a list of people")
        for number, person in enumerate(people):
            _check_person(person, f"{path}: frame {frame}, person {number}")
    return data


def _check_person(person: Any, where: str) -> None:
    if not isinstance(person, dict):
        raise PickleFormatError(f"{where} is {type(person).__name__}, not a dict")
    for key, points in (("body-keypoints", BODY_POINTS), ("hand-keypoints", HAND_POINTS)):
        value = person.get(key)
        if not isinstance(value, np.ndarray) or value.shape != (points, 3):
            found = value.shape if isinstance(value, np.ndarray) else type(value).__name__
            raise PickleFormatError(f"{where}: '{key}' must be an array [{points}, 3], found {found}")
