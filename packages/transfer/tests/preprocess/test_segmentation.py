"""Segmentation pickles from Grounding-DINO boxes tracked by SAM 2 (random tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cosmos_transfer.data.seg_pickle import decode_mask, read_seg_pickle
from cosmos_transfer.preprocess.segmentation import PhraseDetector, VideoSegmenter, grounding_prompt, segment_video


@pytest.fixture(scope="module")
def models(tiny_grounding_dino, tiny_sam2):
    cpu = torch.device("cpu")
    return PhraseDetector(str(tiny_grounding_dino), device=cpu), VideoSegmenter(str(tiny_sam2), device=cpu)


def test_prompt_form():
    assert grounding_prompt("  A Person. A  car ") == "a person. a car."


def test_detections_are_sorted_boxes_in_the_frame(models, clips):
    from cosmos_transfer.data.video_io import read_window

    detector, _ = models
    frame = read_window(clips.video("clip0"), 0, 1)[0]
    found = detector.detect(frame, "a yellow square", (0.0, 0.0))
    assert found and [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    for detection in found:
        x1, y1, x2, y2 = detection.box
        assert -1 <= x1 <= x2 <= 65 and -1 <= y1 <= y2 <= 37 and isinstance(detection.phrase, str)


def test_segment_video_writes_the_sam2_format(models, clips, tmp_path, monkeypatch):
    detector, segmenter = models
    boxes = [(2.0, 3.0, 30.0, 20.0), (40.0, 10.0, 60.0, 30.0)]
    monkeypatch.setattr(
        detector,
        "detect",
        lambda frame, text, thresholds=None: [_det(b, 0.9 - i / 10, f"thing{i}") for i, b in enumerate(boxes)],
    )
    target = tmp_path / "clip0.pickle"
    assert segment_video(clips.video("clip0"), target, "a yellow square", detector, segmenter) == 2
    detections = read_seg_pickle(target)
    assert [d["phrase"] for d in detections] == ["thing0", "thing1"]
    for detection in detections:
        assert tuple(detection["segmentation_mask_rle"]["mask_shape"]) == (8, 36, 64)
        assert detection["segmentation_mask_rle"]["data"]["size"] == [8 * 36 * 64, 1]
        mask = decode_mask(detection, 0, 8)
        assert mask.shape == (8, 36, 64) and set(np.unique(mask)) <= {0, 1}


def test_no_detection_writes_an_empty_list(models, clips, tmp_path, monkeypatch):
    detector, segmenter = models
    monkeypatch.setattr(detector, "detect", lambda frame, text, thresholds=None: [])
    target = tmp_path / "none.pickle"
    assert segment_video(clips.video("clip1"), target, "nothing", detector, segmenter) == 0
    assert read_seg_pickle(target) == []


def _det(box, score, phrase):
    from cosmos_transfer.preprocess.segmentation import Detection

    return Detection(box, score, phrase)
