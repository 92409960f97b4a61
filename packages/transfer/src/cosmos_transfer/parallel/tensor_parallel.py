"""Tensor and sequence parallelism of ``TransferNetworks`` with DTensor on the core mesh's ``"tp"`` dimension.

The split is the reference's (``training/modules/attention.py``, TE ``parallel_mode``): column-parallel
``to_q.0``, ``to_k.0``, ``to_v.0`` and MLP ``layer1``, row-parallel ``to_out.0`` and ``layer2``, the same
Linear modules :func:`cosmos_transfer.model.params.tensor_parallel_plan` names from the conversion rule,
so a rank's ``_model_mp_{k}.pt`` shard is exactly its local part. Attention runs on local heads
(``heads / tp`` per rank, ``torch.chunk`` order).

With ``sequence_parallel`` (the reference's ``sequence_parallel=True``) the residual stream of every
transformer block is a DTensor sharded along the token axis (``Shard(1)`` of ``[B, L, D]``): norms,
AdaLN modulation, gates and residual adds run on ``L / tp`` tokens; each attention and MLP all-gathers
its input once and the row-parallel projections reduce-scatter back to token shards. Without it the
stream is replicated and the row-parallel outputs are all-reduced.

Every other parameter is a ``Replicate`` DTensor (one kind of parameter for the optimizer: PyTorch's
foreach kernels refuse a mix of DTensors and plain tensors). Their gradients come out right without the
reference's hand-written all-reduces (``model.py::_allreduce_layernorm_grads``: QK-norm always, and
t_embedder / adaLN / affline_norm / input_hint_block / zero_blocks under SP): those used on token or head
shards (AdaLN, QK-norm, final layer, ``zero_blocks``) get ``Partial`` gradients that DTensor reduces
where they are used, and the embedders, which run on whole tensors before the blocks (``x_embedder``,
``t_embedder``, ``affline_norm``, the positional tables, the hint MLP), receive whole gradients through
the backward of the block inputs' ``redistribute``. Buffers (``pos_embedder.seq``, the logvar's Fourier
features) stay plain tensors.
"""

from __future__ import annotations

from typing import Any

from cosmos_core.errors import UserInputError
from torch import nn
from torch.distributed.tensor import DTensor, Replicate, Shard, distribute_tensor
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    ParallelStyle,
    PrepareModuleInput,
    PrepareModuleInputOutput,
    PrepareModuleOutput,
    RowwiseParallel,
    parallelize_module,
)

from cosmos_transfer.model.attention import Attention
from cosmos_transfer.model.blocks import FeedForward
from cosmos_transfer.model.control import ControlDiT
from cosmos_transfer.model.dit import VideoDiT
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.model.params import tensor_parallel_plan

TOKEN_AXIS = 1
"""Tokens are ``[B, L, D]`` (batch first): the axis sequence parallelism shards."""
HEAD_AXIS = 2
"""q and k are ``[B, L, heads, head_dim]`` when the QK RMSNorm sees them: the axis of the local heads."""


class SequenceLengthError(UserInputError, ValueError):
    """The latent token count of a batch does not divide by the tensor-parallel size."""


class HeadCountError(UserInputError, ValueError):
    """The tensor-parallel size does not divide the attention heads."""


def _stream(sequence_parallel: bool) -> Shard | Replicate:
    return Shard(TOKEN_AXIS) if sequence_parallel else Replicate()


def block_plan(prefix: str, block: nn.Module, sequence_parallel: bool) -> dict[str, ParallelStyle]:
    """The styles of one ``TransformerBlock`` at ``prefix``, keyed by module path."""
    stream = _stream(sequence_parallel)
    # forward(x, emb, adaln_lora, context, rope, extra_pos_emb): the stream and the positional table are
    # sharded (or replicated) like the tokens; the timestep embeddings replicated; context and rope stay
    # plain tensors (cross-attention's k/v and the rotary angles use them whole).
    plan: dict[str, ParallelStyle] = {
        prefix: PrepareModuleInput(
            input_layouts=(Replicate(), Replicate(), Replicate(), None, None, Replicate()),
            desired_input_layouts=(stream, Replicate(), Replicate(), None, None, stream),
        )
    }
    for name, module in block.named_modules():
        path = f"{prefix}.{name}"
        if isinstance(module, Attention):
            plan[path.removesuffix(".attn")] = PrepareModuleInput(  # one all-gather of x per attention
                input_layouts=(stream,), desired_input_layouts=(Replicate(),)
            )
            for projection in ("to_q", "to_k", "to_v"):
                plan[f"{path}.{projection}.0"] = ColwiseParallel()
            for norm in ("to_q.1", "to_k.1"):  # per-head RMSNorm on local heads; its weight is replicated
                plan[f"{path}.{norm}"] = PrepareModuleInputOutput(
                    input_layouts=(Shard(HEAD_AXIS),),
                    desired_input_layouts=(Shard(HEAD_AXIS),),
                    output_layouts=(Shard(HEAD_AXIS),),
                    desired_output_layouts=(Shard(HEAD_AXIS),),
                )
            plan[f"{path}.to_out.0"] = RowwiseParallel(output_layouts=stream, use_local_output=False)
        elif isinstance(module, FeedForward):
            plan[f"{path}.layer1"] = ColwiseParallel(input_layouts=stream)
            plan[f"{path}.layer2"] = RowwiseParallel(output_layouts=stream, use_local_output=False)
    return plan


