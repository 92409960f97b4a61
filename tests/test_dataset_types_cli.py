"""Every dataset type trains a tiny Cosmos-Embed1 through the real ``cosmos-run`` CLI on generated videos,
and a corrupt validation video is skipped, counted and listed next to the run's outputs."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
from cosmos_core.cli import main
from cosmos_datasets.sample_formats import FORMATS, write_sample_format
from cosmos_datasets.samples import generate_sample_dataset, write_corrupt_video

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """18 sample videos at the tiny spec's 64x64: 6 per split."""
    return generate_sample_dataset(tmp_path_factory.mktemp("pristine"), num_videos=18, frames=8)


@pytest.fixture
def samples(pristine, tmp_path) -> tuple[Path, str]:
    """A copy of the sample set whose first validation video is corrupt, and that video's path."""
    root = tmp_path / "samples"
    shutil.copytree(pristine.parent, root)
    metadata = root / "metadata.json"
    corrupt = next(e["path"] for e in json.loads(metadata.read_text()) if e["split"] == "val")
    write_corrupt_video(root / corrupt)
    return metadata, corrupt


@pytest.fixture
def file_server(samples):
    """A loopback HTTP server (in a thread) serving the sample folder, for the http type."""
    handler = functools.partial(_QuietHandler, directory=str(samples[0].parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def dataset_overrides(split_key: str, split: str, dataset_type: str, fields: dict) -> list[str]:
    values = {"dataset_type": dataset_type, "split": split, "workers": 0, "batch_size": 4, **fields}
    return [f"dataset.{split_key}.{key}={value}" for key, value in values.items()]


@pytest.mark.parametrize("dataset_type", FORMATS)
def test_train_on_each_dataset_type(samples, file_server, tmp_path, dataset_type):
    metadata, corrupt = samples
    fields = write_sample_format(metadata, dataset_type, url_base=file_server)
    results = tmp_path / "results"
    code = main(
        [
            "cosmos-embed1",
            "train",
            "-e",
            "finetune_tiny",
            f"results_dir={results}",
            "train.max_iter=1",
            "train.checkpoint_iter=1",
            "train.validation_iter=1",
            *dataset_overrides("train_dataset", "train", dataset_type, fields),
            *dataset_overrides("val_dataset", "val", dataset_type, fields),
        ]
    )
    assert code == 0
    assert (results / "train" / "cosmos_embed1_model_latest.pth").is_file()
    report = json.loads((results / "train" / "skipped_samples.json").read_text())
    assert report["counts"]["undecodable"] >= 1 and report["counts"]["missing file"] == 0
    assert [Path(f["path"]).name for f in report["files"]] == [Path(corrupt).name]
