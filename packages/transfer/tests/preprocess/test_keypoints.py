"""Keypoint pickles from person boxes and a ViTPose model (random tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cosmos_transfer.data.keypoint_pickle import read_keypoint_pickle
from cosmos_transfer.preprocess import random_models
from cosmos_transfer.preprocess.keypoints import PoseEstimator, keypoints_of_video
from cosmos_transfer.preprocess.segmentation import Detection, PhraseDetector

BOXES = [Detection((4.0, 2.0, 30.0, 34.0), 0.8, "person"), Detection((34.0, 1.0, 60.0, 35.0), 0.7, "person")]


@pytest.fixture(scope="module")
def detector(tiny_grounding_dino):
    return PhraseDetector(str(tiny_grounding_dino), device=torch.device("cpu"))


def test_every_frame_gets_its_people(detector, tiny_vitpose, clips, tmp_path, monkeypatch):
    monkeypatch.setattr(detector, "detect", lambda frame, text, thresholds=None: BOXES if text == "person." else [])
    pose = PoseEstimator(str(tiny_vitpose), device=torch.device("cpu"))
    assert pose.dataset_index == 5  # COCO-WholeBody expert of a 133-point ViTPose+
    target = tmp_path / "clip0.pickle"
    assert keypoints_of_video(clips.video("clip0"), target, detector, pose) == (8, 16)
    data = read_keypoint_pickle(target)
    assert sorted(data) == list(range(8))
    person = data[3][1]
    assert person["body-keypoints"].shape == (133, 3) and person["body-keypoints"].dtype == np.float16
    np.testing.assert_array_equal(person["hand-keypoints"], person["body-keypoints"][91:])
    np.testing.assert_allclose(person["human-bbox-abs"], [34, 1, 60, 35, 0.7], atol=0.05)
    # random heatmaps put points anywhere in a person's crop, but each crop is around its own box
    second = np.median(person["body-keypoints-abs"][:, 0].astype(float))
    first = np.median(data[3][0]["body-keypoints-abs"][:, 0].astype(float))
    assert 34 <= second <= 60 and 4 <= first <= 30


def test_a_body_only_model_stores_zero_confidence_beyond_17(detector, model_dir, clips, tmp_path, monkeypatch):
    monkeypatch.setattr(detector, "detect", lambda frame, text, thresholds=None: BOXES[:1])
    folder = random_models.save_random_vitpose(model_dir / "vitpose17", num_keypoints=17)
    pose = PoseEstimator(str(folder), device=torch.device("cpu"))
    keypoints_of_video(clips.video("clip1"), tmp_path / "k.pickle", detector, pose)
    person = read_keypoint_pickle(tmp_path / "k.pickle")[0][0]
    assert (person["body-keypoints"][17:, 2] == 0).all() and (person["body-keypoints"][:17, 2] > 0).any()
