"""The OpenPose-style 134-point skeleton the keypoint control is drawn with.

Facts from the reference's ``datasets/augmentors/human_keypoint_utils.py`` (``openpose134_skeleton``,
``convert_coco_to_openpose``), restated as tables: the point colours, the 57 limbs with their
colours (quirks kept: limb 9 is (0, 255, 225), the right hand's middle-finger limb 2-3 is white), and
the COCO-WholeBody to OpenPose index map. Colours are RGB, the frames' channel order.
"""

from __future__ import annotations

import numpy as np

NUM_POINTS = 134
"""OpenPose layout: 18 body points (neck inserted at 1), 6 feet, 68 face, 21 + 21 hand points."""

_BODY_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip


def _point_colors() -> np.ndarray:
    colors = np.zeros((NUM_POINTS, 3), dtype=np.int64)
    colors[:18] = _BODY_COLORS
    colors[18:24] = (0, 0, 0)  # feet: drawn black
    colors[24:92] = (255, 255, 255)  # face
    colors[92:] = (0, 0, 255)  # hands
    return colors


POINT_COLORS = _point_colors()

NECK, NOSE = 1, 0
R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = 2, 3, 4, 5, 6, 7
R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE = 8, 9, 10, 11, 12, 13
R_EYE, L_EYE, R_EAR, L_EAR = 14, 15, 16, 17
LEFT_HAND_ROOT, RIGHT_HAND_ROOT = 92, 113

_BODY_LIMBS = (
    (NECK, R_SHOULDER, (255, 0, 0)), (NECK, L_SHOULDER, (255, 85, 0)),
    (R_SHOULDER, R_ELBOW, (255, 170, 0)), (R_ELBOW, R_WRIST, (255, 255, 0)),
    (L_SHOULDER, L_ELBOW, (170, 255, 0)), (L_ELBOW, L_WRIST, (85, 255, 0)),
    (NECK, R_HIP, (0, 255, 0)), (R_HIP, R_KNEE, (0, 255, 85)), (R_KNEE, R_ANKLE, (0, 255, 170)),
    (NECK, L_HIP, (0, 255, 225)), (L_HIP, L_KNEE, (0, 170, 255)), (L_KNEE, L_ANKLE, (0, 85, 255)),
    (NECK, NOSE, (0, 0, 255)), (NOSE, R_EYE, (255, 0, 170)), (R_EYE, R_EAR, (170, 0, 255)),
    (NOSE, L_EYE, (255, 0, 255)), (L_EYE, L_EAR, (255, 0, 170)),
)  # fmt: skip

# Each finger: root -> joint 1 -> 2 -> 3 -> 4, in the order thumb, fore, middle, ring, pinky.
_FINGER_COLORS = (
    (255, 0, 0), (255, 76, 0), (255, 153, 0), (255, 230, 0),
    (204, 255, 0), (128, 255, 0), (51, 255, 0), (0, 255, 26),
    (0, 255, 102), (0, 255, 178), (0, 255, 255), (0, 178, 255),
    (0, 102, 255), (0, 26, 255), (51, 0, 255), (128, 0, 255),
    (204, 0, 255), (255, 0, 230), (255, 0, 153), (255, 0, 76),
)  # fmt: skip


def _hand_limbs(root: int, right: bool) -> list[tuple[int, int, tuple[int, int, int]]]:
    limbs = []
    for finger in range(5):
        joints = [root] + [root + 1 + 4 * finger + joint for joint in range(4)]
        for step in range(4):
            color = _FINGER_COLORS[4 * finger + step]
            if right and finger == 2 and step == 2:
                color = (255, 255, 255)  # as the reference's table has it
            limbs.append((joints[step], joints[step + 1], color))
    return limbs


LIMBS: tuple[tuple[int, int, tuple[int, int, int]], ...] = (
    *_BODY_LIMBS,
    *_hand_limbs(LEFT_HAND_ROOT, right=False),
    *_hand_limbs(RIGHT_HAND_ROOT, right=True),
)

# convert_coco_to_openpose: after the neck is inserted at 17, these positions take those rows.
_OPENPOSE_POSITIONS = (1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17)
_COCO_SOURCES = (17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3)


def coco_wholebody_to_openpose(points: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-WholeBody rows (``[N, 2]`` pixels, ``[N]`` scores; N = 133 body + 42 hand = 175 in training)
    to the OpenPose order (N + 1 rows): a neck, the shoulders' mean scored by the weaker one, is
    inserted at 17 and the body rows are permuted."""
    info = np.concatenate([points, scores[:, None]], axis=1)
    neck = info[[5, 6]].mean(axis=0)
    neck[2] = min(info[5, 2], info[6, 2])
    info = np.insert(info, 17, neck, axis=0)
    info[list(_OPENPOSE_POSITIONS)] = info[list(_COCO_SOURCES)]
    return info[:, :2], info[:, 2]


def draw_openpose(
    canvas: np.ndarray, points: np.ndarray, scores: np.ndarray, *, threshold: float, radius: int, line_width: int
) -> None:
    """Draw one person (OpenPose-order ``points``/``scores``, at least 134 rows) onto an RGB canvas in place.

    Points scored at least ``threshold`` become filled circles, then every limb whose two ends are
    both shown becomes a line; coordinates are truncated to whole pixels, as the reference does.
    """
    import cv2

    shown = scores[:NUM_POINTS] >= threshold
    for index in np.flatnonzero(shown):
        x, y = int(points[index, 0]), int(points[index, 1])
        cv2.circle(canvas, (x, y), radius, tuple(int(c) for c in POINT_COLORS[index]), -1)
    for start, end, color in LIMBS:
        if shown[start] and shown[end]:
            p0 = (int(points[start, 0]), int(points[start, 1]))
            p1 = (int(points[end, 0]), int(points[end, 1]))
            cv2.line(canvas, p0, p1, color, thickness=line_width)
