"""Curation through the real ``cosmos-run`` CLI: index (local and Ray), search, dedup, filter → train.

The corpus: 12 generated videos of 6 classes, a re-encoded and a time-shifted copy of two of them (the
planted near-duplicates) and a corrupt file. The model is the tiny preset with random weights, which
puts every clip within ~1e-3 cosine distance of its nearest neighbour; the copies are 10x closer to
their originals than any two distinct clips are to each other, so a tight ``dedup.eps`` separates them.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import lancedb
import numpy as np
import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.config.loader import read_yaml, structure
from cosmos_datasets.samples import generate_sample_dataset, write_corrupt_video, write_video

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("ray"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),  # Ray Data's own DataContext fields
    # max_restarts=0 has no named map_batches parameter in Ray 2.60 yet
    pytest.mark.filterwarnings("ignore:`ray_remote_args` is deprecated"),
]

PLANTED = {
    "dup_reencoded.mp4": "red_square_right_000.mp4",
    "dup_shifted.mp4": "yellow_square_down_001.mp4",
}
"""Planted copy -> its original."""


def _frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Sample videos, planted near-duplicates, a corrupt file and a random tiny checkpoint."""
    from cosmos_embed.config import ExperimentConfig
    from cosmos_embed.model.embed1 import CosmosEmbed1
    from cosmos_embed.model.loading import export_state_dict
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("curation")
    data = root / "data"
    generate_sample_dataset(data, num_videos=12)
    entries = json.loads((data / "metadata.json").read_text())
    by_name = {Path(e["path"]).name: e for e in entries}
    original = _frames(data / "videos" / PLANTED["dup_reencoded.mp4"])
    write_video(data / "videos" / "dup_reencoded.mp4", original, options={"crf": "35", "preset": "veryfast"})
    shifted = _frames(data / "videos" / PLANTED["dup_shifted.mp4"])
    write_video(data / "videos" / "dup_shifted.mp4", np.concatenate([shifted[1:], shifted[-1:]]))
    for copy, source in PLANTED.items():
        entries.append(dict(by_name[source], path=f"videos/{copy}"))
    entries[-1]["split"] = "test"  # the only test clip (12 videos put every class in train)
    write_corrupt_video(data / "videos" / "corrupt.mp4")
    entries.append(dict(by_name["blue_circle_up_000.mp4"], path="videos/corrupt.mp4"))
    (data / "metadata.json").write_text(json.dumps(entries, indent=1))

    spec = importlib.resources.files("cosmos_embed") / "specs" / "index_tiny.yaml"
    config = structure(ExperimentConfig, read_yaml(Path(str(spec))), "index_tiny")
    torch.manual_seed(0)
    network = CosmosEmbed1(config.model.network)
    save_file({k: v.contiguous() for k, v in export_state_dict(network).items()}, str(root / "tiny.safetensors"))
    return root


def common(corpus: Path, results: Path, uri: Path) -> list[str]:
    return [
        f"results_dir={results}",
        f"inference.checkpoint={corpus / 'tiny.safetensors'}",
        f"index.uri={uri}",
        f"dataset.inference_dataset.metadata={corpus / 'data' / 'metadata.json'}",
        f"dataset.inference_dataset.data_root={corpus / 'data'}",
    ]


def index(corpus: Path, results: Path, uri: Path, *overrides: str) -> dict:
    assert main(["cosmos-embed1", "index", "-e", "index_tiny", *common(corpus, results, uri), *overrides]) == 0
    return json.loads((results / "index" / "index_summary.json").read_text())


def table(uri: Path) -> dict:
    return lancedb.connect(str(uri)).open_table("clips").to_arrow().to_pydict()


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory) -> Path:
    uri = tmp_path_factory.mktemp("index") / "clips"
    summary = index(corpus, tmp_path_factory.mktemp("results"), uri)
    assert summary["rows"] == 14 and summary["embedded"] == 14 and summary["skipped"] == 1
    return uri


