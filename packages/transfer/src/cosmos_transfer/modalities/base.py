"""What a control modality is: the contract between the training dataset and each control input.

A modality is an object registered through ``cosmos_register_control_modalities`` under its
``name``; the dataset of ``hint_key = "control_input_<name>"`` looks it up there, so a plugin adds a
modality without touching the dataset or the other modalities. Per sample the dataset

1. checks that the modality's file exists (``<dataset>/<folder>/<clip><suffix>``, when ``folder`` is
   set) and calls :meth:`ControlModality.load` to read and check it against the sampled window;
2. decodes the RGB window at :meth:`ControlModality.rgb_size` (or not at all when that is None);
3. calls :meth:`ControlModality.compute` with a :class:`numpy.random.Generator` seeded from the
   sample index and the epoch, the only source of randomness a modality may use, so that a resumed
   run and every tensor-parallel rank draw the same control for the same sample;
4. resizes video and control together to the training bucket and pads both.

Frames travel as uint8 numpy arrays ``[T, H, W, C]`` (OpenCV's layout); the sample holds the
reference's ``[C, T, H, W]`` tensors.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np

from cosmos_transfer.data.geometry import working_size


@attrs.frozen
class ClipWindow:
    """The frames of one sample: which clip, which frames, and the geometry around them."""

    name: str
    """The clip's name (its file name without suffix, the same in every folder)."""
    video_path: Path
    frame_start: int
    frame_end: int
    """Exclusive: the window holds frames ``frame_start .. frame_end - 1``."""
    video_frames: int
    """How many frames the whole video has."""
    native_size: tuple[int, int]
    """``(H, W)`` of the stored video."""
    aspect_ratio: str
    """The video's aspect-ratio bucket (``"16,9"``, ...)."""
    target_size: tuple[int, int]
    """``(h, w)`` of the video after the aspect-preserving resize to the training bucket."""
    fps: float

    @property
    def num_frames(self) -> int:
        return self.frame_end - self.frame_start

    @property
    def frame_ids(self) -> range:
        return range(self.frame_start, self.frame_end)

    def describe(self) -> str:
        """``"frames 0..120 (121 frames)"``, for messages."""
        return f"frames {self.frame_start}..{self.frame_end - 1} ({self.num_frames} frames)"


@attrs.frozen
class ControlInputs:
    """What :meth:`ControlModality.compute` gets for one sample."""

    window: ClipWindow
    frames: np.ndarray | None
    """The window's RGB frames ``[T, h, w, 3]`` at :meth:`ControlModality.rgb_size`, or None. The
    dataset reuses this buffer for the next sample: keep no reference to it beyond ``compute``."""
    data: Any = None
    """What :meth:`ControlModality.load` returned (None for on-the-fly modalities)."""


@attrs.frozen
class ControlOutput:
    """What :meth:`ControlModality.compute` returns."""

    control: np.ndarray
    """uint8 ``[T, h, w, channels]``; the dataset resizes it to the video's training size."""
    video: np.ndarray | None = None
    """A replacement for the target video (upscale trains on a crop), or None to keep the decoded one."""
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    """Further sample keys (seg: ``segmentation_phrase_all``)."""


class ControlModality(abc.ABC):
    """A control input of Cosmos-Transfer1: how a sample's control frames come about."""

    name: ClassVar[str]
    """Registry name; the sample key is ``control_input_<name>``."""
    help: ClassVar[str] = ""
    folder: ClassVar[str | None] = None
    """Dataset sub-folder of its files, or None when the control is computed from the video."""
    suffix: ClassVar[str | None] = None
    """File suffix in ``folder`` (``".mp4"``, ``".pickle"``)."""
    channels: ClassVar[int] = 3

    @property
    def hint_key(self) -> str:
        return f"control_input_{self.name}"

    def rgb_size(self, window: ClipWindow) -> tuple[int, int] | None:
        """``(h, w)`` at which :meth:`compute` wants the RGB frames, or None when it does not read them.

        The default is the size the reference computes on-the-fly controls at: the frames shrunk to
        fit the 720p bucket of their aspect ratio, never enlarged.
        """
        return working_size(window.native_size, window.aspect_ratio)

    def load(self, path: Path, window: ClipWindow) -> Any:
        """Read this modality's file for ``window``; the result becomes :attr:`ControlInputs.data`.

        Raise :class:`~cosmos_transfer.data.errors.ControlFileError` when the file does not match the
        video (too few frames, another size, missing frame ids): the dataset skips and counts the
        sample, or stops naming the file when skipping is off. The default hands over the path.
        """
        return path

    @abc.abstractmethod
    def compute(self, inputs: ControlInputs, rng: np.random.Generator) -> ControlOutput:
        """The control frames of one sample, drawing any randomness from ``rng`` only."""

    def __repr__(self) -> str:
        return f"<control modality {self.name!r}>"


class OnTheFlyModality(ControlModality):
    """A control computed from the RGB frames alone (edge, vis): implement :meth:`compute_frames`."""

    @abc.abstractmethod
    def compute_frames(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Control frames ``[T, h, w, channels]`` of RGB frames ``[T, h, w, 3]``."""

    def compute(self, inputs: ControlInputs, rng: np.random.Generator) -> ControlOutput:
        if inputs.frames is None:
            raise ValueError(f"{self!r} needs the RGB frames")
        return ControlOutput(self.compute_frames(inputs.frames, rng))
