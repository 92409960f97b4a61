"""The UMAP picture of evaluate: every point placed, coloured by class, class texts starred; umap-learn
itself runs in the slow test (its first import takes ~20 s)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cosmos_embed.umap_plot import umap_project, write_umap_png


def embeddings(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three well separated classes of 10 unit vectors each, and their class-text vectors."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.nn.functional.normalize(torch.randn(3, 16, generator=generator), dim=1)
    labels = torch.arange(3).repeat_interleave(10)
    videos = torch.nn.functional.normalize(centres[labels] + 0.05 * torch.randn(30, 16, generator=generator), dim=1)
    return videos, labels, centres


def test_videos_and_class_texts_are_projected_together_and_plotted(tmp_path):
    from PIL import Image

    videos, labels, texts = embeddings()
    seen = {}

    def project(points: np.ndarray, seed: int) -> np.ndarray:
        seen["shape"], seen["seed"] = points.shape, seed
        return points[:, :2]

    path = write_umap_png(tmp_path / "umap.png", videos, labels, texts, ["a", "b", "c"], seed=5, project=project)
    assert seen == {"shape": (33, 16), "seed": 5}  # 30 videos then 3 class texts, in one projection
    image = Image.open(path).convert("RGB")
    assert image.size == (800, 700)
    colours = {image.getpixel((x, y)) for x in range(0, 800, 4) for y in range(0, 700, 4)}
    assert len(colours) > 20  # class colours and their blends, not a blank canvas
    with pytest.raises(ValueError, match="at least 3 video embeddings"):
        write_umap_png(tmp_path / "x.png", videos[:2], labels[:2], texts, ["a", "b", "c"], project=project)


@pytest.mark.slow
def test_umap_keeps_the_classes_apart():
    videos, labels, texts = embeddings()
    projected = umap_project(torch.cat([videos, texts]).numpy(), seed=0)
    assert projected.shape == (33, 2)
    video_xy = torch.from_numpy(projected[:30])
    centres = torch.stack([video_xy[labels == c].mean(0) for c in range(3)])
    spread = max(video_xy[labels == c].std(0).norm().item() for c in range(3))
    assert torch.pdist(centres).min().item() > 2 * spread
