"""Training learns: on videos whose captions follow their content, the fine-tuned tiny model's top-1
hit rate clearly beats chance and the untrained model (open_clip-style synthetic-data smoke test).

EMA is on (decay 0.9 suits the 60 iterations), so evaluate measures the EMA weights the checkpoint holds."""

from __future__ import annotations

import json

import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.plugins import load_plugins
from cosmos_core.training import load_checkpoint
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.samples import generate_sample_dataset
from cosmos_datasets.skips import SkipLog
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.retrieval import hit_rates
from cosmos_embed.tasks.common import Encoder, encode_dataset

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def untrained_top1(test_cfg: SingleDatasetConfig) -> float:
    torch.manual_seed(1234)
    encoder = Encoder.create(CosmosEmbed1(preset("tiny")), "fp32", torch.device("cpu"))
    dataset = load_plugins().datasets.get("vad_r1")(test_cfg, training=False)
    videos, records = encode_dataset(encoder, dataset, test_cfg, SkipLog())
    labels = torch.tensor([r["label"] for r in records])
    return hit_rates(videos, encoder.texts(dataset.label_names()), labels, [1])["top1_hit_rate"]


def test_fine_tuning_beats_chance_and_the_untrained_model(tmp_path):
    data = tmp_path / "data"
    generate_sample_dataset(data, num_videos=96)
    paths = {
        split: [f"dataset.{key}.metadata={data / 'metadata.json'}", f"dataset.{key}.data_root={data}"]
        for split, key in (("train", "train_dataset"), ("val", "val_dataset"), ("test", "test_dataset"))
    }
    results = tmp_path / "results"
    assert (
        main(
            [
                "cosmos-embed1",
                "train",
                "-e",
                "finetune_tiny",
                f"results_dir={results}",
                "train.ema.enabled=true",
                "train.ema.decay=0.9",
                "train.callbacks.ema={}",
                *paths["train"],
                *paths["val"],
            ]
        )
        == 0
    )
    checkpoint = results / "train" / "cosmos_embed1_model_latest.pth"
    assert load_checkpoint(checkpoint)["callbacks"]["ema"]["updates"] == 60
    assert (
        main(
            [
                "cosmos-embed1",
                "evaluate",
                "-e",
                "evaluate_tiny",
                f"results_dir={results}",
                f"evaluate.checkpoint={checkpoint}",
                *paths["test"],
            ]
        )
        == 0
    )
    metrics = json.loads((results / "evaluate" / "metrics.json").read_text())
    chance = 1 / metrics["num_classes"]
    test_cfg = SingleDatasetConfig(
        dataset_type="vad_r1",
        metadata=str(data / "metadata.json"),
        data_root=str(data),
        split="test",
        resolution=[64, 64],
        batch_size=16,
        workers=0,
        drop_last=False,
        pin_memory=False,
    )
    before = untrained_top1(test_cfg)
    after = metrics["top1_hit_rate"]
    print(f"top-1 hit rate: untrained {before:.3f}, fine-tuned {after:.3f}, chance {chance:.3f}")
    assert after >= 2.5 * chance, (after, chance)
    assert after >= before + 0.25, (after, before)
