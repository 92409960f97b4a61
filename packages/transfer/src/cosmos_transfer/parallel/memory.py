"""Per-GPU memory of Transfer1 control-branch training, estimated from the configs (nothing is allocated).

Weights, gradients, optimizer and EMA state come from exact parameter counts of the networks built on
the meta device, split by the tensor-parallel rule and sharded by FSDP. Activations are an inventory of
what autograd keeps for backward in this package's implementation (``model/blocks.py``, ``attention.py``
with flash-style attention that keeps q, k, v, output and log-sum-exp, the TP + SP plan of
``parallel/tensor_parallel.py``), per transformer block and outside the blocks:

- a *trainable* block (the branch's) keeps every Linear's input, the LayerNorm inputs and outputs, the
  QK RMSNorm inputs and normalised values, the rotary angles, the attention tensors and the MLP hidden
  twice (GELU input, ``layer2`` input);
- a *frozen* block the gradient only passes through (base blocks 1..N-1; base block 0 sees no gradient
  before the first residual) keeps what the input gradient needs: LayerNorm and RMSNorm inputs, rotary
  angles, attention tensors, the GELU input — frozen Linears keep nothing;
- under sequence parallelism the stream tensors hold ``L / tp`` tokens, the all-gathered Linear inputs
  and the attention ``L`` tokens of ``heads / tp`` heads;
- with activation checkpointing a block keeps only its input, and backward holds one block's activations
  again while it recomputes it.

The peak adds a backward working set (stream gradients in and out of a block, the MLP hidden's gradient
twice). Precision decides bytes per tensor: see :class:`Precision` and its two presets. The tiny fp32
case is checked against the bytes autograd really saves (``tests/parallel/test_memory.py``); the 7B,
bf16 and CUDA-kernel figures are estimates that a GPU measurement should confirm. Not counted: the video
tokenizer and text encoder, if they run in the training process, and allocator fragmentation beyond the
fixed ``overhead``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import torch

from cosmos_transfer.model.config import ControlDiTConfig, DiTConfig
from cosmos_transfer.model.control import HINT_MLP_WIDTHS
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.model.params import parameters_per_tp_rank
from cosmos_transfer.tokenizer.interface import causal_latent_frames

GIB = 2**30
FP32_BYTES = 4
ADAMW_MOMENTS = 2


def _bytes(dtype: torch.dtype) -> int:
    return torch.empty(0, dtype=dtype).element_size()


@attrs.frozen
class Precision:
    """Dtypes of the tensors a training step holds."""

    frozen: torch.dtype = torch.bfloat16
    """The frozen base DiT (and logvar head)."""
    master: torch.dtype = torch.float32
    """The control branch's weights the optimizer updates (and the EMA's dtype is fp32 always)."""
    compute: torch.dtype | None = torch.bfloat16
    """A second copy of the branch's weights in this dtype for the matmuls (autocast's casts, or the bf16
    network beside fp32 masters); None when the weights are used as they are."""
    gradient: torch.dtype = torch.float32
    activation: torch.dtype = torch.bfloat16
    """Linear inputs and outputs, attention tensors, the MLP hidden."""
    stream: torch.dtype = torch.float32
    """The residual stream and what LayerNorm / RMSNorm keep (autocast runs norms in fp32)."""
    autocast: bool = True
    """Each Linear call casts its input anew (q, k and v keep three bf16 copies of one input)."""


AUTOCAST_FP32_MASTER = Precision()
"""fp32 branch under ``torch.autocast(bf16)``, bf16 frozen base: what a loop with ``precision: bf16`` does."""
BF16_NETWORK = Precision(gradient=torch.bfloat16, stream=torch.bfloat16, autocast=False)
"""The reference's way: the whole network cast to bf16 (gradients too), fp32 master weights in the
optimizer (``LowPrecisionCallback``)."""
FP32 = Precision(frozen=torch.float32, compute=None, activation=torch.float32, stream=torch.float32, autocast=False)
"""Everything fp32 (CPU)."""


@attrs.frozen
class MemoryLayout:
    """The parallel layout one GPU sits in."""

    tp: int = 1
    dp_shard: int = 1
    """FSDP degree of the control branch (weights, gradients, optimizer and EMA state divided by it)."""
    sequence_parallel: bool = True
    activation_checkpointing: bool = False


@attrs.frozen
class MemoryBreakdown:
    """Bytes per GPU. ``total`` counts the activations of the chosen checkpointing."""

    layout: MemoryLayout
    precision: Precision
    tokens: int
    """Latent tokens of one sample (``T x H/2 x W/2``)."""
    batch_size: int
    frozen_weights: int
    control_weights: int
    compute_copy: int
    gradients: int
    optimizer: int
    ema: int
    fsdp_buffers: int
    """Parameters of two control blocks gathered whole by FSDP (the one computing and the one prefetched)."""
    activations: int
    """Kept for backward at the end of forward, with the layout's checkpointing."""
    activations_without_checkpointing: int
    activations_with_checkpointing: int
    recompute: int
    """One trainable block's activations rebuilt during backward (checkpointing only)."""
    backward_working_set: int
    overhead: int

    @property
    def weights_and_state(self) -> int:
        parts = (self.frozen_weights, self.control_weights, self.compute_copy, self.gradients, self.optimizer)
        return sum(parts) + self.ema + self.fsdp_buffers

    @property
    def total(self) -> int:
        return self.weights_and_state + self.activations + self.recompute + self.backward_working_set + self.overhead


