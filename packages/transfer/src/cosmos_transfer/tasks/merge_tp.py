"""``cosmos-run cosmos-transfer1 merge_tp CHECKPOINT``: consolidated checkpoints from tensor-parallel shards.

The reference's ``scripts/convert_ckpt_tp_to_fsdp.py`` without its TP-size GPUs or experiment config: the
shards of a training checkpoint (``<job>/checkpoints/iter_{N:09d}.pt``) or of ``convert_tp`` are joined on
the CPU into ``fsdp_checkpoints/<stem>_reg_model.pt`` and, when they carry an EMA, ``<stem>_ema_model_only.pt``
(``--include-base-model``: ``_ema_model.pt``, and the regular export keeps the base); see
:mod:`cosmos_transfer.tp.merge`.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        help="the trainer file of the shards (iter_000000100.pt, or <name>.pt from convert_tp), or one shard file",
    )
    parser.add_argument(
        "--include-base-model",
        action="store_true",
        help="keep the base model's keys in the exports (the EMA one is then <stem>_ema_model.pt)",
    )
    parser.add_argument(
        "--output-directory", help="where the merged files go (default: fsdp_checkpoints/ beside the shards' folder)"
    )
    parser.add_argument(
        "--tp",
        type=int,
        help="the number of shards to expect (default: the trainer file's tp_size, else the shard files found)",
    )


def run(args: argparse.Namespace, ctx: Any) -> int:
    from cosmos_transfer.tp.merge import merge_shards, plan_merge

    plan = plan_merge(
        args.checkpoint, include_base_model=args.include_base_model, tp=args.tp, output_dir=args.output_directory
    )
    with ctx.open_run(folder=plan.output_dir, logs=False) as run_:
        written = merge_shards(plan)
        notes = []
        if plan.dropped_base_model:
            notes.append(f"{plan.dropped_base_model} base_model.* tensors left out (--include-base-model keeps them)")
        if not plan.ema_keys:
            notes.append("no EMA in the shards")
        if plan.dropped_extra_state:
            notes.append(f"dropped {plan.dropped_extra_state} _extra_state entries")
        run_.summary(
            f"merge_tp: {plan.shards.tp} shards of {plan.shards.stem} merged into {', '.join(map(str, written))}"
            + (f" ({'; '.join(notes)})" if notes else "")
        )
    return 0
