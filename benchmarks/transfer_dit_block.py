"""One Cosmos-Transfer1 DiT block (FA-CA-MLP with AdaLN-LoRA), forward + backward: time, TFLOP/s and MFU.

    python benchmarks/transfer_dit_block.py                     # tiny block (width 256) on CPU
    python benchmarks/transfer_dit_block.py --scale 7b          # width 4096 at the 7B experiment's 56,320 tokens
    python benchmarks/transfer_dit_block.py --scale 7b --record benchmarks/results/transfer_dit_block.md

The 7B setting is one 121-frame 720p clip: latent 16x88x160 patched 2x2 gives 16*44*80 = 56,320 tokens,
cross-attending 512 T5 tokens of width 1024; bf16 on a GPU. FLOPs are counted analytically from the
block's matmuls (projections, attention scores and values, MLP, AdaLN), forward + 2x for backward; MFU is
against the device's dense bf16 peak where the device is in PEAK_BF16_TFLOPS. Weights are random.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from pathlib import Path

import torch
from cosmos_transfer.model.blocks import TransformerBlock
from cosmos_transfer.model.config import BASE_7B, BASE_TINY, DiTConfig
from recording import machine

# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' datasheets.
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "B200": 2250.0,
}
SCALES = {"tiny": (BASE_TINY, (3, 4, 4)), "7b": (BASE_7B, (16, 44, 80))}
CONTEXT_TOKENS = 512


def peak_tflops() -> float | None:
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((peak for key, peak in PEAK_BF16_TFLOPS.items() if key in name), None)


def block_flops(config: DiTConfig, tokens: int, batch: int) -> float:
    """Forward + backward matmul FLOPs of one block (backward = 2x forward)."""
    d, c, m, lora = config.model_channels, config.crossattn_emb_channels, CONTEXT_TOKENS, config.adaln_lora_dim
    hidden = int(d * config.mlp_ratio)
    self_attention = 4 * 2 * tokens * d * d + 2 * 2 * tokens * tokens * d
    cross_attention = 2 * 2 * tokens * d * d + 2 * 2 * m * c * d + 2 * 2 * tokens * m * d
    mlp = 2 * 2 * tokens * d * hidden
    adaln = 3 * (2 * d * lora + 2 * lora * 3 * d)
    return 3.0 * batch * (self_attention + cross_attention + mlp + adaln)


def measure(scale: str, batch: int, iterations: int, warmup: int, device: torch.device, dtype: torch.dtype) -> dict:
    config, (t, h, w) = SCALES[scale]
    tokens = t * h * w
    d = config.model_channels
    torch.manual_seed(0)
    block = TransformerBlock(
        d, config.crossattn_emb_channels, config.num_heads, config.mlp_ratio, config.adaln_lora_dim
    ).to(device=device, dtype=dtype)
    for parameter in block.parameters():  # the AdaLN heads start at zero in the model; non-zero gates here
        torch.nn.init.normal_(parameter, std=0.02)
    x = torch.randn(batch, tokens, d, device=device, dtype=dtype, requires_grad=True)
    emb = torch.randn(batch, d, device=device, dtype=dtype)
    adaln_lora = torch.randn(batch, 3 * d, device=device, dtype=dtype)
    context = torch.randn(batch, CONTEXT_TOKENS, config.crossattn_emb_channels, device=device, dtype=dtype)
    rope = torch.randn(tokens, config.head_dim, device=device)
    extra = torch.randn(1, tokens, d, device=device, dtype=dtype)
    times = []
    for step in range(warmup + iterations):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        block(x, emb, adaln_lora, context, rope, extra).float().square().mean().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            times.append(time.perf_counter() - start)
        block.zero_grad(set_to_none=True)
        x.grad = None
    seconds = statistics.median(times)
    tflops = block_flops(config, tokens, batch) / seconds / 1e12
    peak = peak_tflops()
    return {
        "scale": scale,
        "tokens": tokens,
        "ms": 1000 * seconds,
        "tflops": tflops,
        "mfu": None if peak is None else tflops / peak,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="tiny")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--record", type=Path, help="append the result line to this markdown file")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.scale == "7b" and device.type == "cpu":
        parser.error("the full-width block at 56,320 tokens needs a GPU (hours on a CPU)")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    result = measure(args.scale, args.batch_size, args.iterations, args.warmup, device, dtype)
    mfu = "n/a" if result["mfu"] is None else f"{100 * result['mfu']:.1f}%"
    memory = "n/a" if result["peak_memory_gib"] is None else f"{result['peak_memory_gib']:.1f}"
    dtype_name = str(dtype).removeprefix("torch.")
    print(
        f"{result['scale']} block, {result['tokens']} tokens x batch {args.batch_size}, {dtype_name}: "
        f"{result['ms']:.1f} ms fwd+bwd, {result['tflops']:.3g} TFLOP/s, MFU {mfu}, peak {memory} GiB "
        f"on {machine()}"
    )
    if args.record:
        if not args.record.exists():
            args.record.parent.mkdir(parents=True, exist_ok=True)
            args.record.write_text(
                "# Cosmos-Transfer1 DiT block, forward + backward\n\n"
                "One FA-CA-MLP block with AdaLN-LoRA (`cosmos_transfer.model.blocks.TransformerBlock`), random\n"
                "weights, median of the timed iterations. FLOPs: analytic matmul count x 3 (forward + backward).\n\n"
                "| date | machine | command | tokens x batch | dtype | ms fwd+bwd | TFLOP/s | MFU | peak GiB |\n"
                "|---|---|---|---|---|---|---|---|---|\n"
            )
        command = (
            f"python benchmarks/transfer_dit_block.py --scale {args.scale} --batch-size {args.batch_size} "
            f"--iterations {args.iterations} --warmup {args.warmup}"
        )
        row = (
            f"| {datetime.date.today()} | {machine()} | `{command}` | {result['tokens']} x "
            f"{args.batch_size} | {dtype_name} | {result['ms']:.1f} | {result['tflops']:.3g} | {mfu} | {memory} |"
        )
        append_row(args.record, row)


def append_row(path: Path, row: str) -> None:
    """Insert ``row`` after the table's last row, so notes under the table stay below it."""
    lines = path.read_text().splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("|"))
    path.write_text("\n".join([*lines[: last + 1], row, *lines[last + 1 :]]) + "\n")


if __name__ == "__main__":
    main()
