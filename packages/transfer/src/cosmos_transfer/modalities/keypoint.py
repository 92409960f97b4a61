"""Keypoint control: the people of each frame drawn as OpenPose-style skeletons from the keypoint pickle.

As the reference's AddControlInputKeypoint with its training arguments (``use_openpose_format=True,
kpt_thr=0.6, human_kpt_line_width=4``): each person's ``body-keypoints`` and ``hand-keypoints``
(normalised) are scaled by the video's own width and height, converted to the OpenPose order and
drawn on a black frame of the video's size; the dataset then resizes it with the video.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cosmos_transfer.data.errors import MISALIGNED, ControlFileError
from cosmos_transfer.modalities.base import ClipWindow, ControlInputs, ControlModality, ControlOutput
from cosmos_transfer.modalities.skeleton import coco_wholebody_to_openpose, draw_openpose

KEYPOINT_THRESHOLD = 0.6
LINE_WIDTH = 4
RADIUS = 2


def render_keypoints(
    frames: list[list[dict[str, Any]]],
    size: tuple[int, int],
    *,
    threshold: float = KEYPOINT_THRESHOLD,
    line_width: int = LINE_WIDTH,
    radius: int = RADIUS,
) -> np.ndarray:
    """RGB frames ``[T, H, W, 3]`` with every person of each frame's list drawn; ``size = (H, W)``."""
    height, width = size
    scale = np.array([width, height, 1.0])
    out = np.zeros((len(frames), height, width, 3), dtype=np.uint8)
    for index, people in enumerate(frames):
        for person in people:
            rows = np.vstack([person["body-keypoints"] * scale, person["hand-keypoints"] * scale])
            points, scores = coco_wholebody_to_openpose(rows[:, :2], rows[:, 2])
            draw_openpose(out[index], points, scores, threshold=threshold, radius=radius, line_width=line_width)
    return out


class KeypointModality(ControlModality):
    name = "keypoint"
    folder = "keypoint"
    suffix = ".pickle"
    help = "OpenPose-style skeletons drawn from keypoint/<clip>.pickle; control_inputs --modality keypoint"

    def rgb_size(self, window: ClipWindow) -> None:
        return None

    def load(self, path: Path, window: ClipWindow) -> list[list[dict[str, Any]]]:
        from cosmos_transfer.data.keypoint_pickle import read_keypoint_pickle

        annotations = read_keypoint_pickle(path)
        frame_ids = sorted(annotations)
        if len(frame_ids) > 1 and frame_ids[1] - frame_ids[0] != 1:
            raise ControlFileError(
                f"{path} annotates every {frame_ids[1] - frame_ids[0]} frames; keypoint training needs an entry "
                "for every frame",
                path=str(path),
                category=MISALIGNED,
            )
        missing = [frame for frame in window.frame_ids if frame not in annotations]
        if missing:
            listed = ", ".join(str(frame) for frame in missing[:10]) + (", ..." if len(missing) > 10 else "")
            raise ControlFileError(
                f"{path} has no entry for {len(missing)} frame ids the sample needs ({listed}); the sample covers "
                f"{window.describe()} of {window.video_path}, the pickle frames {frame_ids[0]}..{frame_ids[-1]}",
                path=str(path),
                category=MISALIGNED,
            )
        return [annotations[frame] for frame in window.frame_ids]

    def compute(self, inputs: ControlInputs, rng: np.random.Generator) -> ControlOutput:
        return ControlOutput(render_keypoints(inputs.data, inputs.window.native_size))


MODALITY = KeypointModality()
