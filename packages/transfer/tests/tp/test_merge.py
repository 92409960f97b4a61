"""merge_tp: split → merge is bit-exact; training shards (EMA or callbacks layouts) give the reference's
consolidated files; missing, extra or mismatched shards are refused before anything is written."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.training.checkpoint import ShardedLayout
from cosmos_transfer.model.params import split_dim
from cosmos_transfer.tp.errors import NotTransfer1CheckpointError, ShardSetError
from cosmos_transfer.tp.merge import EMA_COPIED_KEYS, merge_shards, plan_merge
from cosmos_transfer.tp.split import plan_split, split_checkpoint

ITERATION = 100
STEM = f"iter_{ITERATION:09d}"


def load(path):
    return torch.load(path, weights_only=True)


def merge(checkpoint, **options):
    plan = plan_merge(checkpoint, **options)
    return plan, merge_shards(plan, progress=False)


def assert_identical(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype and torch.equal(got[key], value), key


def piece(key: str, value: torch.Tensor, tp: int, rank: int) -> torch.Tensor:
    dim = split_dim(key.replace("-", "."))
    return value if dim is None else value.chunk(tp, dim=dim)[rank].clone()


def ema_of(state: dict) -> dict:
    """The 93 ``net-*`` buffers of the branch's trainable parameters, with values unlike the weights."""
    trainable = [key for key in state if key.startswith("net.") and key != "net.pos_embedder.seq"]
    return {key.replace(".", "-"): state[key] * 0.5 + 1 for key in trainable}


