"""UMAP pictures of embeddings (``evaluate.callbacks.embedding_visualization``,
``validation_eval.embedding_visualization``): video embeddings coloured by class, class texts marked.

umap-learn (and numba, its first import takes seconds) and matplotlib are imported only when a
picture is made; :func:`umap_project` is the projection, kept separate so the rest is testable with
any 2-D projection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

Projection = Callable[[np.ndarray, int], np.ndarray]

MAX_NEIGHBOURS = 15


def umap_project(points: np.ndarray, seed: int) -> np.ndarray:
    """2-D UMAP (cosine metric) of ``points`` [N, D]; the neighbourhood shrinks for small N."""
    from cosmos_embed.optional import require

    umap = require("umap", "embedding_visualization (UMAP pictures)")
    neighbours = max(2, min(MAX_NEIGHBOURS, len(points) - 1))
    # A seed makes UMAP single-threaded anyway; n_jobs=1 says so instead of warning about it.
    reducer = umap.UMAP(
        n_components=2, n_neighbors=neighbours, metric="cosine", random_state=seed, init="random", n_jobs=1
    )
    return reducer.fit_transform(points)


def write_umap_png(
    path: Path,
    videos: torch.Tensor,
    labels: torch.Tensor,
    class_texts: torch.Tensor,
    class_names: list[str],
    seed: int = 0,
    project: Projection = umap_project,
) -> Path:
    """Project videos and class texts together and plot them: a dot per video in its class's colour, a
    labelled star per class text. Written atomically as a PNG."""
    from cosmos_core.io import write_atomically

    from cosmos_embed.optional import require

    require("matplotlib", "embedding_visualization (UMAP pictures)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(videos) < 3:
        raise ValueError(f"a UMAP needs at least 3 video embeddings, got {len(videos)}")
    points = torch.cat([videos.float(), class_texts.float()]).numpy()
    projected = project(points, seed)
    video_xy, text_xy = projected[: len(videos)], projected[len(videos) :]
    colours = plt.get_cmap("tab20")(np.arange(len(class_names)) % 20)
    figure, axes = plt.subplots(figsize=(8, 7), dpi=100)
    label_ids = labels.numpy()
    for index, name in enumerate(class_names):
        chosen = label_ids == index
        axes.scatter(video_xy[chosen, 0], video_xy[chosen, 1], s=12, color=colours[index], label=name, alpha=0.8)
        axes.scatter(*text_xy[index], s=220, marker="*", color=colours[index], edgecolors="black", linewidths=0.8)
        axes.annotate(name, text_xy[index], xytext=(4, 4), textcoords="offset points", fontsize=8)
    axes.set_title(f"UMAP of {len(videos)} video embeddings (dots) and {len(class_names)} class texts (stars)")
    axes.set_xticks([])
    axes.set_yticks([])
    if len(class_names) <= 20:
        axes.legend(fontsize=7, markerscale=1.5, loc="best")
    figure.tight_layout()
    try:
        write_atomically(Path(path), lambda handle: figure.savefig(handle, format="png"))
    finally:
        plt.close(figure)
    return Path(path)
