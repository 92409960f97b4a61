"""Checkpointers: atomic files, hard-linked latest, sharded layouts, damage detection, safe loading."""

from __future__ import annotations

import collections
import errno
import os
import stat

import pytest
import torch
from cosmos_core import io as cosmos_io
from cosmos_core.distributed import current_dist
from cosmos_core.training import checkpoint as ckpt
from cosmos_core.training.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    ShardedCheckpointer,
    ShardedLayout,
    SingleFileCheckpointer,
    TrainingState,
    load_checkpoint,
)

DIST = current_dist()


def state(iteration: int, value: float) -> TrainingState:
    return TrainingState(
        iteration=iteration,
        model={"w": torch.full((2,), value)},
        optimizer={"state": {}, "param_groups": []},
        scheduler={"last_epoch": iteration},
        scaler={},
        rng=[{"torch": torch.get_rng_state()}],
        data={"epoch": 0, "position": iteration},
        callbacks={"ema": {"shadow": torch.full((2,), value / 2)}},
        metadata={"family": "toy"},
    )


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -------------------------------------------------------------------------------------------------
# One file per checkpoint
# -------------------------------------------------------------------------------------------------


def test_single_file_writes_iteration_and_a_hard_linked_latest(tmp_path):
    saver = SingleFileCheckpointer(tmp_path, "toy")
    path = saver.save(state(5, 1.0), DIST)
    assert path == tmp_path / "toy_5.pth" and saver.latest() == tmp_path / "toy_latest.pth"
    assert names(tmp_path) == ["toy_5.pth", "toy_latest.pth"]
    assert os.stat(path).st_ino == os.stat(tmp_path / "toy_latest.pth").st_ino  # no second copy of the bytes
    payload = load_checkpoint(tmp_path / "toy_latest.pth")
    assert payload["iteration"] == 5 and torch.equal(payload["callbacks"]["ema"]["shadow"], torch.full((2,), 0.5))
    saver.save(state(6, 2.0), DIST)
    assert os.stat(tmp_path / "toy_5.pth").st_nlink == 1  # the old checkpoint keeps its own name only
    assert load_checkpoint(tmp_path / "toy_latest.pth")["iteration"] == 6


def test_latest_falls_back_to_a_copy_where_hard_links_are_refused(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(cosmos_io.os, "link", no_links)
    SingleFileCheckpointer(tmp_path, "toy").save(state(2, 1.0), DIST)
    assert os.stat(tmp_path / "toy_2.pth").st_ino != os.stat(tmp_path / "toy_latest.pth").st_ino
    assert load_checkpoint(tmp_path / "toy_latest.pth")["iteration"] == 2


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_checkpoints_get_the_permissions_open_would_give(tmp_path, umask):
    previous = os.umask(umask)
    try:
        SingleFileCheckpointer(tmp_path, "toy").save(state(3, 1.0), DIST)
    finally:
        os.umask(previous)
    for name in ("toy_3.pth", "toy_latest.pth"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_a_failing_write_leaves_the_old_latest_intact_and_says_why(tmp_path, monkeypatch):
    saver = SingleFileCheckpointer(tmp_path, "toy")
    saver.save(state(1, 1.0), DIST)
    real_save = torch.save

    def save_half_then_fail(obj, handle):
        real_save(obj, handle)
        handle.truncate(10)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", save_half_then_fail)
    with pytest.raises(cosmos_io.OutputError, match=r"cannot write .*toy_2\.pth: ENOSPC \(No space left on device\)"):
        saver.save(state(2, 2.0), DIST)
    monkeypatch.undo()
    latest = load_checkpoint(tmp_path / "toy_latest.pth")
    assert latest["iteration"] == 1 and torch.equal(latest["model"]["w"], torch.ones(2))
    assert names(tmp_path) == ["toy_1.pth", "toy_latest.pth"]  # no temporary left behind


def test_a_failing_relink_keeps_the_old_latest(tmp_path, monkeypatch):
    saver = SingleFileCheckpointer(tmp_path, "toy")
    saver.save(state(1, 1.0), DIST)
    real_replace = os.replace

    def refuse_latest(source, target):
        if str(target).endswith("toy_latest.pth"):
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target)

    monkeypatch.setattr(cosmos_io.os, "replace", refuse_latest)
    with pytest.raises(cosmos_io.OutputError, match="EIO"):
        saver.save(state(2, 2.0), DIST)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "toy_latest.pth")["iteration"] == 1
    assert load_checkpoint(tmp_path / "toy_2.pth")["iteration"] == 2
    assert names(tmp_path) == ["toy_1.pth", "toy_2.pth", "toy_latest.pth"]


def test_temporaries_of_a_killed_save_are_removed_on_the_next_start(tmp_path):
    left = tmp_path / ".toy_7.pth.0123456789ab.tmp"
    left.write_bytes(b"half a checkpoint")
    unrelated = tmp_path / ".notes.tmp"
    unrelated.write_text("mine")
    SingleFileCheckpointer(tmp_path, "toy").prepare(DIST)
    assert not left.exists() and unrelated.exists()


