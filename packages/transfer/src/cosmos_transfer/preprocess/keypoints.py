"""Keypoint pickles: people found per frame, their whole-body keypoints by a ViTPose model through transformers.

The reference made its keypoint files with rtmlib's COCO-WholeBody model; here each frame's people
are found by Grounding-DINO prompted with "person." and each box goes through ``VitPoseForPoseEstimation``
(top-down). A ViTPose+ model with a COCO-WholeBody head (``num_labels`` 133, the MoE expert chosen
by ``dataset_index``, 5 for COCO-WholeBody) gives all 133 points; a COCO model (17 points) gives the
body only, and the feet, face and hands are stored with confidence 0, so they are never drawn.
Every frame gets an entry, empty when nobody is in it, as training needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cosmos_transfer.data.keypoint_pickle import BODY_POINTS
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.preprocess.models import load_pretrained, pick_device, require
from cosmos_transfer.preprocess.segmentation import PhraseDetector

logger = logging.getLogger(__name__)

DEFAULT_POSE_MODEL = "usyd-community/vitpose-plus-huge"
PERSON_PROMPT = "person."
PERSON_THRESHOLD = 0.3
WHOLEBODY_DATASET_INDEX = 5
"""ViTPose+'s expert index of COCO-WholeBody (0 is COCO)."""
BODY_ONLY_POINTS = 17


class PoseEstimator:
    """A ViTPose / ViTPose+ model and its image processor from a local folder or the cache."""

    def __init__(
        self,
        name_or_path: str = DEFAULT_POSE_MODEL,
        *,
        device: Any = None,
        cache_dir: str | None = None,
        dataset_index: int | None = None,
    ) -> None:
        transformers = require("transformers", purpose="control_inputs --modality keypoint")
        require("scipy", purpose="ViTPose's image processing")
        self.device = device if device is not None else pick_device(None)
        flag = "--pose_model"
        self.processor = load_pretrained(
            transformers.AutoImageProcessor.from_pretrained,
            name_or_path,
            what="the ViTPose image processor",
            flag=flag,
            cache_dir=cache_dir,
        )
        self.model = load_pretrained(
            transformers.VitPoseForPoseEstimation.from_pretrained,
            name_or_path,
            what="the ViTPose model",
            flag=flag,
            cache_dir=cache_dir,
        )
        self.model.to(self.device).eval()
        self.points = int(self.model.config.num_labels)
        if self.points not in (BODY_POINTS, BODY_ONLY_POINTS):
            raise PrepareError(
                f"--pose_model {name_or_path} predicts {self.points} keypoints; keypoint control needs a "
                f"COCO-WholeBody model ({BODY_POINTS} points) or at least a COCO one ({BODY_ONLY_POINTS})"
            )
        if self.points == BODY_ONLY_POINTS:
            logger.warning(
                "%s predicts the 17 COCO body points only: feet, face and hands are stored with confidence 0",
                name_or_path,
            )
        experts = int(getattr(self.model.config.backbone_config, "num_experts", 1) or 1)
        if dataset_index is None:
            dataset_index = WHOLEBODY_DATASET_INDEX if self.points == BODY_POINTS and experts > 1 else 0
        self.dataset_index = dataset_index if experts > 1 else None

    def estimate(self, frame: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[tuple[Any, Any]]:
        """``(keypoints [133, 2] pixels, scores [133])`` per box ``(x1, y1, x2, y2)`` of an RGB frame."""
        import torch

        coco_boxes = [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in boxes]
        inputs = self.processor(frame, boxes=[coco_boxes], return_tensors="pt")
        kwargs = {}
        if self.dataset_index is not None:
            kwargs["dataset_index"] = torch.full(
                (len(boxes),), self.dataset_index, dtype=torch.long, device=self.device
            )
        with torch.inference_mode():
            outputs = self.model(pixel_values=inputs["pixel_values"].to(self.device), **kwargs)
        outputs.heatmaps = outputs.heatmaps.float().cpu()
        people = self.processor.post_process_pose_estimation(outputs, boxes=[coco_boxes])[0]
        results = []
        for person in people:
            keypoints = np.zeros((BODY_POINTS, 2))
            scores = np.zeros(BODY_POINTS)
            keypoints[: self.points] = person["keypoints"].float().numpy()
            scores[: self.points] = person["scores"].float().numpy()
            results.append((keypoints, scores))
        return results


def keypoints_of_video(
    video_path: Path,
    output_path: Path,
    detector: PhraseDetector,
    pose: PoseEstimator,
    *,
    person_threshold: float = PERSON_THRESHOLD,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Write the keypoint pickle of ``video_path``; returns ``(frames, person detections)``."""
    from cosmos_transfer.data.keypoint_pickle import person_record, write_keypoint_pickle
    from cosmos_transfer.data.video_io import iter_frames

    annotations: dict[int, list[dict[str, np.ndarray]]] = {}
    people = 0
    for index, frame in enumerate(iter_frames(video_path)):
        found = detector.detect(frame, PERSON_PROMPT, (person_threshold, person_threshold))
        boxes = [d.box for d in found]
        records = []
        if boxes:
            for detection, (keypoints, scores) in zip(found, pose.estimate(frame, boxes), strict=True):
                records.append(person_record(keypoints, scores, (*detection.box, detection.score), frame.shape[:2]))
        annotations[index] = records
        people += len(records)
        if progress:
            progress(1)
    write_keypoint_pickle(output_path, annotations)
    return len(annotations), people
