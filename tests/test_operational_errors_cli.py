"""When the machine or the data refuses: one ``cosmos-run: error:`` line, nothing half-written, the last
good checkpoint intact (a real file-size limit stands in for a full disk)."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cosmos_core.cli import main
from cosmos_core.training import load_checkpoint
from cosmos_datasets.samples import generate_sample_dataset, write_corrupt_video
from embed_commands import tiny_train_argv

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("embed_operational")]


def train_command(results: Path, data: Path, *overrides: str) -> list[str]:
    settings = ["dataset.train_dataset.workers=0", "train.checkpoint_iter=2", "train.validation_iter=100"]
    return [sys.executable, "-m", "cosmos_core.cli", *tiny_train_argv(results, data, *settings, *overrides)]


def limited_file_size(limit: int):
    def apply() -> None:  # in the child, before exec: files may not grow past ``limit`` bytes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the kernel then fails the write with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.fixture(scope="module")
def sample_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate_sample_dataset(root, num_videos=24)
    return root


def test_a_full_disk_mid_run_is_one_line_and_keeps_the_last_checkpoint(sample_data, tmp_path):
    results = tmp_path / "results"
    subprocess.run(train_command(results, sample_data, "train.max_iter=2"), check=True, capture_output=True)
    good = results / "train" / "cosmos_embed1_model_2.pth"
    size = good.stat().st_size
    resume = f"train.resume_training_checkpoint_path={good}"
    done = subprocess.run(
        train_command(results, sample_data, "train.max_iter=4", resume),
        capture_output=True,
        text=True,
        preexec_fn=limited_file_size(size // 2),
    )
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert errors == [
        f"cosmos-run: error: cannot write {results / 'train' / 'cosmos_embed1_model_4.pth'}: EFBIG (File too large)"
    ]
    assert load_checkpoint(results / "train" / "cosmos_embed1_model_latest.pth")["iteration"] == 2
    assert (
        not list((results / "train").glob(".*.tmp")) and not (results / "train" / "cosmos_embed1_model_4.pth").exists()
    )


def test_a_run_whose_every_sample_fails_ends_with_the_skip_report(tmp_path, capsys):
    data = tmp_path / "data"
    generate_sample_dataset(data, num_videos=24)
    for video in (data / "videos").glob("*.mp4"):
        write_corrupt_video(video)
    code = main(train_command(tmp_path / "results", data, "train.max_iter=2")[3:])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("cosmos-run: error: none of the 12 items from index ")
    assert "could be loaded, e.g. " in err and ".mp4 (undecodable: " in err
