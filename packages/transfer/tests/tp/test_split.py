"""convert_tp's split: the reference's rule, file names and contents; the released layouts; refusals."""

from __future__ import annotations

import io

import pytest
import torch
from cosmos_core.errors import UserInputError
from cosmos_transfer.model.config import ControlDiTConfig
from cosmos_transfer.model.control import ControlDiT
from cosmos_transfer.model.loading import CheckpointFileError
from cosmos_transfer.tp.errors import ConversionError, NotTransfer1CheckpointError, TensorParallelSizeError
from cosmos_transfer.tp.split import DEFAULT_TP, plan_split, split_checkpoint

COLUMN = ("to_q.0.weight", "to_k.0.weight", "to_v.0.weight", "block.layer1.weight")
ROW = ("to_out.0.weight", "block.layer2.weight")


def load(path):
    return torch.load(path, weights_only=True)


def split(path, tp, **options):
    plan = plan_split(path, tp, **options)
    return plan, split_checkpoint(plan, progress=False)


def expected_piece(key: str, value: torch.Tensor, tp: int, rank: int) -> torch.Tensor:
    if key.endswith(COLUMN):
        return value.chunk(tp, dim=0)[rank]
    if key.endswith(ROW):
        return value.chunk(tp, dim=1)[rank]
    return value


@pytest.mark.parametrize("tp", [1, 2])
def test_split_writes_the_reference_files(tmp_path, control_state, save, files_under, tp):
    source = save(tmp_path / "edge_control.pt", control_state)
    plan, written = split(source, tp)
    shards = [f"checkpoints_tp/edge_control_model_mp_{rank}.pt" for rank in range(tp)]
    assert files_under(tmp_path) == sorted(["checkpoints_tp/edge_control.pt", "edge_control.pt", *shards])
    assert written[-1] == tmp_path / "checkpoints_tp" / "edge_control.pt"  # the trainer file comes last
    assert load(plan.trainer_file) == {"grad_scaler": {}, "iteration": 0}
    for rank in range(tp):
        payload = load(tmp_path / shards[rank])
        assert list(payload) == ["model", "ema"] and payload["ema"] is None
        shard = payload["model"]
        assert list(shard) == list(control_state)
        for key, value in control_state.items():
            assert torch.equal(shard[key], expected_piece(key, value, tp, rank)), key
    assert (plan.source, plan.heads, plan.tp) == ("flat", 2, tp)


def test_shapes_at_tp2_follow_the_heads(tmp_path, control_state, save):
    plan, _ = split(save(tmp_path / "vis_control.pt", control_state), 2)
    shard = load(plan.shard_files[1])["model"]
    attention = "net.blocks.block0.blocks.{}.block.attn."
    assert shard[attention.format(0) + "to_q.0.weight"].shape == (128, 256)  # 1 of 2 heads of 128
    assert shard[attention.format(1) + "to_k.0.weight"].shape == (128, 1024)  # cross-attention from T5
    assert shard[attention.format(1) + "to_out.0.weight"].shape == (256, 128)
    assert shard["net.blocks.block2.blocks.2.block.layer1.weight"].shape == (512, 256)
    assert shard["net.blocks.block2.blocks.2.block.layer2.weight"].shape == (256, 512)
    assert shard[attention.format(0) + "to_q.1.weight"].shape == (128,)  # QK norm replicated
    assert shard["net.zero_blocks.block0.weight"].shape == (256, 256)


def test_each_shard_holds_only_its_own_bytes(tmp_path, control_state, save):
    """``torch.save`` of a chunk view would write the whole tensor's storage into every shard."""
    plan, _ = split(save(tmp_path / "seg_control.pt", control_state), 2)
    for path in plan.shard_files:
        for key, tensor in load(path)["model"].items():
            assert tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size(), key
    assert plan.shard_bytes == sum(t.numel() * t.element_size() for t in load(plan.shard_files[0])["model"].values())


def test_the_default_is_the_reference_tp_8(tmp_path, save):
    torch.manual_seed(0)
    config = ControlDiTConfig(model_channels=128, num_blocks=2, num_heads=8, num_control_blocks=1)
    state = {f"net.{key}": value for key, value in ControlDiT(config).state_dict().items()}
    plan, written = split(save(tmp_path / "depth_control.pt", state), DEFAULT_TP)
    assert DEFAULT_TP == 8 and plan.heads == 8
    assert [path.name for path in written] == [f"depth_control_model_mp_{k}.pt" for k in range(8)] + [
        "depth_control.pt"
    ]
    assert load(written[7])["model"]["net.blocks.block0.blocks.0.block.attn.to_v.0.weight"].shape == (16, 128)


