"""Strict loading of base_model.pt / <modality>_control.pt layouts, built here from tiny networks."""

from __future__ import annotations

import io
import pickle

import pytest
import torch
from cosmos_core.errors import UserInputError
from cosmos_transfer.diffusion.logvar import LogVarHead
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY
from cosmos_transfer.model.control import ControlDiT
from cosmos_transfer.model.dit import VideoDiT
from cosmos_transfer.model.loading import (
    CheckpointFileError,
    CheckpointKeyMismatchError,
    load_base_checkpoint,
    load_control_checkpoint,
)

EXTRA_STATE_KEYS = (
    "net.blocks.block0.blocks.0.block.attn.to_q.1._extra_state",
    "net.blocks.block0.blocks.0.block.attn.attn_op._extra_state",
    "net.affline_norm._extra_state",
)


def _fresh(seed: int):
    torch.manual_seed(seed)
    return VideoDiT(BASE_TINY), LogVarHead(), ControlDiT(CONTROL_TINY)


@pytest.fixture(scope="module")
def source():
    """Networks whose weights the checkpoints hold."""
    return _fresh(0)


def _te_extra_state() -> io.BytesIO:
    # TransformerEngine 1.0-1.13 saved module extra state as a BytesIO of a torch.save'd object.
    buffer = io.BytesIO()
    torch.save({"fp8_checkpoint": False}, buffer)
    return buffer


def _released_base(source) -> dict:
    """``base_model.pt`` as the reference's inference loader needs it: ``base_model.`` + net / logvar keys."""
    net, logvar, _ = source
    state = {f"net.{k}": v for k, v in net.state_dict().items()} | {
        f"logvar.{k}": v for k, v in logvar.state_dict().items()
    }
    state |= {key: _te_extra_state() for key in EXTRA_STATE_KEYS}
    return {f"base_model.{key}": value for key, value in state.items()}


