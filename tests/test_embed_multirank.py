"""Cosmos-Embed1 on 2 gloo CPU ranks under torch.distributed.run gives what one process gives.

**FSDP.** Run by ``torch.distributed.run`` this file is the worker: the real training module, sharded by its own
``parallelize`` (``model.fsdp``), trained by the core's Trainer with SGD + momentum, gradient clipping, the EMA
callback and ``clamp_logit_scale``, on each rank's half of every global batch: FSDP (2 shards), HSDP
(2 replicas of 1 shard) and FSDP resumed from a single-process checkpoint. The test compares every
weight and EMA shadow of their single-file checkpoints with a single process that sees whole batches.
Dropout is switched off and only the contrastive loss (computed over the gathered batch) is used, so
both set-ups compute the same function; they differ only in the order of floating-point sums.

**Evaluate and inference.** The CLI on 2 ranks (each encodes its share of the corpus) writes exactly
the metrics, embedding caches and search results of a 1-rank run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cosmos_core.config.loader import unstructure
from cosmos_core.distributed import DistInfo
from cosmos_core.plugins import load_plugins
from cosmos_core.training import LoaderSettings, LoopSettings, OptimizerSettings, Trainer, load_checkpoint
from cosmos_datasets.collate import SampleBatches
from cosmos_embed.callbacks import ClampLogitScale, EMAUpdate
from cosmos_embed.config import CHECKPOINT_PREFIX, FAMILY, EMAConfig, Embed1TrainConfig, ModelConfig
from cosmos_embed.ema import EMAWeights
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.model.qformer import MultiHeadAttention
from cosmos_embed.resume import Embed1Checkpointer
from cosmos_embed.tasks.common import collate_with, network_from_checkpoint
from cosmos_embed.text.tokenizer import build_tokenizer
from cosmos_embed.training_module import Embed1TrainingModule
from torch import nn
from torch.utils.data import Dataset

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("embed_multirank")]

CAPTIONS = ["a red square moving right", "a blue circle moving up", "a green triangle moving left", "a dog"]
ITERATIONS = 3
GLOBAL_BATCH = 8


class Clips(Dataset):
    """8 fixed random clips with captions, as the Embed1 datasets yield them: one global batch, so every
    step sees all of them whatever the sampler's state (a resume at another world size restarts the
    epoch) and in whatever order (the loss is a function of the set)."""

    def __len__(self) -> int:
        return GLOBAL_BATCH

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(100 + index)
        video = torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8, generator=generator)
        return {"video": video, "caption": CAPTIONS[index % 4], "label": index % 4, "index": index, "path": f"{index}"}


def make_module(fsdp: bool) -> Embed1TrainingModule:
    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny"))
    for module in network.modules():  # the same function on every rank and in one process
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(module, MultiHeadAttention):
            module.dropout = 0.0
    tokenizer = build_tokenizer(network.config)
    train = Embed1TrainConfig(use_captioning_loss=False, freeze_visual_encoder=False, ema=EMAConfig(True, 0.5))
    contrastive = load_plugins().registries["losses"].get("clip")
    return Embed1TrainingModule(network, train, tokenizer.dec_token_id, tokenizer.pad_token_id, contrastive, fsdp)


def train(folder: Path, dist: DistInfo, resume_from: Path | None = None) -> None:
    """``ITERATIONS`` steps of global batch ``GLOBAL_BATCH``, checkpoints at 2 and at the end."""
    module = make_module(fsdp=dist.is_distributed)
    ema = EMAUpdate(EMAWeights(0.5))
    ema.name = "ema"
    settings = LoopSettings(
        max_iter=ITERATIONS,
        checkpoint_every=2,
        seed=7,
        clip_grad_norm=1.0,
        resume_from=str(resume_from) if resume_from else None,
        # SGD with momentum: stateful like AdamW, but linear in the gradients, so the ranks' different
        # summation order stays at rounding level (Adam normalises the rounding noise of gradients that
        # are zero in exact arithmetic, e.g. of attention key biases, into full-size steps).
        optimizer=OptimizerSettings(name="sgd", lr=0.5),
    )
    trainer = Trainer(
        module=module,
        settings=settings,
        dist=dist,
        train_dataset=Clips(),
        train_loader=LoaderSettings(batch_size=GLOBAL_BATCH // dist.dp_size, workers=0, pin_memory=False),
        checkpointer=Embed1Checkpointer(folder, CHECKPOINT_PREFIX, load_training_state=True),
        collate_fn=collate_with(build_tokenizer(preset("tiny"))),
        batch_format=SampleBatches(),
        checkpoint_metadata={"family": FAMILY, "model": unstructure(ModelConfig(network=preset("tiny")))},
        callbacks=[ClampLogitScale(), ema],
    )
    trainer.checkpointer.trainer = trainer
    trainer.fit()
    if dist.is_distributed:
        assert any(type(p).__name__ == "DTensor" for p in module.parameters())  # really sharded


def worker(out: Path) -> None:
    from cosmos_core.distributed import init_distributed, shutdown_distributed
    from cosmos_core.family import DeviceRequest, ParallelDims

    fsdp = init_distributed(DeviceRequest(num_gpus=0), ParallelDims(dp_replicate=1, dp_shard=2))
    train(out / "fsdp", fsdp)
    train(out / "fsdp_resumed", fsdp, resume_from=out / "single" / f"{CHECKPOINT_PREFIX}_2.pth")
    hsdp = init_distributed(DeviceRequest(num_gpus=0), ParallelDims(dp_replicate=2, dp_shard=1))
    train(out / "hsdp", hsdp)
    shutdown_distributed()


def checkpoint(folder: Path, iteration: int = ITERATIONS) -> dict:
    return load_checkpoint(folder / f"{CHECKPOINT_PREFIX}_{iteration}.pth")


def assert_same_training(ours: dict, reference: dict) -> None:
    assert ours["model"].keys() == reference["model"].keys()
    for name, value in reference["model"].items():
        torch.testing.assert_close(ours["model"][name], value, rtol=1e-4, atol=2e-5, msg=name)
    shadows, expected = ours["callbacks"]["ema"]["shadow"], reference["callbacks"]["ema"]["shadow"]
    assert shadows.keys() == expected.keys() and len(expected) == 95  # every trainable tensor of the tiny model
    for name, value in expected.items():
        torch.testing.assert_close(shadows[name], value, rtol=1e-4, atol=2e-5, msg=name)


def torchrun_cpu(nproc: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node NPROC ARGS`` (1 thread per rank)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def test_fsdp_and_hsdp_on_two_ranks_equal_one_process_and_checkpoints_cross_world_sizes(tmp_path):
    single = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
    train(tmp_path / "single", single)
    torchrun_cpu(2, __file__, str(tmp_path))
    reference = checkpoint(tmp_path / "single")
    initial = make_module(fsdp=False).state_dict()
    assert max((value - initial[name]).abs().max().item() for name, value in reference["model"].items()) > 1e-3
    for run in ("fsdp", "hsdp", "fsdp_resumed"):
        assert_same_training(checkpoint(tmp_path / run), reference)

    # A 2-rank FSDP checkpoint resumes in one process, and evaluate/inference/export read it.
    train(tmp_path / "single_resumed", single, resume_from=tmp_path / "fsdp" / f"{CHECKPOINT_PREFIX}_2.pth")
    assert_same_training(checkpoint(tmp_path / "single_resumed"), reference)
    fsdp_file = tmp_path / "fsdp" / f"{CHECKPOINT_PREFIX}_{ITERATIONS}.pth"
    network, _ = network_from_checkpoint(str(fsdp_file), ModelConfig(network=preset("tiny")), "evaluate.checkpoint")
    assert network.visual_encoder.pos_embed.shape == (1, 65, 64)


if __name__ == "__main__":
    worker(Path(sys.argv[1]))


# -------------------------------------------------------------------------------------------------
# Evaluate and inference: 2 ranks write what 1 process writes
# -------------------------------------------------------------------------------------------------


def cli(nproc: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``cosmos-run ARGS`` in one plain process (nproc 1) or under torchrun, one thread per process."""
    if nproc > 1:
        return torchrun_cpu(nproc, "-m", "cosmos_core.cli", *args)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "cosmos_core.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_evaluate_and_inference_on_two_ranks_write_exactly_what_one_process_writes(tmp_path):
    from cosmos_core.cli import main
    from cosmos_datasets.samples import generate_sample_dataset
    from cosmos_embed import embedding_cache

    data = tmp_path / "data"
    generate_sample_dataset(data, num_videos=24)
    train_data = [
        f"dataset.train_dataset.{k}={v}" for k, v in (("metadata", data / "metadata.json"), ("data_root", data))
    ]
    assert (
        main(
            [
                "cosmos-embed1",
                "train",
                "-e",
                "finetune_tiny",
                f"results_dir={tmp_path / 'trained'}",
                "train.max_iter=2",
                "dataset.val_dataset.metadata=null",
                "dataset.val_dataset.data_root=null",
                "dataset.train_dataset.workers=0",
                "train.ema.enabled=true",
                "train.ema.decay=0.5",
                "train.callbacks={ema: {}}",
                *train_data,
            ]
        )
        == 0
    )
    checkpoint = tmp_path / "trained" / "train" / f"{CHECKPOINT_PREFIX}_latest.pth"
    corpus = {"metadata": data / "metadata.json", "data_root": data, "batch_size": 5, "split": "null"}
    outputs = {}
    for nproc in (1, 2):
        out = tmp_path / f"ranks{nproc}"
        evaluate = cli(
            nproc,
            "cosmos-embed1",
            "evaluate",
            "-e",
            "evaluate_tiny",
            f"results_dir={out}",
            f"evaluate.checkpoint={checkpoint}",
            "evaluate.num_gpus=0",
            "evaluate.callbacks.max_eval_samples=22",
            f"evaluate.save_dataset_pkl={out / 'eval_cache.pkl'}",
            *(f"dataset.test_dataset.{k}={v}" for k, v in corpus.items()),
        )
        query_video = data / "videos" / "red_square_right_000.mp4"
        cli(
            nproc,
            "cosmos-embed1",
            "inference",
            "-e",
            "inference_tiny",
            f"results_dir={out}",
            f"inference.checkpoint={checkpoint}",
            "inference.num_gpus=0",
            "inference.k=24",
            f"inference.save_dataset_pkl={out / 'db_cache.pkl'}",
            f"inference.query.input_videos=[{query_video}]",
            *(f"dataset.inference_dataset.{k}={v}" for k, v in corpus.items() if k != "split"),
        )
        outputs[nproc] = out
        assert "clip/s" in evaluate.stderr  # the progress bar (rank 0)
    one, two = outputs[1], outputs[2]
    metrics = json.loads((one / "evaluate" / "metrics.json").read_text())
    assert metrics["num_samples"] == 22  # the cap falls inside the 5th batch of 5
    assert json.loads((two / "evaluate" / "metrics.json").read_text()) == metrics
    results = json.loads((one / "inference" / "results.json").read_text())
    assert results["database_size"] == 24 and len(results["video_to_video"][0]["results"]) == 24
    assert json.loads((two / "inference" / "results.json").read_text()) == results
    # Each rank encoded its own batches: 22 of the 24 clips (the cap falls in the 5th batch), and all 24.
    assert "encoded 22 clips on 2 ranks (3 + 2 batches)" in (two / "evaluate" / "console.log").read_text()
    assert "encoded 24 clips on 2 ranks (3 + 2 batches)" in (two / "inference" / "console.log").read_text()
    for name in ("eval_cache.pkl", "db_cache.pkl"):
        ours, theirs = embedding_cache.load(one / name), embedding_cache.load(two / name)
        assert ours.records == theirs.records
        for key, tensor in ours.tensors.items():
            assert torch.equal(tensor, theirs.tensors[key]), (name, key)
