"""The tiny base + control networks: forward/backward, init rules, control residual wiring and weights."""

from __future__ import annotations

import math

import pytest
import torch
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY, ControlDiTConfig, DiTConfig
from cosmos_transfer.model.control import ControlDiT, copy_base_into_control, sum_control_residuals
from cosmos_transfer.model.dit import VideoDiT
from torch import nn

BASE_ARGS = ("x", "timesteps", "crossattn_emb")
SHARED = ("fps", "padding_mask", "condition_video_input_mask")


def _base_call(inputs):
    return [inputs[k] for k in BASE_ARGS], {k: inputs[k] for k in SHARED}


def _randomize_zero_inits(control: ControlDiT) -> None:
    torch.manual_seed(3)
    for linear in [*control.zero_blocks.values(), control.input_hint_block[-1]]:
        nn.init.normal_(linear.weight, std=0.05)
        nn.init.normal_(linear.bias, std=0.05)


def test_forward_backward_trains_only_the_control_branch(tiny_networks, tiny_inputs):
    args, shared = _base_call(tiny_inputs)
    out = tiny_networks(*args, tiny_inputs["hint"], **shared)
    assert out.shape == (2, 16, 3, 8, 8)
    out.square().mean().backward()
    assert all(p.grad is None for p in tiny_networks.base_model.parameters())
    # At init only zero_blocks receive gradient (everything upstream is multiplied by their zero weights).
    assert all(linear.weight.grad.abs().sum() > 0 for linear in tiny_networks.net.zero_blocks.values())
    assert tiny_networks.net.blocks.block0.blocks[0].block.attn.to_q[0].weight.grad.abs().sum() == 0


def test_control_branch_starts_as_a_no_op(tiny_networks, tiny_inputs):
    args, shared = _base_call(tiny_inputs)
    with torch.no_grad():
        controlled = tiny_networks(*args, tiny_inputs["hint"], **shared)
        base_only = tiny_networks(*args, None, **shared)
    torch.testing.assert_close(controlled, base_only)


def test_control_weight_scales_the_residuals(tiny_networks, tiny_inputs):
    _randomize_zero_inits(tiny_networks.net)
    args, shared = _base_call(tiny_inputs)
    hint = tiny_inputs["hint"]
    with torch.no_grad():
        full = tiny_networks.net(*args, hint, **shared)
        scaled = tiny_networks.net(*args, hint, control_weight=0.3, **shared)
        off = tiny_networks(*args, hint, control_weight=0.0, **shared)
        on = tiny_networks(*args, hint, control_weight=1.0, **shared)
        base_only = tiny_networks(*args, None, **shared)
    assert list(full) == ["block0", "block1", "block2"]
    for name in full:
        torch.testing.assert_close(scaled[name], 0.3 * full[name])
    torch.testing.assert_close(off, base_only)
    assert (on - base_only).abs().max() > 1e-3


def test_weight_map_on_the_token_grid(tiny_networks, tiny_inputs):
    _randomize_zero_inits(tiny_networks.net)
    args, shared = _base_call(tiny_inputs)
    weight_map = torch.ones(2, 1, 3, 4, 4)
    weight_map[:, :, :, :, 2:] = 0.0  # right half of every frame off
    with torch.no_grad():
        residuals = tiny_networks.net(*args, tiny_inputs["hint"], control_weight=weight_map, **shared)
        full = tiny_networks.net(*args, tiny_inputs["hint"], **shared)
    grid = residuals["block1"].reshape(2, 3, 4, 4, -1)
    assert grid[:, :, :, 2:].abs().max() == 0
    torch.testing.assert_close(grid[:, :, :, :2], full["block1"].reshape(2, 3, 4, 4, -1)[:, :, :, :2])
    with pytest.raises(ValueError, match="token grid"):
        tiny_networks.net(*args, tiny_inputs["hint"], control_weight=torch.ones(2, 1, 3, 8, 8), **shared)


def test_residuals_and_hint_enter_where_the_reference_adds_them(tiny_networks, tiny_inputs):
    """Base: residual ``block{i}`` right after base block i. Control: guided hint after control block 0, then
    each ``zero_blocks[i]`` on block i's output."""
    _randomize_zero_inits(tiny_networks.net)
    base, control = tiny_networks.base_net, tiny_networks.net
    args, shared = _base_call(tiny_inputs)
    context, hint = tiny_inputs["crossattn_emb"], tiny_inputs["hint"]
    with torch.no_grad():
        residuals = control(*args, hint, **shared)
        x_in = control.network_input(tiny_inputs["x"], shared["condition_video_input_mask"])
        inputs = control.embed(x_in, tiny_inputs["timesteps"], shared["fps"], shared["padding_mask"])
        tokens = control.blocks.block0(
            inputs.tokens, inputs.emb, inputs.adaln_lora, context, inputs.rope, inputs.extra_pos_emb
        )
        tokens = tokens + control.encode_hint(hint, shared["padding_mask"])
        torch.testing.assert_close(residuals["block0"], control.zero_blocks.block0(tokens))

        out = base(*args, control_residuals=residuals, **shared)
        inputs = base.embed(x_in, tiny_inputs["timesteps"], shared["fps"], shared["padding_mask"])
        tokens = inputs.tokens
        for name, block in base.blocks.items():
            tokens = block(tokens, inputs.emb, inputs.adaln_lora, context, inputs.rope, inputs.extra_pos_emb)
            tokens = tokens + residuals.get(name, 0)
        expected = base.unpatchify(base.final_layer(tokens, inputs.emb, inputs.adaln_lora), inputs.grid)
    torch.testing.assert_close(out, expected)


