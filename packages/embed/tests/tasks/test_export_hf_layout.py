"""The 224p Hugging Face layout, computed on the meta device: config.json, shards and the published count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cosmos_embed.export_inputs import export_output
from cosmos_embed.export_source import Embed1ExportSource
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import PARAMETER_COUNTS, preset

huggingface = pytest.importorskip("cosmos_export.huggingface", reason="needs cosmos-export")

TIED_DECODER = "qformer.cls.predictions.decoder.weight"


def test_224p_layout_on_the_meta_device(tmp_path):
    with torch.device("meta"):
        network = CosmosEmbed1(preset("224p"))
    source = Embed1ExportSource(network, storage_dtype=torch.bfloat16)
    report = huggingface.write_hf_directory(source, tmp_path, dry_run=True)

    state = source.hf_state_dict()
    assert all(tensor.is_meta for tensor in state.values())  # no weights were allocated
    assert state["visual_encoder.pos_embed"].shape == (1, 257, 1408)  # the 16x16 grid
    assert state[TIED_DECODER].shape == (30523, 768)  # stored although tied, like the published shards
    # The published count is the instantiated model's: the tied decoder weight counts once.
    assert report.total_parameters - state[TIED_DECODER].numel() == PARAMETER_COUNTS["224p"] == 1_172_696_698
    # bf16 like the released files: five shards of at most 500 MB, 2.39 GB in all (embed1.md §1).
    assert report.total_bytes == 2 * (1_172_696_698 + 30523 * 768)
    assert report.shards == [f"model-0000{i}-of-00005.safetensors" for i in range(1, 6)]

    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert index["metadata"] == {"total_size": report.total_bytes, "total_parameters": report.total_parameters}
    assert set(index["weight_map"]) == set(state) and len(state) == 819
    config = json.loads((tmp_path / "config.json").read_text())
    assert {
        k: config[k]
        for k in (
            "embed_dim",
            "num_query_tokens",
            "max_txt_len",
            "num_video_frames",
            "resolution",
            "vocab_size",
            "model_type",
            "torch_dtype",
        )
    } == {
        "embed_dim": 256,
        "num_query_tokens": 32,
        "max_txt_len": 128,
        "num_video_frames": 8,
        "resolution": 224,
        "vocab_size": 30523,
        "model_type": "cosmos-embed1",
        "torch_dtype": "bfloat16",
    }
    assert config["auto_map"]["AutoModel"] == "modeling_embed1.CosmosEmbed1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors.index.json"]


def test_output_paths_derive_from_checkpoint_and_mode(tmp_path):
    from cosmos_core.config.loader import load_config
    from cosmos_embed.config import ExperimentConfig

    checkpoint = tmp_path / "train" / "cosmos_embed1_model_latest.pth"
    checkpoint.parent.mkdir()
    checkpoint.touch()

    def output(*overrides: str):
        config = load_config(ExperimentConfig, None, [f"export.checkpoint={checkpoint}", *overrides])
        return export_output(config)

    assert output() == tmp_path / "train" / "cosmos_embed1_model_latest_video.onnx"
    assert output("export.mode=combined") == tmp_path / "train" / "cosmos_embed1_model_latest_combined.onnx"
    assert output("export.mode=huggingface") == tmp_path / "train" / "cosmos_embed1_model_latest_hf"
    assert output("export.onnx_file=/x/y.onnx") == Path("/x/y.onnx")
    repo_id = output("export.checkpoint=nvidia/Cosmos-Embed1-224p", f"results_dir={tmp_path / 'results'}")
    assert repo_id == tmp_path / "results" / "export" / "Cosmos-Embed1-224p_video.onnx"
