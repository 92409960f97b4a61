"""LoRA fine-tuning through the CLI: only adapters and modules_to_save train; evaluation merges them."""

from __future__ import annotations

import json

import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.training import load_checkpoint
from cosmos_datasets.samples import generate_sample_dataset

pytestmark = pytest.mark.integration


def test_lora_trains_only_adapters_and_evaluates_merged(tmp_path):
    data = tmp_path / "data"
    generate_sample_dataset(data, num_videos=24)
    paths = [
        f"dataset.{key}.{field}={value}"
        for key in ("train_dataset", "val_dataset", "test_dataset")
        for field, value in (("metadata", data / "metadata.json"), ("data_root", data))
    ]
    base = tmp_path / "base"
    common = ["cosmos-embed1", "train", "-e", "finetune_tiny", "dataset.train_dataset.workers=0", *paths]
    assert main([*common, f"results_dir={base}", "train.max_iter=1"]) == 0
    base_ckpt = base / "train" / "cosmos_embed1_model_latest.pth"

    lora = tmp_path / "lora"
    overrides = [
        f"results_dir={lora}",
        "train.max_iter=3",
        f"model.pretrained_model_path={base_ckpt}",
        "model.lora.enabled=true",
        "model.lora.lora_rank=4",
        "train.freeze_visual_encoder=true",  # LoRA decides what trains
    ]
    assert main([*common, *overrides]) == 0
    before = load_checkpoint(base_ckpt)["model"]
    after = load_checkpoint(lora / "train" / "cosmos_embed1_model_latest.pth")
    assert after["metadata"]["model"]["lora"]["enabled"] is True
    state = after["model"]
    adapters = [k for k in state if "lora_B" in k]
    assert adapters, "no LoRA adapters in the checkpoint"
    assert any(k.startswith("visual_encoder.") for k in adapters) and any(k.startswith("qformer.") for k in adapters)
    assert any(state[k].abs().sum() > 0 for k in adapters), "adapters did not train"
    # Frozen base weights are unchanged (peft keeps them under base_layer).
    for key, value in state.items():
        plain = key.replace(".base_layer.", ".")
        if "lora_" in key or "modules_to_save" in key or key.startswith("temporal_encoding") or plain not in before:
            continue
        if key.startswith(("query_pooling", "logit_scale")):
            continue
        assert torch.equal(value, before[plain]), key

    code = main(
        [
            "cosmos-embed1",
            "evaluate",
            "-e",
            "evaluate_tiny",
            f"results_dir={lora}",
            f"evaluate.checkpoint={lora / 'train' / 'cosmos_embed1_model_latest.pth'}",
            *paths,
            "dataset.test_dataset.split=test",
        ]
    )
    assert code == 0
    assert json.loads((lora / "evaluate" / "metrics.json").read_text())["num_samples"] > 0
