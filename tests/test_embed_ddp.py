"""Cosmos-Embed1 data-parallel training with 2 gloo processes on CPU, launched by torch.distributed.run.

Run by ``torch.distributed.run`` this file is the worker: each rank embeds its half of a batch, the
contrastive loss over the gathered batch must equal the single-process loss on the whole batch, and
after DDP optimizer steps (plain SGD, so the weights follow the gradients linearly) both ranks'
weights must be identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cosmos_core.plugins import load_plugins
from cosmos_embed.config import Embed1TrainConfig
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.text.tokenizer import build_tokenizer
from cosmos_embed.training_module import Embed1TrainingModule

pytestmark = pytest.mark.integration
CAPTIONS = ["a red square moving right", "a blue circle moving up", "a green triangle moving left", "a dog"] * 2


def make_batch() -> dict:
    generator = torch.Generator().manual_seed(3)
    cfg = preset("tiny")
    videos = torch.randint(0, 256, (8, cfg.num_video_frames, 3, 64, 64), dtype=torch.uint8, generator=generator)
    return {"video": videos, **build_tokenizer(cfg)(CAPTIONS)}


def make_module() -> Embed1TrainingModule:
    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny"))
    tokenizer = build_tokenizer(network.config)
    train = Embed1TrainConfig(use_captioning_loss=False, freeze_visual_encoder=False)
    contrastive = load_plugins().registries["losses"].get("clip")
    module = Embed1TrainingModule(network, train, tokenizer.dec_token_id, tokenizer.pad_token_id, contrastive)
    return module.eval()  # no dropout: the per-rank and single-process forwards must match exactly


def worker(out: Path) -> None:
    from cosmos_core.distributed import init_distributed, shutdown_distributed, wrap_ddp
    from cosmos_core.family import DeviceRequest

    info = init_distributed(DeviceRequest(num_gpus=0))
    batch = make_batch()
    rows = slice(info.rank * 4, info.rank * 4 + 4)
    local = {key: value[rows] for key, value in batch.items()}
    module = make_module()
    model = wrap_ddp(module, info)
    losses, flat = sgd_steps(module, model, local)
    gathered = [torch.empty_like(flat) for _ in range(info.world_size)]
    torch.distributed.all_gather(gathered, flat)
    if info.rank == 0:
        result = {"losses": losses, "max_weight_diff": (gathered[0] - gathered[1]).abs().max().item()}
        torch.save(flat, out / "weights.pt")
        (out / "result.json").write_text(json.dumps(result))
    # The DDP reducer holds the gloo group: release it before the group is destroyed, and let every
    # rank get here first (a rank tearing down while its peer still talks aborts the peer).
    del model
    shutdown_distributed()


def sgd_steps(module: Embed1TrainingModule, model: torch.nn.Module, batch: dict) -> tuple[list[float], torch.Tensor]:
    """Three SGD steps of ``model`` (the module itself, or its DDP wrapper): losses and final weights."""
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    losses = []
    for _ in range(3):
        loss = model(batch)["contrastive_loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, torch.cat([p.detach().flatten() for p in module.parameters()])


def single_process_reference() -> tuple[list[float], torch.Tensor]:
    module = make_module()
    return sgd_steps(module, module, make_batch())


def torchrun_two_cpu_processes(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node 2 ARGS``; fails the test on error."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_two_gloo_ranks_match_one_process_and_stay_identical(tmp_path):
    torchrun_two_cpu_processes(__file__, str(tmp_path))
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["max_weight_diff"] == 0.0
    reference_losses, reference_weights = single_process_reference()
    assert result["losses"] == pytest.approx(reference_losses, abs=1e-5)
    assert (torch.load(tmp_path / "weights.pt") - reference_weights).abs().max().item() < 1e-5


def test_cli_training_under_torchrun_with_two_cpu_processes(tmp_path):
    from cosmos_datasets.samples import generate_sample_dataset

    data = tmp_path / "data"
    generate_sample_dataset(data, num_videos=24)
    overrides = [
        f"dataset.{key}.{field}={value}"
        for key in ("train_dataset", "val_dataset")
        for field, value in (("metadata", data / "metadata.json"), ("data_root", data))
    ]
    done = torchrun_two_cpu_processes(
        "-m",
        "cosmos_core.cli",
        "cosmos-embed1",
        "train",
        "-e",
        "finetune_tiny",
        f"results_dir={tmp_path / 'results'}",
        "train.max_iter=2",
        "train.validation_iter=2",
        "dataset.train_dataset.workers=0",
        "dataset.train_dataset.batch_size=4",
        *overrides,
    )
    assert "cpu x2" in done.stdout  # both ranks joined one gloo group
    assert (tmp_path / "results" / "train" / "cosmos_embed1_model_2.pth").is_file()


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
