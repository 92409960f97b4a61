"""``cosmos-run cosmos-transfer1 summary -- experiment=NAME``: parameter counts without allocating weights.

Both networks are built on the meta device; the trainable count per tensor-parallel rank applies the
reference's split rule (column-parallel q/k/v and MLP layer1, row-parallel out and layer2) to the
trainable tensors' shapes.
"""

from __future__ import annotations

from cosmos_core.run import RunContext

from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.model.params import count_parameters, parameters_per_tp_rank
from cosmos_transfer.training.build import build_networks

TP_SIZES = (1, 2, 4, 8)


def run(config: TransferExperiment, ctx: RunContext) -> int:
    networks = build_networks(config, meta=True)
    tp = config.model_parallel.tensor_model_parallel_size
    base_total, base_trainable = count_parameters(networks.base_net)
    control_total, control_trainable = count_parameters(networks.net)
    trainable = sum(p.numel() for p in networks.parameters() if p.requires_grad)
    blocks = config.model.net_ctrl.num_control_blocks
    print(f"Cosmos-Transfer1 {config.job.name} ({config.model.net.preset} networks, control block{blocks})")
    print(f"base DiT parameters:        {base_total:,} ({'trainable' if base_trainable else 'frozen'})")
    print(f"control branch parameters:  {control_total:,} ({'trainable' if control_trainable else 'frozen'})")
    print(f"trainable parameters:       {trainable:,}")
    per_rank = {size: parameters_per_tp_rank(networks, size) for size in sorted({*TP_SIZES, tp})}
    print(f"trainable parameters per tensor-parallel rank (TP {tp}): {per_rank[tp]:,}")
    print("    " + " | ".join(f"TP {size}: {count:,}" for size, count in per_rank.items()))
    print(memory_estimate(config))
    return 0


def memory_estimate(config: TransferExperiment) -> str:
    """The per-GPU memory estimate of the experiment's layout at its sample size, in the precision it trains
    in: the bf16 network with fp32 masters (``optimizer.master_weights``), fp32 branch weights under bf16
    autocast with the frozen base in bf16, or fp32."""
    from cosmos_transfer.data.geometry import bucket_size
    from cosmos_transfer.parallel.memory import (
        AUTOCAST_FP32_MASTER,
        BF16_NETWORK,
        FP32,
        MemoryLayout,
        estimate_memory,
        format_memory,
    )
    from cosmos_transfer.training.build import network_configs

    data = config.dataloader_train.dataset
    width, height = bucket_size(data.resolution, "16,9")
    layout = MemoryLayout(
        tp=config.model_parallel.tensor_model_parallel_size,
        sequence_parallel=config.model_parallel.sequence_parallel,
        activation_checkpointing=config.model.activation_checkpointing,
    )
    precision = FP32
    if config.model.precision == "bfloat16":
        precision = BF16_NETWORK if config.trains_bf16_weights else AUTOCAST_FP32_MASTER
    breakdown = estimate_memory(
        *network_configs(config),
        layout,
        data.num_frames,
        height,
        width,
        batch_size=config.dataloader_train.batch_size,
        precision=precision,
        ema=config.model.ema.enabled,
    )
    return (
        f"estimated memory per GPU at {data.num_frames} frames x {height} x {width} (16:9 bucket):\n"
        + format_memory(breakdown)
    )
