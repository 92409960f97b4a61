"""``cosmos-run cosmos-transfer1 convert_tp CHECKPOINT [--tp N]``: tensor-parallel shards of a consolidated checkpoint.

The reference's ``scripts/convert_ckpt_fsdp_to_tp.py <ckpt.pt>`` for any TP size that divides the heads
(8 by default, as its hard-coded ``TP_SIZE``), on the CPU and streaming: ``<dir>/checkpoints_tp/<name>.pt``
and ``<name>_model_mp_{0..N-1}.pt`` (see :mod:`cosmos_transfer.tp.split`). Training loads them per rank
(``checkpoints_tp/base_model.pt`` and ``checkpoints_tp/<modality>_control.pt`` in the experiments).
"""

from __future__ import annotations

import argparse
from typing import Any

from cosmos_transfer.tp.split import DEFAULT_TP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        help="a consolidated Transfer1 checkpoint: the released base_model.pt or <modality>_control.pt, or merged",
    )
    parser.add_argument(
        "--tp",
        type=int,
        default=DEFAULT_TP,
        help="tensor-parallel size, a divisor of the attention heads (default: %(default)s, as the reference)",
    )
    parser.add_argument("--output-directory", help="where the shards go (default: checkpoints_tp/ next to CHECKPOINT)")
    parser.add_argument(
        "--no-ema",
        action="store_true",
        help='split the file\'s "model" weights even when it also holds "ema" ones (default: EMA first, as the '
        "reference's base-model loader)",
    )


def run(args: argparse.Namespace, ctx: Any) -> int:
    from cosmos_transfer.tp.split import plan_split, split_checkpoint

    plan = plan_split(args.checkpoint, args.tp, prefer_ema=not args.no_ema, output_dir=args.output_directory)
    with ctx.open_run(folder=plan.output_dir, logs=False) as run_:
        split_checkpoint(plan)
        dropped = f"; dropped {plan.dropped_extra_state} _extra_state entries" if plan.dropped_extra_state else ""
        run_.summary(
            f"convert_tp: {plan.checkpoint} ({plan.source} weights, {len(plan.keys)} tensors, {plan.heads} heads) "
            f"split for tensor parallelism {plan.tp}: {plan.trainer_file} and {plan.stem}_model_mp_0..{plan.tp - 1}.pt "
            f"({plan.shard_bytes / 2**30:.2f} GiB each){dropped}"
        )
    return 0
