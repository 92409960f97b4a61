"""``cosmos-run cosmos-embed1 export`` on tiny checkpoints: every mode, checked here independently of
the exporter's own parity check, and every bad input refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.config.loader import unstructure
from cosmos_core.training.checkpoint import CHECKPOINT_FORMAT, atomic_save
from cosmos_embed.config import FAMILY, ModelConfig
from cosmos_embed.model.config import LoRAConfig
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.loading import build_model
from cosmos_embed.model.lora import apply_lora, merge_lora
from cosmos_embed.model.presets import preset
from cosmos_embed.text.tokenizer import build_tokenizer

ort = pytest.importorskip("onnxruntime", reason="ONNX export needs cosmos-export[onnx]")

# ---------------------------------------------------------------------------------------------------
# Checkpoints, written directly in the trainer's format
# ---------------------------------------------------------------------------------------------------


def trainer_payload(state: dict, metadata: dict) -> dict:
    return {
        "format": CHECKPOINT_FORMAT,
        **{key: {} for key in ("optimizer", "scheduler", "scaler", "data")},
        "model": state,
        "iteration": 1,
        "rng": [],
        "metadata": metadata,
    }


def tiny_network(seed: int = 0, **changes) -> CosmosEmbed1:
    """A tiny network whose temporal encoding is not zero, so every graph depends on all its parts."""
    torch.manual_seed(seed)
    network = CosmosEmbed1(attrs.evolve(preset("tiny"), **changes)).eval()
    with torch.no_grad():
        network.temporal_encoding.weight.normal_(std=0.5)
    return network


def save_checkpoint(path: Path, network: CosmosEmbed1, lora: LoRAConfig | None = None) -> Path:
    model = ModelConfig(network=network.config, lora=lora or LoRAConfig(), precision="fp32")
    atomic_save(trainer_payload(network.state_dict(), {"family": FAMILY, "model": unstructure(model)}), path)
    return path


def run_export(results: Path, *overrides: str, spec: str = "export_onnx_224p", options: tuple = ()) -> int:
    return main([*options, "cosmos-embed1", "export", "-e", spec, f"results_dir={results}", *overrides])


def session_for(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, CosmosEmbed1]:
    folder = tmp_path_factory.mktemp("tiny")
    network = tiny_network()
    return save_checkpoint(folder / "cosmos_embed1_model_latest.pth", network), network


# ---------------------------------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------------------------------


def test_video_graph_follows_the_checkpoint_frames_and_resolution(tmp_path):
    # The 224p spec, a checkpoint with 4 frames at 48x64: the network comes from the checkpoint.
    network = tiny_network(num_video_frames=4, spatial_resolution=[48, 64])
    checkpoint = save_checkpoint(tmp_path / "small.pth", network)
    output = tmp_path / "video.onnx"
    assert (
        run_export(tmp_path, f"export.checkpoint={checkpoint}", f"export.onnx_file={output}", "export.batch_size=2")
        == 0
    )

    session = session_for(output)
    assert [(i.name, i.type, i.shape) for i in session.get_inputs()] == [("videos", "tensor(float)", [2, 4, 3, 48, 64])]
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("visual_proj", [2, 32])]
    frames = torch.randint(0, 256, (2, 4, 3, 48, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))
    (onnx_embedding,) = session.run(None, {"videos": (frames.float() / 255).numpy()})
    with torch.no_grad():
        eager = network.get_video_embeddings(frames).visual_proj  # the eager model takes uint8 directly
    np.testing.assert_allclose(onnx_embedding, eager.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(onnx_embedding, axis=1), 1.0, atol=1e-5)

    report = json.loads((tmp_path / "export" / "export_report.json").read_text())
    assert report["opset_version"] == 17 and report["batch_size"] == 2
    assert report["parity"][0]["results"][0]["batch_size"] == 2
    assert max(report["parity"][0]["results"][0]["max_abs_error"].values()) < 1e-4


def test_video_graph_with_uint8_input_and_a_dynamic_batch(tiny, tmp_path):
    checkpoint, network = tiny
    output = tmp_path / "video_uint8.onnx"
    overrides = ["export.video_dtype=uint8", "export.batch_size=-1", f"export.onnx_file={output}"]
    assert run_export(tmp_path, f"export.checkpoint={checkpoint}", *overrides) == 0
    session = session_for(output)
    assert [(i.name, i.type, i.shape) for i in session.get_inputs()] == [
        ("videos", "tensor(uint8)", ["batch", 8, 3, 64, 64])
    ]
    frames = torch.randint(0, 256, (3, 8, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(7))
    (onnx_embedding,) = session.run(None, {"videos": frames.numpy()})
    with torch.no_grad():
        eager = network.get_video_embeddings(frames).visual_proj
    np.testing.assert_allclose(onnx_embedding, eager.numpy(), atol=1e-5)


def test_text_graph_with_a_dynamic_batch(tiny, tmp_path):
    checkpoint, network = tiny
    assert (
        run_export(
            tmp_path,
            f"export.checkpoint={checkpoint}",
            "export.mode=text",
            "export.batch_size=-1",
            "export.opset_version=18",
        )
        == 0
    )
    output = checkpoint.parent / "cosmos_embed1_model_latest_text.onnx"  # derived from checkpoint and mode
    session = session_for(output)
    assert [(i.name, i.shape) for i in session.get_inputs()] == [
        ("input_ids", ["batch", 32]),
        ("attention_mask", ["batch", 32]),
    ]
    tokens = build_tokenizer(network.config)(["a red square moving right", "two cars", "a person falls down"])
    (onnx_embedding,) = session.run(None, {name: tokens[name].numpy() for name in ("input_ids", "attention_mask")})
    with torch.no_grad():
        eager = network.get_text_embeddings(tokens["input_ids"], tokens["attention_mask"]).text_proj
    np.testing.assert_allclose(onnx_embedding, eager.numpy(), atol=1e-5)


def test_combined_graph_dynamic_and_simplified(tiny, tmp_path):
    checkpoint, network = tiny
    output = tmp_path / "combined.onnx"
    assert (
        run_export(
            tmp_path,
            f"export.checkpoint={checkpoint}",
            f"export.onnx_file={output}",
            "export.mode=combined",
            "export.batch_size=-1",
            "export.simplify=true",
        )
        == 0
    )
    report = json.loads((tmp_path / "export" / "export_report.json").read_text())
    assert [stage["stage"] for stage in report["parity"]] == ["export", "simplify"]
    assert [r["batch_size"] for r in report["parity"][1]["results"]] == [1, 3]

    session = session_for(output)
    assert [o.name for o in session.get_outputs()] == ["visual_proj", "text_proj"]
    generator = torch.Generator().manual_seed(9)
    videos = torch.rand(5, 8, 3, 64, 64, generator=generator)
    tokens = build_tokenizer(network.config)(["flooding"] * 5)
    feed = {"videos": videos.numpy(), **{k: v.numpy() for k, v in tokens.items()}}
    visual, text = session.run(None, feed)
    with torch.no_grad():
        out = network(videos, tokens["input_ids"], tokens["attention_mask"])
    np.testing.assert_allclose(visual, out.visual_proj.numpy(), atol=1e-5)
    np.testing.assert_allclose(text, out.text_proj.numpy(), atol=1e-5)


# ---------------------------------------------------------------------------------------------------
# Hugging Face
# ---------------------------------------------------------------------------------------------------


def embeddings(network: CosmosEmbed1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(11)
    videos = torch.rand(2, network.config.num_video_frames, 3, *network.config.spatial_resolution, generator=generator)
    tokens = build_tokenizer(network.config)(["a blue circle moving up", "rain"])
    with torch.no_grad():
        out = network.eval()(videos, tokens["input_ids"], tokens["attention_mask"])
    return out.visual_proj, out.text_proj


def test_hugging_face_round_trip(tiny, tmp_path):
    checkpoint, network = tiny
    folder = tmp_path / "hf"
    assert (
        run_export(tmp_path, f"export.checkpoint={checkpoint}", f"export.hf_output_dir={folder}", spec="export_hf_224p")
        == 0
    )
    names = {path.name for path in folder.iterdir()}
    assert {
        "config.json",
        "model.safetensors.index.json",
        "model-00001-of-00001.safetensors",
        "processor_config.json",
        "vocab.txt",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
    } <= names
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "cosmos-embed1" and config["embed_dim"] == 32 and config["resolution"] == 64
    assert config["vocab_size"] == 546 and config["torch_dtype"] == "float32"
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    assert "qformer.cls.predictions.decoder.weight" in weight_map  # tied, stored like the published shards

    # model.pretrained_model_path=<folder>: strict load, zero missing / unexpected, identical embeddings.
    reloaded = build_model(network.config, pretrained_model_path=str(folder), strict=True)
    for ours, theirs in zip(embeddings(network), embeddings(reloaded), strict=True):
        assert torch.equal(ours, theirs)
    from transformers import BertTokenizer

    text = "A person walking in the rain [DEC]"
    exported = BertTokenizer.from_pretrained(str(folder))(text, padding="max_length", max_length=32)["input_ids"]
    assert exported == build_tokenizer(network.config)([text])["input_ids"][0].tolist()
    report = json.loads((tmp_path / "export" / "export_report.json").read_text())
    assert report["reload"] == {
        "missing_keys": 0,
        "unexpected_keys": 0,
        "max_abs_embedding_difference": 0.0,
        "lossless": True,
        "tokenizer_matches": True,
    }


def test_lora_checkpoint_is_merged_before_export(tmp_path):
    lora = LoRAConfig(enabled=True, lora_rank=2, lora_alpha=4, lora_dropout=0.0)
    network = apply_lora(tiny_network(), lora)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, parameter in network.named_parameters():
            if "lora_B" in name:  # zero at init; non-zero so that merging changes the weights
                parameter.copy_(0.2 * torch.randn(parameter.shape, generator=generator))
    checkpoint = save_checkpoint(tmp_path / "lora.pth", network, lora)
    folder = tmp_path / "hf"
    assert (
        run_export(tmp_path, f"export.checkpoint={checkpoint}", f"export.hf_output_dir={folder}", spec="export_hf_224p")
        == 0
    )
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    assert not [key for key in weight_map if "lora_" in key or "base_layer" in key or "modules_to_save" in key]
    reloaded = build_model(network.config, pretrained_model_path=str(folder), strict=True)
    merged = merge_lora(network).eval()
    for ours, theirs in zip(embeddings(merged), embeddings(reloaded), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_export_keeps_pos_embed_at_the_models_own_grid_and_either_grid_loads(tmp_path):
    network = tiny_network(spatial_resolution=[48, 48])  # a 6x6 patch grid; visual_encoder.img_size 64: 8x8
    checkpoint = save_checkpoint(tmp_path / "wide.pth", network)
    assert run_export(tmp_path, f"export.checkpoint={checkpoint}", spec="export_hf_224p") == 0
    report = json.loads((tmp_path / "export" / "export_report.json").read_text())
    assert report["path"] == str(tmp_path / "wide_hf")
    assert report["reload"]["missing_keys"] == 0 and report["reload"]["lossless"] is True
    assert report["reload"]["max_abs_embedding_difference"] == 0.0
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "wide_hf" / "model-00001-of-00001.safetensors"))["visual_encoder.pos_embed"]
    assert stored.shape == (1, 1 + 6 * 6, 64)
    # Weights stored at the img_size grid (how the released files keep every resolution) still load.
    from cosmos_embed.model.vit import resample_pos_embed

    state = {key: value.clone() for key, value in network.state_dict().items()}
    state["visual_encoder.pos_embed"] = resample_pos_embed(stored, (8, 8))
    assert state["visual_encoder.pos_embed"].shape == (1, 65, 64)
    reloaded = tiny_network(spatial_resolution=[48, 48])
    reloaded.load_state_dict(state)
    assert reloaded.visual_encoder.pos_embed.shape == (1, 37, 64)


# ---------------------------------------------------------------------------------------------------
# Bad input: refused before any work (no run folder, no model built), with what to do
# ---------------------------------------------------------------------------------------------------


def refused(tmp_path: Path, capsys, *overrides: str, spec: str = "export_onnx_224p", options: tuple = ()) -> str:
    assert run_export(tmp_path / "results", *overrides, spec=spec, options=options) == 2
    assert not (tmp_path / "results" / "export").exists()
    return capsys.readouterr().err


def test_missing_or_absent_checkpoint(tmp_path, capsys):
    assert "export.checkpoint is required" in refused(tmp_path, capsys)
    error = refused(tmp_path, capsys, f"export.checkpoint={tmp_path / 'nope.pth'}")
    assert "no such file or folder" in error and "cosmos-run cosmos-embed1 train" in error


def test_checkpoint_of_another_family(tmp_path, capsys):
    transfer = tmp_path / "transfer.pth"
    metadata = {"family": "cosmos-transfer1", "model": {}}
    atomic_save(trainer_payload({"net.blocks.0.weight": torch.zeros(2, 2)}, metadata), transfer)
    error = refused(tmp_path, capsys, f"export.checkpoint={transfer}")
    assert "is a cosmos-transfer1 checkpoint, not a cosmos-embed1 one" in error

    released = tmp_path / "Cosmos-Transfer1-7B.pt"  # a raw state dict, as the released files are
    torch.save({"net.x_embedder.proj.1.weight": torch.zeros(2, 2), "logvar.0.weight": torch.zeros(1)}, released)
    error = refused(tmp_path, capsys, f"export.checkpoint={released}")
    assert "does not hold cosmos-embed1 weights" in error and "logvar., net." in error


def test_adapter_only_checkpoint(tmp_path, capsys):
    from safetensors.torch import save_file

    adapters = tmp_path / "adapter_model.safetensors"
    save_file({"visual_encoder.blocks.0.attn.qkv.lora_A.weight": torch.zeros(2, 64)}, str(adapters))
    error = refused(tmp_path, capsys, f"export.checkpoint={adapters}")
    assert "only LoRA adapter weights" in error and "merged at export" in error


def test_unwritable_output_and_unknown_mode(tiny, tmp_path, capsys):
    checkpoint, _ = tiny
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    error = refused(tmp_path, capsys, f"export.checkpoint={checkpoint}", f"export.onnx_file={blocker / 'x.onnx'}")
    assert "export.onnx_file" in error and "cannot be created" in error and "is a file" in error
    # A pseudo-filesystem looks writable to root by its permission bits; the check really writes.
    error = refused(tmp_path, capsys, f"export.checkpoint={checkpoint}", "export.onnx_file=/proc/x.onnx")
    assert "export.onnx_file=/proc/x.onnx: cannot write in /proc" in error
    error = refused(tmp_path, capsys, f"export.checkpoint={checkpoint}", "export.mode=onnx")
    assert "export.mode" in error and "video" in error and "huggingface" in error


def test_without_cosmos_export_installed(tiny, tmp_path, capsys):
    checkpoint, _ = tiny
    error = refused(tmp_path, capsys, f"export.checkpoint={checkpoint}", options=("-p", "no:export"))
    assert "no exporter is installed" in error and "pip install 'cosmos-export[onnx]'" in error


def test_settings_the_exporter_cannot_honour(tiny, tmp_path, capsys):
    checkpoint, _ = tiny
    error = refused(
        tmp_path, capsys, f"export.checkpoint={checkpoint}", "export.opset_version=13", "export.batch_size=0"
    )
    assert "export.opset_version=13" in error and "export.batch_size=0" in error
