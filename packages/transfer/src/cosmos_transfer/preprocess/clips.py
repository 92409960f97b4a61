"""Cutting a clip (a time span) out of a source video into its own mp4, frame-exact and video only."""

from __future__ import annotations

from pathlib import Path

from cosmos_datasets.errors import VideoDecodeError

from cosmos_transfer.data.video_io import Mp4Writer, iter_frames, probe_video


def cut_clip(source: Path, target: Path, start_sec: float, end_sec: float) -> int:
    """Re-encode the frames of ``source`` shown in ``[start_sec, end_sec)`` as ``target``, at the source's
    frame rate and size (the reference runs ``ffmpeg -ss start -t duration``); returns the frame count."""
    fps = probe_video(source).fps
    with Mp4Writer(target, fps) as writer:
        for frame in iter_frames(source, start_sec=start_sec, end_sec=end_sec):
            writer.write(frame)
        if writer.frames_written == 0:
            raise VideoDecodeError(str(source), f"no frame is shown between {start_sec:g} s and {end_sec:g} s")
    return writer.frames_written