@attrs.frozen
class _Dims:
    """Per-sample sizes on one rank, and bytes per element of each kind of tensor."""

    tokens: int  # L
    stream_tokens: int  # L / tp under SP, else L
    width: int  # D
    local_width: int  # D / tp (local heads x head_dim)
    local_hidden: int  # MLP hidden / tp
    head_dim: int
    local_heads: int
    context: int  # T5 tokens
    context_width: int
    act: int
    stream: int
    autocast: bool


def _trainable_block(d: _Dims) -> int:
    sd, ld, ll = d.stream_tokens * d.width, d.tokens * d.width, d.tokens * d.local_width
    norms = 3 * 2 * sd * d.stream  # each sub-block's LayerNorm input and output (the scale's gradient)
    gate_inputs = 3 * sd * d.act  # attention / MLP outputs kept for the gates' gradients
    linear_inputs = (3 if d.autocast else 1) * ld * d.act + 2 * ld * d.act  # FA q/k/v; CA q; MLP layer1
    linear_inputs += (2 if d.autocast else 1) * d.context * d.context_width * d.act  # CA k/v on the T5 context
    out_inputs = 2 * ll * d.act  # FA and CA to_out
    qk_norms = 3 * 2 * ll * d.stream  # FA q, k and CA q: input and normalised (the weight's gradient)
    mlp = 2 * d.tokens * d.local_hidden * d.act
    return norms + gate_inputs + linear_inputs + out_inputs + qk_norms + _attention(d) + mlp


def _frozen_block(d: _Dims) -> int:
    norms = 3 * d.stream_tokens * d.width * d.stream
    qk_norms = 3 * d.tokens * d.local_width * d.stream
    return norms + qk_norms + _attention(d) + d.tokens * d.local_hidden * d.act


def _attention(d: _Dims) -> int:
    ll, ml = d.tokens * d.local_width, d.context * d.local_width
    rope = 4 * d.tokens * d.head_dim * FP32_BYTES  # cos and sin for q and for k
    tensors = (4 + 2) * ll * d.act + 2 * ml * d.act  # FA q, k, v, out; CA q, out; CA k, v
    log_sum_exp = 2 * d.local_heads * d.tokens * FP32_BYTES
    return rope + tensors + log_sum_exp


def _outside_blocks(d: _Dims, control: ControlDiTConfig, patch_inputs: int, hint_inputs: int) -> int:
    """Branch embedders (patch, positional table, hint MLP), ``zero_blocks`` inputs, the final LayerNorm, and
    what every block shares: the rotary angles of the branch and of the base (fp32) and the T5 context."""
    patches = d.tokens * patch_inputs * d.act
    positional = d.tokens * d.width * d.stream
    hint = d.tokens * (hint_inputs + d.width + 2 * sum(HINT_MLP_WIDTHS)) * d.act
    zero_blocks = control.num_control_blocks * d.stream_tokens * d.width * d.act
    final_norm = d.stream_tokens * d.width * d.stream
    shared = 2 * d.tokens * d.head_dim * FP32_BYTES + d.context * d.context_width * d.act
    return patches + positional + hint + zero_blocks + final_norm + shared


def _per_rank(module: torch.nn.Module, tp: int) -> int:
    return parameters_per_tp_rank(module, tp, trainable_only=False)


def latent_grid(
    config: DiTConfig, frames: int, height: int, width: int, spatial: int, temporal: int
) -> tuple[int, int, int]:
    """The latent token grid ``(T', H', W')`` of a ``frames x height x width`` video."""
    if height % (spatial * config.patch_spatial) or width % (spatial * config.patch_spatial):
        raise ValueError(
            f"{height}x{width} is not divisible by the tokenizer's {spatial}x and the patch's {config.patch_spatial}x"
        )
    t = causal_latent_frames(frames, temporal) // config.patch_temporal
    return t, height // spatial // config.patch_spatial, width // spatial // config.patch_spatial