def _whole(inputs: int, outputs: int) -> PrepareModuleInputOutput:
    """A module that runs on whole (replicated) tensors before the blocks and hands plain tensors on."""
    return PrepareModuleInputOutput(
        input_layouts=(Replicate(),) * inputs,
        desired_input_layouts=(Replicate(),) * inputs,
        output_layouts=(Replicate(),) * outputs,
        desired_output_layouts=(Replicate(),) * outputs,
    )


def network_plan(net: VideoDiT, sequence_parallel: bool) -> dict[str, ParallelStyle]:
    """The styles of a base DiT or control branch: the embedders, every block, the final layer, and for
    the branch the hint embedder and the hint MLP, whose output joins the stream (``zero_blocks`` take the
    stream as it comes)."""
    stream = _stream(sequence_parallel)
    plan: dict[str, ParallelStyle] = {
        "x_embedder.proj.1": _whole(1, 1),  # the patch embedder's Linear (after the patchify reshape)
        "t_embedder.1": _whole(1, 2),  # the timestep MLP: (sinusoid, AdaLN-LoRA projection)
        "affline_norm": _whole(1, 1),
        "extra_pos_embedder": PrepareModuleOutput(  # forward(t, h, w) takes no tensors
            output_layouts=(Replicate(),), desired_output_layouts=(Replicate(),)
        ),
    }
    for name, block in net.blocks.items():
        plan.update(block_plan(f"blocks.{name}", block, sequence_parallel))
    plan["final_layer"] = PrepareModuleInputOutput(
        input_layouts=(stream, Replicate(), Replicate()),
        desired_input_layouts=(stream, Replicate(), Replicate()),
        output_layouts=(stream,),
        desired_output_layouts=(Replicate(),),  # whole patches for unpatchify
    )
    if isinstance(net, ControlDiT):
        plan["x_embedder2.proj.1"] = _whole(1, 1)
        plan["input_hint_block"] = PrepareModuleInputOutput(
            input_layouts=(Replicate(),),
            desired_input_layouts=(Replicate(),),
            output_layouts=(Replicate(),),
            desired_output_layouts=(stream,),
            use_local_output=False,
        )
    split = {path for path, style in plan.items() if isinstance(style, (ColwiseParallel, RowwiseParallel))}
    expected = set(tensor_parallel_plan(net))
    if split != expected:  # the conversion rule and this plan must name the same Linears
        raise RuntimeError(f"tensor-parallel plan and split rule disagree: {sorted(split ^ expected)}")
    return plan


def replicate_parameters(module: nn.Module, mesh: Any) -> None:
    """Every parameter of ``module`` that is not a DTensor yet becomes a ``Replicate`` one (buffers stay)."""
    for submodule in module.modules():
        for key, parameter in list(submodule._parameters.items()):
            if parameter is not None and not isinstance(parameter, DTensor):
                replicated = distribute_tensor(parameter.data, mesh, [Replicate()])
                submodule.register_parameter(key, nn.Parameter(replicated, requires_grad=parameter.requires_grad))


def check_heads(net: VideoDiT, tp_size: int) -> None:
    heads = net.config.num_heads
    if heads % tp_size:
        divisors = [n for n in range(1, heads + 1) if heads % n == 0]
        raise HeadCountError(
            f"tensor-parallel size {tp_size} does not divide the {heads} attention heads; use one of "
            f"{', '.join(map(str, divisors))}"
        )


def token_count(net: VideoDiT, x_shape: tuple[int, ...]) -> int:
    """Latent tokens ``T/p_t * H/p * W/p`` of a network input ``[B, C, T, H, W]``."""
    config = net.config
    t, h, w = x_shape[2:]
    return (t // config.patch_temporal) * (h // config.patch_spatial) * (w // config.patch_spatial)


def _token_check(tp_size: int) -> Any:
    def hook(net: VideoDiT, args: tuple[Any, ...]) -> None:
        tokens = token_count(net, tuple(args[0].shape))
        if tokens % tp_size:
            t, h, w = args[0].shape[2:]
            raise SequenceLengthError(
                f"sequence parallelism splits the {tokens} latent tokens of a {t}x{h}x{w} latent over "
                f"{tp_size} tensor-parallel ranks, but {tokens} is not divisible by {tp_size}; choose frames, "
                f"height and width whose token count (T x H/{net.config.patch_spatial} x "
                f"W/{net.config.patch_spatial}) is, or a tensor-parallel size that divides it"
            )

    return hook


def apply_tensor_parallel(networks: TransferNetworks, tp_mesh: Any, *, sequence_parallel: bool = True) -> None:
    """Parallelize the control branch, the base DiT and the logvar head of ``networks`` in place on the
    1-D ``tp_mesh``.

    Works on modules on the meta device (parameters become meta DTensors, materialised later) or with
    real weights (each rank keeps its part of rank 0's tensors).
    """
    tp_size = tp_mesh.size()
    for net in (networks.net, networks.base_net):
        check_heads(net, tp_size)
    for net in (networks.net, networks.base_net):
        parallelize_module(net, tp_mesh, network_plan(net, sequence_parallel))
        replicate_parameters(net, tp_mesh)
        if sequence_parallel:
            net.register_forward_pre_hook(_token_check(tp_size))
    parallelize_module(networks.logvar, tp_mesh, {"1": _whole(1, 1)})  # Linear(128, 1) on c_noise features
    replicate_parameters(networks.logvar, tp_mesh)