def test_damaged_bytes_are_detected_instead_of_loading_wrong_weights(tmp_path):
    path = SingleFileCheckpointer(tmp_path, "toy").save(
        TrainingState(1, {"w": torch.randn(1000, 100)}, {}, {}, {}, [{}], {}), DIST
    )
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the tensor's bytes: torch.load alone would not notice
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"toy_1\.pth is damaged: its record .* fails the CRC check"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint .*nope\.pth does not exist"):
        load_checkpoint(tmp_path / "nope.pth")


def test_truncated_file(tmp_path):
    path = SingleFileCheckpointer(tmp_path, "toy").save(state(1, 1.0), DIST)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"toy_1\.pth is truncated or not a torch file"):
        load_checkpoint(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CheckpointError, match=r"garbage\.pth is truncated or not a torch file"):
        load_checkpoint(path)


def test_foreign_state_dict_is_not_a_training_checkpoint(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match=r"weights\.pth is not a cosmos-run training checkpoint"):
        load_checkpoint(path)


def test_arbitrary_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    payload = {"format": CHECKPOINT_FORMAT, "metadata": collections.OrderedDict(x=torch.nn.Linear(1, 1))}
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"evil\.pth .*weights_only=True.*torch\.nn"):
        load_checkpoint(path)


def test_incomplete_payload(tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({"format": CHECKPOINT_FORMAT, "model": {}}, path)
    with pytest.raises(CheckpointError, match="lacks optimizer, scheduler"):
        load_checkpoint(path)


# -------------------------------------------------------------------------------------------------
# Sharded layout (Cosmos-Transfer1's names)
# -------------------------------------------------------------------------------------------------


def test_sharded_layout_has_the_reference_names(tmp_path):
    saver = ShardedCheckpointer(tmp_path)
    trainer_file = saver.save(state(5, 1.0), DIST)
    assert trainer_file == tmp_path / "iter_000000005.pt"
    assert names(tmp_path) == [
        "iter_000000005.pt",
        "iter_000000005_model_mp_0.pt",
        "iter_000000005_optim_mp_0.pt",
        "iter_000000005_scheduler_mp_0.pt",
        "latest_checkpoint.txt",
    ]
    assert (tmp_path / "latest_checkpoint.txt").read_text() == "iter_000000005.pt\n"
    trainer = torch.load(trainer_file, weights_only=True)
    assert trainer["iteration"] == 5 and trainer["grad_scaler"] == {} and trainer["tp_size"] == 1
    model_file = torch.load(tmp_path / "iter_000000005_model_mp_0.pt", weights_only=True)
    assert set(model_file) == {"model", "callbacks"}
    assert ShardedLayout().iteration_of("iter_000000005.pt") == 5


def test_sharded_round_trip(tmp_path):
    saver = ShardedCheckpointer(tmp_path)
    saver.save(state(3, 4.0), DIST)
    loaded = saver.load(saver.latest(), DIST)
    assert loaded.iteration == 3 and torch.equal(loaded.model["w"], torch.full((2,), 4.0))
    assert loaded.scheduler == {"last_epoch": 3} and loaded.data["position"] == 3
    assert torch.equal(loaded.callbacks["ema"]["shadow"], torch.full((2,), 2.0))
    assert loaded.metadata == {"family": "toy"}


def test_a_save_killed_half_way_leaves_the_previous_checkpoint_the_latest(tmp_path, monkeypatch):
    saver = ShardedCheckpointer(tmp_path)
    saver.save(state(1, 1.0), DIST)
    real = ckpt.atomic_save

    def die_on_the_optimizer_shard(obj, path):
        if "_optim_" in path.name:
            raise KeyboardInterrupt  # what a kill would leave: some shards of iteration 2 written
        return real(obj, path)

    monkeypatch.setattr(ckpt, "atomic_save", die_on_the_optimizer_shard)
    with pytest.raises(KeyboardInterrupt):
        saver.save(state(2, 2.0), DIST)
    monkeypatch.undo()
    assert saver.latest() == tmp_path / "iter_000000001.pt"
    assert saver.load(saver.latest(), DIST).iteration == 1


def test_a_pointer_to_a_missing_file_is_a_clear_error(tmp_path):
    (tmp_path / "latest_checkpoint.txt").write_text("iter_000000009.pt\n")
    with pytest.raises(CheckpointError, match=r"names 'iter_000000009\.pt', which does not exist"):
        ShardedCheckpointer(tmp_path).latest()


def test_shards_of_another_tensor_parallel_size_are_refused(tmp_path):
    saver = ShardedCheckpointer(tmp_path)
    saver.save(state(4, 1.0), DIST)
    for part in ("model", "optim", "scheduler"):
        (tmp_path / f"iter_000000004_{part}_mp_1.pt").write_bytes(
            (tmp_path / f"iter_000000004_{part}_mp_0.pt").read_bytes()
        )
    with pytest.raises(CheckpointError, match=r"does not fit this run's tensor parallelism \(1\): found model: "):
        saver.load(tmp_path / "iter_000000004.pt", DIST)


def test_a_custom_layout_names_the_files(tmp_path):
    layout = ShardedLayout(trainer_file="step{iteration:06d}.pt", shard_file="step{iteration:06d}.{part}.{rank}.pt")
    saver = ShardedCheckpointer(tmp_path, layout)
    saver.save(state(7, 1.0), DIST)
    assert "step000007.model.0.pt" in names(tmp_path) and saver.latest() == tmp_path / "step000007.pt"
