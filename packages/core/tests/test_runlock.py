"""One run per output folder: a live holder is named, a dead one's lock is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from cosmos_core.runlock import LOCK_NAME, RunLock, RunLockedError

HOLDER = """
import sys
from pathlib import Path
from cosmos_core.runlock import RunLock
with RunLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_second_run_on_the_folder_is_refused_naming_the_first(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError) as info:
            RunLock(tmp_path).acquire()
        message = str(info.value)
        assert (
            f"pid {holder.pid} on {socket.gethostname()}" in message and "in use by another cosmos-run run" in message
        )
    finally:
        holder.communicate("done\n", timeout=30)
    with RunLock(tmp_path):  # the holder finished: free again
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_lock_of_a_killed_run_is_stale_and_taken_over(tmp_path, caplog):
    dead = {"pid": 2**22 + 12345, "host": socket.gethostname(), "started": "yesterday", "command": "cosmos-run ..."}
    (tmp_path / LOCK_NAME).write_text(json.dumps(dead))  # what a SIGKILLed run leaves: a file, no flock
    with caplog.at_level("INFO", logger="cosmos"), RunLock(tmp_path):
        pass
    assert f"took over a stale lock of pid {dead['pid']}" in caplog.text


def test_the_same_process_cannot_hold_it_twice(tmp_path):
    with RunLock(tmp_path), pytest.raises(RunLockedError):
        RunLock(tmp_path).acquire()
