"""Writing run outputs safely: atomically, with stale temporaries cleaned up and clear OS errors.

Every file a run writes (checkpoints, resolved configs, metrics) goes to a temporary file in the
target's folder, is flushed and fsynced, and is then renamed over the target, so a crash, a kill or
a full disk never leaves a half-written file under the final name. A temporary left behind by a
killed process is recognised by its name (:func:`temp_path_for`) and removed by the next run
(:func:`remove_stale_temp_files`). OS failures become one :class:`OutputError` line naming the path
and the cause (``ENOSPC``, ``EROFS``, ...).
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from cosmos_core.errors import UserInputError

_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


class OutputError(UserInputError, OSError):
    """A run output could not be written (disk full, read-only file system, no permission, ...).

    ``errno`` is the OS error's; the message names the path and the cause.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)

    def __str__(self) -> str:
        return str(self.strerror)


def describe_os_error(err: OSError) -> str:
    """``ENOSPC (No space left on device)`` for an OSError."""
    code = errno.errorcode.get(err.errno or 0, "")
    reason = err.strerror or str(err)
    return f"{code} ({reason})" if code else reason


def output_error(err: OSError, path: Path | str, what: str = "write") -> OutputError:
    """An :class:`OutputError` for ``err`` raised while trying to ``what`` ``path``."""
    where = err.filename if err.filename and str(err.filename) != str(path) else None
    detail = f" ({where})" if where else ""
    return OutputError(err.errno or 0, f"cannot {what} {path}{detail}: {describe_os_error(err)}")


def make_dirs(folder: Path) -> Path:
    """``mkdir -p folder``; failures (a path through a file, a symlink loop, EROFS) are :class:`OutputError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(err, folder, "create the folder") from None
    if not folder.is_dir():
        raise OutputError(errno.ENOTDIR, f"cannot use {folder} as a folder: it exists and is not a directory")
    return folder


def temp_path_for(path: Path) -> Path:
    """A fresh temporary name next to ``path`` (``.<name>.<12 hex>.tmp``)."""
    return path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(handle)`` on a temporary file and rename it to ``path`` once it is complete.

    On any failure the temporary is removed and ``path`` keeps its previous content; OS errors are
    raised as :class:`OutputError`.
    """
    path = Path(path)
    make_dirs(path.parent)
    # Not tempfile.mkstemp: that creates the file 0600, so outputs would be unreadable by the group and
    # by tools run as other users. open(..., "xb") gives the usual permissions (0666 minus the umask) and,
    # like mkstemp, never reuses an existing file.
    tmp_path = temp_path_for(path)
    created = False  # on a name clash the existing file is not ours to delete
    handle = None
    try:
        with open(tmp_path, "xb") as raw:
            created = True
            handle = _ErrorRecordingWriter(raw)
            write(handle)  # type: ignore[arg-type]
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp_path, path)
        fsync_dir(path.parent)
    except BaseException as err:
        if created:
            tmp_path.unlink(missing_ok=True)
        cause = err if isinstance(err, OSError) else getattr(handle, "error", None)
        if cause is not None and not isinstance(cause, OutputError):
            raise output_error(cause, path) from None
        raise
    return path


class _ErrorRecordingWriter:
    """A file handle that remembers the OS error of a failed write: serializers written in C++
    (``torch.save``) turn it into a RuntimeError about a short write, which would hide the cause."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.raw.write(data)
        except OSError as err:
            self.error = err
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def write_text_atomically(path: Path, text: str) -> Path:
    return write_atomically(Path(path), lambda handle: handle.write(text.encode("utf-8")))


def write_json_atomically(path: Path, data: Any) -> Path:
    return write_text_atomically(Path(path), json.dumps(data, indent=2, default=str) + "\n")


def copy_atomically(source: Path, target: Path) -> Path:
    def copy(handle: IO[bytes]) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, handle, length=16 * 1024 * 1024)

    return write_atomically(Path(target), copy)


def link_atomically(source: Path, target: Path) -> Path:
    """Make ``target`` another name of ``source`` (a hard link, so no second copy of the bytes),
    replacing ``target`` atomically; where hard links are not possible, an atomic copy."""
    tmp_path = temp_path_for(Path(target))
    try:
        os.link(source, tmp_path)
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES):
            raise output_error(err, target, "link") from None
        return copy_atomically(Path(source), Path(target))
    try:
        os.replace(tmp_path, target)
        fsync_dir(Path(target).parent)
    except OSError as err:
        tmp_path.unlink(missing_ok=True)
        raise output_error(err, target, "link") from None
    return Path(target)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX only; Windows cannot open folders)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the temporaries a killed process left in ``folder`` (call it only while holding the
    folder's run lock, so no live writer owns them). Returns what was removed."""
    removed = []
    if not folder.is_dir():
        return removed
    for item in folder.iterdir():
        if _TEMP_NAME.match(item.name) and item.is_file():
            item.unlink(missing_ok=True)
            removed.append(item)
    return removed
