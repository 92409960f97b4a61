"""``cosmos-run cosmos-transfer1 control_inputs --modality depth|seg|keypoint``: the control files of every clip.

- ``depth``: ``depth/<clip>.mp4`` with Depth-Anything-V2 (``--depth_model``);
- ``seg``: ``seg/<clip>.pickle`` (SAM2 format) from Grounding-DINO boxes (``--detector_model``) of
  ``--prompt`` (default: the clip's caption) tracked by SAM 2 (``--sam2_model``);
- ``keypoint``: ``keypoint/<clip>.pickle`` from Grounding-DINO person boxes and a whole-body ViTPose
  model (``--pose_model``).

Models load from local folders or the local Hugging Face cache; clips whose file exists are skipped.
Edge, vis and upscale need no files: training computes them.
"""

from __future__ import annotations

import argparse
from typing import Any

from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.tasks.common import Tally, clean_outputs, progress_bar

MODALITIES = {"depth": ("depth", ".mp4"), "seg": ("seg", ".pickle"), "keypoint": ("keypoint", ".pickle")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cosmos_transfer.preprocess.depth import DEFAULT_MODEL as DEPTH_MODEL
    from cosmos_transfer.preprocess.keypoints import DEFAULT_POSE_MODEL, PERSON_THRESHOLD
    from cosmos_transfer.preprocess.segmentation import DEFAULT_DETECTOR, DEFAULT_SAM2

    parser.add_argument("--dataset_path", default="datasets/hdvila", help="root of the dataset (default: %(default)s)")
    parser.add_argument("--modality", required=True, choices=sorted(MODALITIES), help="which control files to make")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument("--cache_dir", help="Hugging Face cache folder to look in (default: the standard one)")
    parser.add_argument("--depth_model", default=DEPTH_MODEL, help="depth: Depth-Anything model (default: %(default)s)")
    parser.add_argument(
        "--batch_size", type=int, default=8, help="depth: frames per forward pass (default: %(default)s)"
    )
    parser.add_argument(
        "--detector_model", default=DEFAULT_DETECTOR, help="seg, keypoint: Grounding-DINO model (default: %(default)s)"
    )
    parser.add_argument("--sam2_model", default=DEFAULT_SAM2, help="seg: SAM 2 video model (default: %(default)s)")
    parser.add_argument("--prompt", help='seg: phrases to segment, e.g. "person. car." (default: each clip\'s caption)')
    parser.add_argument(
        "--pose_model", default=DEFAULT_POSE_MODEL, help="keypoint: ViTPose(+) model, whole-body (default: %(default)s)"
    )
    parser.add_argument(
        "--pose_dataset_index",
        type=int,
        help="keypoint: ViTPose+ expert (5: COCO-WholeBody, the default for 133-point models; 0: COCO)",
    )
    parser.add_argument(
        "--person_threshold",
        type=float,
        default=PERSON_THRESHOLD,
        help="keypoint: score a person box needs (default: %(default)s)",
    )


def run(args: argparse.Namespace, ctx: Any) -> int:
    from cosmos_datasets.errors import VideoDecodeError

    from cosmos_transfer.preprocess.models import pick_device

    layout = DatasetLayout(args.dataset_path)
    names = layout.clip_names()
    if not names:
        raise PrepareError(f"{layout.videos_dir} holds no .mp4 clips; run prepare_data first")
    folder, suffix = MODALITIES[args.modality]
    output = layout.root / folder
    with ctx.open_run(folder=layout.root, logs=False) as run_:
        output.mkdir(parents=True, exist_ok=True)
        clean_outputs(output)
        todo = [name for name in names if not layout.control(folder, name, suffix).is_file()]
        tally = Tally(existing=len(names) - len(todo))
        if todo:
            device = pick_device(args.device)
            make = _MAKERS[args.modality](args, device, layout)
            with progress_bar(len(todo), args.modality) as bar:
                for name in todo:
                    try:
                        make(name, layout.control(folder, name, suffix))
                        tally.done += 1
                    except (VideoDecodeError, OSError) as err:  # one unreadable clip does not stop the others
                        tally.fail(str(layout.video(name)), err)
                    bar.update(1)
        failed = tally.report_failures()
        run_.summary(
            f"control_inputs {args.modality}: {len(names)} clips in {output} ({tally.done} made, {tally.existing} "
            f"already there{failed})"
        )
    return tally.exit_code


def _depth_maker(args: argparse.Namespace, device: Any, layout: DatasetLayout):
    from cosmos_transfer.preprocess.depth import DepthEstimator, write_depth_video

    if args.batch_size < 1:
        raise PrepareError(f"--batch_size must be at least 1, got {args.batch_size}")
    estimator = DepthEstimator(args.depth_model, device=device, cache_dir=args.cache_dir, batch_size=args.batch_size)
    return lambda name, target: write_depth_video(layout.video(name), target, estimator)


def _seg_maker(args: argparse.Namespace, device: Any, layout: DatasetLayout):
    from cosmos_transfer.preprocess.segmentation import PhraseDetector, VideoSegmenter, segment_video

    detector = PhraseDetector(args.detector_model, device=device, cache_dir=args.cache_dir)
    segmenter = VideoSegmenter(args.sam2_model, device=device, cache_dir=args.cache_dir)

    def make(name: str, target) -> int:
        prompt = args.prompt
        if not prompt:
            caption = layout.caption(name)
            if not caption.is_file():
                raise PrepareError(f"{caption} not found: give --prompt, or run prepare_data to write the captions")
            prompt = caption.read_text(encoding="utf-8-sig").strip()
        return segment_video(layout.video(name), target, prompt, detector, segmenter)

    return make


def _keypoint_maker(args: argparse.Namespace, device: Any, layout: DatasetLayout):
    from cosmos_transfer.preprocess.keypoints import PoseEstimator, keypoints_of_video
    from cosmos_transfer.preprocess.segmentation import PhraseDetector

    detector = PhraseDetector(args.detector_model, device=device, cache_dir=args.cache_dir)
    pose = PoseEstimator(
        args.pose_model, device=device, cache_dir=args.cache_dir, dataset_index=args.pose_dataset_index
    )
    return lambda name, target: keypoints_of_video(
        layout.video(name), target, detector, pose, person_threshold=args.person_threshold
    )


_MAKERS = {"depth": _depth_maker, "seg": _seg_maker, "keypoint": _keypoint_maker}