def write_training_shards(folder, state: dict, tp: int, *, ema: dict | None, record_iterations=None, trainer=None):
    """The reference's training checkpoint: ``iter_N.pt`` and ``iter_N_model_mp_{k}.pt`` =
    ``{"model": ..., "ema": ..., "trained_data_record": ...}`` split by the rule."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(trainer or {"grad_scaler": {}, "iteration": ITERATION}, folder / f"{STEM}.pt")
    for rank in range(tp):
        payload = {"model": {key: piece(key, value, tp, rank) for key, value in state.items()}}
        payload["ema"] = None if ema is None else {key: piece(key, value, tp, rank) for key, value in ema.items()}
        iteration = ITERATION if record_iterations is None else record_iterations[rank]
        payload["trained_data_record"] = {"video": 4 * iteration, "image": 0, "iteration": iteration}
        torch.save(payload, folder / f"{STEM}_model_mp_{rank}.pt")
    return folder / f"{STEM}.pt"


@pytest.mark.parametrize("tp", [1, 2])
@pytest.mark.parametrize("kind", ["control", "base"])
def test_split_then_merge_is_bit_exact(tmp_path, control_state, base_state, save, files_under, tp, kind):
    state = control_state if kind == "control" else base_state
    name = "edge_control" if kind == "control" else "base_model"
    split_plan = plan_split(save(tmp_path / f"{name}.pt", state), tp)
    split_checkpoint(split_plan, progress=False)
    plan, written = merge(split_plan.trainer_file)
    assert written == [tmp_path / "fsdp_checkpoints" / f"{name}_reg_model.pt"]
    assert plan.ema_file is None and plan.dropped_base_model == 0  # a base alone keeps its base_model.* keys
    assert_identical(load(written[0]), state)
    assert [path for path in files_under(tmp_path) if path.startswith("fsdp")] == [
        f"fsdp_checkpoints/{name}_reg_model.pt"
    ]


def test_a_training_checkpoint_gives_the_reference_exports(tmp_path, tiny_state):
    ema = ema_of(tiny_state)
    checkpoint = write_training_shards(tmp_path / "job" / "checkpoints", tiny_state, 2, ema=ema)
    plan, written = merge(checkpoint)
    out = tmp_path / "job" / "fsdp_checkpoints"
    assert written == [out / f"{STEM}_reg_model.pt", out / f"{STEM}_ema_model_only.pt"]
    without_base = {key: value for key, value in tiny_state.items() if not key.startswith("base_model.")}
    assert_identical(load(written[0]), without_base)
    assert plan.dropped_base_model == sum(key.startswith("base_model.") for key in tiny_state)
    expected_ema = {key.replace("-", "."): value for key, value in ema.items()}
    expected_ema.update({key: tiny_state[key] for key in EMA_COPIED_KEYS})
    exported = load(written[1])
    assert_identical(exported, expected_ema)
    assert "logvar.1.weight" not in exported and not any(key.startswith("base_model.") for key in exported)


def test_include_base_model_keeps_the_base_in_both_exports(tmp_path, tiny_state):
    ema = ema_of(tiny_state)
    checkpoint = write_training_shards(tmp_path / "job" / "checkpoints", tiny_state, 2, ema=ema)
    plan, written = merge(checkpoint, include_base_model=True)
    assert [path.name for path in written] == [f"{STEM}_reg_model.pt", f"{STEM}_ema_model.pt"]
    assert_identical(load(written[0]), tiny_state)
    expected = {key.replace("-", "."): value for key, value in ema.items()}
    expected.update({key: tiny_state[key] for key in EMA_COPIED_KEYS})
    expected.update({key: value for key, value in tiny_state.items() if key.startswith("base_model.")})
    assert_identical(load(written[1]), expected)


def test_the_core_checkpointer_layout_has_no_ema(tmp_path, tiny_state):
    """cosmos-run's ShardedCheckpointer writes ``{"model": ..., "callbacks": ...}``: the weights are merged,
    there is no EMA to export."""
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    layout = ShardedLayout()
    torch.save(
        {"format": "cosmos-run/training-checkpoint/v1", "iteration": 3, "tp_size": 2}, folder / layout.trainer_name(3)
    )
    for rank in range(2):
        model = {key: piece(key, value, 2, rank) for key, value in tiny_state.items()}
        torch.save(layout.model_payload(model, {"losses": {}}), folder / layout.shard_name(3, "model", rank))
    plan, written = merge(folder / layout.trainer_name(3), output_dir=tmp_path / "merged")
    assert written == [tmp_path / "merged" / "iter_000000003_reg_model.pt"] and plan.ema_file is None
    assert load(written[0]).keys() == {key for key in tiny_state if not key.startswith("base_model.")}


def test_a_shard_file_names_its_set(tmp_path, tiny_state):
    write_training_shards(tmp_path / "checkpoints", tiny_state, 2, ema=None)
    plan = plan_merge(tmp_path / "checkpoints" / f"{STEM}_model_mp_1.pt")
    assert plan.shards.stem == STEM and plan.shards.tp == 2 and plan.shards.iteration == ITERATION


def refused(tmp_path, checkpoint, error, match, **options):
    with pytest.raises(error, match=match):
        plan_merge(checkpoint, **options)
    assert not (tmp_path / "fsdp_checkpoints").exists()


def test_missing_and_extra_shards_are_refused(tmp_path, tiny_state):
    checkpoint = write_training_shards(tmp_path / "checkpoints", tiny_state, 3, ema=None)
    (tmp_path / "checkpoints" / f"{STEM}_model_mp_1.pt").unlink()
    refused(tmp_path, checkpoint, ShardSetError, rf"should have 3 .*: missing {STEM}_model_mp_1\.pt")
    refused(
        tmp_path, checkpoint, ShardSetError, rf"should have 4 .*missing {STEM}_model_mp_1\.pt, {STEM}_model_mp_3", tp=4
    )
    refused(tmp_path, checkpoint, ShardSetError, rf"should have 1 .*: extra {STEM}_model_mp_2\.pt", tp=1)
    torch.save({"grad_scaler": {}, "iteration": ITERATION, "tp_size": 2}, checkpoint)
    refused(tmp_path, checkpoint, ShardSetError, rf"missing {STEM}_model_mp_1\.pt; extra {STEM}_model_mp_2\.pt")
    refused(tmp_path, tmp_path / "checkpoints" / "iter_000000200.pt", ShardSetError, "not found")


def test_shards_of_different_iterations_are_refused(tmp_path, tiny_state):
    records = write_training_shards(
        tmp_path / "a" / "checkpoints", tiny_state, 2, ema=None, record_iterations=[100, 90]
    )
    refused(
        tmp_path / "a", records, ShardSetError, r"different iterations \(iter_000000100_model_mp_0\.pt: 100, .*: 90\)"
    )

    trainer = {"grad_scaler": {}, "iteration": 200}
    named = write_training_shards(tmp_path / "b" / "checkpoints", tiny_state, 2, ema=None, trainer=trainer)
    refused(tmp_path / "b", named, ShardSetError, "records iteration 200 but is named for iteration 100")

    # rank 1 from a later step: its replicated tensors (here the hint MLP) are not rank 0's
    folder = tmp_path / "c" / "checkpoints"
    mixed = write_training_shards(folder, tiny_state, 2, ema=None)
    later = write_training_shards(tmp_path / "later", {k: v + 0.01 for k, v in tiny_state.items()}, 2, ema=None)
    payload = load(later.parent / f"{STEM}_model_mp_1.pt")
    torch.save(payload, folder / f"{STEM}_model_mp_1.pt")
    refused(
        tmp_path / "c", mixed, ShardSetError, r"model tensor net\.\S+ differs between .*different iterations or runs"
    )


def test_shards_that_are_not_transfer1_model_shards_are_refused(tmp_path, tiny_state):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    torch.save({"grad_scaler": {}, "iteration": 0}, folder / "other.pt")
    torch.save({"weights": {}}, folder / "other_model_mp_0.pt")
    refused(tmp_path, folder / "other.pt", NotTransfer1CheckpointError, "has no 'model' state dict")
    torch.save({"model": {"encoder.weight": torch.zeros(2)}}, folder / "other_model_mp_0.pt")
    refused(tmp_path, folder / "other.pt", NotTransfer1CheckpointError, "not a Cosmos-Transfer1 checkpoint")
    torch.save({"model": tiny_state}, folder / "flat.pt")
    refused(tmp_path, folder / "flat.pt", ShardSetError, "is not the trainer file")


def test_different_shapes_across_shards_are_refused(tmp_path, tiny_state):
    checkpoint = write_training_shards(tmp_path / "checkpoints", tiny_state, 2, ema=None)
    payload = load(tmp_path / "checkpoints" / f"{STEM}_model_mp_1.pt")
    key = "net.blocks.block0.blocks.0.block.attn.to_q.0.weight"
    payload["model"][key] = payload["model"][key][:64]
    torch.save(payload, tmp_path / "checkpoints" / f"{STEM}_model_mp_1.pt")
    refused(
        tmp_path, checkpoint, ShardSetError, rf"{key} is torch.float32 \(64, 256\) in .*_mp_1\.pt but .*\(128, 256\)"
    )