def _save(tmp_path, obj, name="ckpt.pt"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def _assert_same(module, reference_module):
    for (key, value), expected in zip(module.state_dict().items(), reference_module.state_dict().values(), strict=True):
        assert torch.equal(value, expected), key


@pytest.mark.parametrize("layout", ["flat", "model", "unprefixed"])
def test_base_checkpoint_round_trips(tmp_path, source, layout):
    state = _released_base(source)
    if layout == "unprefixed":
        state = {key.removeprefix("base_model."): value for key, value in state.items()}
    path = _save(tmp_path, {"model": state} if layout == "model" else state)
    net, logvar, _ = _fresh(1)
    report = load_base_checkpoint(path, net, logvar)
    _assert_same(net, source[0])
    _assert_same(logvar, source[1])
    assert report.source == ("model" if layout == "model" else "flat")
    assert report.dropped_extra_state == len(EXTRA_STATE_KEYS)
    assert report.loaded == len(net.state_dict()) + 3 and report.skipped == ()


def test_base_checkpoint_prefers_the_ema_and_fills_buffers_from_model(tmp_path, source):
    model_state = _released_base(source)
    ema_net, ema_logvar, _ = _fresh(5)
    ema = {f"base_model-net-{k.replace('.', '-')}": v for k, v in ema_net.named_parameters()}
    ema |= {f"base_model-logvar-{k.replace('.', '-')}": v for k, v in ema_logvar.named_parameters()}
    path = _save(tmp_path, {"model": model_state, "ema": ema})
    net, logvar, _ = _fresh(1)
    report = load_base_checkpoint(path, net, logvar)
    assert report.source == "ema"
    for name, parameter in net.named_parameters():
        assert torch.equal(parameter, dict(ema_net.named_parameters())[name]), name
    assert torch.equal(logvar[1].weight, ema_logvar[1].weight)
    assert torch.equal(logvar[0].freqs, source[1][0].freqs)  # buffers are not in an EMA: from "model"


def test_base_checkpoint_without_logvar_head_skips_those_keys(tmp_path, source):
    net, _, _ = _fresh(1)
    report = load_base_checkpoint(_save(tmp_path, _released_base(source)), net)
    _assert_same(net, source[0])
    assert report.skipped == ("logvar.0.freqs", "logvar.0.phases", "logvar.1.weight")


def _mutations(source):
    full = _released_base(source)
    dropped = {k: v for k, v in full.items() if k != "base_model.net.blocks.block3.blocks.2.block.layer2.weight"}
    extra = full | {"base_model.net.blocks.block9.blocks.0.adaLN_modulation.1.weight": torch.zeros(256, 256)}
    reshaped = full | {"base_model.net.final_layer.linear.weight": torch.zeros(32, 256)}
    no_logvar = {k: v for k, v in full.items() if ".logvar." not in k}
    stray = full | {"base_model.conditioner.something": torch.zeros(1)}
    doubled = full | {"net.affline_norm.weight": torch.ones(256)}  # a control-training checkpoint's layout
    return {
        "missing": (dropped, "1 missing: blocks.block3.blocks.2.block.layer2.weight"),
        "unexpected": (extra, "1 unexpected: blocks.block9.blocks.0.adaLN_modulation.1.weight"),
        "shape": (reshaped, "wrong shape: final_layer.linear.weight (32, 256) (expected (64, 256))"),
        "no_logvar": (no_logvar, "3 missing: 0.freqs, 0.phases, 1.weight"),
        "stray": (stray, "1 unexpected: conditioner.something"),
        "doubled": (
            doubled,
            "with and without base_model.); nothing was loaded\n  1 unexpected: net.affline_norm.weight",
        ),
    }


@pytest.mark.parametrize("case", ["missing", "unexpected", "shape", "no_logvar", "stray", "doubled"])
def test_base_checkpoint_mismatch_is_refused_before_anything_loads(tmp_path, source, case):
    state, message = _mutations(source)[case]
    path = _save(tmp_path, state)
    net, logvar, _ = _fresh(1)
    untouched_net, untouched_logvar, _ = _fresh(1)
    with pytest.raises(CheckpointKeyMismatchError, match="nothing was loaded") as raised:
        load_base_checkpoint(path, net, logvar)
    assert message in str(raised.value)
    assert isinstance(raised.value, UserInputError)
    _assert_same(net, untouched_net)
    _assert_same(logvar, untouched_logvar)


def test_control_checkpoint_refused_as_base_and_base_refused_as_control(tmp_path, source):
    net, logvar, control = _fresh(1)
    control_path = _save(tmp_path, {f"net.{k}": v for k, v in source[2].state_dict().items()}, "edge_control.pt")
    with pytest.raises(CheckpointKeyMismatchError) as raised:
        load_base_checkpoint(control_path, net, logvar)
    assert "x_embedder2.proj.1.weight" in str(raised.value) and "blocks.block3" in str(raised.value)
    with pytest.raises(CheckpointKeyMismatchError, match=f"{len(control.state_dict())} missing"):
        load_control_checkpoint(_save(tmp_path, _released_base(source), "base_model.pt"), control)


def test_control_checkpoint_round_trips_and_skips_shared_keys(tmp_path, source):
    base_net, base_logvar, control_source = source
    training_model = (
        {f"net.{k}": v for k, v in control_source.state_dict().items()}
        | {f"logvar.{k}": v for k, v in base_logvar.state_dict().items()}
        | {f"base_model.net.{k}": v for k, v in base_net.state_dict().items()}
        | {"net.blocks.block0.blocks.0.block.attn.to_q.1._extra_state": _te_extra_state()}
    )
    *_, ema_control = _fresh(7)
    ema = {f"net-{k.replace('.', '-')}": v for k, v in ema_control.named_parameters()}
    path = _save(tmp_path, {"model": training_model, "ema": ema, "trained_data_record": {"iteration": 3}})

    *_, control = _fresh(1)
    report = load_control_checkpoint(path, control)
    _assert_same(control, control_source)
    assert report.source == "model" and report.dropped_extra_state == 1
    assert len(report.skipped) == 3 + len(base_net.state_dict())

    *_, control = _fresh(1)
    assert load_control_checkpoint(path, control, use_ema=True).source == "ema"
    for name, parameter in control.named_parameters():
        assert torch.equal(parameter, dict(ema_control.named_parameters())[name]), name


def test_load_with_assign_into_a_meta_built_net(tmp_path, source):
    path = _save(tmp_path, {f"net.{k}": v for k, v in source[2].state_dict().items()})
    with torch.device("meta"):
        control = ControlDiT(CONTROL_TINY)
    load_control_checkpoint(path, control, assign=True)
    _assert_same(control, source[2])


class _NotATensor:
    pass


def test_unreadable_files_are_user_errors(tmp_path):
    *_, control = _fresh(1)
    with pytest.raises(CheckpointFileError, match="not found"):
        load_control_checkpoint(tmp_path / "absent.pt", control)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointFileError, match="cannot read"):
        load_control_checkpoint(garbage, control)
    # Objects other than tensors and containers are never unpickled (weights_only).
    code = _save(tmp_path, {"net.x": _NotATensor()}, "code.pt")
    with pytest.raises(CheckpointFileError, match="cannot read") as raised:
        load_control_checkpoint(code, control)
    assert isinstance(raised.value.__cause__, pickle.UnpicklingError)
    listed = _save(tmp_path, [torch.zeros(1)], "list.pt")
    with pytest.raises(CheckpointFileError, match="holds a list"):
        load_control_checkpoint(listed, control)