def _xavier_bound(linear: nn.Linear) -> float:
    return math.sqrt(6 / (linear.in_features + linear.out_features))


def test_reference_init_rules():
    torch.manual_seed(0)
    control = ControlDiT(CONTROL_TINY)
    for sub_block in (s for block in control.blocks.values() for s in block.blocks):
        assert sub_block.adaLN_modulation[2].weight.abs().max() == 0
        assert sub_block.adaLN_modulation[1].weight.abs().max() > 0
    final = control.final_layer.adaLN_modulation[2]
    assert 0 < final.weight.abs().max() <= _xavier_bound(final)  # the final layer's is not zeroed
    q = control.blocks.block0.blocks[0].block.attn.to_q[0]
    assert q.weight.abs().max() <= _xavier_bound(q)
    assert q.weight.std().item() == pytest.approx(_xavier_bound(q) / math.sqrt(3), rel=0.05)
    assert control.t_embedder[1].linear_1.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert control.extra_pos_embedder.pos_emb_h.std().item() == pytest.approx(0.02, rel=0.1)
    for linear in [*control.zero_blocks.values(), control.input_hint_block[14]]:
        assert linear.weight.abs().max() == 0 and linear.bias.abs().max() == 0
    first_hint = control.input_hint_block[0]
    assert first_hint.weight.abs().max() > 0 and first_hint.bias.abs().max() == 0
    assert torch.equal(control.affline_norm.weight, torch.ones(256))
    assert torch.equal(control.blocks.block1.blocks[1].block.attn.to_k[1].weight, torch.ones(128))


def test_init_weights_materialises_a_meta_built_net():
    with torch.device("meta"):
        net = ControlDiT(CONTROL_TINY)
    net.to_empty(device="cpu")
    net.init_weights()
    assert torch.equal(net.pos_embedder.seq, torch.arange(128, dtype=torch.float))
    assert net.zero_blocks.block2.weight.abs().max() == 0
    assert torch.isfinite(torch.cat([p.flatten() for p in net.parameters()])).all()


def test_copy_base_into_control_leaves_exactly_the_control_only_modules():
    torch.manual_seed(0)
    base, control = VideoDiT(BASE_TINY), ControlDiT(CONTROL_TINY)
    new_keys = copy_base_into_control(control, base)
    assert {key.split(".")[0] for key in new_keys} == {"x_embedder2", "input_hint_block", "zero_blocks"}
    assert len(new_keys) == 1 + 16 + 6
    base_state = base.state_dict()
    for key, value in control.state_dict().items():
        if key not in new_keys:
            assert torch.equal(value, base_state[key]), key
    with pytest.raises(RuntimeError, match="size mismatch"):
        copy_base_into_control(control, VideoDiT(DiTConfig(model_channels=128, num_blocks=4, num_heads=1)))


def test_activation_checkpointing_changes_nothing_but_memory(tiny_networks, tiny_inputs):
    _randomize_zero_inits(tiny_networks.net)
    args, shared = _base_call(tiny_inputs)

    def run():
        tiny_networks.zero_grad()
        out = tiny_networks(*args, tiny_inputs["hint"], **shared)
        out.square().mean().backward()
        # The branch's final_layer is never used (as in the reference), so it gets no gradient.
        return out.detach(), {n: p.grad.clone() for n, p in tiny_networks.net.named_parameters() if p.grad is not None}

    plain_out, plain_grads = run()
    assert not any(name.startswith("final_layer") for name in plain_grads)
    tiny_networks.net.activation_checkpointing = tiny_networks.base_net.activation_checkpointing = True
    checkpointed_out, checkpointed_grads = run()
    torch.testing.assert_close(checkpointed_out, plain_out)
    assert list(checkpointed_grads) == list(plain_grads)
    for name, plain in plain_grads.items():
        torch.testing.assert_close(checkpointed_grads[name], plain)


def test_padding_mask_reaches_both_embedders(tiny_networks, tiny_inputs):
    _randomize_zero_inits(tiny_networks.net)
    args, shared = _base_call(tiny_inputs)
    with torch.no_grad():
        padded = tiny_networks(*args, tiny_inputs["hint"], **shared)
        unpadded = tiny_networks(*args, tiny_inputs["hint"], **{**shared, "padding_mask": None})
    torch.testing.assert_close(padded[0], unpadded[0])  # sample 0 has no padded pixels
    assert (padded[1] - unpadded[1]).abs().max() > 1e-4


def test_input_checks(tiny_networks, tiny_inputs):
    args, shared = _base_call(tiny_inputs)
    with pytest.raises(ValueError, match="17 input channels"):
        tiny_networks(*args, tiny_inputs["hint"], **{**shared, "condition_video_input_mask": None})
    with pytest.raises(ValueError, match="hint_channels=128"):
        tiny_networks(*args, torch.zeros(2, 130, 3, 8, 8), **shared)
    with pytest.raises(ValueError, match="in_channels"):
        DiTConfig(in_channels=18)
    with pytest.raises(ValueError, match="num_control_blocks"):
        ControlDiTConfig(num_control_blocks=0)


def test_multi_control_sums_weighted_residuals():
    a = {"block0": torch.ones(1, 2, 3), "block1": torch.full((1, 2, 3), 2.0)}
    b = {"block0": torch.full((1, 2, 3), 0.5)}
    total = sum_control_residuals([a, b])
    torch.testing.assert_close(total["block0"], torch.full((1, 2, 3), 1.5))
    torch.testing.assert_close(total["block1"], a["block1"])
