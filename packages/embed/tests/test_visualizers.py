"""The visualizer callbacks' pictures: contact sheets, PCA feature maps, PNG files and W&B images."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch
from cosmos_embed.config import Embed1TrainConfig
from cosmos_embed.images import CAPTION_HEIGHT, PAD, contact_sheet, pca_rgb
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.training_module import Embed1TrainingModule
from cosmos_embed.visualizers import PCAFeatureMapVisualizer, TextFramesVisualizer

RED, BLUE = (255, 0, 0), (0, 0, 255)


def solid_clip(colour: tuple[int, int, int], frames: int = 3, size: int = 16) -> torch.Tensor:
    return torch.tensor(colour, dtype=torch.uint8).view(1, 3, 1, 1).expand(frames, 3, size, size).clone()


def test_contact_sheet_puts_each_clip_under_its_caption():
    sheet = contact_sheet([solid_clip(RED), solid_clip(BLUE)], ["red clip", "blue clip"])  # one line each
    assert sheet.size == (PAD + 3 * (16 + PAD), PAD + 2 * (CAPTION_HEIGHT + 16 + 2 * PAD))
    first_row_frames = PAD + CAPTION_HEIGHT + PAD
    second_row_frames = first_row_frames + 16 + PAD + CAPTION_HEIGHT + PAD
    for column in range(3):
        x = PAD + column * (16 + PAD) + 8
        assert sheet.getpixel((x, first_row_frames + 8)) == RED
        assert sheet.getpixel((x, second_row_frames + 8)) == BLUE
    caption_band = [sheet.getpixel((x, PAD + y)) for x in range(PAD, 60) for y in range(CAPTION_HEIGHT)]
    assert min(min(pixel) for pixel in caption_band) < 100  # dark caption text is drawn


def test_pca_colours_separate_what_the_features_separate():
    generator = torch.Generator().manual_seed(0)
    left, right = torch.randn(32, generator=generator), torch.randn(32, generator=generator)
    features = torch.empty(2, 4, 4, 32)
    features[:, :, :2] = left
    features[:, :, 2:] = right
    features += 0.01 * torch.randn(features.shape, generator=generator)
    rgb = pca_rgb(features)
    assert rgb.shape == (2, 4, 4, 3) and rgb.min() >= 0 and rgb.max() <= 1
    # Red is PC 1, the left/right split: one value per half at opposite ends. Green and blue (PC 2 and 3)
    # spread the remaining noise over [0, 1].
    left_red, right_red = rgb[:, :, :2, 0], rgb[:, :, 2:, 0]
    assert (left_red.mean() - right_red.mean()).abs() > 0.95
    assert left_red.std() < 0.02 and right_red.std() < 0.02


class FakeTrainer:
    """What the visualizers use of the TrainerView."""

    def __init__(self, module, output_dir: Path) -> None:
        self.module = module
        self.output_dir = output_dir
        self.is_main = True


@pytest.fixture
def module_after_a_step() -> Embed1TrainingModule:
    torch.manual_seed(0)
    module = Embed1TrainingModule(CosmosEmbed1(preset("tiny")), Embed1TrainConfig(), 0, 0, contrastive=None)
    videos = torch.cat([solid_clip(RED, 8, 64)[None], solid_clip(BLUE, 8, 64)[None]])
    module.last_batch = {"video": videos, "caption": ["a red square", "a blue circle"]}
    return module


@pytest.fixture
def wandb_run(monkeypatch):
    logged = []
    run = types.SimpleNamespace(log=lambda values, step: logged.append((values, step)))
    fake = types.SimpleNamespace(run=run, Image=lambda path, caption: ("image", path, caption))
    monkeypatch.setitem(sys.modules, "wandb", fake)
    return logged


def test_visualizers_write_pngs_every_n_iterations_and_log_them_to_an_active_wandb_run(
    module_after_a_step, tmp_path, wandb_run
):
    from PIL import Image

    trainer = FakeTrainer(module_after_a_step, tmp_path)
    callbacks = [TextFramesVisualizer(every_n=2), PCAFeatureMapVisualizer(every_n=2)]
    for iteration in (1, 2):
        for callback in callbacks:
            callback.on_train_step_end(trainer, iteration, {})
    written = sorted(p.name for p in (tmp_path / "visuals").iterdir())
    assert written == ["pca_feature_map_0000002.png", "text_frames_0000002.png"]
    frames = Image.open(tmp_path / "visuals" / "text_frames_0000002.png")
    assert frames.size == (PAD + 8 * (64 + PAD), PAD + 2 * (CAPTION_HEIGHT + 64 + 2 * PAD))
    pca = Image.open(tmp_path / "visuals" / "pca_feature_map_0000002.png")
    assert pca.size[0] == frames.size[0]  # the clip's 8 frames over their 8 PCA maps
    assert module_after_a_step.training  # put back in training mode after encoding
    assert [(list(values), step) for values, step in wandb_run] == [
        (["visuals/text_frames"], 2),
        (["visuals/pca_feature_map"], 2),
    ]
    assert wandb_run[0][0]["visuals/text_frames"][1] == str(tmp_path / "visuals" / "text_frames_0000002.png")


def test_without_an_active_wandb_run_only_the_png_is_written(module_after_a_step, tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "wandb", raising=False)
    TextFramesVisualizer(every_n=1).on_train_step_end(FakeTrainer(module_after_a_step, tmp_path), 1, {})
    assert (tmp_path / "visuals" / "text_frames_0000001.png").is_file()


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="every_n must be a positive integer"):
        TextFramesVisualizer(every_n=0)
    with pytest.raises(ValueError, match="every_n must be a positive integer"):
        PCAFeatureMapVisualizer(every_n="often")
