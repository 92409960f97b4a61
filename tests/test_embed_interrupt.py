"""Stopping Cosmos-Embed1 training with SIGTERM and resuming it reproduces the uninterrupted run exactly:
every tensor of the final checkpoint is equal (loader workers, random captions and validation included)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.hookspecs import hookimpl
from cosmos_core.training import Callback, load_checkpoint
from cosmos_datasets.samples import generate_sample_dataset
from embed_commands import tiny_train_argv

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("embed_interrupt")]


class StopAt(Callback):
    """Sends this process SIGTERM after ``iteration``, as ``docker stop`` would."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def on_train_step_end(self, trainer, iteration, losses):
        if iteration == self.iteration:
            os.kill(os.getpid(), signal.SIGTERM)


class StopAtPlugin:
    @hookimpl
    def cosmos_register_callbacks(self, registry):
        registry.add("stop_at", lambda iteration: StopAt(iteration), help="test: SIGTERM after an iteration")


def train(results: Path, data: Path, *overrides: str) -> int:
    return main(
        tiny_train_argv(
            results,
            data,
            "train.max_iter=6",
            "train.checkpoint_iter=100",
            "train.validation_iter=2",
            "dataset.train_dataset.workers=2",
            "dataset.train_dataset.batch_size=4",  # 3 batches per epoch: the stop lands mid-epoch
            "dataset.train_dataset.random_caption=true",
            "dataset.train_dataset.caption_field=[anomaly_type, what]",
            *overrides,
        ),
        extra_plugins=[StopAtPlugin()],
    )


def test_sigterm_then_resume_equals_the_uninterrupted_run(tmp_path, capsys):
    data = tmp_path / "data"
    generate_sample_dataset(data, num_videos=24)
    assert train(tmp_path / "straight", data) == 0

    assert train(tmp_path / "resumed", data, "train.callbacks.stop_at.iteration=4") == 128 + signal.SIGTERM
    stopped_at = tmp_path / "resumed" / "train" / "cosmos_embed1_model_4.pth"
    assert load_checkpoint(tmp_path / "resumed" / "train" / "cosmos_embed1_model_latest.pth")["iteration"] == 4
    err = capsys.readouterr().err
    assert f"cosmos-run: stopped by SIGTERM: saved iteration 4 to {stopped_at}" in err
    assert "Traceback" not in err

    assert train(tmp_path / "resumed", data, f"train.resume_training_checkpoint_path={stopped_at}") == 0
    straight = load_checkpoint(tmp_path / "straight" / "train" / "cosmos_embed1_model_6.pth")
    resumed = load_checkpoint(tmp_path / "resumed" / "train" / "cosmos_embed1_model_6.pth")
    different = [name for name, value in straight["model"].items() if not torch.equal(value, resumed["model"][name])]
    assert len(straight["model"]) == 105 and different == []
    assert straight["rng"][0]["python"] == resumed["rng"][0]["python"]
