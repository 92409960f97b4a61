"""Pictures of what training sees, as PIL images: frame contact sheets and PCA maps of patch features."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from PIL import Image

PAD = 4
CAPTION_HEIGHT = 14
CAPTION_CHARS_PER_PIXEL = 1 / 6
"""The default PIL bitmap font is about 6 pixels per character."""


def _pil():
    """PIL's ``Image`` and ``ImageDraw`` (Pillow, of the ``train`` extra)."""
    from cosmos_embed.optional import require

    require("PIL", "the text_frames_visualizer / pca_feature_map_visualizer callbacks")
    from PIL import Image, ImageDraw

    return Image, ImageDraw


def _to_image(frame: torch.Tensor) -> Image.Image:
    """A [3, H, W] uint8 (or [0, 1] float) tensor as an RGB image."""
    if frame.dtype != torch.uint8:
        frame = (frame.float().clamp(0, 1) * 255).round().to(torch.uint8)
    array = frame.detach().cpu().permute(1, 2, 0).contiguous().numpy()
    image, _ = _pil()
    return image.fromarray(array)


def contact_sheet(rows: list[torch.Tensor], captions: list[str]) -> Image.Image:
    """One row per clip ([T, 3, H, W] frames side by side), each under its caption (wrapped)."""
    image, image_draw = _pil()
    frames, height, width = rows[0].shape[0], rows[0].shape[-2], rows[0].shape[-1]
    sheet_width = PAD + frames * (width + PAD)
    chars = max(int(sheet_width * CAPTION_CHARS_PER_PIXEL), 8)
    wrapped = [textwrap.wrap(caption, chars)[:3] or [""] for caption in captions]
    heights = [len(lines) * CAPTION_HEIGHT + height + 2 * PAD for lines in wrapped]
    sheet = image.new("RGB", (sheet_width, PAD + sum(heights)), "white")
    draw = image_draw.Draw(sheet)
    top = PAD
    for clip, lines, row_height in zip(rows, wrapped, heights, strict=True):
        for line_index, line in enumerate(lines):
            draw.text((PAD, top + line_index * CAPTION_HEIGHT), line, fill="black")
        frame_top = top + len(lines) * CAPTION_HEIGHT + PAD
        for index in range(clip.shape[0]):
            sheet.paste(_to_image(clip[index]), (PAD + index * (width + PAD), frame_top))
        top += row_height
    return sheet


def pca_rgb(features: torch.Tensor) -> torch.Tensor:
    """Patch features [..., D] projected on their 3 principal components, each min-max scaled to [0, 1]:
    an RGB value per patch [..., 3] (components shared by all patches given, so colours compare)."""
    flat = features.detach().float().reshape(-1, features.shape[-1])
    centred = flat - flat.mean(dim=0, keepdim=True)
    _, _, components = torch.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:3].T
    if projected.shape[1] < 3:  # fewer than 3 feature dimensions: pad with zeros
        projected = torch.cat([projected, projected.new_zeros(projected.shape[0], 3 - projected.shape[1])], dim=1)
    low, high = projected.min(dim=0).values, projected.max(dim=0).values
    scaled = (projected - low) / (high - low).clamp_min(1e-12)
    return scaled.reshape(*features.shape[:-1], 3)


def feature_map_sheet(frames: torch.Tensor, patch_rgb: torch.Tensor) -> Image.Image:
    """Frames [T, 3, H, W] on top, their PCA maps [T, rows, cols, 3] below, each map scaled to its frame."""
    maps = patch_rgb.permute(0, 3, 1, 2)  # [T, 3, rows, cols]
    maps = torch.nn.functional.interpolate(maps, size=tuple(frames.shape[-2:]), mode="nearest")
    return contact_sheet([frames, maps], ["frames", "PCA of the visual encoder's patch features (RGB = PC 1-3)"])