def test_index_holds_one_row_per_clip_lists_the_corrupt_one_and_reruns_incrementally(built, corpus, tmp_path):
    rows = table(built)
    assert len(set(rows["id"])) == 14 and {"split", "anomaly_type"} <= set(rows)
    assert not any(p.endswith("corrupt.mp4") for p in rows["path"])
    skipped = lancedb.connect(str(built)).open_table("_cosmos_index_skipped").to_arrow().to_pylist()
    assert [Path(s["path"]).name for s in skipped] == ["corrupt.mp4"] and "undecodable" in skipped[0]["reason"]

    uri = tmp_path / "copy"
    shutil.copytree(built, uri)
    assert index(corpus, tmp_path, uri)["embedded"] == 0
    # A changed file and a new entry are embedded; an entry taken out stays until index.prune.
    changed = corpus / "data" / "videos" / "green_triangle_left_000.mp4"
    before = changed.stat()
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    metadata = tmp_path / "metadata.json"
    entries = json.loads((corpus / "data" / "metadata.json").read_text())
    entries = [e for e in entries if not e["path"].endswith("cyan_triangle_up_001.mp4")]
    shutil.copy(corpus / "data" / "videos" / "blue_circle_up_000.mp4", tmp_path / "new.mp4")
    entries.append(dict(entries[0], path=str(tmp_path / "new.mp4")))
    metadata.write_text(json.dumps(entries))
    try:
        summary = index(corpus, tmp_path, uri, f"dataset.inference_dataset.metadata={metadata}")
    finally:
        os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))  # the corpus is shared by the module
    assert (summary["embedded"], summary["changed"], summary["vanished"], summary["rows"]) == (2, 1, 1, 15)
    summary = index(corpus, tmp_path, uri, f"dataset.inference_dataset.metadata={metadata}", "index.prune=true")
    # (the file whose mtime was restored counts as changed once more)
    assert (summary["embedded"], summary["removed"], summary["rows"]) == (1, 1, 14)
    assert len(set(table(uri)["id"])) == 14


