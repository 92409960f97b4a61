"""The TP + SP plan on module names and layouts (no process group needed)."""

from __future__ import annotations

import pytest
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY
from cosmos_transfer.model.control import ControlDiT
from cosmos_transfer.model.dit import VideoDiT
from cosmos_transfer.model.params import tensor_parallel_plan
from cosmos_transfer.parallel.tensor_parallel import HeadCountError, check_heads, network_plan, token_count
from torch.distributed.tensor import Replicate, Shard
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    PrepareModuleInput,
    PrepareModuleInputOutput,
    PrepareModuleOutput,
    RowwiseParallel,
)

ATTENTION = "blocks.block1.blocks.{}.block.attn"


@pytest.fixture(scope="module")
def control() -> ControlDiT:
    return ControlDiT(CONTROL_TINY)


@pytest.mark.parametrize("sequence_parallel", [True, False])
def test_split_linears_are_the_conversion_rules(control, sequence_parallel):
    plan = network_plan(control, sequence_parallel)
    split = {name: style for name, style in plan.items() if isinstance(style, (ColwiseParallel, RowwiseParallel))}
    expected = tensor_parallel_plan(control)
    assert {name: "colwise" if isinstance(s, ColwiseParallel) else "rowwise" for name, s in split.items()} == expected
    stream = Shard(1) if sequence_parallel else Replicate()
    for name, style in split.items():
        if isinstance(style, RowwiseParallel):  # reduce-scatter to token shards, or all-reduce
            assert style.output_layouts == (stream,) and not style.use_local_output, name
    assert plan["blocks.block1.blocks.2.block.layer1"].input_layouts == (stream,)  # all-gathers the stream itself


def test_the_stream_is_sharded_on_tokens_and_attention_gathers_once(control):
    plan = network_plan(control, sequence_parallel=True)
    block = plan["blocks.block0"]
    assert isinstance(block, PrepareModuleInput)
    # (x, emb, adaln_lora, context, rope, extra_pos_emb): tokens and the positional table sharded on L
    assert block.desired_input_layouts == (Shard(1), Replicate(), Replicate(), None, None, Shard(1))
    for sub_block in (0, 1):
        gather = plan[ATTENTION.format(sub_block).removesuffix(".attn")]
        assert (gather.input_layouts, gather.desired_input_layouts) == ((Shard(1),), (Replicate(),))
        norm = plan[ATTENTION.format(sub_block) + ".to_q.1"]
        assert isinstance(norm, PrepareModuleInputOutput)  # QK RMSNorm on local heads: [B, L, heads, head_dim]
        assert norm.prepare_module_input.input_layouts == (Shard(2),)
    final = plan["final_layer"]
    assert final.prepare_module_output.desired_output_layouts == (Replicate(),)
    hint = plan["input_hint_block"]
    assert hint.prepare_module_output.desired_output_layouts == (Shard(1),)
    assert not any(name.startswith("zero_blocks") for name in plan)  # they take the stream as it comes
    assert isinstance(plan["extra_pos_embedder"], PrepareModuleOutput)


def test_the_base_has_no_hint_path():
    plan = network_plan(VideoDiT(BASE_TINY), sequence_parallel=True)
    assert "input_hint_block" not in plan and "x_embedder2.proj.1" not in plan
    assert len([s for s in plan.values() if isinstance(s, (ColwiseParallel, RowwiseParallel))]) == 4 * 10


def test_heads_and_tokens(control):
    check_heads(control, 2)
    with pytest.raises(HeadCountError, match="size 4 does not divide the 2 attention heads; use one of 1, 2"):
        check_heads(control, 4)
    assert token_count(control, (1, 16, 16, 88, 160)) == 16 * 44 * 80  # the 7B experiments' 56,320