def estimate_memory(
    base_config: DiTConfig,
    control_config: ControlDiTConfig,
    layout: MemoryLayout,
    frames: int,
    height: int,
    width: int,
    *,
    batch_size: int = 1,
    precision: Precision = AUTOCAST_FP32_MASTER,
    ema: bool = True,
    context_tokens: int = 512,
    spatial_compression: int = 8,
    temporal_compression: int = 8,
    overhead_gib: float = 1.0,
) -> MemoryBreakdown:
    """Bytes per GPU of one training step of the control branch on a frozen base.

    :param frames, height, width: the pixel clip (121 x 704 x 1280 in the 7B experiments).
    :param ema: the power EMA's fp32 copy of the trainable parameters (the reference trains with it).
    :param context_tokens: T5 tokens per sample (the reference pads to 512).
    :param overhead_gib: CUDA context and kernel workspaces, a fixed allowance.
    """
    tp = layout.tp
    with torch.device("meta"):
        networks = TransferNetworks(base_config, control_config)
    control = networks.net
    t, h, w = latent_grid(base_config, frames, height, width, spatial_compression, temporal_compression)
    tokens = t * h * w
    sharded_stream = layout.sequence_parallel and tp > 1
    dims = _Dims(
        tokens=tokens,
        stream_tokens=tokens // tp if sharded_stream else tokens,
        width=base_config.model_channels,
        local_width=base_config.model_channels // tp,
        local_hidden=int(base_config.model_channels * base_config.mlp_ratio) // tp,
        head_dim=base_config.head_dim,
        local_heads=base_config.num_heads // tp,
        context=context_tokens,
        context_width=base_config.crossattn_emb_channels,
        act=_bytes(precision.activation),
        stream=_bytes(precision.stream),
        autocast=precision.autocast,
    )
    patch_inputs = (control_config.in_channels + 1) * control_config.patch_spatial**2 * control_config.patch_temporal
    hint_inputs = (control_config.hint_channels + 1) * control_config.patch_spatial**2 * control_config.patch_temporal
    trainable, frozen = _trainable_block(dims), _frozen_block(dims)
    control_blocks, frozen_blocks = control_config.num_control_blocks, base_config.num_blocks - 1
    outside = _outside_blocks(dims, control_config, patch_inputs, hint_inputs)
    plain = control_blocks * trainable + frozen_blocks * frozen + outside
    block_inputs = (control_blocks + base_config.num_blocks) * dims.stream_tokens * dims.width * dims.stream
    checkpointed = block_inputs + outside
    working_set = 2 * dims.stream_tokens * dims.width * dims.stream + 2 * tokens * dims.local_hidden * dims.act
    trainable_params = _per_rank(control, tp)
    sharded = -(-trainable_params // layout.dp_shard)
    block_params = _per_rank(control.blocks["block0"], tp)
    compute_copy = 0
    if precision.compute is not None and precision.compute != precision.master:
        compute_copy = trainable_params * _bytes(precision.compute)
    checkpointing = layout.activation_checkpointing
    return MemoryBreakdown(
        layout=layout,
        precision=precision,
        tokens=tokens,
        batch_size=batch_size,
        frozen_weights=_per_rank(networks.base_model, tp) * _bytes(precision.frozen),  # base DiT + logvar head
        control_weights=sharded * _bytes(precision.master),
        compute_copy=compute_copy,
        gradients=sharded * _bytes(precision.gradient),
        optimizer=ADAMW_MOMENTS * sharded * FP32_BYTES,
        ema=sharded * FP32_BYTES if ema else 0,
        fsdp_buffers=2 * block_params * _bytes(precision.master) if layout.dp_shard > 1 else 0,
        activations=batch_size * (checkpointed if checkpointing else plain),
        activations_without_checkpointing=batch_size * plain,
        activations_with_checkpointing=batch_size * checkpointed,
        recompute=batch_size * trainable if checkpointing else 0,
        backward_working_set=batch_size * working_set,
        overhead=int(overhead_gib * GIB),
    )


def _gib(value: int) -> str:
    return f"{value / GIB:8.2f} GiB"


def _dtype(dtype: torch.dtype | None) -> str:
    return "-" if dtype is None else str(dtype).removeprefix("torch.")


def format_memory(breakdown: MemoryBreakdown) -> str:
    """A table of the estimate, one line per part, for ``summary``."""
    b, p, layout = breakdown, breakdown.precision, breakdown.layout
    checkpointing = "on" if layout.activation_checkpointing else "off"
    lines: Iterable[tuple[str, int]] = [
        (f"frozen base weights ({_dtype(p.frozen)})", b.frozen_weights),
        (f"control weights ({_dtype(p.master)} master)", b.control_weights),
        (f"control compute copy ({_dtype(p.compute)})", b.compute_copy),
        (f"gradients ({_dtype(p.gradient)})", b.gradients),
        ("optimizer state (AdamW, 2 x fp32)", b.optimizer),
        ("EMA (fp32)", b.ema),
        ("FSDP gathered blocks", b.fsdp_buffers),
        (f"activations, checkpointing {checkpointing}", b.activations),
        ("recomputed block (backward)", b.recompute),
        ("backward working set", b.backward_working_set),
        ("CUDA context and workspaces (allowance)", b.overhead),
    ]
    head = (
        f"memory per GPU (estimate): tp {layout.tp}{' + sequence parallel' if layout.sequence_parallel else ''}, "
        f"FSDP {layout.dp_shard}, batch {b.batch_size} x {b.tokens} tokens, activations {_dtype(p.activation)}, "
        f"stream and norms {_dtype(p.stream)}"
    )
    body = [f"  {name:<44}{_gib(value)}" for name, value in lines]
    alternatives = (
        f"  (activations without checkpointing {_gib(b.activations_without_checkpointing).strip()}, "
        f"with checkpointing {_gib(b.activations_with_checkpointing).strip()} + one block recomputed)"
    )
    return "\n".join([head, *body, f"  {'total':<44}{_gib(b.total)}", alternatives])
