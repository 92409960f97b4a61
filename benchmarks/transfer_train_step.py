"""One Cosmos-Transfer1 training step of the tiny experiment: tokenizer encode, the denoising loss through
base + control, backward and the optimizer step, on synthetic uint8 clips at the experiment's shape.

    python benchmarks/transfer_train_step.py                       # tiny experiment on the CPU
    python benchmarks/transfer_train_step.py --record benchmarks/results/transfer_train_step.md

It runs the same module the ``train`` action builds (``TransferTrainingModule`` with the experiment's
settings and the small autoencoder), with the base trained too as in the tiny pretrain experiment.
Reported: median seconds per step over the timed steps, samples/s, and the split of the step between
the frozen tokenizer's encode and the rest.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import time
from pathlib import Path

import torch
from cosmos_core.config.loader import structure
from cosmos_transfer.experiments.catalog import EXPERIMENTS
from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder
from cosmos_transfer.training.build import build_networks, build_training_module

EXPERIMENT = "CTRL_tiny_lvg_17frames_control_input_edge_block3_pretrain"


def machine() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu} x{torch.get_num_threads()} threads (torch {torch.__version__})"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--record", type=Path, help="append the result row to this markdown file")
    args = parser.parse_args()

    config = structure(TransferExperiment, EXPERIMENTS.get(EXPERIMENT), EXPERIMENT)
    torch.manual_seed(0)
    networks = build_networks(config, meta=False)
    networks.initialize_control_from_base()
    module = build_training_module(config, networks).train()
    module.attach_tokenizer(VideoAutoencoder().eval().requires_grad_(False))
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-4)
    batch = synthetic_batch(config, args.batch_size)

    steps, encodes = [], []
    for index in range(args.warmup + args.steps):
        start = time.perf_counter()
        module.encode(batch)
        encoded = time.perf_counter()
        loss = module(batch)["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        end = time.perf_counter()
        if index >= args.warmup:
            steps.append(end - start - (encoded - start))  # the step itself encodes again inside forward
            encodes.append(encoded - start)
    step = statistics.median(steps)
    encode = statistics.median(encodes)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    row = (
        f"| {datetime.date.today()} | {machine()} | `python benchmarks/transfer_train_step.py --batch-size "
        f"{args.batch_size} --steps {args.steps}` | {EXPERIMENT} | {trainable:,} | {args.batch_size} | "
        f"{step:.3f} | {args.batch_size / step:.2f} | {encode / step:.0%} |"
    )
    print(
        f"median step {step:.3f} s ({args.batch_size / step:.2f} samples/s), tokenizer encode {encode / step:.0%} of it"
    )
    if args.record:
        header = (
            "| date | machine | command | experiment | trainable params | batch | s/step | samples/s | encode share |\n"
            "|---|---|---|---|---|---|---|---|---|\n"
        )
        if not args.record.exists():
            args.record.write_text(
                "# Cosmos-Transfer1 tiny training step\n\nOne step of the tiny experiment's training module "
                "(tokenizer encode, base + control denoising loss, backward, AdamW step) on synthetic clips; "
                "median of the timed steps.\n\n" + header
            )
        with args.record.open("a") as handle:
            handle.write(row + "\n")
        print(f"recorded in {args.record}")


if __name__ == "__main__":
    main()
