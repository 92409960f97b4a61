"""The launcher's side of a command action, stood in for: parsed arguments and a RunContext-like ``ctx``."""

from __future__ import annotations

import argparse
import contextlib
import importlib

import attrs
import pytest


@attrs.define
class FakeRun:
    folder: object
    summary_line: str | None = None

    def summary(self, line: str) -> None:
        self.summary_line = line


@attrs.define
class FakeContext:
    """``ctx.open_run(folder=..., logs=False)`` as cosmos_core.run.RunContext offers it; records the runs."""

    runs: list[FakeRun] = attrs.field(factory=list)

    @contextlib.contextmanager
    def open_run(self, *, folder, logs=True, lock=True):
        run = FakeRun(folder)
        self.runs.append(run)
        yield run


@pytest.fixture
def ctx():
    return FakeContext()


@pytest.fixture
def parse():
    """``parse("prepare_data", "--dataset_path", ...)``: the action's own parser, as the launcher builds it."""

    def parse_args(action: str, *argv: str) -> argparse.Namespace:
        module = importlib.import_module(f"cosmos_transfer.tasks.{action}")
        parser = argparse.ArgumentParser(prog=action)
        module.add_arguments(parser)
        return parser.parse_args([str(a) for a in argv])

    return parse_args


@pytest.fixture(autouse=True)
def _on_one_thread(one_torch_thread):
    """Every test here runs its tiny models on one thread (the root conftest's fixture)."""
