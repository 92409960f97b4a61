"""Run logging: the ``cosmos`` logger to stdout, ``console.log`` and ``debug.log``.

Rank 0 writes INFO and above to stdout and ``<output_dir>/console.log`` and everything (DEBUG) to
``<output_dir>/debug.log``; other ranks print only warnings and errors, tagged with their rank, so
an 8-GPU run does not print every line eight times. All of the project's loggers are children of
``cosmos`` (``cosmos.train``, ``cosmos.distributed``, …).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import attrs

from cosmos_core.io import make_dirs, output_error

LOGGER_NAME = "cosmos"
CONSOLE_LOG = "console.log"
DEBUG_LOG = "debug.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_MARK = "_cosmos_run_logging"
"""Attribute set on every handler this module adds, so a second setup can remove the first's."""
_SAVED = "_cosmos_saved_state"
"""Attribute on the logger holding its level and propagation from before the first setup."""


@attrs.define
class RunLogging:
    """Handle of one run's logging; :meth:`close` removes its handlers and restores the logger."""

    logger: logging.Logger
    handlers: list[logging.Handler]
    previous_level: int
    previous_propagate: bool

    def close(self) -> None:
        for handler in self.handlers:
            self.logger.removeHandler(handler)
            handler.close()
        self.handlers = []
        if not any(getattr(h, _MARK, False) for h in self.logger.handlers):
            self.logger.setLevel(self.previous_level)
            self.logger.propagate = self.previous_propagate
            if hasattr(self.logger, _SAVED):
                delattr(self.logger, _SAVED)

    def __enter__(self) -> RunLogging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def setup_run_logging(output_dir: Path | None, rank: int = 0) -> RunLogging:
    """Send the ``cosmos`` logger to the console and to log files in ``output_dir`` (None: console only).

    Calling it again (a second run in the same process) first removes the handlers an earlier call
    added. While active, records do not also propagate to the root logger (no double printing).
    """
    logger = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(handler)
        handler.close()
    if not hasattr(logger, _SAVED):
        setattr(logger, _SAVED, (logger.level, logger.propagate))
    handle = RunLogging(logger, [], *getattr(logger, _SAVED))
    formatter = logging.Formatter(_FORMAT, datefmt=_DATE_FORMAT)
    if rank == 0:
        handlers: list[tuple[logging.Handler, int]] = [(logging.StreamHandler(sys.stdout), logging.INFO)]
        if output_dir is not None:
            folder = make_dirs(Path(output_dir))
            handlers += [
                (_file_handler(folder / CONSOLE_LOG), logging.INFO),
                (_file_handler(folder / DEBUG_LOG), logging.DEBUG),
            ]
    else:
        rank_formatter = logging.Formatter(f"[rank {rank}] {_FORMAT}", datefmt=_DATE_FORMAT)
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(rank_formatter)
        handlers = [(stream, logging.WARNING)]
    for handler, level in handlers:
        handler.setLevel(level)
        if handler.formatter is None:
            handler.setFormatter(formatter)
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
        handle.handlers.append(handler)
    logger.setLevel(logging.DEBUG if rank == 0 else logging.WARNING)
    logger.propagate = False
    return handle


def _file_handler(path: Path) -> logging.FileHandler:
    try:
        return logging.FileHandler(path, encoding="utf-8")
    except OSError as err:
        raise output_error(err, path, "open the log file") from None
