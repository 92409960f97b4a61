"""The Cosmos-Embed1 encoding engine against its references, measured side by side in one run.

    python benchmarks/embed_engine.py                                 # every section, CPU-sized
    python benchmarks/embed_engine.py --sections model e2e --clips 16
    python benchmarks/embed_engine.py --record benchmarks/results/embed_engine.md
    python benchmarks/embed_engine.py --preset 224p --batch-size 32 --clips 256     # on a GPU
    python benchmarks/embed_engine.py --sections e2e --network-resolution 128 --sizes 224p  # model-bound on a CPU

Sections (each variant is timed in interleaved rounds, so the machine's load hits all alike; medians):

- ``model``: clips/s of the ``--preset`` network (tiny by default; 224p on a GPU) through ``Encoder``
  in fp32, bf16 (autocast) and compiled (inductor, ``model.compile``), and the time of its ViT block
  stack against a same-shape stack of PyTorch's fused ``nn.TransformerEncoderLayer`` (pre-norm, GELU,
  eval: its native fast path in fp32). With the tiny preset, ``--blocks-224p`` of the 39 EVA-ViT-g
  blocks are timed too (one 8-frame clip: 2,056 tokens of width 1408), the full model being ~30-60 s
  per clip on 2 CPU cores; the 224p clip rate is projected from them (ViT blocks are ~97% of the
  model's FLOPs). On a CPU without bf16 matmul instructions ``Encoder`` runs bf16 as fp32 (the
  fallback ``resolve_precision`` takes), so the table says so; the block stacks, timed under plain
  autocast, show what bf16 would cost there (skipped at 224p, where it takes minutes per block).
- ``e2e``: the engine (``encode_dataset`` over the ``vad_r1`` dataset of generated H.264 clips at
  720p and 224p, decoded by DataLoader workers) against (a) the model alone on the same clips
  pre-decoded and (b) decoding alone (the same DataLoader, no model). Target: engine >= 0.9 x the
  slower of (a) and (b), i.e. decode and model overlap instead of adding up. On a CPU the tiny
  network is far faster than decoding; ``--network-resolution`` feeds it larger frames (more
  tokens) to make the model the slower side, which is where the overlap shows.
- ``finetune``: a training step with the visual encoder frozen (contrastive loss, AdamW, bf16
  autocast): samples/s and MFU = FLOPs actually computed (``FlopCounterMode``, forward + backward)
  per second / the device's peak. On CUDA the peak is the datasheet's dense bf16 figure where the
  GPU is known; on CPUs (and unknown GPUs) it is a measured large-GEMM rate, so CPU MFU reads as
  "share of what this machine's matmul reaches".
- ``memory``: peak bytes per clip in a batch (the slope between two batch sizes): CUDA allocator
  peaks on GPUs; on CPUs the peak RSS (Linux VmHWM, reset before the forward) of a fresh process per
  batch size.

The network weights are random (speed does not depend on them). Results are printed as markdown and,
with --record, appended to a file with the machine, the command and the date.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from recording import append_record, machine
from torch import nn

RESULTS_TITLE = (
    "# Cosmos-Embed1 encoding engine\n\n"
    "Script: `benchmarks/embed_engine.py` (see its docstring for what each section compares).\n\n"
)
"""The head of a --record file this script creates."""

NOMINAL_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0}
"""Dense bf16 peaks (datasheets) of GPUs by name fragment."""


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rounds(variants: dict[str, Callable[[], object]], count: int, device: torch.device, warmup: int = 1) -> dict:
    """Seconds of each variant per round, the variants taking turns within every round."""
    for run in variants.values():
        for _ in range(warmup):
            run()
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(count):
        for name, run in variants.items():
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def paired_ratio(numerator: list[float], denominator: list[float]) -> str:
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True)]
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def network_config(name: str, resolution: int | None = None):
    """The preset's network config, with square input frames of ``resolution`` (and the position grid
    to match) where given."""
    import attrs
    from cosmos_embed.model.presets import preset

    cfg = preset(name)
    if cfg.scale == "full" and not cfg.vocab_file:
        cfg = attrs.evolve(cfg, vocab_file=str(placeholder_vocab(cfg)))
    if resolution is None:
        return cfg
    encoder = attrs.evolve(cfg.visual_encoder, img_size=resolution)
    return attrs.evolve(cfg, spatial_resolution=[resolution, resolution], visual_encoder=encoder)


def placeholder_vocab(cfg) -> Path:
    """A vocab.txt of the full model's size (BERT's special tokens, then numbered fillers), so that the
    full-size ``Encoder`` builds its tokenizer offline: the benchmark times videos, never words, and
    the real bert-base-uncased vocabulary may not be in this machine's Hugging Face cache."""
    from cosmos_embed.model.dims import qformer_dims

    size = qformer_dims(cfg).vocab_size - 1  # the tokenizer adds [DEC] as the last id
    path = Path(tempfile.gettempdir()) / f"cosmos_embed_benchmark_vocab_{size}.txt"
    if not path.exists():  # written whole, then renamed: a concurrent run never reads half a file
        tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tokens += [f"filler{i}" for i in range(size - len(tokens))]
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text("\n".join(tokens) + "\n")
        os.replace(partial, path)
    return path


