"""Cosmos-Embed1 train → evaluate → inference through the real ``cosmos-run`` CLI on generated videos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.training import load_checkpoint
from cosmos_datasets.samples import generate_sample_dataset, write_corrupt_video
from embed_commands import split_overrides, tiny_train_argv

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("embed_cli")]


def train(results: Path, data: Path, *overrides: str) -> int:
    """``cosmos-run cosmos-embed1 train -e finetune_tiny`` on the sample videos, in process."""
    return main(tiny_train_argv(results, data, "dataset.train_dataset.workers=0", *overrides))


@pytest.fixture(scope="module")
def sample_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sample_data")
    generate_sample_dataset(root, num_videos=48)
    return root


@pytest.fixture(scope="module")
def trained(sample_data, tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("results")
    code = train(results, sample_data, "train.max_iter=4", "train.checkpoint_iter=2", "train.validation_iter=2")
    assert code == 0
    return results


def test_train_writes_checkpoints_logs_and_resolved_config(trained):
    train = trained / "train"
    for name in (
        "cosmos_embed1_model_latest.pth",
        "cosmos_embed1_model_2.pth",
        "cosmos_embed1_model_4.pth",
        "experiment.yaml",
        "console.log",
        "debug.log",
    ):
        assert (train / name).is_file(), name
    payload = load_checkpoint(train / "cosmos_embed1_model_latest.pth")
    assert payload["iteration"] == 4
    assert payload["metadata"]["family"] == "cosmos-embed1"
    assert payload["metadata"]["model"]["network"]["scale"] == "tiny"
    assert "visual_encoder.pos_embed" in payload["model"]  # the network's own key layout
    assert "train.max_iter" not in (train / "console.log").read_text()
    assert "max_iter: 4" in (train / "experiment.yaml").read_text()


def test_resume_continues_the_iteration_count(trained, sample_data, tmp_path):
    latest = trained / "train" / "cosmos_embed1_model_latest.pth"
    code = train(
        tmp_path,
        sample_data,
        "train.max_iter=6",
        "train.checkpoint_iter=2",
        f"train.resume_training_checkpoint_path={latest}",
    )
    assert code == 0
    files = sorted(p.name for p in (tmp_path / "train").glob("cosmos_embed1_model_*.pth"))
    assert files == ["cosmos_embed1_model_6.pth", "cosmos_embed1_model_latest.pth"]
    assert load_checkpoint(tmp_path / "train" / "cosmos_embed1_model_latest.pth")["iteration"] == 6


def test_evaluate_rebuilds_the_network_from_the_checkpoint(trained, sample_data, capsys):
    checkpoint = trained / "train" / "cosmos_embed1_model_latest.pth"
    cache = trained / "evaluate" / "embeddings.pkl"
    common = [
        "cosmos-embed1",
        "evaluate",
        "-e",
        "evaluate_tiny",
        f"results_dir={trained}",
        f"evaluate.checkpoint={checkpoint}",
        *split_overrides("test_dataset", sample_data, "test"),
    ]
    # A spec whose network disagrees: the checkpoint wins, with one notice naming the fields.
    assert main([*common, "model.network.embed_dim=48", f"evaluate.save_dataset_pkl={cache}"]) == 0
    notices = [line for line in capsys.readouterr().out.splitlines() if "differs from" in line]
    assert len(notices) == 1 and "model.network.embed_dim" in notices[0]
    metrics = json.loads((trained / "evaluate" / "metrics.json").read_text())
    assert metrics["num_samples"] == 12 and metrics["num_classes"] == 6
    assert {"top1_hit_rate", "top3_hit_rate", "top5_hit_rate", "mrr"} <= set(metrics)
    assert 0.0 <= metrics["top1_hit_rate"] <= metrics["top3_hit_rate"] <= metrics["top5_hit_rate"] <= 1.0

    # The cache reproduces the metrics without running the model.
    (trained / "evaluate" / "metrics.json").unlink()
    assert main([*common, f"evaluate.load_dataset_pkl={cache}"]) == 0
    again = json.loads((trained / "evaluate" / "metrics.json").read_text())
    assert again == metrics


def test_inference_searches_text_and_video_and_caches_the_database(trained, sample_data, tmp_path):
    checkpoint = trained / "train" / "cosmos_embed1_model_latest.pth"
    cache = tmp_path / "db.pkl"
    query_video = sample_data / "videos" / "red_square_right_000.mp4"
    common = [
        "cosmos-embed1",
        "inference",
        "-e",
        "inference_tiny",
        f"results_dir={tmp_path}",
        f"inference.checkpoint={checkpoint}",
        *split_overrides("inference_dataset", sample_data, None),
        "inference.k=4",
        'inference.query.input_texts=["a red square moving right"]',
        f"inference.query.input_videos=[{query_video}]",
    ]
    assert main([*common, f"inference.save_dataset_pkl={cache}"]) == 0
    results = json.loads((tmp_path / "inference" / "results.json").read_text())
    assert results["database_size"] == 48
    [text_hit] = results["text_to_video"]
    assert text_hit["query"] == "a red square moving right" and len(text_hit["results"]) == 4
    [video_hit] = results["video_to_video"]
    assert video_hit["results"][0]["path"].endswith("red_square_right_000.mp4")  # itself comes first
    scores = [r["score"] for r in text_hit["results"]]
    assert scores == sorted(scores, reverse=True)

    assert main([*common, f"inference.load_dataset_pkl={cache}"]) == 0
    again = json.loads((tmp_path / "inference" / "results.json").read_text())
    for kind in ("text_to_video", "video_to_video"):
        [before], [after] = results[kind], again[kind]
        assert [r["path"] for r in after["results"]] == [r["path"] for r in before["results"]]
        assert [r["score"] for r in after["results"]] == pytest.approx(
            [r["score"] for r in before["results"]], abs=1e-3
        )


def test_cache_from_another_checkpoint_is_refused(trained, sample_data, tmp_path, capsys):
    early = trained / "train" / "cosmos_embed1_model_2.pth"
    late = trained / "train" / "cosmos_embed1_model_4.pth"
    cache = tmp_path / "db.pkl"
    common = [
        "cosmos-embed1",
        "inference",
        "-e",
        "inference_tiny",
        f"results_dir={tmp_path}",
        *split_overrides("inference_dataset", sample_data, None),
        'inference.query.input_texts=["a blue circle moving up"]',
        "inference.query.input_videos=[]",
    ]
    assert main([*common, f"inference.checkpoint={early}", f"inference.save_dataset_pkl={cache}"]) == 0
    capsys.readouterr()
    assert main([*common, f"inference.checkpoint={late}", f"inference.load_dataset_pkl={cache}"]) == 2
    assert "was built by a different model" in capsys.readouterr().err


def test_corrupt_and_missing_videos_are_skipped_counted_and_listed(sample_data, tmp_path):
    records = json.loads((sample_data / "metadata.json").read_text())
    test_records = [r for r in records if r["split"] == "test"]
    write_corrupt_video(tmp_path / "broken.mp4")
    test_records.append({**test_records[0], "path": str(tmp_path / "broken.mp4")})
    test_records.append({**test_records[0], "path": str(tmp_path / "missing.mp4")})
    metadata = tmp_path / "test.json"
    metadata.write_text(json.dumps(test_records))
    checkpoint_dir = tmp_path / "ckpt"
    assert train(checkpoint_dir, sample_data, "train.max_iter=1") == 0
    code = main(
        [
            "cosmos-embed1",
            "evaluate",
            "-e",
            "evaluate_tiny",
            f"results_dir={tmp_path}",
            f"evaluate.checkpoint={checkpoint_dir / 'train' / 'cosmos_embed1_model_latest.pth'}",
            f"dataset.test_dataset.metadata={metadata}",
            f"dataset.test_dataset.data_root={sample_data}",
            "dataset.test_dataset.split=test",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "evaluate" / "skipped_samples.json").read_text())
    assert report["total"] == 2
    assert json.loads((tmp_path / "evaluate" / "metrics.json").read_text())["num_samples"] == 12


def test_summary_prints_the_published_count_without_allocating(capsys):
    assert main(["cosmos-embed1", "summary", "-e", "finetune_224p"]) == 0
    out = capsys.readouterr().out
    assert "1,172,696,698" in out


def test_a_spec_asking_for_gpus_runs_on_cpu_with_one_warning(sample_data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("only meaningful without CUDA")
    code = train(tmp_path, sample_data, "train.num_gpus=1", "train.max_iter=1")
    assert code == 0
    console = (tmp_path / "train" / "console.log").read_text()
    warnings = [line for line in console.splitlines() if "CUDA is not available" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0]
