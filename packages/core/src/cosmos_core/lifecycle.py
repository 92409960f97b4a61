"""One run lifecycle for every action of every family.

``with open_run(...) as run:`` owns what each action would otherwise repeat: the output folder, the
lock against a second run in it, ``console.log``/``debug.log``, the resolved-config file, stale
temporaries of a killed predecessor, the stop-signal handler, the process group and its device mesh
(:class:`~cosmos_core.distributed.DistInfo`), the tear-down (barrier and group destruction on success,
immediate destruction on error) and the final one-line summary. Actions reach it through
:meth:`cosmos_core.run.RunContext.open_run`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from cosmos_core.config.loader import write_yaml
from cosmos_core.distributed import DistInfo, init_distributed, shutdown_distributed
from cosmos_core.family import DeviceRequest, ParallelDims
from cosmos_core.io import make_dirs, remove_stale_temp_files
from cosmos_core.runlock import RunLock
from cosmos_core.signals import handling_stop_signals
from cosmos_core.training.logs import setup_run_logging

logger = logging.getLogger("cosmos.run")


@attrs.define
class Run:
    """A started run: where it writes, where this process sits, and its closing line."""

    action: str
    folder: Path
    dist: DistInfo
    config: Any = None
    summary_line: str | None = None

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    def summary(self, line: str) -> None:
        """The one line printed (rank 0) when the run ends successfully: where the outputs are."""
        self.summary_line = line


@contextlib.contextmanager
def open_run(
    action: str,
    folder: Path,
    *,
    config: Any = None,
    config_file: str | None = None,
    devices: DeviceRequest | None = None,
    parallel: ParallelDims | None = None,
    logs: bool = True,
    lock: bool = True,
) -> Iterator[Run]:
    """Start a run of ``action`` writing into ``folder``.

    :param config: the resolved config, written to ``folder/config_file`` (rank 0).
    :param devices: processes and GPUs asked for (default: CPU).
    :param parallel: the device-mesh layout (default: every process data parallel).
    :param logs: write ``console.log`` and ``debug.log`` into ``folder`` (the console gets INFO either way).
    :param lock: refuse to start while another run holds ``folder`` (see :mod:`cosmos_core.runlock`).
    """
    rank = int(os.environ.get("RANK", "0"))  # before the group exists: torchrun's environment
    folder = make_dirs(Path(folder))
    with contextlib.ExitStack() as stack:
        if lock and rank == 0:
            stack.enter_context(RunLock(folder))
        stack.enter_context(setup_run_logging(folder if logs else None, rank))
        if rank == 0:
            for path in remove_stale_temp_files(folder):
                logger.info("removed %s, left by an interrupted write", path)
            if config is not None and config_file:
                write_yaml(config, folder / config_file)
        stack.enter_context(handling_stop_signals())
        dist = init_distributed(devices or DeviceRequest(), parallel)
        run = Run(action=action, folder=folder, dist=dist, config=config)
        clean = False
        try:
            yield run
            clean = True
        finally:
            shutdown_distributed(clean=clean)
        if run.is_main and run.summary_line:
            logger.info("%s", run.summary_line)
