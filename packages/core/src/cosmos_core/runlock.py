"""One run per output folder: a lock file naming the process that holds it.

The lock is an exclusive ``flock`` on ``<folder>/.cosmos-run.lock``, held for the whole run; the file
records pid, host, start time and command so a second run can say who is using the folder. The kernel
drops the lock when its holder dies, however it dies, so a lock left by a killed run is recognised
as stale and taken over. On file systems without ``flock`` support the pid is checked instead (for
locks taken on this host).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from cosmos_core.errors import UserInputError
from cosmos_core.io import output_error

logger = logging.getLogger("cosmos.run")

LOCK_NAME = ".cosmos-run.lock"


class RunLockedError(UserInputError, RuntimeError):
    """Another run is writing into the same output folder."""


class RunLock:
    """``with RunLock(folder):`` — refuse to start while another live run holds ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise output_error(err, self.path, "create the lock file") from None
            try:
                locked = self._try_flock(fd)
            except BaseException:
                os.close(fd)
                raise
            if not locked:
                holder = _read_holder(fd)
                os.close(fd)
                raise RunLockedError(_locked_message(self.path, holder))
            # The holder we waited on may have removed the file between our open and our flock: then we
            # hold a lock on a name nobody else will open. Start again on the current file.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        previous = _read_holder(fd)
        if previous:
            logger.info(
                "took over a stale lock of pid %s on %s (that run is gone)", previous.get("pid"), previous.get("host")
            )
        _write_holder(fd)
        self._fd = fd
        return self

    def _try_flock(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as err:
            if err.errno not in (errno.ENOLCK, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # No flock here (some network file systems): judge the recorded holder by its pid.
            holder = _read_holder(fd)
            return not (holder and holder.get("host") == socket.gethostname() and _alive(holder.get("pid")))

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 65536)
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_holder(fd: int) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join(sys.argv),
    }
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(holder) + "\n").encode("utf-8"))


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _locked_message(path: Path, holder: dict[str, Any]) -> str:
    who = (
        f"pid {holder.get('pid')} on {holder.get('host')} (started {holder.get('started')}: {holder.get('command')})"
        if holder
        else "another process"
    )
    return (
        f"{path.parent} is in use by another cosmos-run run: {who}. Wait for it to finish, stop it, or "
        f"choose another output folder; if that process is gone and the lock remains (a file system "
        f"without locks), delete {path}"
    )
