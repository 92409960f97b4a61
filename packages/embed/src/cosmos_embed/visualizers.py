"""``text_frames_visualizer`` and ``pca_feature_map_visualizer``: pictures of the training batches.

Every ``every_n`` iterations each writes a PNG under ``<results_dir>/train/visuals/`` (rank 0), and logs
it to Weights and Biases when a W&B run is active (the ``wandb`` callback started one).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch
from cosmos_core.training.callbacks import Callback

from cosmos_embed.callbacks import check_every_n
from cosmos_embed.images import contact_sheet, feature_map_sheet, pca_rgb

logger = logging.getLogger("cosmos.train")

VISUALS_DIR = "visuals"


def save_visual(trainer, image, stem: str, iteration: int) -> Path:
    """Write ``image`` as ``<output_dir>/visuals/<stem>_<iteration>.png`` and log it to an active W&B run."""
    from cosmos_core.io import write_atomically

    path = Path(trainer.output_dir) / VISUALS_DIR / f"{stem}_{iteration:07d}.png"
    write_atomically(path, lambda handle: image.save(handle, format="PNG"))
    wandb = sys.modules.get("wandb")  # imported by the wandb callback when it started a run
    run = getattr(wandb, "run", None) if wandb is not None else None
    if run is not None:
        run.log({f"visuals/{stem}": wandb.Image(str(path), caption=f"iteration {iteration}")}, step=iteration)
    return path


class TextFramesVisualizer(Callback):
    """A contact sheet of the latest training batch: up to ``max_clips`` clips, their frames and captions."""

    def __init__(self, every_n: int = 500, max_clips: int = 4) -> None:
        self.every_n = check_every_n(every_n)
        self.max_clips = check_every_n(max_clips)

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        batch = trainer.module.last_batch
        if iteration % self.every_n or not trainer.is_main or not batch:
            return
        videos = batch["video"][: self.max_clips]
        image = contact_sheet(list(videos), list(batch["caption"][: self.max_clips]))
        logger.debug("wrote %s", save_visual(trainer, image, "text_frames", iteration))


class PCAFeatureMapVisualizer(Callback):
    """The first clip of the latest training batch next to a PCA (3 components as RGB) of the visual
    encoder's patch features, frame by frame: regions the encoder tells apart get different colours.

    Every rank runs the encoder (under FSDP its weights are gathered collectively); rank 0 writes.
    """

    def __init__(self, every_n: int = 500) -> None:
        self.every_n = check_every_n(every_n)

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        module = trainer.module
        if iteration % self.every_n or not module.last_batch:
            return
        clip = module.last_batch["video"][:1]
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                tokens, _ = module.visual_tokens(clip)
        finally:
            module.train(was_training)
        if not trainer.is_main:
            return
        rows, cols = module.network.visual_encoder.grid
        patches = tokens[0, :, 1:].reshape(tokens.shape[1], rows, cols, -1)  # drop cls
        image = feature_map_sheet(clip[0], pca_rgb(patches))
        logger.debug("wrote %s", save_visual(trainer, image, "pca_feature_map", iteration))
