"""Segmentation pickles: objects found by prompting Grounding-DINO, tracked through the clip by SAM 2.

As the reference's ``auxiliary/sam2/sam2_model.py`` in prompt mode: Grounding-DINO looks for the
prompt's phrases on the first frame (box threshold 0.15, text threshold 0.25; 0.1 and 0.1 when that
finds nothing), the boxes sorted by score become SAM 2 prompts on frame 0, and SAM 2's video model
propagates every object's mask through the clip. Each object's (T, H, W) mask at the video's size is
stored RLE-encoded with its phrase (:mod:`cosmos_transfer.data.seg_pickle`); each detection keeps its
own phrase (the reference labels all of them with the first one).

transformers' SAM 2 processors need torchvision, which this project does not install, so the frames
are resized to the model's square input and normalised here, and the box prompts are written into
the inference session directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np

from cosmos_transfer.preprocess.models import load_pretrained, pick_device, require

DEFAULT_DETECTOR = "IDEA-Research/grounding-dino-tiny"
DEFAULT_SAM2 = "facebook/sam2.1-hiera-large"
BOX_THRESHOLD, TEXT_THRESHOLD = 0.15, 0.25
FALLBACK_THRESHOLDS = (0.1, 0.1)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@attrs.frozen
class Detection:
    """A box ``(x1, y1, x2, y2)`` in pixels of the frame, its score and the phrase it matched."""

    box: tuple[float, float, float, float]
    score: float
    phrase: str


def grounding_prompt(text: str) -> str:
    """Grounding-DINO expects lower-case phrases each ending in a period ("a person. a car.")."""
    text = " ".join(text.strip().lower().split())
    return text if text.endswith(".") else f"{text}."


class PhraseDetector:
    """Grounding-DINO (zero-shot detection from text) from a local folder or the cache."""

    def __init__(self, name_or_path: str = DEFAULT_DETECTOR, *, device: Any = None, cache_dir: str | None = None):
        transformers = require("transformers", purpose="Grounding-DINO detection")
        self.device = device if device is not None else pick_device(None)
        flag = "--detector_model"
        self.processor = load_pretrained(
            transformers.AutoProcessor.from_pretrained,
            name_or_path,
            what="the Grounding-DINO processor",
            flag=flag,
            cache_dir=cache_dir,
        )
        self.model = load_pretrained(
            transformers.AutoModelForZeroShotObjectDetection.from_pretrained,
            name_or_path,
            what="the Grounding-DINO model",
            flag=flag,
            cache_dir=cache_dir,
        )
        self.model.to(self.device).eval()

    def detect(
        self, frame: np.ndarray, text: str, thresholds: tuple[float, float] = (BOX_THRESHOLD, TEXT_THRESHOLD)
    ) -> list[Detection]:
        """Boxes of ``text``'s phrases on an RGB frame, best first."""
        import torch

        inputs = self.processor(images=frame, text=grounding_prompt(text), return_tensors="pt").to(self.device)
        with torch.inference_mode():
            outputs = self.model(**inputs)
        result = self.processor.post_process_grounded_object_detection(
            outputs,
            inputs["input_ids"],
            threshold=thresholds[0],
            text_threshold=thresholds[1],
            target_sizes=[frame.shape[:2]],
        )[0]
        detections = [
            Detection(tuple(float(v) for v in box), float(score), str(label))
            for box, score, label in zip(
                result["boxes"].cpu().tolist(), result["scores"].cpu().tolist(), result["text_labels"], strict=True
            )
        ]
        return sorted(detections, key=lambda d: d.score, reverse=True)


class VideoSegmenter:
    """SAM 2's video model (transformers ``Sam2VideoModel``) from a local folder or the cache."""

    def __init__(self, name_or_path: str = DEFAULT_SAM2, *, device: Any = None, cache_dir: str | None = None):
        transformers = require("transformers", purpose="SAM 2 video segmentation")
        self.device = device if device is not None else pick_device(None)
        self.model = load_pretrained(
            transformers.Sam2VideoModel.from_pretrained,
            name_or_path,
            what="the SAM 2 video model",
            flag="--sam2_model",
            cache_dir=cache_dir,
        )
        self.model.to(self.device).eval()
        self.image_size = int(self.model.config.image_size)

    def _prepare(self, frames: np.ndarray) -> Any:
        """Frames ``[T, H, W, 3]`` as the model's input: square, scaled to [0, 1], ImageNet-normalised."""
        import torch

        video = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255)
        size = (self.image_size, self.image_size)
        resized = torch.cat(
            [
                torch.nn.functional.interpolate(chunk, size=size, mode="bicubic", antialias=True, align_corners=False)
                for chunk in video.split(8)
            ]
        ).clamp_(0, 1)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (resized - mean) / std

    def track(self, frames: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
        """Masks ``[num_boxes, T, H, W]`` (bool) of the objects in ``boxes`` (pixels of frame 0)."""
        import torch
        from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

        num_frames, height, width = frames.shape[:3]
        session = Sam2VideoInferenceSession(
            video=self._prepare(frames),
            video_height=height,
            video_width=width,
            inference_device=self.device,
            dtype=torch.float32,
        )
        scale = torch.tensor([self.image_size / width, self.image_size / height])
        object_ids = list(range(len(boxes)))
        for object_id, box in zip(object_ids, boxes, strict=True):
            index = session.obj_id_to_idx(object_id)
            corners = torch.tensor(box, dtype=torch.float32).reshape(1, 1, 2, 2) * scale
            labels = torch.tensor([[[2, 3]]], dtype=torch.int32)  # SAM's labels of a box's two corners
            session.add_point_inputs(index, 0, {"point_coords": corners, "point_labels": labels})
            session.remove_mask_inputs(index, 0)
        session.obj_with_new_inputs = object_ids
        masks = np.zeros((len(boxes), num_frames, height, width), dtype=bool)
        with torch.inference_mode():
            self.model(inference_session=session, frame_idx=0)
            for output in self.model.propagate_in_video_iterator(session):
                logits = output.pred_masks.float().cpu()  # [objects, 1, h, w]
                full = torch.nn.functional.interpolate(
                    logits, size=(height, width), mode="bilinear", align_corners=False
                )
                masks[:, output.frame_idx] = (full[:, 0] > 0).numpy()
        return masks


def segment_video(
    video_path: Path, output_path: Path, prompt: str, detector: PhraseDetector, segmenter: VideoSegmenter
) -> int:
    """Write the segmentation pickle of ``video_path``; returns the number of objects (0 writes an empty list)."""
    from cosmos_transfer.data.seg_pickle import write_seg_pickle
    from cosmos_transfer.data.video_io import iter_frames

    frames = np.stack(list(iter_frames(video_path)))
    detections = detector.detect(frames[0], prompt)
    if not detections:
        detections = detector.detect(frames[0], prompt, FALLBACK_THRESHOLDS)
    if not detections:
        write_seg_pickle(output_path, [])
        return 0
    masks = segmenter.track(frames, [d.box for d in detections])
    write_seg_pickle(output_path, [(d.phrase, mask) for d, mask in zip(detections, masks, strict=True)])
    return len(detections)
