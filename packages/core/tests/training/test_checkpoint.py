"""Atomic checkpoint files and safe, clear loading."""

from __future__ import annotations

import collections
import os
import stat

import pytest
import torch
from cosmos_core.training import checkpoint as ckpt
from cosmos_core.training.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)


def payload(iteration: int, value: float) -> dict:
    return {
        "format": CHECKPOINT_FORMAT,
        "model": {"w": torch.full((2,), value)},
        "optimizer": {},
        "scheduler": {},
        "scaler": {},
        "iteration": iteration,
        "rng": [],
        "data": {"epoch": 0, "position": 0},
        "metadata": {"family": "toy"},
    }


def test_save_writes_iteration_and_latest(tmp_path):
    path = save_checkpoint(payload(5, 1.0), tmp_path, "toy")
    assert path == tmp_path / "toy_5.pth"
    assert load_checkpoint(tmp_path / "toy_latest.pth")["iteration"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy_5.pth", "toy_latest.pth"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_checkpoints_get_the_permissions_open_would_give(tmp_path, umask):
    previous = os.umask(umask)
    try:
        save_checkpoint(payload(3, 1.0), tmp_path, "toy")
    finally:
        os.umask(previous)
    for name in ("toy_3.pth", "toy_latest.pth"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_a_failing_write_leaves_the_old_latest_intact(tmp_path, monkeypatch):
    save_checkpoint(payload(1, 1.0), tmp_path, "toy")
    real_save = torch.save

    def save_half_then_fail(obj, handle):
        real_save(obj, handle)
        handle.truncate(10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(payload(2, 2.0), tmp_path, "toy")
    monkeypatch.undo()
    latest = load_checkpoint(tmp_path / "toy_latest.pth")
    assert latest["iteration"] == 1 and torch.equal(latest["model"]["w"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy_1.pth", "toy_latest.pth"]  # no temp files


def test_a_failing_copy_to_latest_keeps_the_old_latest(tmp_path, monkeypatch):
    save_checkpoint(payload(1, 1.0), tmp_path, "toy")

    def broken_copy(src, dst, length=0):
        dst.write(b"partial")
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ckpt.shutil, "copyfileobj", broken_copy)
    with pytest.raises(OSError):
        save_checkpoint(payload(2, 2.0), tmp_path, "toy")
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "toy_latest.pth")["iteration"] == 1
    assert load_checkpoint(tmp_path / "toy_2.pth")["iteration"] == 2


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint .*nope\.pth does not exist"):
        load_checkpoint(tmp_path / "nope.pth")


def test_truncated_file(tmp_path):
    path = save_checkpoint(payload(1, 1.0), tmp_path, "toy")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"toy_1\.pth"):
        load_checkpoint(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CheckpointError, match=r"garbage\.pth is corrupt"):
        load_checkpoint(path)


@pytest.mark.parametrize("damaged", [b"\x80\x02R.", b"\x80\x02h\x05."])  # IndexError / KeyError in torch.load
def test_damaged_pickle_stream_is_a_checkpoint_error(tmp_path, damaged):
    path = tmp_path / "damaged.pth"
    path.write_bytes(damaged)
    with pytest.raises(CheckpointError, match=r"damaged\.pth"):
        load_checkpoint(path)


def test_foreign_state_dict_is_not_a_training_checkpoint(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match=r"weights\.pth is not a cosmos-run training checkpoint"):
        load_checkpoint(path)


def test_arbitrary_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({**payload(1, 1.0), "metadata": collections.OrderedDict(x=torch.nn.Linear(1, 1))}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pth .*weights_only=True.*torch\.nn"):
        load_checkpoint(path)


def test_incomplete_payload(tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({"format": CHECKPOINT_FORMAT, "model": {}}, path)
    with pytest.raises(CheckpointError, match="lacks optimizer, scheduler"):
        load_checkpoint(path)
