"""The Cosmos-Transfer1 training dataset: a window of frames, its control input and its T5 embedding per item.

One item per ``videos/<clip>.mp4`` (sorted; no train/val split, as the reference). For item ``i``
of epoch ``e`` the dataset draws, from a generator seeded by ``(seed, e, i)`` only:

- a window of ``num_frames`` consecutive frames, its start uniform over the video;
- whatever the control modality draws (thresholds, blurs, crops, masks, colours).

The window is decoded once, at the size the modality wants (or straight at its training size), the
control is computed, then video and control are resized keeping the aspect ratio to fit the
resolution's bucket of the video's aspect ratio and padded to it (mirror padding, ``padding_mask``
1 where padded, ``image_size = [H, W, h, w]``). The T5 embedding is zero-padded or cut to
``[512, D]`` with an all-ones mask. The item is the reference's sample dict::

    video, control_input_<name>   uint8 [3, T, H, W]
    t5_text_embeddings            float32 [512, 1024]     t5_text_mask   int64 [512]
    fps (float), num_frames, frame_start, frame_end (exclusive)
    image_size float32 [4], padding_mask float32 [1, H, W], aspect_ratio "16,9", video_name {...}
    (+ segmentation_phrase_all and segmentation for seg; + index, path for skip accounting)

A clip whose video is too short or unreadable, or whose T5 or control file is missing, malformed or
misaligned, becomes a :class:`~cosmos_datasets.skips.SkippedSample` naming the file and what it
should have held; with ``skip_missing_files=False`` the same problem raises instead.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from cosmos_datasets.dataset_types.base import BuildSkip, missing_file
from cosmos_datasets.errors import DatasetConfigError, VideoDecodeError
from cosmos_datasets.skips import MISSING_FILE, SkippedSample, skip_reason
from torch.utils.data import Dataset

from cosmos_transfer.data.errors import BAD_FILE, ControlFileError, TransferDataError
from cosmos_transfer.data.geometry import (
    RESOLUTIONS,
    PaddedFrames,
    aspect_ratio_key,
    bucket_size,
    fit_size,
    pad_to_bucket,
    resize_bicubic,
)
from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.data.t5_pickle import NUM_TOKENS, pad_t5, read_t5_embedding
from cosmos_transfer.data.video_io import VideoProbe, cv2_merge, iter_window, probe_video
from cosmos_transfer.modalities.base import ClipWindow, ControlInputs, ControlModality

logger = logging.getLogger(__name__)

TOO_SHORT = "too short"
_PROBES_KEPT = 8
NUM_FRAMES = 121
"""Frames per sample in the 7B experiments (``ctrl_7b_tp_121frames.py``)."""


def modality_for_hint_key(hint_key: str, registry: Any) -> ControlModality:
    """The modality registered as ``<name>`` for ``hint_key = "control_input_<name>"`` (or ``<name>``)."""
    return registry.get(hint_key.removeprefix("control_input_"))


class TransferDataset(Dataset):
    """Cosmos-Transfer1 samples of the dataset folder ``root`` with the control ``modality`` (None: video only)."""

    def __init__(
        self,
        root: str | Path,
        modality: ControlModality | None,
        *,
        num_frames: int = NUM_FRAMES,
        resolution: str = "720",
        skip_missing_files: bool = True,
        seed: int = 0,
        num_text_tokens: int = NUM_TOKENS,
    ) -> None:
        if resolution not in RESOLUTIONS:
            raise DatasetConfigError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
        if num_frames < 1:
            raise DatasetConfigError(f"num_frames must be at least 1, got {num_frames}")
        self.layout = DatasetLayout(root)
        self.modality = modality
        self.num_frames = num_frames
        self.resolution = resolution
        self.skip_missing_files = skip_missing_files
        self.seed = seed
        self.num_text_tokens = num_text_tokens
        self.epoch = 0
        self._probes: dict[str, VideoProbe] = {}
        self._frame_buffers: dict[tuple[int, ...], np.ndarray] = {}
        names = self.layout.clip_names()
        if not names:
            raise DatasetConfigError(f"{self.layout.videos_dir} holds no .mp4 files; run prepare_data first")
        self.clips: list[str] = []
        self.build_skips: list[BuildSkip] = []
        for name in names:
            problem = self._missing_input(name)
            if problem is None:
                self.clips.append(name)
            else:
                self.build_skips.append(problem)
        if self.build_skips and not skip_missing_files:
            first = self.build_skips[0]
            raise DatasetConfigError(f"{first.problem}. Create it, or skip such clips with skip_missing_files=True")
        if self.build_skips:
            logger.warning(
                "%s: %d of %d clips lack a file and are skipped (first: %s)",
                self.layout.root,
                len(self.build_skips),
                len(names),
                self.build_skips[0].problem,
            )
        if not self.clips:
            raise DatasetConfigError(
                f"no usable clip in {self.layout.root}: all {len(names)} lack a file "
                f"(first: {self.build_skips[0].problem})"
            )

    def _missing_input(self, name: str) -> BuildSkip | None:
        source = str(self.layout.video(name))
        if self.layout.existing_t5(name) is None:
            path = self.layout.t5(name)
            return missing_file(str(path), source, f"T5 embedding {path} not found (run t5_embeddings)")
        if self.modality is not None and self.modality.folder is not None:
            path = self.layout.control(self.modality.folder, name, self.modality.suffix or "")
            if not path.is_file():
                return missing_file(str(path), source, f"{self.modality.name} control file {path} not found")
        return None

    def __getstate__(self) -> dict[str, Any]:
        """Without the per-process caches (decode buffers, probes), which workers build for themselves."""
        state = dict(self.__dict__)
        state["_probes"], state["_frame_buffers"] = {}, {}
        return state

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s windows and controls (DataLoader workers started afterwards see it)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def skipped_at_build(self) -> list[dict[str, str]]:
        return [skip.as_record() for skip in self.build_skips]

    def label_names(self) -> list[str]:
        return list(self.clips)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch: the same on every rank and on resume."""
        return np.random.default_rng([self.seed, self.epoch, index])

    def window(self, index: int) -> ClipWindow:
        """The frames item ``index`` holds in the current epoch (its first draw from :meth:`rng`)."""
        name = self.clips[index]
        return self._window(name, self.layout.video(name), self.rng(index))

    def __getitem__(self, index: int) -> dict[str, Any] | SkippedSample:
        name = self.clips[index]
        video_path = self.layout.video(name)
        try:
            return self._load(index, name, video_path)
        except VideoDecodeError as err:
            if not self.skip_missing_files:
                raise
            return SkippedSample(index, err.path, skip_reason(err))
        except ControlFileError as err:
            if not self.skip_missing_files:
                raise
            return SkippedSample(index, err.path or str(video_path), err.skip_reason)
        except (TransferDataError, pickle.UnpicklingError, EOFError) as err:
            if not self.skip_missing_files:
                raise
            return SkippedSample(index, str(video_path), f"{BAD_FILE}: {err}")
        except FileNotFoundError as err:  # deleted since the dataset was built
            if not self.skip_missing_files:
                raise
            return SkippedSample(index, str(err.filename or video_path), f"{MISSING_FILE}: {err}")

    def _probe(self, path: Path) -> VideoProbe:
        """The probe of ``path``, kept for the few clips in flight (a probe holds every frame's timestamp)."""
        key = str(path)
        if key not in self._probes:
            if len(self._probes) >= _PROBES_KEPT:
                self._probes.pop(next(iter(self._probes)))
            self._probes[key] = probe_video(path)
        return self._probes[key]

    def _decode(
        self, window: ClipWindow, size: tuple[int, int] | None
    ) -> tuple[np.ndarray | None, PaddedFrames | None]:
        """The window's RGB frames at ``size`` for the modality (None when it reads none), and the
        padded sample video, filled while decoding when the frames come out at their training size."""
        decode_size = size or window.target_size
        frames = self._frame_buffer((window.num_frames, *decode_size, 3)) if size is not None else None
        padded = None
        if decode_size == window.target_size:
            bucket = bucket_size(self.resolution, window.aspect_ratio)
            padded = PaddedFrames(window.num_frames, decode_size, bucket)
        probe = self._probe(window.video_path)
        frames_in = iter_window(window.video_path, window.frame_start, window.num_frames, decode_size, probe=probe)
        for index, planes in enumerate(frames_in):
            if frames is not None:
                frames[index] = cv2_merge(planes)
            if padded is not None:
                padded.put_planes(index, planes)
        return frames, padded

    def _frame_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        """A decode buffer reused from sample to sample: a new 300 MB array per sample costs page faults.

        Safe because the sample's tensors are padded copies, made before the next item is loaded.
        """
        if shape not in self._frame_buffers:
            self._frame_buffers.clear()
            self._frame_buffers[shape] = np.empty(shape, dtype=np.uint8)
        return self._frame_buffers[shape]

    def _window(self, name: str, video_path: Path, rng: np.random.Generator) -> ClipWindow:
        probe = self._probe(video_path)
        if probe.num_frames < self.num_frames:
            raise _TooShort(video_path, probe.num_frames, self.num_frames)
        start = int(rng.integers(0, probe.num_frames - self.num_frames + 1))
        aspect = aspect_ratio_key(probe.width, probe.height)
        return ClipWindow(
            name=name,
            video_path=video_path,
            frame_start=start,
            frame_end=start + self.num_frames,
            video_frames=probe.num_frames,
            native_size=probe.size,
            aspect_ratio=aspect,
            target_size=fit_size(probe.size, bucket_size(self.resolution, aspect)),
            fps=probe.fps,
        )

    def _load(self, index: int, name: str, video_path: Path) -> dict[str, Any] | SkippedSample:
        rng = self.rng(index)
        try:
            window = self._window(name, video_path, rng)
        except _TooShort as short:
            if not self.skip_missing_files:
                raise DatasetConfigError(short.reason) from None
            return SkippedSample(index, str(video_path), f"{TOO_SHORT}: {short.reason}")
        t5_path = self.layout.existing_t5(name) or self.layout.t5(name)
        embedding, mask = pad_t5(read_t5_embedding(t5_path), self.num_text_tokens)
        modality = self.modality
        data = None
        if modality is not None and modality.folder is not None:
            data = modality.load(self.layout.control(modality.folder, name, modality.suffix or ""), window)
        size = modality.rgb_size(window) if modality is not None else None
        frames, padded = self._decode(window, size)
        sample: dict[str, Any] = {}
        bucket = bucket_size(self.resolution, window.aspect_ratio)
        target = window.target_size
        if modality is not None:
            output = modality.compute(ControlInputs(window, frames, data), rng)
            if output.video is not None:
                frames, padded = output.video, None
                target = fit_size(frames.shape[1:3], bucket)
            sample[modality.hint_key], _, _ = pad_to_bucket(resize_bicubic(output.control, target), bucket)
            sample.update(output.extra)
        if padded is not None:
            video, padding_mask, image_size = padded.finish()
        else:
            video, padding_mask, image_size = pad_to_bucket(resize_bicubic(frames, target), bucket)
        sample.update(
            {
                "video": video,
                "t5_text_embeddings": embedding,
                "t5_text_mask": mask,
                "fps": window.fps,
                "num_frames": self.num_frames,
                "frame_start": window.frame_start,
                "frame_end": window.frame_end,
                "image_size": image_size,
                "padding_mask": padding_mask,
                "aspect_ratio": window.aspect_ratio,
                "video_name": {
                    "video_path": str(video_path),
                    "t5_embedding_path": str(t5_path),
                    "start_frame_id": str(window.frame_start),
                },
                "index": index,
                "path": str(video_path),
            }
        )
        return sample


class _TooShort(Exception):
    def __init__(self, path: Path, frames: int, needed: int) -> None:
        super().__init__()
        self.reason = f"{path} has {frames} frames, fewer than the {needed} of a sample"