def random_network(name: str, device: torch.device, resolution: int | None = None) -> nn.Module:
    from cosmos_embed.model.embed1 import CosmosEmbed1

    with torch.device("meta"):
        network = CosmosEmbed1(network_config(name, resolution))
    network = network.to_empty(device=device)
    network.init_weights()
    return network.eval()


def reference_stack(dims, depth: int) -> nn.Module:
    """PyTorch's own pre-norm GELU encoder layers in the ViT's shape (eval: the fused fast path)."""
    layer = nn.TransformerEncoderLayer(
        dims.width,
        dims.num_heads,
        dims.mlp_dim,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=dims.layer_norm_eps,
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False).eval()


def block_runner(blocks, x: torch.Tensor, dtype: torch.dtype | None, device: torch.device) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            y = x
            for block in blocks:
                y = block(y)
            return y

    return run


# -------------------------------------------------------------------------------------------------
# model only
# -------------------------------------------------------------------------------------------------


def model_section(args: argparse.Namespace, device: torch.device) -> list[str]:
    from cosmos_core.training.precision import cpu_runs_bf16_natively
    from cosmos_embed.compiled import compile_usable
    from cosmos_embed.model.dims import vit_dims
    from cosmos_embed.tasks.common import Encoder

    lines = ["### Model only", ""]
    network = random_network(args.preset, device, args.network_resolution)
    cfg = network.config
    batch = args.batch_size
    videos = torch.randint(0, 256, (batch, cfg.num_video_frames, 3, *cfg.spatial_resolution), dtype=torch.uint8)
    encoders = {"fp32": Encoder.create(network, "fp32", device), "bf16": Encoder.create(network, "bf16", device)}
    unusable = compile_usable(device)
    if args.compile and unusable is None:
        for precision in ("fp32", "bf16"):
            encoder = Encoder.create(network, precision, device, compile=True)
            start = time.perf_counter()
            encoder.videos(videos)
            lines.append(f"compile ({precision}, {args.preset}): first batch {time.perf_counter() - start:.1f} s")
            encoders[f"compiled {precision}"] = encoder
    elif args.compile:
        lines.append(f"compiled variants skipped: {unusable}")
    reference = encoders["fp32"].videos(videos)
    drift = {
        name: torch.nn.functional.cosine_similarity(enc.videos(videos), reference).min().item()
        for name, enc in encoders.items()
    }
    seconds = rounds({name: lambda e=enc: e.videos(videos) for name, enc in encoders.items()}, args.rounds, device)
    lines += ["", f"{args.preset} network, batch {batch} clips of {cfg.num_video_frames}x{cfg.spatial_resolution}:", ""]
    lines += ["| variant | ran as | clips/s | time vs fp32 eager (paired) | min cosine vs fp32 eager |",
              "|---|---|---|---|---|"]  # fmt: skip
    for name, times in seconds.items():
        rate = batch / statistics.median(times)
        ran = encoders[name].precision.name
        lines.append(f"| {name} | {ran} | {rate:.3g} | {paired_ratio(times, seconds['fp32'])} | {drift[name]:.6f} |")
    native_bf16 = device.type != "cpu" or cpu_runs_bf16_natively()
    if not native_bf16:
        capability = torch.backends.cpu.get_cpu_capability()
        lines += ["", f"This CPU ({capability}) has no bf16 matmul instructions, so `model.precision: bf16` runs "
                      "in fp32 (one warning); the block rows below time bf16 anyway."]  # fmt: skip

    lines += [
        "",
        "ViT block stack vs same-shape `nn.TransformerEncoderLayer` stack (time ratio ours/reference, "
        "paired per round; < 1 is faster):",
        "",
    ]
    lines += ["| preset | blocks | tokens x width | precision | ours ms | reference ms | ours/reference |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    stacks = [(args.preset, None, batch * cfg.num_video_frames, args.rounds)]
    if args.preset == "tiny" and args.blocks_224p:
        stacks.append(("224p", args.blocks_224p, 8, args.rounds_224p))
    for name, depth, frames, count in stacks:
        stack_cfg = cfg if name == args.preset else network_config(name)
        dims = vit_dims(stack_cfg)
        depth = depth or dims.depth
        tokens = 1 + (stack_cfg.spatial_resolution[0] // dims.patch_size) ** 2
        torch.manual_seed(0)
        ours = (network.visual_encoder.blocks if name == args.preset else _blocks(dims, depth)).to(device).eval()
        ref = reference_stack(dims, depth).to(device)
        x = torch.randn(frames, tokens, dims.width, device=device)
        for label, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
            if dtype is not None and not native_bf16 and name == "224p":
                lines.append(f"| {name} | {depth} of {dims.depth} | {frames}x{tokens} x {dims.width} | {label} | "
                             "skipped: no bf16 instructions (minutes per block) |  |  |")  # fmt: skip
                continue
            times = rounds({"ours": block_runner(ours, x, dtype, device),
                            "ref": block_runner(ref.layers, x, dtype, device)}, count, device)  # fmt: skip
            ms = {k: 1000 * statistics.median(v) for k, v in times.items()}
            lines.append(
                f"| {name} | {depth} of {dims.depth} | {frames}x{tokens} x {dims.width} | {label} | {ms['ours']:.1f} | "
                f"{ms['ref']:.1f} | {paired_ratio(times['ours'], times['ref'])} |"
            )
            if depth < dims.depth:
                clip_s = ms["ours"] / 1000 * dims.depth / depth * stack_cfg.num_video_frames / frames
                lines.append(f"|  |  |  | projected {name} clip rate ({label}): {1 / clip_s:.3g} clips/s |  |  |  |")
    return lines


def _blocks(dims, depth: int) -> nn.ModuleList:
    from cosmos_embed.model.vit import Block

    blocks = nn.ModuleList(Block(dims, None, False) for _ in range(depth))
    for block in blocks:
        for module in block.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=dims.init_std)
                nn.init.zeros_(module.bias)
    return blocks


# -------------------------------------------------------------------------------------------------
# end to end from mp4
# -------------------------------------------------------------------------------------------------


def e2e_section(args: argparse.Namespace, device: torch.device, folder: Path) -> list[str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from cosmos_core.plugins import load_plugins
    from cosmos_datasets.config import SingleDatasetConfig
    from cosmos_datasets.loader import build_dataloader
    from cosmos_datasets.samples import write_video
    from cosmos_datasets.skips import SkipLog
    from cosmos_embed.corpus import encode_dataset
    from cosmos_embed.tasks.common import Encoder
    from loader_throughput import FPS, SIZES, clip_list, render

    network = random_network(args.preset, device, args.network_resolution)
    cfg = network.config
    encoder = Encoder.create(network, args.e2e_precision, device)
    host = load_plugins()
    workers = args.workers if args.workers is not None else max(1, min(4, (os.cpu_count() or 2) - 1))
    lines = ["### End to end from mp4", "",
             f"{args.preset} network ({encoder.precision.name}), batch {args.batch_size}, {args.clips} clips per pass, "
             f"{workers} DataLoader worker(s), frames decoded and scaled to {cfg.spatial_resolution} by decord:", "",
             "| source | engine clips/s | (a) model only | (b) decode only | engine / min(a, b), paired | target 0.9 |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for size in args.sizes:
        rendered = [write_video(folder / f"{size}_{i}.mp4", render(SIZES[size], i), fps=FPS) for i in range(2)]
        (folder / size).mkdir()
        clips = clip_list(folder / size, rendered, args.clips)
        metadata = folder / f"{size}.json"
        metadata.write_text(json.dumps([{"path": str(c), "anomaly_type": "a red square"} for c in clips]))
        data_cfg = SingleDatasetConfig(
            dataset_type="vad_r1", metadata=str(metadata), workers=workers, drop_last=False,
            batch_size=args.batch_size, num_video_frames=cfg.num_video_frames, resolution=list(cfg.spatial_resolution),
        )  # fmt: skip
        dataset = host.datasets.get("vad_r1")(data_cfg, training=False)
        decoded = [batch["video"] for batch in build_dataloader(dataset, data_cfg)]
        assert sum(len(v) for v in decoded) == args.clips, "some generated clips did not decode"

        def engine(dataset=dataset, data_cfg=data_cfg) -> object:
            return encode_dataset(encoder, dataset, data_cfg, SkipLog())

        def model_only(decoded=decoded) -> object:
            return [encoder.videos(v) for v in decoded]

        def decode_only(dataset=dataset, data_cfg=data_cfg) -> object:
            return sum(len(batch["video"]) for batch in build_dataloader(dataset, data_cfg))

        times = rounds({"engine": engine, "model": model_only, "decode": decode_only}, args.e2e_rounds, device, 0)
        slower = [max(m, d) for m, d in zip(times["model"], times["decode"], strict=True)]
        share = statistics.median(s / e for s, e in zip(slower, times["engine"], strict=True))
        rate = {k: args.clips / statistics.median(v) for k, v in times.items()}
        lines.append(
            f"| {size} ({SIZES[size][1]}x{SIZES[size][0]}) | {rate['engine']:.3g} | {rate['model']:.3g} | "
            f"{rate['decode']:.3g} | {paired_ratio(slower, times['engine'])} | {'met' if share >= 0.9 else 'missed'} |"
        )
    return lines


# -------------------------------------------------------------------------------------------------
# fine-tune step, frozen visual encoder
# -------------------------------------------------------------------------------------------------


def peak_flops(device: torch.device, dtype: torch.dtype) -> tuple[float, str]:
    """The device's peak FLOP/s in ``dtype`` and where the figure comes from."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name()
        for key, tflops in NOMINAL_BF16_TFLOPS.items():
            if key in name and dtype == torch.bfloat16:
                return tflops * 1e12, f"{key} datasheet dense bf16"
    size = 4096 if device.type == "cuda" else 1536
    a = torch.randn(size, size, device=device, dtype=dtype)
    times = rounds({"gemm": lambda: a @ a}, 5, device)["gemm"]
    return 2 * size**3 / min(times), f"measured {size}^2 {str(dtype).removeprefix('torch.')} GEMM"


def finetune_section(args: argparse.Namespace, device: torch.device) -> list[str]:
    from cosmos_core.training.precision import resolve_precision
    from cosmos_embed.model.dims import qformer_dims
    from torch.utils.flop_counter import FlopCounterMode

    network = random_network(args.preset, device, args.network_resolution).train()
    network.freeze_visual_encoder()
    cfg = network.config
    batch = args.batch_size
    videos = torch.randint(0, 256, (batch, cfg.num_video_frames, 3, *cfg.spatial_resolution), dtype=torch.uint8,
                           device=device)  # fmt: skip
    # Token ids drawn at random (speed does not depend on them; no tokenizer vocabulary needed offline),
    # captions of 32 tokens as VAD-R1's are about.
    length = min(32, cfg.max_txt_len)
    ids = torch.randint(1000 if cfg.scale == "full" else 10, qformer_dims(cfg).vocab_size - 1, (batch, length),
                        device=device)  # fmt: skip
    mask = torch.ones_like(ids)
    optimizer = torch.optim.AdamW([p for p in network.parameters() if p.requires_grad], lr=1e-4)
    targets = torch.arange(batch, device=device)
    plan = resolve_precision("bf16", device, "train.precision")

    def step() -> object:
        with plan.autocast():
            out = network(videos, ids, mask)
            logits = network.logit_scale.exp() * out.visual_proj @ out.text_proj.t()
            loss = (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.t(), targets)) / 2
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    step()
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    flops = counter.get_total_flops()
    seconds = statistics.median(rounds({"step": step}, args.rounds, device)["step"])
    peak, source = peak_flops(device, plan.dtype or torch.float32)
    trainable = sum(p.numel() for p in network.parameters() if p.requires_grad)
    return ["### Fine-tune step, visual encoder frozen", "",
            f"{args.preset} network, batch {batch}, {plan.name} (bf16 asked), AdamW over {trainable:,} trainable "
            "parameters:", "",
            "| samples/s | ms/step | GFLOP/step (computed) | achieved GFLOP/s | peak GFLOP/s (source) | MFU |",
            "|---|---|---|---|---|---|",
            f"| {batch / seconds:.3g} | {1000 * seconds:.1f} | {flops / 1e9:.2f} | {flops / seconds / 1e9:.1f} | "
            f"{peak / 1e9:.0f} ({source}) | {flops / seconds / peak:.1%} |"]  # fmt: skip


# -------------------------------------------------------------------------------------------------
# memory
# -------------------------------------------------------------------------------------------------


def memory_probe(preset_name: str, batch: int, precision: str) -> int:
    """Peak bytes of one forward of ``batch`` clips above the peak after building (this process)."""
    from cosmos_embed.tasks.common import Encoder

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    network = random_network(preset_name, device)
    encoder = Encoder.create(network, precision, device)
    cfg = network.config
    videos = torch.randint(0, 256, (batch, cfg.num_video_frames, 3, *cfg.spatial_resolution), dtype=torch.uint8)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        encoder.videos(videos)
        return torch.cuda.max_memory_allocated() - base
    base = _resident_bytes(reset_peak=True)  # Linux: writing 5 to clear_refs resets the peak RSS
    encoder.videos(videos)
    return _resident_bytes(peak=True) - base


def _resident_bytes(peak: bool = False, reset_peak: bool = False) -> int:
    """This process's resident bytes now (VmRSS) or at peak since the last reset (VmHWM)."""
    if reset_peak:
        Path("/proc/self/clear_refs").write_text("5")
    key = "VmHWM:" if peak else "VmRSS:"
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(key))
    return int(line.split()[1]) * 1024


def memory_section(args: argparse.Namespace, device: torch.device) -> list[str]:
    from cosmos_core.training.precision import resolve_precision

    lines = ["### Memory", "",
             "| preset | precision (ran as) | peak at batch 1 | peak at batch B | bytes per clip (slope) |",
             "|---|---|---|---|---|"]  # fmt: skip
    low, high = 1, args.batch_size
    for precision in ("fp32", "bf16"):
        peaks = []
        for batch in (low, high):
            if device.type == "cuda":
                peaks.append(memory_probe(args.preset, batch, precision))
            else:  # RSS peaks only grow: one fresh process per measurement
                command = [sys.executable, __file__, "--memory-probe", f"{args.preset},{batch},{precision}"]
                peaks.append(
                    int(subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1])
                )
        per_clip = (peaks[1] - peaks[0]) / (high - low)
        ran = resolve_precision(precision, device, "model.precision").name
        lines.append(f"| {args.preset} | {precision} ({ran}) | {peaks[0] / 2**20:.1f} MiB | "
                     f"{peaks[1] / 2**20:.1f} MiB (B={high}) | {per_clip / 2**20:.2f} MiB |")  # fmt: skip
    return lines


# -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["model", "e2e", "finetune", "memory"],
                        choices=["model", "e2e", "finetune", "memory"])  # fmt: skip
    parser.add_argument(
        "--preset",
        default="tiny",
        choices=["tiny", "224p", "336p", "448p"],
        help="network timed by every section (224p: the released model's size, for a GPU)",
    )
    parser.add_argument(
        "--network-resolution",
        type=int,
        help="square input frames of this size instead of "
        "the preset's (a heavier tiny network for a model-bound end-to-end load on a CPU)",
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per tiny measurement")
    parser.add_argument("--blocks-224p", type=int, default=2, help="EVA-ViT-g blocks timed at 224p (0: skip)")
    parser.add_argument("--rounds-224p", type=int, default=3)
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip the compiled variants")
    parser.add_argument("--clips", type=int, default=32, help="clips per end-to-end pass")
    parser.add_argument("--sizes", nargs="+", default=["720p", "224p"], choices=["720p", "224p"])
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: cores - 1, 1..4)")
    parser.add_argument("--e2e-precision", default="bf16", choices=["fp32", "bf16"])
    parser.add_argument("--e2e-rounds", type=int, default=3)
    parser.add_argument("--model-threads", type=int, help="torch compute threads of the main process (on a CPU, "
                        "1 with 1 worker gives decoding and the model a core each)")  # fmt: skip
    parser.add_argument("--record", type=Path, help="append the results to this markdown file")
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        name, batch, precision = args.memory_probe.split(",")
        print(memory_probe(name, int(batch), precision))
        return
    if args.model_threads:
        torch.set_num_threads(args.model_threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    lines = [f"## {datetime.date.today()}: {machine()}", "",
             f"Command: `python benchmarks/embed_engine.py {shlex.join(sys.argv[1:])}`", ""]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        for section in args.sections:
            if section == "model":
                part = model_section(args, device)
            elif section == "e2e":
                part = e2e_section(args, device, Path(scratch))
            elif section == "finetune":
                part = finetune_section(args, device)
            else:
                part = memory_section(args, device)
            print("\n".join(part) + "\n", flush=True)
            lines += [*part, ""]
    lines.append(f"Total wall time {time.perf_counter() - started:.0f} s.")
    print(lines[-1])
    if args.record:
        append_record(args.record, "\n".join(lines) + "\n\n", RESULTS_TITLE)


if __name__ == "__main__":
    main()
