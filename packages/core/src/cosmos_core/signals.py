"""Stopping a run cleanly: SIGINT (Ctrl-C), SIGTERM and SIGHUP.

``docker stop``, Kubernetes and SLURM pre-emption send SIGTERM; a closed terminal sends SIGHUP. All
three are handled the way Ctrl-C is: a run stops with a checkpoint and a one-line message. While
:class:`StopHandler` is installed:

- outside :meth:`StopHandler.polling` a signal raises :class:`Interrupted` at once (evaluate, export);
- inside it (the training loop) the first signal is only recorded; the loop sees
  :attr:`StopHandler.requested` at the next iteration boundary, saves a checkpoint of that boundary
  and stops. The same signal sent again stops at once (an impatient second Ctrl-C); a different one
  is only noted, because torchrun answers a Ctrl-C by sending SIGTERM to its workers as well;
- inside :meth:`StopHandler.critical` nothing interrupts (an optimizer update is applied completely
  or not at all); a signal that would have raised is raised when the block ends.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

logger = logging.getLogger("cosmos.run")

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``note`` tells what was saved."""

    def __init__(self, signum: int, note: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.note = note

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


class StopHandler:
    """The process's handler of :data:`STOP_SIGNALS` (one at a time: see :func:`active`)."""

    def __init__(self) -> None:
        self.requested: int | None = None
        """The first stop signal received while polling (None: none)."""
        self._polling = 0
        self._critical = 0
        self._pending: int | None = None
        self._previous: dict[int, object] = {}

    # -- installation ------------------------------------------------------------------------------

    def install(self) -> None:
        global _ACTIVE
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        _ACTIVE = self

    def uninstall(self) -> None:
        global _ACTIVE
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()
        if _ACTIVE is self:
            _ACTIVE = None

    # -- modes -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def polling(self) -> Iterator[StopHandler]:
        """Record the first stop signal instead of raising (the caller checks :attr:`requested`)."""
        self._polling += 1
        try:
            yield self
        finally:
            self._polling -= 1

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """Hold every interruption until the block ends."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if not self._critical and self._pending is not None:
            signum, self._pending = self._pending, None
            raise Interrupted(signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._polling and (self.requested is None or signum != self.requested):
            if self.requested is None:
                self.requested = signum
                logger.warning(
                    "received %s: stopping after this iteration with a checkpoint (send %s again to stop at once)",
                    signal.Signals(signum).name,
                    signal.Signals(signum).name,
                )
            return
        if self._critical:
            self._pending = signum
            return
        raise Interrupted(signum)


_ACTIVE: StopHandler | None = None


def active() -> StopHandler | None:
    """The installed handler, if any."""
    return _ACTIVE


@contextlib.contextmanager
def handling_stop_signals() -> Iterator[StopHandler | None]:
    """Install a :class:`StopHandler` for the block, unless one is installed already (then yield
    that one) or this is not the main thread (signal handlers can only be set there: yield None)."""
    if _ACTIVE is not None:
        yield _ACTIVE
        return
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    handler = StopHandler()
    handler.install()
    try:
        yield handler
    finally:
        handler.uninstall()