def test_a_killed_build_is_refused_by_search_and_completed_by_a_rerun(corpus, tmp_path, capsys):
    """SIGKILL while a build waits on its third batch: the rows already written stay, search refuses the
    index, and a rerun embeds exactly the clips that are missing."""
    uri = tmp_path / "killed"
    command = [sys.executable, "-m", "cosmos_core.cli", "-p", "gated_clips", "cosmos-embed1", "index", "-e",
               "index_tiny", *common(corpus, tmp_path / "first", uri), "dataset.inference_dataset.batch_size=2",
               "dataset.inference_dataset.dataset_type=gated_vad_r1", "index.write_every=2"]  # fmt: skip
    tests = str(Path(__file__).parent)
    env = {**os.environ, "GATED_CLIPS_OPEN": "4",
           "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    build = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        rows = wait_for_rows(uri, build)
    finally:
        os.killpg(build.pid, signal.SIGKILL)  # the process and anything it started
        output = build.communicate()[0]
    assert build.returncode == -signal.SIGKILL, output[-3000:]
    assert rows == 2  # batch 1 was written; batch 2 (read back only after batch 3 loads) never was

    query = ["inference", "-e", "inference_tiny", *common(corpus, tmp_path, uri), f"inference.index={uri}"]
    assert main(["cosmos-embed1", *query]) == 2
    assert "did not finish" in capsys.readouterr().err
    summary = index(corpus, tmp_path, uri)
    assert summary["completed_interrupted_build"] and summary["embedded"] == 12 and summary["rows"] == 14
    assert len(set(table(uri)["id"])) == 14


def _rows(uri: Path) -> int:
    """Rows of the clip table; 0 while it is not there (its folder can appear before its first commit)."""
    try:
        return lancedb.connect(str(uri)).open_table("clips").count_rows()
    except (ValueError, FileNotFoundError, OSError):
        return 0


def wait_for_rows(uri: Path, build: subprocess.Popen, patience: float = 300.0) -> int:
    """The clip table's row count once it has rows, while ``build`` runs (it blocks at the gate)."""
    waited = 0.0
    while waited < patience:
        assert build.poll() is None, f"the build ended before the gate: {build.communicate()[0][-3000:]}"
        count = _rows(uri)
        if count:
            time.sleep(1.0)  # a second batch would have arrived by now if the gate leaked
            return _rows(uri)
        time.sleep(0.1)
        waited += 0.1
    raise AssertionError(f"no rows in {uri} after {patience:.0f} s of the build running")


def test_bad_index_locations_fail_with_one_line(corpus, tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    args = ["cosmos-embed1", "index", "-e", "index_tiny", *common(corpus, tmp_path, tmp_path / "notes")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a cosmos-run index" in err[0] and "Traceback" not in err[0]
    assert main(["cosmos-embed1", "dedup", "-e", "dedup_tiny", f"index.uri={tmp_path / 'notes'}"]) == 2


def test_an_index_uri_that_is_the_run_folder_is_refused_with_a_clear_line(corpus, tmp_path, capsys):
    args = ["cosmos-embed1", "index", "-e", "index_tiny", *common(corpus, tmp_path, tmp_path / "index")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "this run's own output folder" in err[0] and "not a cosmos-run index" not in err[0]
    assert not (tmp_path / "index").exists()  # refused before the run wrote anything


def test_search_over_an_index_does_not_need_an_inference_dataset(built, corpus, tmp_path):
    args = [
        "cosmos-embed1",
        "inference",
        "-e",
        "inference_tiny",
        f"results_dir={tmp_path}",
        f"inference.checkpoint={corpus / 'tiny.safetensors'}",
        f"inference.index={built}",
        "inference.k=2",
        'inference.query.input_texts=["a red square moving right"]',
        f"dataset.inference_dataset.metadata={tmp_path / 'missing.json'}",
        f"dataset.inference_dataset.data_root={tmp_path / 'missing'}",
    ]
    assert main(args) == 0
    results = json.loads((tmp_path / "inference" / "results.json").read_text())
    assert results["database_size"] == 14 and len(results["text_to_video"][0]["results"]) == 2
    # Without inference.index the same dataset is still checked.
    assert main([a for a in args if not a.startswith("inference.index=")]) == 2


def test_search_over_the_index_with_a_metadata_filter_and_contact_sheets(built, corpus, tmp_path):
    from PIL import Image

    query_video = corpus / "data" / "videos" / "red_square_right_000.mp4"
    args = [
        "cosmos-embed1",
        "inference",
        "-e",
        "inference_tiny",
        *common(corpus, tmp_path, built),
        f"inference.index={built}",
        "inference.k=4",
        'inference.query.input_texts=["a red square moving right"]',
        f"inference.query.input_videos=[{query_video}]",
    ]
    assert main(args) == 0
    results = json.loads((tmp_path / "inference" / "results.json").read_text())
    assert results["database_size"] == 14 and results["k"] == 4
    best = results["video_to_video"][0]["results"]
    assert best[0]["path"] == str(query_video) and best[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert {"rank", "score", "path", "caption", "label", "id", "split"} <= set(best[0])
    sheet = Image.open(tmp_path / "inference" / "contact_sheet_video_to_video_0.png")
    assert sheet.width > 4 * 128 and np.asarray(sheet).std() > 10  # four thumbnails, not a blank page
    assert main([*args, "inference.index_filter=split = 'test'"]) == 0
    filtered = json.loads((tmp_path / "inference" / "results.json").read_text())
    assert filtered["database_size"] == 1
    for kind in ("text_to_video", "video_to_video"):
        assert [Path(hit["path"]).name for hit in filtered[kind][0]["results"]] == ["dup_shifted.mp4"]


def test_dedup_finds_the_planted_copies_and_keeps_distinct_clips(built, tmp_path):
    args = ["cosmos-embed1", "dedup", "-e", "dedup_tiny", f"results_dir={tmp_path}", f"index.uri={built}"]
    assert main([*args, "dedup.eps=0.0004", "dedup.num_clusters=2"]) == 0
    out = tmp_path / "dedup"
    groups = [json.loads(line) for line in (out / "groups.jsonl").read_text().splitlines()]
    pairs = {frozenset([Path(g["keep"]["path"]).name, *(Path(r["path"]).name for r in g["remove"])]) for g in groups}
    assert pairs == {frozenset(pair) for pair in PLANTED.items()}
    removed = [json.loads(line) for line in (out / "remove.jsonl").read_text().splitlines()]
    kept = (out / "keep.jsonl").read_text().splitlines()
    assert len(removed) == 2 and len(kept) == 12
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert [row["removed"] for row in thresholds] == sorted(row["removed"] for row in thresholds)


def test_filter_keeps_what_search_ranks_above_the_threshold_and_train_reads_it(built, corpus, tmp_path):
    text = "a red square moving right"
    search = [
        "cosmos-embed1",
        "inference",
        "-e",
        "inference_tiny",
        *common(corpus, tmp_path, built),
        f"inference.index={built}",
        "inference.k=14",
        f'inference.query.input_texts=["{text}"]',
        "inference.query.input_videos=[]",
    ]
    assert main(search) == 0
    ranked = json.loads((tmp_path / "inference" / "results.json").read_text())["text_to_video"][0]["results"]
    threshold = (ranked[4]["score"] + ranked[5]["score"]) / 2
    args = [
        "cosmos-embed1",
        "filter",
        "-e",
        "filter_tiny",
        f"results_dir={tmp_path}",
        f"inference.checkpoint={corpus / 'tiny.safetensors'}",
        f"index.uri={built}",
        f'filter.positive_texts=["{text}"]',
        f"filter.threshold={threshold}",
    ]
    assert main(args) == 0
    kept = [json.loads(line) for line in (tmp_path / "filter" / "kept.jsonl").read_text().splitlines()]
    assert {e["path"] for e in kept} == {hit["path"] for hit in ranked[:5]}
    assert all(e["filter_score"] >= threshold and e["anomaly_type"] for e in kept)
    # Everything above the threshold is also similar to the negative text (itself): nothing is kept.
    assert main([*args, f'filter.negative_texts=["{text}"]', f"results_dir={tmp_path / 'negative'}"]) == 0
    assert (tmp_path / "negative" / "filter" / "kept.jsonl").read_text() == ""

    train = [
        "cosmos-embed1",
        "train",
        "-e",
        "finetune_tiny",
        f"results_dir={tmp_path / 'train_run'}",
        "train.max_iter=1",
        "train.validation_iter=100",
        "train.checkpoint_iter=1",
    ]
    for split in ("train_dataset", "val_dataset"):
        train += [
            f"dataset.{split}.metadata={tmp_path / 'filter' / 'kept.jsonl'}",
            f"dataset.{split}.data_root=null",
            f"dataset.{split}.split=null",
            f"dataset.{split}.workers=0",
            f"dataset.{split}.batch_size=2",
        ]
    assert main(train) == 0
    assert (tmp_path / "train_run" / "train" / "cosmos_embed1_model_latest.pth").is_file()


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray of 2 CPUs for this module (started once per xdist worker)."""
    pytest.importorskip("ray")
    import ray
    import ray.data

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=256 << 20,
        logging_level="WARNING",
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def test_the_ray_path_writes_the_same_embeddings(local_ray, built, corpus, tmp_path):
    uri = tmp_path / "ray"
    summary = index(corpus, tmp_path, uri, "index.engine=ray", "dataset.inference_dataset.batch_size=4")
    assert summary["rows"] == 14 and summary["skipped"] == 1
    local, distributed = table(built), table(uri)
    by_id = dict(zip(local["id"], local["embedding"], strict=True))
    assert set(by_id) == set(distributed["id"])
    for clip, vector in zip(distributed["id"], distributed["embedding"], strict=True):
        np.testing.assert_allclose(vector, by_id[clip], atol=1e-5)
    ordered = {k: dict(zip(distributed["id"], distributed[k], strict=True)) for k in ("path", "caption", "split")}
    for k, values in ordered.items():
        assert values == dict(zip(local["id"], local[k], strict=True)), k
