"""The seed's training options through the real CLI: EMA, σReparam, DAMP, the callbacks of the seed's
table, the two resume options, and evaluate / inference / both exports reading what they produce."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.training import load_checkpoint
from cosmos_datasets.samples import generate_sample_dataset
from embed_commands import split_overrides, tiny_train_argv

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("embed_training_options")]

PREFIX = "cosmos_embed1_model"


def train(results: Path, data: Path, *overrides: str) -> int:
    return main(tiny_train_argv(results, data, "dataset.train_dataset.workers=0", *overrides))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate_sample_dataset(root, num_videos=36)
    return root


ALL_OPTIONS = (
    "train.max_iter=4",
    "train.checkpoint_iter=2",
    "train.validation_iter=2",
    "train.ema.enabled=true",
    "train.ema.decay=0.5",
    "train.spectral_reparam=true",
    "train.damp.enabled=true",
    "train.damp.mode=dynamic",
    "train.callbacks={clamp_logit_scale: {}, ema: {}, spectral_norm_monitor: {every_n: 2, verbose: true}, "
    "text_frames_visualizer: {every_n: 2}, pca_feature_map_visualizer: {every_n: 4}, "
    "validation_eval: {top_k_values: [1, 3]}, log_losses: {every_n: 2}}",
)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("results")
    assert train(results, data, *ALL_OPTIONS) == 0
    return results


def test_training_writes_visuals_retrieval_metrics_spectral_norms_and_ema_state(trained):
    folder = trained / "train"
    assert sorted(p.name for p in (folder / "visuals").iterdir()) == [
        "pca_feature_map_0000004.png",
        "text_frames_0000002.png",
        "text_frames_0000004.png",
    ]
    history = json.loads((folder / "validation_metrics.json").read_text())
    assert [entry["iteration"] for entry in history] == [2, 4]
    assert set(history[0]) == {"iteration", "top1_hit_rate", "top3_hit_rate", "mrr"}
    console = (folder / "console.log").read_text()
    assert "validation retrieval at iter 4: top1_hit_rate" in console
    assert "iter 2: spectral norms of" in console and "spectral norm vision_proj" in console
    assert "sigma-Reparam and DAMP on" in console and "EMA of" in console
    payload = load_checkpoint(folder / f"{PREFIX}_latest.pth")
    ema = payload["callbacks"]["ema"]
    assert ema["updates"] == 4 and ema["decay"] == 0.5
    assert "vision_proj.spectral.gamma" in payload["model"] and "vision_proj.spectral.gamma" in ema["shadow"]
    assert not torch.equal(ema["shadow"]["vision_proj.weight"], payload["model"]["vision_proj.weight"])


def evaluate(results: Path, data: Path, checkpoint: Path, *overrides: str) -> dict:
    command = ["cosmos-embed1", "evaluate", "-e", "evaluate_tiny", f"results_dir={results}"]
    test_set = split_overrides("test_dataset", data, "test")
    assert main([*command, f"evaluate.checkpoint={checkpoint}", *test_set, *overrides]) == 0
    return json.loads((results / "evaluate" / "metrics.json").read_text())


def test_evaluate_reads_the_ema_weights_unless_told_to_use_the_raw_ones(trained, data, tmp_path):
    from cosmos_embed import embedding_cache

    checkpoint = trained / "train" / f"{PREFIX}_latest.pth"
    evaluate(tmp_path / "ema", data, checkpoint, f"evaluate.save_dataset_pkl={tmp_path / 'ema.pkl'}")
    evaluate(
        tmp_path / "raw",
        data,
        checkpoint,
        "model.use_ema_weights=false",
        f"evaluate.save_dataset_pkl={tmp_path / 'raw.pkl'}",
    )
    ema, raw = embedding_cache.load(tmp_path / "ema.pkl"), embedding_cache.load(tmp_path / "raw.pkl")
    assert ema.fingerprint["model"] != raw.fingerprint["model"]
    assert not torch.allclose(ema.tensors["videos"], raw.tensors["videos"], atol=1e-4)
    assert "using its EMA weights (4 updates" in (tmp_path / "ema" / "evaluate" / "console.log").read_text()


def test_both_exports_hold_the_ema_weights_folded_to_plain_ones(trained, tmp_path):
    import onnxruntime as ort
    from cosmos_embed.config import ModelConfig
    from cosmos_embed.model.presets import preset
    from cosmos_embed.tasks.common import network_from_checkpoint
    from safetensors.torch import load_file

    checkpoint = trained / "train" / f"{PREFIX}_latest.pth"
    common = ["cosmos-embed1", "export", f"results_dir={tmp_path}", f"export.checkpoint={checkpoint}"]
    assert main([*common[:2], "-e", "export_hf_224p", *common[2:], f"export.hf_output_dir={tmp_path / 'hf'}"]) == 0
    onnx_file = tmp_path / "video.onnx"
    assert main([*common[:2], "-e", "export_onnx_224p", *common[2:], f"export.onnx_file={onnx_file}"]) == 0

    spec = ModelConfig(network=preset("tiny"))
    ema, _ = network_from_checkpoint(str(checkpoint), spec, "export.checkpoint")
    raw, _ = network_from_checkpoint(
        str(checkpoint), ModelConfig(network=preset("tiny"), use_ema_weights=False), "export.checkpoint"
    )
    exported = load_file(str(tmp_path / "hf" / "model-00001-of-00001.safetensors"))
    assert not [key for key in exported if ".spectral." in key]  # σReparam folded into plain weights
    assert torch.equal(exported["vision_proj.weight"], ema.state_dict()["vision_proj.weight"])
    assert not torch.equal(exported["vision_proj.weight"], raw.state_dict()["vision_proj.weight"])

    videos = torch.randint(0, 256, (1, 8, 3, 64, 64), dtype=torch.uint8)
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {"videos": (videos.float() / 255).numpy()})
    with torch.no_grad():
        ema_out = ema.eval().get_video_embeddings(videos).visual_proj.numpy()
        raw_out = raw.eval().get_video_embeddings(videos).visual_proj.numpy()
    assert np.abs(onnx_out - ema_out).max() < 1e-4 < np.abs(onnx_out - raw_out).max()


def optimizer_steps(checkpoint: Path) -> set[int]:
    """The step count AdamW holds for each parameter: how many updates its moments have seen."""
    state = load_checkpoint(checkpoint)["optimizer"]["state"]
    return {int(entry["step"]) for entry in state.values()}


def test_resume_options_choose_what_continues(trained, data, tmp_path, capsys):
    source = trained / "train" / f"{PREFIX}_4.pth"
    resume = [*ALL_OPTIONS[3:], "train.max_iter=6", "train.checkpoint_iter=6", "train.validation_iter=100"]
    # From another run's folder: weights, iteration and EMA continue; optimizer and schedule start fresh.
    assert train(tmp_path / "fresh", data, *resume, f"train.resume_training_checkpoint_path={source}") == 0
    fresh = load_checkpoint(tmp_path / "fresh" / "train" / f"{PREFIX}_6.pth")
    assert fresh["iteration"] == 6 and fresh["callbacks"]["ema"]["updates"] == 6
    assert optimizer_steps(tmp_path / "fresh" / "train" / f"{PREFIX}_6.pth") == {2}
    assert fresh["scheduler"]["last_epoch"] == 2
    assert "with a fresh optimizer and learning-rate schedule" in capsys.readouterr().out
    # train.load_training_state: the optimizer and the schedule continue too.
    overrides = [*resume, f"train.resume_training_checkpoint_path={source}", "train.load_training_state=true"]
    assert train(tmp_path / "full", data, *overrides) == 0
    assert optimizer_steps(tmp_path / "full" / "train" / f"{PREFIX}_6.pth") == {6}
    assert load_checkpoint(tmp_path / "full" / "train" / f"{PREFIX}_6.pth")["scheduler"]["last_epoch"] == 6

    # A network that no longer matches (LoRA adapters added): an error with train.strict_resume ...
    lora = ["model.lora.enabled=true", "model.network.visual_encoder.transformer_engine=false"]
    strict = [*resume, *lora, f"train.resume_training_checkpoint_path={source}", "train.strict_resume=true"]
    capsys.readouterr()
    assert train(tmp_path / "strict", data, *strict) == 2
    error = capsys.readouterr().err
    assert "train.strict_resume is true" in error and "missing key(s)" in error and "Traceback" not in error
    # ... and without it the matching weights load, the rest keep their values, one warning says so.
    assert train(tmp_path / "lenient", data, *strict[:-1]) == 0
    assert "loaded non-strictly (train.strict_resume=false)" in capsys.readouterr().out