def test_the_released_base_layout_keeps_its_prefix_and_dtype(tmp_path, base_state, save):
    plan, _ = split(save(tmp_path / "base_model.pt", base_state), 2)
    shard = load(plan.shard_files[0])["model"]
    assert list(shard) == list(base_state)
    assert all(key.startswith("base_model.") and value.dtype == torch.bfloat16 for key, value in shard.items())
    assert torch.equal(shard["base_model.logvar.0.freqs"], base_state["base_model.logvar.0.freqs"])


def test_a_model_entry_is_split_and_extra_state_dropped(tmp_path, control_state, save):
    with_extra = dict(control_state)
    with_extra["net.blocks.block0.blocks.0.block.attn.attn_op._extra_state"] = io.BytesIO(b"te")  # TE 1.13
    with_extra["net.affline_norm._extra_state"] = torch.zeros(0, dtype=torch.uint8)
    plan, _ = split(save(tmp_path / "edge_control.pt", {"model": with_extra}), 2)
    assert (plan.source, plan.dropped_extra_state) == ("model", 2)
    assert list(load(plan.shard_files[0])["model"]) == list(control_state)


def test_an_ema_entry_is_preferred_with_buffers_from_the_model(tmp_path, control_state, save):
    """The reference's base-model loader rule: a non-empty ``ema`` (``-`` names) first; the EMA tracks
    trainable parameters only, so buffers such as ``net.pos_embedder.seq`` come from ``model``."""
    ema = {key.replace(".", "-"): value + 1 for key, value in control_state.items() if key != "net.pos_embedder.seq"}
    source = save(tmp_path / "edge_control.pt", {"model": control_state, "ema": ema})
    plan, _ = split(source, 2)
    shard = load(plan.shard_files[0])["model"]
    assert plan.source == "ema" and set(shard) == set(control_state)
    assert torch.equal(shard["net.zero_blocks.block1.bias"], control_state["net.zero_blocks.block1.bias"] + 1)
    assert torch.equal(shard["net.pos_embedder.seq"], control_state["net.pos_embedder.seq"])
    model_plan, _ = split(source, 2, prefer_ema=False, output_dir=tmp_path / "model_weights")
    model_shard = load(model_plan.shard_files[0])["model"]
    assert model_plan.source == "model"
    assert torch.equal(model_shard["net.zero_blocks.block1.bias"], control_state["net.zero_blocks.block1.bias"])


def _nothing_written(tmp_path, names):
    return sorted(path.name for path in tmp_path.iterdir()) == sorted(names)


def test_refusals_come_before_any_file_is_written(tmp_path, control_state, save):
    good = save(tmp_path / "edge_control.pt", control_state)
    with pytest.raises(
        TensorParallelSizeError, match=r"size 3 does not divide the 2 attention heads .*use one of 1, 2"
    ):
        plan_split(good, 3)
    with pytest.raises(TensorParallelSizeError, match="size 0"):
        plan_split(good, 0)
    foreign = save(tmp_path / "embed.pt", {"format": "x", "model": {"visual.proj.weight": torch.zeros(2, 2)}})
    with pytest.raises(NotTransfer1CheckpointError, match=r"embed\.pt is not a Cosmos-Transfer1 checkpoint: its keys"):
        plan_split(foreign, 2)
    no_attention = save(tmp_path / "head.pt", {"logvar.1.weight": torch.zeros(1, 128)})
    with pytest.raises(NotTransfer1CheckpointError, match="no attention projections"):
        plan_split(no_attention, 1)
    with pytest.raises(NotTransfer1CheckpointError, match="not tensors: net.note"):
        plan_split(save(tmp_path / "odd.pt", {**control_state, "net.note": "hello"}), 2)
    with pytest.raises(CheckpointFileError, match="holds a list"):
        plan_split(save(tmp_path / "list.pt", [torch.zeros(1)]), 2)
    with pytest.raises(CheckpointFileError, match="not found"):
        plan_split(tmp_path / "missing.pt", 2)
    assert _nothing_written(tmp_path, ["edge_control.pt", "embed.pt", "head.pt", "odd.pt", "list.pt"])
    assert all(issubclass(error, UserInputError) for error in (ConversionError, CheckpointFileError))


def test_a_shard_or_a_leftover_larger_split_is_refused(tmp_path, control_state, save):
    plan, _ = split(save(tmp_path / "edge_control.pt", control_state), 2)
    with pytest.raises(ConversionError, match="is one tensor-parallel shard"):
        plan_split(plan.shard_files[0], 1)
    with pytest.raises(ConversionError, match=r"already holds edge_control_model_mp_1\.pt from a split into more"):
        plan_split(tmp_path / "edge_control.pt", 1)
    assert load(plan.shard_files[0])["model"].keys() == control_state.keys()  # untouched
