"""train → export → use the exports, through the real ``cosmos-run`` CLI and the bundled 224p export specs.

The ONNX video graph must embed real decoded clips like the checkpoint does (the text graph is checked
with real tokenised text in packages/embed/tests/tasks/test_export.py), and the
Hugging Face folder must serve as ``inference.checkpoint`` with the same search results as the
checkpoint it came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cosmos_core.cli import main
from cosmos_datasets.samples import generate_sample_dataset
from cosmos_datasets.video import read_clip
from cosmos_embed.config import ModelConfig
from cosmos_embed.tasks.common import Encoder, network_from_checkpoint

ort = pytest.importorskip("onnxruntime", reason="ONNX export needs cosmos-export[onnx]")
pytestmark = pytest.mark.integration


def data(split_key: str, root: Path) -> list[str]:
    return [f"dataset.{split_key}.metadata={root / 'metadata.json'}", f"dataset.{split_key}.data_root={root}"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    samples = tmp_path_factory.mktemp("samples")
    generate_sample_dataset(samples, num_videos=30)
    results = tmp_path_factory.mktemp("results")
    code = main(
        [
            "cosmos-embed1", "train", "-e", "finetune_tiny", f"results_dir={results}", "train.max_iter=1",
            "dataset.train_dataset.workers=0", "dataset.train_dataset.batch_size=4",
            *data("train_dataset", samples), *data("val_dataset", samples),
        ]
    )  # fmt: skip
    assert code == 0
    return results / "train" / "cosmos_embed1_model_latest.pth", samples


def test_onnx_video_graph_embeds_real_clips_like_the_checkpoint(trained, tmp_path):
    checkpoint, samples = trained
    code = main(
        [
            "cosmos-embed1", "export", "-e", "export_onnx_224p", f"results_dir={tmp_path}",
            f"export.checkpoint={checkpoint}", "export.batch_size=-1",
        ]
    )  # fmt: skip
    assert code == 0
    network, _ = network_from_checkpoint(str(checkpoint), ModelConfig(), "evaluate.checkpoint")
    encoder = Encoder.create(network, "fp32", torch.device("cpu"))
    clips = sorted((samples / "videos").glob("*.mp4"))[:3]
    videos = torch.stack([read_clip(clip, 8, (64, 64), "pyav") for clip in clips])
    graph = ort.InferenceSession(str(checkpoint.with_name(f"{checkpoint.stem}_video.onnx")))
    (embeddings,) = graph.run(None, {"videos": (videos.float() / 255).numpy()})
    np.testing.assert_allclose(embeddings, encoder.videos(videos).numpy(), atol=1e-5)


def test_hugging_face_export_serves_as_the_checkpoint(trained, tmp_path):
    checkpoint, samples = trained
    folder = tmp_path / "hf_export"
    code = main(
        [
            "cosmos-embed1", "export", "-e", "export_hf_224p", f"results_dir={tmp_path}",
            f"export.checkpoint={checkpoint}", f"export.hf_output_dir={folder}",
        ]
    )  # fmt: skip
    assert code == 0

    def search(weights: Path, name: str) -> dict:
        results = tmp_path / name
        query = samples / "videos" / sorted(p.name for p in (samples / "videos").glob("*.mp4"))[0]
        code = main(
            [
                "cosmos-embed1", "inference", "-e", "inference_tiny", f"results_dir={results}",
                f"inference.checkpoint={weights}", *data("inference_dataset", samples),
                f"inference.query.input_videos=[{query}]",
            ]
        )  # fmt: skip
        assert code == 0
        return json.loads((results / "inference" / "results.json").read_text())

    assert search(folder, "from_hf") == search(checkpoint, "from_checkpoint")
