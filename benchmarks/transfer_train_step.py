"""One Cosmos-Transfer1 training step of the tiny experiment: tokenizer encode, the denoising loss through
base + control, backward and the optimizer step, on synthetic uint8 clips at the experiment's shape.

    python benchmarks/transfer_train_step.py                       # tiny experiment on the CPU
    python benchmarks/transfer_train_step.py --record benchmarks/results/transfer_train_step.md

It runs the same module the ``train`` action builds (``TransferTrainingModule`` with the experiment's
settings and the small autoencoder), with the base trained too as in the tiny pretrain experiment.
Reported per precision (fp32; fp32 weights under bf16 autocast; the bf16 network with fp32 master weights),
timed round-robin in one run: median seconds per step, samples/s, the time relative to fp32, and the
share of the frozen tokenizer's encode.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from pathlib import Path

import torch
from cosmos_core.config.loader import structure
from cosmos_core.distributed import DistInfo
from cosmos_core.training.optim import build_optimizer
from cosmos_core.training.precision import resolve_precision
from cosmos_transfer.experiments.catalog import EXPERIMENTS
from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.runtime import loop_settings
from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder
from cosmos_transfer.training.build import build_networks, build_training_module
from recording import append_record, machine

EXPERIMENT = "CTRL_tiny_lvg_17frames_control_input_edge_block3_pretrain"
ONE_PROCESS = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


def synthetic_batch(config: TransferExperiment, batch_size: int) -> dict:
    data = config.dataloader_train.dataset
    side = int(data.resolution)
    generator = torch.Generator().manual_seed(0)
    clip = (batch_size, 3, data.num_frames, side, side)
    return {
        "video": torch.randint(0, 256, clip, dtype=torch.uint8, generator=generator),
        config.model.hint_key: torch.randint(0, 256, clip, dtype=torch.uint8, generator=generator),
        "t5_text_embeddings": torch.randn(batch_size, 512, 1024, generator=generator),
        "fps": torch.full((batch_size,), 24.0),
        "padding_mask": torch.zeros(batch_size, 1, side, side),
    }


MODES = {
    "fp32": {"model": {"precision": "float32"}},
    "bf16 autocast": {"model": {"precision": "bfloat16"}, "optimizer": {"master_weights": False}},
    "bf16 weights + fp32 masters": {"model": {"precision": "bfloat16"}, "optimizer": {"master_weights": True}},
}
"""The precisions a run can train in (``model.precision`` x ``optimizer.master_weights``), timed side by side."""


def experiment(mode: str) -> TransferExperiment:
    data = EXPERIMENTS.get(EXPERIMENT)
    for section, values in MODES[mode].items():
        data[section] = {**data.get(section, {}), **values}
    return structure(TransferExperiment, data, f"{EXPERIMENT} ({mode})")


class Step:
    """One mode's module, optimizer and autocast, as the ``train`` action builds them."""

    def __init__(self, mode: str, batch_size: int) -> None:
        config = experiment(mode)
        settings = loop_settings(config, seed=0)
        torch.manual_seed(0)
        networks = build_networks(config, meta=False)
        networks.initialize_control_from_base()
        self.module = build_training_module(config, networks)
        self.module.parallelize(ONE_PROCESS)
        self.module.train()
        self.module.attach_tokenizer(VideoAutoencoder().eval().requires_grad_(False))
        self.optimizer = build_optimizer(self.module, settings.optimizer)
        self.precision = resolve_precision(settings.precision, torch.device("cpu"))
        self.batch = synthetic_batch(config, batch_size)
        self.steps: list[float] = []
        self.encodes: list[float] = []

    def run(self, timed: bool) -> None:
        start = time.perf_counter()
        with self.precision.autocast():
            self.module.encode(self.batch)
        encoded = time.perf_counter()
        with self.precision.autocast():
            loss = self.module(self.batch)["loss"]
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        end = time.perf_counter()
        if timed:
            self.steps.append(end - start - (encoded - start))  # the step itself encodes again inside forward
            self.encodes.append(encoded - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--record", type=Path, help="append the result rows to this markdown file")
    args = parser.parse_args()

    runs = {mode: Step(mode, args.batch_size) for mode in MODES}
    for index in range(args.warmup + args.steps):  # round-robin: every mode sees the same machine load
        for run in runs.values():
            run.run(timed=index >= args.warmup)
    baseline = statistics.median(runs["fp32"].steps)
    command = f"`python benchmarks/transfer_train_step.py --batch-size {args.batch_size} --steps {args.steps}`"
    rows = []
    for mode, run in runs.items():
        step, encode = statistics.median(run.steps), statistics.median(run.encodes)
        trainable = sum(p.numel() for p in run.module.parameters() if p.requires_grad)
        print(
            f"{mode:<28} median step {step:.3f} s ({args.batch_size / step:.2f} samples/s, {step / baseline:.2f}x "
            f"fp32's time), tokenizer encode {encode / step:.0%} of it"
        )
        rows.append(
            f"| {datetime.date.today()} | {machine()} | {command} | {EXPERIMENT} | {mode} | {trainable:,} | "
            f"{args.batch_size} | {step:.3f} | {args.batch_size / step:.2f} | {step / baseline:.2f} | "
            f"{encode / step:.0%} |"
        )
    if args.record:
        header = (
            "# Cosmos-Transfer1 tiny training step\n\nOne step of the tiny experiment's training module "
            "(tokenizer encode, base + control denoising loss, backward, AdamW step) on synthetic clips; "
            "median of the timed steps. The precisions run round-robin in one process, so their ratios hold "
            "on a shared machine.\n\n| date | machine | command | experiment | precision | trainable params | batch "
            "| s/step | samples/s | time vs fp32 | encode share |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        )
        append_record(args.record, "\n".join(rows) + "\n", header)
        print(f"recorded in {args.record}")


if __name__ == "__main__":
    main()
