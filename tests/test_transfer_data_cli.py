"""Cosmos-Transfer1 data through the real ``cosmos-run`` CLI: prepare_data -> t5_embeddings -> control_inputs
on generated videos with random tiny models, and the files they write read by the training dataset."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import numpy as np
import pytest
from cosmos_core.cli import main
from cosmos_core.plugins import load_plugins
from cosmos_datasets.skips import SkippedSample
from cosmos_transfer.data.dataset import TransferDataset
from cosmos_transfer.data.keypoint_pickle import read_keypoint_pickle
from cosmos_transfer.data.samples import moving_square_frames
from cosmos_transfer.data.seg_pickle import read_seg_pickle
from cosmos_transfer.data.video_io import Mp4Writer, probe_video
from cosmos_transfer.preprocess import random_models

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread")]

MODALITIES = ("edge", "vis", "upscale", "depth", "hdmap", "lidar", "seg", "keypoint")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return {
        "t5": random_models.save_random_t5(folder / "t5"),
        "depth": random_models.save_random_depth_anything(folder / "depth"),
        "gdino": random_models.save_random_grounding_dino(folder / "gdino"),
        "sam2": random_models.save_random_sam2_video(folder / "sam2"),
        "vitpose": random_models.save_random_vitpose(folder / "vitpose"),
    }


@pytest.fixture
def sources(tmp_path):
    """Two 1.5 s source videos at 24 fps: one local, one behind a loopback HTTP server; the JSONL naming both."""
    www = tmp_path / "www"
    www.mkdir()
    root = tmp_path / "hdvila"
    (root / "raw").mkdir(parents=True)
    for path, seed in ((root / "raw" / "local.mp4", 0), (www / "remote.mp4", 1)):
        with Mp4Writer(path, 24) as writer:
            for frame in moving_square_frames(36, (36, 64), seed=seed):
                writer.write(frame)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    rows = [
        {"video_id": "loc", "url": "raw/local.mp4", "clip_id": "loc.0.mp4", "span_start": "00:00:00.000",
         "span_end": "00:00:00.500", "caption": "a yellow square moving right"},
        {"video_id": "rem", "url": f"http://127.0.0.1:{server.server_address[1]}/remote.mp4", "clip_id": "rem.0.mp4",
         "span_start": "00:00:00.500", "span_end": "00:00:01.000", "caption": "a square on the road"},
    ]  # fmt: skip
    (root / "hdvila-100M.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    yield root
    server.shutdown()
    server.server_close()


def cli(*argv) -> int:
    return main([str(arg) for arg in argv])


def test_prepare_embed_control_then_train_samples(sources, models, tmp_path, capsys):
    ds = sources
    common = ("--dataset_path", ds)
    assert cli("cosmos-transfer1", "prepare_data", *common, "--N_videos", 2, "--do_download", "--do_clip",
               "--cache_dir", tmp_path / "http") == 0  # fmt: skip
    assert sorted(p.name for p in (ds / "videos").iterdir()) == ["loc.0.mp4", "rem.0.mp4"]
    assert probe_video(ds / "videos" / "rem.0.mp4").num_frames == 12
    assert cli("cosmos-transfer1", "t5_embeddings", *common, "--pretrained_model_name_or_path", models["t5"],
               "--device", "cpu") == 0  # fmt: skip
    assert cli("cosmos-transfer1", "control_inputs", *common, "--modality", "depth", "--depth_model", models["depth"],
               "--device", "cpu") == 0  # fmt: skip
    assert cli("cosmos-transfer1", "control_inputs", *common, "--modality", "seg", "--detector_model", models["gdino"],
               "--sam2_model", models["sam2"], "--prompt", "square.", "--device", "cpu") == 0  # fmt: skip
    assert cli("cosmos-transfer1", "control_inputs", *common, "--modality", "keypoint", "--detector_model",
               models["gdino"], "--pose_model", models["vitpose"], "--person_threshold", 0.0,
               "--device", "cpu") == 0  # fmt: skip
    out = capsys.readouterr()
    assert "t5_embeddings: 2 captions" in out.err + out.out

    for name in ("loc.0", "rem.0"):
        assert probe_video(ds / "depth" / f"{name}.mp4").num_frames == 12
        for detection in read_seg_pickle(ds / "seg" / f"{name}.pickle"):
            assert tuple(detection["segmentation_mask_rle"]["mask_shape"]) == (12, 36, 64)
        assert sorted(read_keypoint_pickle(ds / "keypoint" / f"{name}.pickle")) == list(range(12))

    registry = load_plugins().registries["control_modalities"]
    for modality in ("depth", "seg", "keypoint", "edge", "vis", "upscale"):
        dataset = TransferDataset(ds, registry.get(modality), num_frames=8, resolution="256")
        for index in range(len(dataset)):
            sample = dataset[index]
            assert not isinstance(sample, SkippedSample), sample
            assert sample[f"control_input_{modality}"].shape == (3, 8, 192, 320)
            assert sample["t5_text_embeddings"].shape == (512, 1024)
            expected_tokens = len(
                json.loads((ds / "metas" / f"{dataset.clips[index]}.json").read_text())["caption"].split()
            )
            assert int((sample["t5_text_embeddings"].abs().sum(dim=1) > 0).sum()) >= expected_tokens

    # a rerun finds everything done
    assert cli("cosmos-transfer1", "control_inputs", *common, "--modality", "depth", "--depth_model", models["depth"],
               "--device", "cpu") == 0  # fmt: skip
    assert "0 made, 2 already there" in "".join(capsys.readouterr())


def test_list_help_dryrun_and_user_errors(tmp_path, capsys, monkeypatch):
    assert cli("list", "control_modalities") == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in MODALITIES)
    for action, flag in (
        ("prepare_data", "--N_videos"),
        ("t5_embeddings", "--max_length"),
        ("control_inputs", "--modality"),
    ):
        with pytest.raises(SystemExit) as exited:
            cli("cosmos-transfer1", action, "--help")
        assert exited.value.code == 0 and flag in capsys.readouterr().out
    assert cli("cosmos-transfer1", "t5_embeddings", "--dataset_path", tmp_path, "--dryrun") == 0
    assert "max_length: 512" in capsys.readouterr().out and not (tmp_path / "t5_xxl").exists()

    monkeypatch.setitem(__import__("sys").modules, "pytubefix", None)
    row = {"video_id": "y", "url": "https://www.youtube.com/watch?v=y", "clip_id": "y.0.mp4", "span_start": "00:00:00",
           "span_end": "00:00:01", "caption": "c"}  # fmt: skip
    (tmp_path / "hdvila-100M.jsonl").write_text(json.dumps(row) + "\n")
    assert cli("cosmos-transfer1", "prepare_data", "--dataset_path", tmp_path, "--do_download") == 2
    error = capsys.readouterr().err
    assert "cosmos-run: error:" in error and "pytubefix" in error and "Traceback" not in error


def test_misaligned_control_stops_a_run_that_does_not_skip(tmp_path):
    from cosmos_transfer.data.errors import ControlFileError
    from cosmos_transfer.data.samples import write_sample_dataset

    layout = write_sample_dataset(tmp_path / "ds", clips=1, num_frames=10, size=(36, 64), modalities=("depth",))
    with Mp4Writer(layout.control("depth", "clip0", ".mp4"), 24) as writer:
        writer.write(np.zeros((36, 64, 3), np.uint8))
    registry = load_plugins().registries["control_modalities"]
    dataset = TransferDataset(
        layout.root, registry.get("depth"), num_frames=8, resolution="256", skip_missing_files=False
    )
    with pytest.raises(ControlFileError, match="depth/clip0.mp4 has 1 frames"):
        dataset[0]
