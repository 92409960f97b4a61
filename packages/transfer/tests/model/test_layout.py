"""The 7B nets, built on the meta device, against the released key manifests and the layout's counts."""

from __future__ import annotations

import pytest
from cosmos_transfer.model.ema import PowerEMA
from cosmos_transfer.model.params import (
    count_parameters,
    parameters_per_tp_rank,
    shard_shape,
    split_dim,
    tensor_parallel_plan,
)


def _prefixed_shapes(module) -> dict[str, list[int]]:
    return {f"net.{key}": list(value.shape) for key, value in module.state_dict().items()}


def test_base_state_dict_is_the_released_manifest(base_7b, manifests):
    # Same keys, same shapes, same order as transfer1_keys/base_keys.json.
    assert list(_prefixed_shapes(base_7b).items()) == list(manifests["base_keys"].items())


def test_control_state_dict_is_the_released_manifest(control_7b, manifests):
    assert list(_prefixed_shapes(control_7b).items()) == list(manifests["ctrl_keys"].items())


def test_parameter_counts(base_7b, control_7b):
    assert count_parameters(base_7b) == (7_236_208_640, 7_236_208_640)
    assert count_parameters(control_7b) == (893_497_120, 893_497_120)


@pytest.mark.parametrize(
    ("tp_size", "per_rank"), [(1, 893_497_120), (2, 528_592_672), (4, 346_140_448), (8, 254_914_336)]
)
def test_trainable_parameters_per_tensor_parallel_rank(networks_7b, tp_size, per_rank):
    # The trainable parameters of the experiment are the control branch's (the base is frozen).
    assert parameters_per_tp_rank(networks_7b, tp_size) == per_rank


def test_base_parameters_per_tp8_rank(base_7b):
    assert parameters_per_tp_rank(base_7b, 8, trainable_only=False) == 1_276_102_656


@pytest.mark.parametrize(("name", "counts"), [("base_keys", (196, 84, 291)), ("ctrl_keys", (21, 9, 64))])
def test_split_rule_on_the_manifests(manifests, name, counts):
    dims = [split_dim(key) for key in manifests[name]]
    assert (dims.count(0), dims.count(1), dims.count(None)) == counts


def test_shard_shapes_at_tp8():
    key = "net.blocks.block0.blocks.{}.block.{}.weight"
    assert shard_shape(key.format(0, "attn.to_q.0"), [4096, 4096], 8) == (512, 4096)
    assert shard_shape(key.format(1, "attn.to_k.0"), [4096, 1024], 8) == (512, 1024)
    assert shard_shape(key.format(1, "attn.to_out.0"), [4096, 4096], 8) == (4096, 512)
    assert shard_shape(key.format(2, "layer1"), [16384, 4096], 8) == (2048, 4096)
    assert shard_shape(key.format(2, "layer2"), [4096, 16384], 8) == (4096, 2048)
    assert shard_shape(key.format(0, "attn.to_q.1"), [128], 8) == (128,)  # QK norm replicated
    assert shard_shape("net.zero_blocks.block0.weight", [4096, 4096], 8) == (4096, 4096)
    with pytest.raises(ValueError, match="not divisible"):
        shard_shape(key.format(0, "attn.to_q.0"), [4096, 4096], 3)


def test_tensor_parallel_plan_names_the_split_linears(control_7b):
    plan = tensor_parallel_plan(control_7b)
    assert len(plan) == 30
    assert list(plan.values()).count("colwise") == 21
    assert plan["blocks.block2.blocks.0.block.attn.to_q.0"] == "colwise"
    assert plan["blocks.block2.blocks.1.block.attn.to_v.0"] == "colwise"
    assert plan["blocks.block0.blocks.1.block.attn.to_out.0"] == "rowwise"
    assert plan["blocks.block1.blocks.2.block.layer2"] == "rowwise"
    assert "zero_blocks.block0" not in plan and "x_embedder.proj.1" not in plan


def test_training_model_layout(networks_7b):
    # The reference's "model" state dict of a training checkpoint, without TE _extra_state (layout §4:
    # 859 keys = net 113 + logvar 3 + base_model.net 740 + base_model.logvar 3, of which 19 + 169 are extra state).
    keys = list(networks_7b.state_dict())
    groups = {prefix: sum(key.startswith(prefix) for key in keys) for prefix in ("net.", "logvar.", "base_model.")}
    assert groups == {"net.": 94, "logvar.": 3, "base_model.": 574}
    assert [key for key in keys if key.startswith("logvar.")] == [
        "logvar.0.freqs",
        "logvar.0.phases",
        "logvar.1.weight",
    ]
    assert networks_7b.logvar is networks_7b.base_model["logvar"]


def test_ema_tracks_the_93_control_parameters_under_reference_names(networks_7b, manifests):
    ema = PowerEMA(networks_7b)
    expected = [key.replace(".", "-") for key in manifests["ctrl_keys"] if key != "net.pos_embedder.seq"]
    assert list(ema.state_dict()) == expected
    assert len(expected) == 93
    assert "net-blocks-block0-blocks-0-block-attn-to_q-0-weight" in expected
    assert "net-zero_blocks-block2-bias" in expected
