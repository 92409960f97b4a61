"""Keypoint control: the OpenPose conversion and skeleton pixels at known coordinates."""

from __future__ import annotations

import numpy as np
import pytest
from cosmos_transfer.data.errors import ControlFileError
from cosmos_transfer.data.keypoint_pickle import write_keypoint_pickle
from cosmos_transfer.modalities.base import ClipWindow
from cosmos_transfer.modalities.keypoint import MODALITY, render_keypoints
from cosmos_transfer.modalities.skeleton import LIMBS, POINT_COLORS, coco_wholebody_to_openpose

H, W = 64, 128  # powers of two: the float16 normalised coordinates are exact


def person(points: dict[int, tuple[float, float, float]]):
    """A person with COCO-WholeBody points ``{index: (x, y, score)}`` in pixels, the rest unseen."""
    body = np.zeros((133, 3), np.float16)
    for index, (x, y, score) in points.items():
        body[index] = (x / W, y / H, score)
    return {"body-keypoints": body, "hand-keypoints": body[91:].copy()}


def test_openpose_order():
    points = np.stack([np.arange(175.0), np.zeros(175)], axis=1)
    scores = np.linspace(0.1, 0.9, 175)
    converted, converted_scores = coco_wholebody_to_openpose(points, scores)
    assert converted.shape == (176, 2)
    assert converted[1, 0] == 5.5 and converted_scores[1] == min(scores[5], scores[6])  # the neck
    assert converted[0, 0] == 0 and converted[2, 0] == 6 and converted[5, 0] == 5  # nose, right/left shoulder
    assert converted[14, 0] == 2 and converted[17, 0] == 3  # right eye, left ear
    assert converted[18, 0] == 17 and converted[92, 0] == 91  # feet and hands shift by one


def test_skeleton_tables():
    assert POINT_COLORS.shape == (134, 3) and len(LIMBS) == 57
    assert tuple(POINT_COLORS[0]) == (255, 0, 0) and tuple(POINT_COLORS[50]) == (255, 255, 255)
    assert LIMBS[9] == (1, 11, (0, 255, 225)) and LIMBS[17] == (92, 93, (255, 0, 0))
    assert LIMBS[47] == (122 + 1, 122 + 2, (255, 255, 255))  # right middle finger 2-3, white as in the reference


def test_limbs_and_points_at_known_pixels():
    # COCO 6 (right shoulder) at x=20, COCO 5 (left shoulder) at x=40, both on row 32 -> neck at (30, 32)
    # COCO 4 (right ear) alone: a circle, no limb; COCO 1 (left eye) scores 0.59, under the threshold
    shoulders = person({5: (40, 32, 0.9), 6: (20, 32, 0.9), 4: (60, 10, 0.7), 1: (70, 50, 0.59)})
    frame = render_keypoints([[shoulders]], (H, W))[0]
    assert tuple(frame[32, 25]) == (255, 0, 0)  # limb neck -> right shoulder
    assert tuple(frame[32, 35]) == (255, 85, 0)  # limb neck -> left shoulder, drawn after it
    assert tuple(frame[32, 30]) == (255, 85, 0)  # the neck: the later limb covers it
    assert tuple(frame[10, 60]) == (255, 0, 170) and tuple(frame[10, 62]) == (255, 0, 170)  # the ear, radius 2
    assert not frame[10, 63].any() and not frame[13, 60].any()
    assert not frame[50, 70].any()  # left eye (score 0.59) is below the 0.6 threshold
    assert not frame[40:].any() and not frame[:26, :50].any()  # nothing else


def test_every_frame_of_the_window_must_be_annotated(tmp_path):
    path = tmp_path / "k.pickle"
    write_keypoint_pickle(path, {i: [] for i in range(10) if i != 6})
    window = ClipWindow("c", "c.mp4", 2, 9, 10, (H, W), "4,3", (H, W), 24.0)
    with pytest.raises(ControlFileError, match=r"no entry for 1 frame ids the sample needs \(6\)"):
        MODALITY.load(path, window)
    write_keypoint_pickle(path, {i: [] for i in range(0, 20, 4)})
    with pytest.raises(ControlFileError, match="every 4 frames"):
        MODALITY.load(path, window)
