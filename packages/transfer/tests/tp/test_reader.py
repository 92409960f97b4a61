"""The bounded memory map: right values, layouts without data, and pages released as the window moves."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from cosmos_transfer.tp.reader import StateReader

MIB = 2**20


def rss_file_kib() -> int:
    """Resident pages of this process that map files (``RssFile`` in /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise RuntimeError("no RssFile line")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    """16 tensors of 4 MiB (64 MiB)."""
    path = tmp_path_factory.mktemp("reader") / "big.pt"
    torch.save({f"t{i}": torch.full((MIB,), float(i)) for i in range(16)}, path)
    return path


def test_values_and_layout(big_file):
    reader = StateReader(big_file, lambda checkpoint: checkpoint, window=8 * MIB)
    assert reader.keys == [f"t{i}" for i in range(16)]
    assert all(meta.is_meta and meta.shape == (MIB,) for meta in reader.layout.values())
    for i in (3, 15, 0):  # any order, across re-opened mappings
        assert torch.equal(reader.get(f"t{i}"), torch.full((MIB,), float(i)))


def _peak_while_reading(path: Path, window: int) -> int:
    reader = StateReader(path, lambda checkpoint: checkpoint, window=window)
    before, peak = rss_file_kib(), 0
    for key in reader.keys:
        assert float(reader.get(key).sum()) >= 0  # touches every page of the tensor
        peak = max(peak, rss_file_kib() - before)
    reader.release()
    return peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_pages_of_tensors_already_read_are_released(big_file):
    bounded = _peak_while_reading(big_file, 8 * MIB)
    unbounded = _peak_while_reading(big_file, 2**40)
    assert unbounded > 56 * 1024  # one mapping: the whole 64 MiB ends up resident
    assert bounded < 24 * 1024  # a window of 8 MiB plus the tensor in hand
